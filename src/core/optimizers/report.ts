import { demoBlock } from '../runtime/render';
import type { Budget } from '../llm/types';
import type { CostEstimate, OptimizerReport, ScoredCandidate, TaskModelSource } from './types';

/** Plain-text presentation of dataset optimization estimates and reports (CLI and VS Code). */

export const pct = (x: number | undefined): string => (x === undefined ? '   -  ' : `${(x * 100).toFixed(1).padStart(5)}%`);

/** The prompt text a candidate stands for: its instruction, plus its demos as an examples block. */
export function candidatePromptText(c: Pick<ScoredCandidate, 'text' | 'demos'>): string {
  return c.demos?.length ? `${c.text}\n\n${demoBlock(c.demos)}` : c.text;
}

function describe(c: ScoredCandidate): string {
  const demos = c.demos?.length ? ` [+${c.demos.length} demos as ${c.demoMode ?? 'block'}]` : '';
  const t = c.text.replace(/\s+/g, ' ').trim();
  return `${t.length > 70 ? `${t.slice(0, 69)}…` : t}${demos}`;
}

/** "gpt-4o-mini (the node's model)" and the like. */
export function taskModelText(t: { name?: string; source: TaskModelSource }): string {
  const from = t.source === 'flag' ? 'chosen with --task-model' : t.source === 'node' ? "the node's model" : 'the configured model';
  return `${t.name ?? 'the endpoint default'} (${from})`;
}

const fmtNum = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export function formatEstimate(e: CostEstimate, budget: Budget): string {
  const lines = [
    `Estimate: about ${e.calls} calls (${e.taskCalls} task, ${e.proposalCalls} proposal, ${e.embeddingCalls} embedding, ${e.judgeCalls} judge),`,
    `          ${e.promptTokens + e.completionTokens} tokens, $${e.costUsd.toFixed(4)} (list prices and config.yaml pricing; models without a price count as $0).`,
  ];
  const caps = [
    budget.maxCalls !== undefined ? `${budget.maxCalls} calls` : '',
    budget.maxCostUsd !== undefined ? `$${budget.maxCostUsd}` : '',
    budget.maxTokens !== undefined ? `${budget.maxTokens} tokens` : '',
  ].filter(Boolean);
  if (caps.length) lines.push(`Budget:   at most ${caps.join(', ')}.`);
  for (const n of e.notes) lines.push(`Note:     ${n}`);
  return `${lines.join('\n')}\n`;
}

export function formatReport(r: OptimizerReport, runFile: string): string {
  const out: string[] = [];
  out.push(`\n${r.optimizer}: ${r.candidates.length} candidate(s) for prompt ${r.promptId}  (train / validation, mean score)`);
  const rows = [...r.candidates].sort(
    (a, b) => (b.validationScore ?? -1) - (a.validationScore ?? -1) || (b.trainScore ?? -1) - (a.trainScore ?? -1),
  );
  for (const c of rows) {
    const mark = c.id === r.best.id ? '*' : c.id === r.baseline.id ? 'b' : ' ';
    const state = c.rejectedReason ? `rejected: ${c.rejectedReason}` : describe(c);
    out.push(` ${mark} ${c.source.padEnd(8)} r${c.round}  ${pct(c.trainScore)}  ${pct(c.validationScore)}  ${state}`);
  }
  const evolved = r.candidates.filter((c) => c.answered?.length);
  if (evolved.length) {
    out.push('');
    out.push('Lineage (each reflective candidate, its parent, and the feedback it answered):');
    const short = (id?: string) => (id ? id.slice(0, 8) : '-');
    for (const c of evolved) {
      const mb = c.minibatch ? `, minibatch ${fmtNum(c.minibatch.parent)} → ${fmtNum(c.minibatch.child)} of ${c.minibatch.exampleIds.length}` : '';
      out.push(`  ${short(c.id)} r${c.round} from ${c.parentId === r.baseline.id ? 'baseline' : short(c.parentId)}${mb}${c.rejectedReason ? ` (${c.rejectedReason})` : ''}`);
      for (const f of c.answered!) out.push(`      ${f.exampleId}: ${f.text.replace(/\s+/g, ' ').slice(0, 110)}`);
    }
  }
  out.push('');
  out.push(
    `Baseline validation: ${pct(r.baseline.validationScore).trim()}   best: ${pct(r.best.validationScore).trim()}   improvement: ${(r.improvement * 100).toFixed(1)} points`,
  );
  const measured = r.candidates.some((c) => c.id !== r.baseline.id && c.validationScore !== undefined);
  out.push(
    r.accepted
      ? `Best candidate (${r.best.source}, round ${r.best.round}) beats the baseline on validation:`
      : !measured && r.failedProposals
        ? `No candidate was measured: ${r.failedProposals.count} proposal call(s) failed and were skipped (${r.failedProposals.message}); keep the current prompt, and fix that before running again.`
        : 'No candidate beat the baseline on validation; keep the current prompt.',
  );
  if (r.accepted) {
    out.push('---');
    out.push(r.best.text);
    if (r.best.demos?.length) out.push(`(+ ${r.best.demos.length} demos as ${r.best.demoMode}: ${r.best.demos.map((d) => d.exampleId).join(', ')})`);
    out.push('---');
  }
  if (r.stoppedReason === 'budget') out.push('The search stopped early to stay within the budget.');
  if (r.failedRuns) out.push(`${r.failedRuns.count} of ${r.failedRuns.of} example run(s) failed and scored 0 (${r.failedRuns.code}: ${r.failedRuns.message}).`);
  if (r.failedProposals && (measured || r.accepted)) out.push(`${r.failedProposals.count} proposal call(s) failed and were skipped (${r.failedProposals.message}).`);
  for (const p of r.budgetPlan ?? []) {
    const used = p.usedCalls !== undefined ? `, used ${p.usedCalls}` : '';
    out.push(`Member ${p.optimizer}: share ${p.allottedCalls} call(s) of the budget (estimate ${p.estimatedCalls}, minimum ${p.minimumCalls}${used})${p.cutShort ? ` — ${p.cutShort}` : ''}.`);
  }
  if (r.taskModel) out.push(`Task model: ${taskModelText(r.taskModel)}.`);
  out.push(
    `Used ${r.usage.calls} call(s), ${r.usage.promptTokens + r.usage.completionTokens} tokens, $${r.usage.costUsd.toFixed(4)}; ${r.reusedResults} result(s) reused from the run log.`,
  );
  if (r.earlierUsage) {
    out.push(`Earlier attempts of this run used ${r.earlierUsage.calls} call(s), ${r.earlierUsage.tokens} tokens, $${r.earlierUsage.costUsd.toFixed(4)} (counted against the budget).`);
  }
  out.push(`Run log: ${runFile} (resume with --run-id ${r.runId})`);
  return `${out.join('\n')}\n`;
}
