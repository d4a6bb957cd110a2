/** The evidence as people read it: a markdown report (per case: input, both answers, the judge's reasons, checks) and a compact CLI table. */
import type { Checklist } from './checklist';
import { evidenceSummary, type EvidenceReport } from './evaluate';
import { mdFence, mdInline } from './inert';

/** One line for a terminal: control characters (ESC sequences included) shown as \u escapes, never sent raw. */
export function termCell(text: string, max = 60): string {
  const one = text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

const mark = (v: boolean | null | undefined) => (v === true ? '✓' : v === false ? '✗' : '–');

const pct = (v: number) => `${Math.round(v * 100)}%`;

/** "current" / "candidate" for the winner of one judge order (order 0 shows the current answer as A, order 1 swaps them). */
export function orderWinner(order: number, w: 'A' | 'B' | 'tie'): 'current' | 'candidate' | 'tie' {
  if (w === 'tie') return 'tie';
  return (w === 'A') === (order === 0) ? 'current' : 'candidate';
}

/** The answer as shown: its text, or why the call failed. */
export function answerText(a: { output: string; error?: { message: string } }): string {
  return a.error ? `(failed: ${a.error.message})${a.output ? `\n${a.output}` : ''}` : a.output;
}

/** "90% interval 0.41–0.80" of the win rate. */
export function intervalText(s: { lower: number; upper: number }): string {
  return `90% interval ${s.lower.toFixed(2)}–${s.upper.toFixed(2)}`;
}

/**
 * The markdown export of a report. Everything that came from a model, the cases file or the
 * checklist is inert (see inert.ts): inline text escaped, multi-line text in fences no line of it
 * can close. Per case: the input, both answers, the judge's reasons for both orders, the checks.
 */
export function evidenceMarkdown(
  r: EvidenceReport,
  ctx: { checklist: Checklist; current: string; candidate: string; casesFile: string; nodeTitle: string },
): string {
  const t = mdInline;
  const lines: string[] = [];
  lines.push(`# Evidence: ${t(ctx.nodeTitle)} (${t(r.promptId)})`, '');
  lines.push(`**Verdict: ${t(evidenceSummary(r))}**`, '');
  lines.push(`Win rate ${r.stats.winRate.toFixed(2)}, ${intervalText(r.stats)} on ${r.stats.cases} cases.`, '');
  lines.push(`Cases: ${t(ctx.casesFile)} (${r.stats.cases}) · compared by ${r.method === 'judge' ? `a pairwise judge${r.judgeModel ? ` (${t(r.judgeModel)})` : ''}, each pair judged in both orders (a disagreement counts as a tie)` : 'the dataset\'s metrics'} · task model ${t(r.taskModel ?? '(configured model)')}`, '');
  if (r.positionConsistency !== undefined) lines.push(`Judge position consistency: ${pct(r.positionConsistency)} of judged cases gave the same winner in both orders.`, '');
  if (r.sameJudgeAsTask) lines.push('Note: the judge is the model that answers the task; it may favour its own style.', '');
  if (r.requestNote) lines.push(`Note: ${t(r.requestNote)}.`, '');
  lines.push(`Calls: ${r.usage.calls} (${r.usage.cachedCalls} from the cache) · tokens ${r.usage.promptTokens + r.usage.completionTokens} · cost \\$${r.usage.costUsd.toFixed(4)}`, '');
  if (r.looks?.length) {
    lines.push('## Looks', '', '| Cases | Win rate | 90% interval |', '|---|---|---|');
    for (const l of r.looks) lines.push(`| ${l.cases} | ${l.winRate.toFixed(2)} | ${l.lower.toFixed(2)}–${l.upper.toFixed(2)} |`);
    lines.push('');
  }
  if (ctx.checklist.requirements.length) {
    lines.push('## Requirements', '', '| | Requirement | Check | Current | Candidate |', '|---|---|---|---|---|');
    for (const q of ctx.checklist.requirements) {
      const rate = r.requirements.find((x) => x.id === q.id);
      const p = (v: number | undefined) => (rate && rate.cases ? pct(v ?? 0) : '–');
      lines.push(`| ${t(q.id)} | ${t(q.text, 90)} | ${t(q.check.type)} | ${p(rate?.current)} | ${p(rate?.candidate)}${r.dropped.includes(q.id) ? ' ↓' : ''} |`);
    }
    lines.push('');
  }
  lines.push('## Prompts', '', '### Current', '', mdFence(ctx.current), '', '### Candidate', '', mdFence(ctx.candidate), '');
  lines.push('## Cases', '');
  for (const c of r.cases) {
    const who = c.winner === 'candidate' ? 'candidate wins' : c.winner === 'current' ? 'current wins' : 'tie';
    lines.push(`### ${t(c.id)}${c.kind ? ` · ${t(c.kind)}` : ''} · ${who}`, '');
    if (c.note) lines.push(`Note: ${t(c.note)}`, '');
    lines.push('Input:', '', mdFence(Object.entries(c.input).map(([k, v]) => `${k}: ${v}`).join('\n')), '');
    lines.push('Current answer:', '', mdFence(answerText(c.current)), '');
    lines.push('Candidate answer:', '', mdFence(answerText(c.candidate)), '');
    if (c.orders?.length) {
      c.orders.forEach((o, i) => {
        const w = orderWinner(i, o.winner);
        lines.push(`Judge, ${i === 0 ? 'current answer shown first' : 'candidate answer shown first'}: ${w === 'tie' ? 'tie' : `${w} wins`}${o.error ? ` (failed: ${t(o.error)})` : ''} · ${t(o.reason)}`, '');
      });
    } else if (c.reason) lines.push(`Reason: ${t(c.reason)}`, '');
    const ids = Object.keys(c.checks);
    if (ids.length) lines.push(`Checks: ${ids.map((id) => `${t(id)} ${mark(c.checks[id]!.current)}/${mark(c.checks[id]!.candidate)}`).join(' · ')} (current/candidate)`, '');
  }
  return `${lines.join('\n')}\n`;
}

/** A compact table for the terminal: one row per case, then the verdict. */
export function evidenceTable(r: EvidenceReport): string {
  const rows = r.cases.map((c) => [termCell(c.id, 30), termCell(c.kind ?? '', 12), c.winner === 'candidate' ? 'win' : c.winner === 'current' ? 'loss' : 'tie', termCell(c.reason, 70)]);
  const head = ['case', 'kind', 'result', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  const out = [fmt(head), ...rows.map(fmt)];
  if (r.requirements.length) {
    out.push('');
    for (const q of r.requirements) out.push(`${q.id}  ${termCell(q.text, 60).padEnd(60)}  ${q.cases ? `${Math.round(q.current * 100)}% → ${Math.round(q.candidate * 100)}%` : 'not checked'}${r.dropped.includes(q.id) ? '  (dropped)' : ''}`);
  }
  if (r.requestNote) out.push('', `Note: ${termCell(r.requestNote, 200)}.`);
  out.push('', `Verdict: ${evidenceSummary(r)}`, `Calls: ${r.usage.calls} sent, ${r.usage.cachedCalls} from the cache; tokens ${r.usage.promptTokens + r.usage.completionTokens}; cost $${r.usage.costUsd.toFixed(4)}`);
  return `${out.join('\n')}\n`;
}
