/** The evidence as people read it: a markdown report (per case: input, both answers, verdict, reason, checks) and a compact CLI table. */
import type { Checklist } from './checklist';
import { evidenceSummary, type EvidenceReport } from './evaluate';

function block(text: string): string {
  const t = text === '' ? '(empty)' : text;
  const fence = t.includes('```') ? '````' : '```';
  return `${fence}text\n${t}\n${fence}`;
}

function cell(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** One line for a terminal: control characters (ESC sequences included) shown as \u escapes, never sent raw. */
export function termCell(text: string, max = 60): string {
  const one = text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** "https://dify.example.com (server DSL 0.3.0, export DSL 0.3.0); temporary copies [promptopt tmp] … (id), deleted after the run" */
export function runtimeLine(rt: NonNullable<EvidenceReport['runtime']>): string {
  const apps = rt.apps.length ? `temporary app copies ${rt.apps.join(', ')}, deleted after the run` : 'every answer from the cache (no app copy made)';
  return `${rt.server}${rt.version ? ` (${rt.version})` : ''}; ${apps}`;
}

const mark = (v: boolean | null | undefined) => (v === true ? '✓' : v === false ? '✗' : '–');

export function evidenceMarkdown(
  r: EvidenceReport,
  ctx: { checklist: Checklist; current: string; candidate: string; casesFile: string; nodeTitle: string },
): string {
  const lines: string[] = [];
  lines.push(`# Evidence: ${ctx.nodeTitle} (${r.promptId})`, '');
  lines.push(`**Verdict: ${evidenceSummary(r)}**`, '');
  lines.push(`Cases: \`${ctx.casesFile}\` (${r.stats.cases}) · compared by ${r.method === 'judge' ? `a pairwise judge${r.judgeModel ? ` (${r.judgeModel})` : ''}, each pair judged in both orders (disagreement = tie)` : 'the dataset\'s metrics'} · task model ${r.taskModel ?? '(configured model)'}`);
  if (r.requestNote && !r.runtime) lines.push(`Note: ${r.requestNote}.`);
  if (r.runtime) lines.push(`Answers: from Dify itself, ${runtimeLine(r.runtime)}.`);
  lines.push(`Calls: ${r.usage.calls} (${r.usage.cachedCalls} from the cache) · tokens ${r.usage.promptTokens + r.usage.completionTokens} · cost $${r.usage.costUsd.toFixed(4)}`, '');
  if (ctx.checklist.requirements.length) {
    lines.push('## Requirements', '', '| | Requirement | Check | Current | Candidate |', '|---|---|---|---|---|');
    for (const q of ctx.checklist.requirements) {
      const rate = r.requirements.find((x) => x.id === q.id);
      const pct = (v: number | undefined) => (rate && rate.cases ? `${Math.round((v ?? 0) * 100)}%` : '–');
      lines.push(`| ${q.id} | ${cell(q.text, 90)} | ${q.check.type} | ${pct(rate?.current)} | ${pct(rate?.candidate)}${r.dropped.includes(q.id) ? ' ↓' : ''} |`);
    }
    lines.push('');
  }
  lines.push('## Prompts', '', '### Current', '', block(ctx.current), '', '### Candidate', '', block(ctx.candidate), '');
  lines.push('## Cases', '');
  for (const c of r.cases) {
    const who = c.winner === 'candidate' ? 'candidate wins' : c.winner === 'current' ? 'current wins' : 'tie';
    lines.push(`### ${c.id}${c.kind ? ` · ${c.kind}` : ''} · ${who}`, '');
    if (c.note) lines.push(`_${c.note}_`, '');
    lines.push('Input:', '', block(Object.entries(c.input).map(([k, v]) => `${k}: ${v}`).join('\n')), '');
    lines.push('| Current | Candidate |', '|---|---|', `| ${cell(c.current.error ? `(failed: ${c.current.error.message})` : c.current.output, 400)} | ${cell(c.candidate.error ? `(failed: ${c.candidate.error.message})` : c.candidate.output, 400)} |`, '');
    if (c.reason) lines.push(`Reason: ${c.reason}`, '');
    const ids = Object.keys(c.checks);
    if (ids.length) lines.push(`Checks: ${ids.map((id) => `${id} ${mark(c.checks[id]!.current)}/${mark(c.checks[id]!.candidate)}`).join(' · ')} (current/candidate)`, '');
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
  if (r.requestNote && !r.runtime) out.push('', `Note: ${termCell(r.requestNote, 200)}.`);
  if (r.runtime) out.push('', `Answers: from Dify itself, ${termCell(runtimeLine(r.runtime), 400)}.`);
  out.push('', `Verdict: ${evidenceSummary(r)}`, `Calls: ${r.usage.calls} sent, ${r.usage.cachedCalls} from the cache; tokens ${r.usage.promptTokens + r.usage.completionTokens}; cost $${r.usage.costUsd.toFixed(4)}`);
  return `${out.join('\n')}\n`;
}
