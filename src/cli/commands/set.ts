import { parseDify, replacePrompts, findPrompt } from '../../core/dsl/index';
import { UsageError } from '../../core/errors';
import { updateWorkflowFile } from '../../core/service/fileWriter';
import { parseCommandArgs } from '../args';
import type { CliCommand } from '../io';
import { readTextFile } from './fileInput';

const usage = `promptopt set <file> --prompt <id> (--text-file <path> | --text <s>)

Replace one prompt's text in a Dify export, in place and atomically. Every other byte of the
file stays as it was. Prompt ids are listed by 'promptopt extract <file>'.`;

/** `promptopt set`: write one prompt back into the file. */
export const setCommand: CliCommand = {
  name: 'set',
  summary: 'Replace one prompt in a Dify export, in place',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { prompt: { type: 'string' }, text: { type: 'string' }, 'text-file': { type: 'string' } },
      usage,
    );
    const first = usage.split('\n')[0];
    if (positionals.length !== 1) throw new UsageError('USAGE', `set takes exactly one file. Usage: ${first}`);
    if (!values.prompt) throw new UsageError('USAGE', `--prompt <id> is required. Usage: ${first}`);
    if ((values.text === undefined) === (values['text-file'] === undefined)) {
      throw new UsageError('USAGE', `give exactly one of --text or --text-file. Usage: ${first}`);
    }
    const file = positionals[0];
    const newText = values.text ?? (await readTextFile(io.cwd, values['text-file'] as string, 'text file')).text;
    const { abs } = await readTextFile(io.cwd, file);
    const promptId = values.prompt;
    let id = promptId;
    // The edit runs on the file's current text under its lock, so concurrent writers of other
    // prompts are kept (see updateWorkflowFile).
    const r = await updateWorkflowFile(
      abs,
      (text) => {
        const doc = parseDify(text, { file });
        id = findPrompt(doc, promptId).id;
        return replacePrompts(doc, [{ id, text: newText }], { file, verify: true });
      },
      { displayName: file, what: `setting prompt ${promptId}` },
    );
    if (!r.changed) {
      io.stdout(`${file}: prompt ${id} already has this text; file unchanged.\n`);
      return 0;
    }
    io.stdout(`${file}: prompt ${id} updated (${[...newText].length} characters).\n`);
    return 0;
  },
};
