import type { CliCommand } from '../io';
import { parseCommandArgs } from '../args';
import { UsageError } from '../../core/errors';
import { VersionStore, type PromptVersion } from '../../core/storage';
import { resolveWorkflow } from './storeArgs';

const usage = [
  'promptopt versions <file> [--prompt <id>] [--json] [--limit <n>] [--workspace <dir>]',
  '',
  'Lists the stored versions of the prompts of a Dify workflow file (newest first), from',
  '<workspace>/.optimizer/versions/. Without --prompt, lists every prompt with history.',
].join('\n');

function line(v: PromptVersion): string {
  const score = v.analysis?.overall ?? v.optimization?.after?.overall;
  const parts = [
    v.version.padEnd(9),
    v.status.padEnd(9),
    score === undefined ? '    -' : score.toFixed(1).padStart(5),
    v.createdAt,
    v.optimization ? `${v.optimization.strategy} (+${v.optimization.improvement.toFixed(1)})` : '',
    v.restoredFrom ? `restored from ${v.restoredFrom}` : '',
    v.parentVersion ? `parent ${v.parentVersion}` : '',
  ];
  return parts.filter(Boolean).join('  ');
}

export const versionsCommand: CliCommand = {
  name: 'versions',
  summary: 'List the stored versions of a workflow\'s prompts',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { prompt: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' }, workspace: { type: 'string' } },
      usage,
    );
    const { root, workflow } = resolveWorkflow(positionals[0], values.workspace, io.cwd, usage);
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new UsageError('USAGE', `--limit must be a positive integer, not "${values.limit}".`);
    const store = await VersionStore.open(root, { readOnly: true, onWarning: (m) => io.stderr(`warning: ${m}\n`) });
    try {
      const ids = values.prompt !== undefined ? [values.prompt] : await store.listPrompts(workflow);
      const result: { promptId: string; total: number; unreadable?: number; versions: PromptVersion[] }[] = [];
      for (const id of ids) {
        // Listing reads the files; a corrupt one is reported (a warning), dropped from the count
        // and counted as unreadable, so the totals shown are of versions that can be read.
        const indexed = await store.count(workflow, id);
        const versions = await store.list(workflow, id, { limit });
        const total = await store.count(workflow, id);
        result.push({ promptId: id, total, ...(indexed > total ? { unreadable: indexed - total } : {}), versions });
      }
      if (values.json) {
        io.stdout(`${JSON.stringify({ workspace: root, workflow, prompts: result }, null, 2)}\n`);
        return 0;
      }
      if (result.length === 0 || result.every((r) => r.total === 0 && !r.unreadable)) {
        io.stdout(`No stored versions for ${workflow}${values.prompt !== undefined ? ` prompt ${values.prompt}` : ''} in ${root}.\n`);
        return 0;
      }
      for (const r of result) {
        const bad = r.unreadable ? `${r.unreadable} unreadable version${r.unreadable === 1 ? '' : 's'}` : '';
        const counts = r.total === 0 && bad ? bad : `${r.total} version${r.total === 1 ? '' : 's'}${bad ? `, ${bad}` : ''}`;
        io.stdout(`${workflow}  prompt ${r.promptId}  (${counts})\n`);
        for (const v of r.versions) io.stdout(`  ${line(v)}\n`);
        if (r.total > r.versions.length) io.stdout(`  … ${r.total - r.versions.length} older (use --limit)\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
