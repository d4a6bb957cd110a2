import { applyPatches, parsePatchFile } from '../../core/engine/patch';
import { UsageError } from '../../core/errors';
import { atomicWriteFile } from '../../core/util/atomicWrite';
import { parseCommandArgs } from '../args';
import type { CliCommand } from '../io';
import { readTextFile } from './fileInput';

const usage = `promptopt apply <file> <patches.json> [--dry-run]

Apply PromptPatch JSON (from 'promptopt optimize --json'-style tools or written by hand) to a
Dify export through the format-preserving write-back. Every patch must match at least one
prompt, else nothing is written. Patch file: {"schemaVersion":1,"patches":[{"selector":
{"by":"id"|"label"|"type"|"path","value":"…"},"mode":"replace"|"prepend"|"append"|"template",
"content":"…"}]} (a bare array of patches works too; in a template {{$original}} stands for
the current text).
  --dry-run   check and report, write nothing`;

export const applyCommand: CliCommand = {
  name: 'apply',
  summary: 'Apply PromptPatch JSON to a Dify export (format-preserving)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { 'dry-run': { type: 'boolean' } }, usage);
    if (positionals.length !== 2) throw new UsageError('USAGE', `apply takes a file and a patch file. Usage: ${usage.split('\n')[0]}`);
    const [file, patchPath] = positionals;
    const { abs, text } = await readTextFile(io.cwd, file);
    const patchText = (await readTextFile(io.cwd, patchPath, 'patch file')).text;
    const patchFile = parsePatchFile(patchText, patchPath);
    const { text: out, applied } = applyPatches(text, patchFile.patches, file);
    for (const a of applied) {
      io.stderr(`patch ${a.index + 1}: ${a.promptIds.join(', ')}\n`);
      for (const w of a.variableWarnings) io.stderr(`  warning: ${w}\n`);
    }
    if (values['dry-run']) {
      io.stderr(`dry run: ${out === text ? 'no change' : 'would change'} ${file}\n`);
      return 0;
    }
    if (out !== text) await atomicWriteFile(abs, out);
    io.stderr(`${out === text ? 'no change to' : 'wrote'} ${file}\n`);
    return 0;
  },
};
