import { applyPatches, parsePatchFile } from '../../core/engine/patch';
import { UsageError } from '../../core/errors';
import { updateWorkflowFile } from '../../core/service/fileWriter';
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
    const dryRun = !!values['dry-run'];
    const { abs, text } = await readTextFile(io.cwd, file, 'file', undefined, dryRun ? (m) => io.stderr(`warning: ${m}\n`) : undefined);
    const patchText = (await readTextFile(io.cwd, patchPath, 'patch file')).text;
    const patchFile = parsePatchFile(patchText, patchPath);
    const report = (applied: ReturnType<typeof applyPatches>['applied']) => {
      for (const a of applied) {
        io.stderr(`patch ${a.index + 1}: ${a.promptIds.join(', ')}\n`);
        for (const w of a.variableWarnings) io.stderr(`  warning: ${w}\n`);
      }
    };
    if (dryRun) {
      const { text: out, applied } = applyPatches(text, patchFile.patches, file);
      report(applied);
      io.stderr(`dry run: ${out === text ? 'no change' : 'would change'} ${file}\n`);
      return 0;
    }
    // Patches are applied to the file's current text under its lock (concurrent writers kept).
    let applied: ReturnType<typeof applyPatches>['applied'] = [];
    const r = await updateWorkflowFile(
      abs,
      (current) => {
        const res = applyPatches(current, patchFile.patches, file);
        applied = res.applied;
        return res.text;
      },
      { displayName: file, what: 'applying the patches' },
    );
    report(applied);
    io.stderr(`${r.changed ? 'wrote' : 'no change to'} ${file}\n`);
    return 0;
  },
};
