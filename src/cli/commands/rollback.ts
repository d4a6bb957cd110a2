import type { CliCommand } from '../io';
import { parseCommandArgs } from '../args';
import { UsageError } from '../../core/errors';
import { VersionStore } from '../../core/storage';
import { resolveWorkflow } from './storeArgs';

const usage = [
  'promptopt rollback <file> --prompt <id> --to <version> [--json] [--workspace <dir>]',
  '',
  'Restores a stored version: records a new accepted version with its text (restoredFrom',
  '<version>) under <workspace>/.optimizer/versions/ and prints it.',
].join('\n');

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'Restore an earlier version of a prompt as a new version',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { prompt: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, workspace: { type: 'string' } },
      usage,
    );
    const { root, workflow } = resolveWorkflow(positionals[0], values.workspace, io.cwd, usage);
    if (values.prompt === undefined) throw new UsageError('USAGE', `Missing --prompt <id>. Usage: ${usage.split('\n')[0]}`);
    if (values.to === undefined) throw new UsageError('USAGE', `Missing --to <version>. Usage: ${usage.split('\n')[0]}`);
    const store = await VersionStore.open(root, { onWarning: (m) => io.stderr(`warning: ${m}\n`) });
    try {
      const v = await store.rollback(workflow, values.prompt, values.to);
      if (values.json) {
        io.stdout(`${JSON.stringify(v, null, 2)}\n`);
        return 0;
      }
      const preview = v.text.length > 400 ? `${v.text.slice(0, 400)}…` : v.text;
      io.stdout(
        [
          `Rolled back prompt ${v.promptId} in ${workflow} to ${values.to}: saved as version ${v.version} (parent ${v.parentVersion ?? 'none'}).`,
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
