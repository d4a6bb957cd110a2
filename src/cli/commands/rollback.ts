import * as path from 'node:path';
import type { CliCommand } from '../io';
import { parseCommandArgs } from '../args';
import { parseDify, findPrompt, replacePrompts } from '../../core/dsl';
import { UsageError } from '../../core/errors';
import { VersionStore } from '../../core/storage';
import { updateWorkflowFile } from '../../core/service/fileWriter';
import { readTextFile } from './fileInput';
import { resolveWorkflow } from './storeArgs';

const usage = [
  'promptopt rollback <file> --prompt <id> --to <version> [--record-only] [--json] [--workspace <dir>]',
  '',
  'Restores a stored version: writes its text into the prompt in <file> (format-preserving,',
  'atomic) and records a new accepted version with that text (restoredFrom <version>) under',
  '<workspace>/.optimizer/versions/.',
  '  --record-only   record the version but leave the file as it is',
].join('\n');

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'Restore an earlier version of a prompt as a new version',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        prompt: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean' },
        workspace: { type: 'string' },
        'record-only': { type: 'boolean' },
      },
      usage,
    );
    const { root, workflow } = resolveWorkflow(positionals[0], values.workspace, io.cwd, usage);
    if (values.prompt === undefined) throw new UsageError('USAGE', `Missing --prompt <id>. Usage: ${usage.split('\n')[0]}`);
    if (values.to === undefined) throw new UsageError('USAGE', `Missing --to <version>. Usage: ${usage.split('\n')[0]}`);
    const writeFile = !values['record-only'];
    // Check the file first: a rollback that cannot be written leaves the store untouched.
    const file = positionals[0];
    const read = writeFile ? await readTextFile(io.cwd, file) : { abs: path.resolve(io.cwd, file), text: '' };
    const abs = read.abs;
    let text = read.text;
    const doc = writeFile ? parseDify(text, { file }) : undefined;
    if (doc) findPrompt(doc, values.prompt);
    const store = await VersionStore.open(root, { onWarning: (m) => io.stderr(`warning: ${m}\n`) });
    try {
      const target = await store.get(workflow, values.prompt, values.to);
      const promptId = values.prompt;
      // The file first (on its current text, under its lock), then the record: a version is
      // recorded only once its text is in the file.
      const written = doc
        ? await updateWorkflowFile(abs, (cur) => replacePrompts(parseDify(cur, { file }), [{ id: promptId, text: target.text }], { file }), {
            displayName: file,
            what: `restoring prompt ${promptId}`,
          })
        : undefined;
      const v = await store.rollback(workflow, values.prompt, values.to);
      const newText = written ? written.text : text;
      if (written) text = written.before;
      if (values.json) {
        io.stdout(`${JSON.stringify(v, null, 2)}\n`);
        return 0;
      }
      const preview = v.text.length > 400 ? `${v.text.slice(0, 400)}…` : v.text;
      io.stdout(
        [
          `Rolled back prompt ${v.promptId} in ${workflow} to ${values.to}: saved as version ${v.version} (parent ${v.parentVersion ?? 'none'})${writeFile ? `; ${newText === text ? 'the file already held this text' : `written to ${file}`}` : ''}.`,
          `Text (${v.text.length} characters):`,
          ...preview.split('\n').map((l) => `  ${l}`),
          '',
        ].join('\n'),
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};
