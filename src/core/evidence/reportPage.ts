/**
 * The evidence report as an HTML page (the VS Code webview's content): per case the input, both
 * answers side by side and the judge's reasons for both orders; the requirement pass rates as
 * bars; the win-rate interval after each look as a small chart; calls, tokens, cost and the
 * judge's position consistency. Charts are inline SVG drawn from numbers (no library, no script).
 *
 * Every piece of text from the report file is untrusted (model answers, reasons, inputs): it is
 * written only as escaped text, never as markup, and the page carries a CSP that allows no
 * script, no remote resource and only the nonce'd style sheet.
 */
import type { Checklist } from './checklist';
import { evidenceSummary, type CaseEvidence, type EvidenceReport } from './evaluate';
import { htmlEscape as h } from './inert';
import { answerText, intervalText, orderWinner } from './report';

/** What a report file (`.optimizer/evidence/*.json`) holds: the report and what it was run with. */
export type EvidenceReportFile = EvidenceReport & { casesFile?: string; checklist?: Checklist; current?: string; candidate?: string };

export interface PageOptions {
  /** A fresh random value per render: the only style sheet allowed carries it. */
  nonce: string;
  /** The webview's `cspSource`, allowed for styles too (none is loaded today). */
  cspSource?: string;
  /** Shown above the report (e.g. the workflow file and node). */
  title?: string;
}

const num = (v: unknown, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const pct = (v: number) => `${Math.round(v * 100)}%`;
const f2 = (v: number) => v.toFixed(2);

/** The Content-Security-Policy of the page: nothing but the nonce'd style sheet. */
export function pageCsp(o: Pick<PageOptions, 'nonce' | 'cspSource'>): string {
  const nonce = o.nonce.replace(/[^A-Za-z0-9+/=_-]/g, '');
  return `default-src 'none'; style-src 'nonce-${nonce}'${o.cspSource ? ` ${o.cspSource.replace(/[;'"\s]/g, '')}` : ''}; img-src 'none'; script-src 'none'; font-src 'none'; connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'`;
}

/** The chart of the win-rate interval after each look: one vertical bar per look (the 90% interval), a dot at the win rate, a line at 0.5. */
export function looksChart(looks: ReadonlyArray<{ cases: number; winRate: number; lower: number; upper: number }>): string {
  const W = 320;
  const H = 140;
  const pad = { l: 34, r: 10, t: 10, b: 24 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const y = (v: number) => pad.t + ih * (1 - Math.min(1, Math.max(0, v)));
  const n = looks.length;
  const x = (i: number) => pad.l + (n <= 1 ? iw / 2 : (iw * i) / (n - 1));
  const parts: string[] = [];
  parts.push(`<svg class="chart" role="img" aria-label="Win rate and its 90% interval after each look" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  for (const v of [0, 0.5, 1]) {
    parts.push(`<line class="${v === 0.5 ? 'half' : 'axis'}" x1="${pad.l}" x2="${W - pad.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${pad.l - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  looks.forEach((l, i) => {
    const cx = x(i).toFixed(1);
    parts.push(`<line class="interval" x1="${cx}" x2="${cx}" y1="${y(num(l.upper, 1)).toFixed(1)}" y2="${y(num(l.lower)).toFixed(1)}"><title>${num(l.cases)} cases: win rate ${f2(num(l.winRate))}, 90% interval ${f2(num(l.lower))}–${f2(num(l.upper, 1))}</title></line>`);
    parts.push(`<circle class="rate" cx="${cx}" cy="${y(num(l.winRate)).toFixed(1)}" r="3.5"/>`);
    parts.push(`<text class="tick" x="${cx}" y="${H - 6}" text-anchor="middle">${num(l.cases)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Two bars per requirement: the share of answers of each prompt that meet it. */
export function requirementBars(rows: ReadonlyArray<{ id: string; text: string; current: number; candidate: number; cases: number; dropped: boolean }>): string {
  const W = 200;
  const out: string[] = ['<table class="reqs"><thead><tr><th>Requirement</th><th>Pass rate (current / candidate)</th></tr></thead><tbody>'];
  for (const r of rows) {
    const bar = (cls: string, v: number, yy: number) =>
      `<rect class="${cls}" x="0" y="${yy}" width="${(W * Math.min(1, Math.max(0, v))).toFixed(1)}" height="9"/><text class="tick" x="${W + 6}" y="${yy + 8}">${r.cases ? pct(v) : '–'}</text>`;
    out.push(
      `<tr${r.dropped ? ' class="dropped"' : ''}><td><b>${h(r.id)}</b> ${h(r.text)}${r.dropped ? ' <span class="bad">(dropped)</span>' : ''}</td>` +
        `<td><svg class="bars" role="img" aria-label="current ${pct(r.current)}, candidate ${pct(r.candidate)}" width="${W + 44}" height="24" viewBox="0 0 ${W + 44} 24">` +
        `<rect class="track" x="0" y="1" width="${W}" height="9"/>${bar('cur', r.current, 1)}<rect class="track" x="0" y="13" width="${W}" height="9"/>${bar('cand', r.candidate, 13)}</svg></td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('');
}

function caseSection(c: CaseEvidence): string {
  const who = c.winner === 'candidate' ? 'candidate wins' : c.winner === 'current' ? 'current wins' : 'tie';
  const input = Object.entries(c.input ?? {}).map(([k, v]) => `${k}: ${str(v)}`).join('\n');
  const orders = (c.orders ?? []).map((o, i) => {
    const w = orderWinner(i, o.winner);
    return `<li><span class="order">${i === 0 ? 'Current answer shown first' : 'Candidate answer shown first'}:</span> <b>${w === 'tie' ? 'tie' : `${w} wins`}</b>${o.error ? ` <span class="bad">(failed: ${h(str(o.error))})</span>` : ''}<div class="reason">${h(str(o.reason))}</div></li>`;
  });
  const checks = Object.entries(c.checks ?? {}).map(([id, v]) => {
    const m = (b: boolean | null | undefined) => (b === true ? '✓' : b === false ? '✗' : '–');
    return `<span class="check">${h(id)} ${m(v?.current)}/${m(v?.candidate)}</span>`;
  });
  return [
    `<section class="case ${c.winner === 'candidate' ? 'win' : c.winner === 'current' ? 'loss' : 'tie'}">`,
    `<h3>${h(str(c.id))}${c.kind ? ` · ${h(str(c.kind))}` : ''} · ${who}</h3>`,
    c.note ? `<p class="note">${h(str(c.note))}</p>` : '',
    `<div class="label">Input</div><pre class="input">${h(input || '(none)')}</pre>`,
    `<div class="pair"><div><div class="label">Current answer</div><pre class="answer current">${h(answerText(c.current ?? { output: '' }) || '(empty)')}</pre></div>`,
    `<div><div class="label">Candidate answer</div><pre class="answer candidate">${h(answerText(c.candidate ?? { output: '' }) || '(empty)')}</pre></div></div>`,
    orders.length ? `<div class="label">The judge's reasons</div><ul class="orders">${orders.join('')}</ul>` : c.reason ? `<div class="label">Reason</div><div class="reason">${h(str(c.reason))}</div>` : '',
    checks.length ? `<div class="checks">Checks (current/candidate): ${checks.join(' ')}</div>` : '',
    '</section>',
  ].join('');
}

const STYLE = `
body{font-family:var(--vscode-font-family,sans-serif);font-size:var(--vscode-font-size,13px);color:var(--vscode-foreground,#222);background:var(--vscode-editor-background,#fff);padding:0 16px 24px;line-height:1.4}
h1{font-size:1.4em;margin:.6em 0 .2em}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid var(--vscode-panel-border,#ccc)}h3{font-size:1em;margin:.2em 0 .4em}
pre{white-space:pre-wrap;word-break:break-word;background:var(--vscode-textCodeBlock-background,#f4f4f4);padding:6px 8px;margin:2px 0 8px;border-radius:3px;font-family:var(--vscode-editor-font-family,monospace)}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}.label{font-weight:600;opacity:.85;margin-top:4px}
.case{border:1px solid var(--vscode-panel-border,#ccc);border-left-width:4px;border-radius:3px;padding:6px 10px;margin:10px 0}
.case.win{border-left-color:#3fb950}.case.loss{border-left-color:#f85149}.case.tie{border-left-color:#9e9e9e}
.verdict{font-size:1.1em;font-weight:600}.facts td{padding:1px 12px 1px 0}.bad{color:var(--vscode-errorForeground,#c00)}
.orders{margin:2px 0 6px;padding-left:18px}.reason{white-space:pre-wrap;word-break:break-word}.check{margin-right:10px}
.note{font-style:italic;margin:0 0 4px}.reqs{border-collapse:collapse}.reqs td,.reqs th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
svg text{fill:currentColor;font-size:10px}.axis{stroke:currentColor;stroke-opacity:.25}.half{stroke:currentColor;stroke-dasharray:4 3;stroke-opacity:.6}
.interval{stroke:#4c8df6;stroke-width:4;stroke-linecap:round}.rate{fill:currentColor}.track{fill:currentColor;fill-opacity:.1}.cur{fill:#9e9e9e}.cand{fill:#4c8df6}
.legend span{margin-right:12px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}.sw.cur{background:#9e9e9e}.sw.cand{background:#4c8df6}
`;

/** The full HTML document of a report (see the file comment on what is trusted). */
export function evidencePage(r: EvidenceReportFile, o: PageOptions): string {
  const stats = r.stats ?? { wins: 0, ties: 0, losses: 0, cases: 0, winRate: 0, lower: 0, upper: 1 };
  const usage = r.usage ?? { calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  const nonce = o.nonce.replace(/[^A-Za-z0-9+/=_-]/g, '');
  const looks = r.looks?.length ? r.looks : [{ cases: num(stats.cases), winRate: num(stats.winRate), lower: num(stats.lower), upper: num(stats.upper, 1) }];
  const dropped = new Set(Array.isArray(r.dropped) ? r.dropped : []);
  const cases: CaseEvidence[] = Array.isArray(r.cases) ? r.cases.filter((c) => c && typeof c === 'object') : [];
  const reqText = new Map((r.checklist?.requirements ?? []).map((q) => [q.id, q.text]));
  const reqs = (Array.isArray(r.requirements) ? r.requirements : []).map((q) => ({ id: str(q.id), text: str(reqText.get(q.id) ?? q.text), current: num(q.current), candidate: num(q.candidate), cases: num(q.cases), dropped: dropped.has(q.id) }));
  let summary: string;
  try {
    summary = evidenceSummary({ verdict: r.verdict, stats, dropped: [...dropped] });
  } catch {
    summary = str(r.verdict);
  }
  const facts: Array<[string, string]> = [
    ['Cases', `${num(stats.cases)}${r.casesFile ? ` in ${r.casesFile}` : ''}`],
    ['Compared by', r.method === 'metrics' ? "the dataset's metrics" : `a pairwise judge${r.judgeModel ? ` (${r.judgeModel})` : ''}, each pair in both orders`],
    ['Task model', str(r.taskModel ?? '(configured model)')],
    ...(r.positionConsistency !== undefined ? [["Judge's position consistency", `${pct(num(r.positionConsistency))} of judged cases gave the same winner in both orders`] as [string, string]] : []),
    ...(r.sameJudgeAsTask ? [['Judge', 'the same model as the task (it may favour its own style)'] as [string, string]] : []),
    ['Calls', `${num(usage.calls)} (${num(usage.cachedCalls)} from the cache)`],
    ['Tokens', `${num(usage.promptTokens) + num(usage.completionTokens)} (${num(usage.promptTokens)} prompt, ${num(usage.completionTokens)} completion)`],
    ['Cost', `$${num(usage.costUsd).toFixed(4)}`],
    ...(r.requestNote ? [['Note', str(r.requestNote)] as [string, string]] : []),
  ];
  const body = [
    `<h1>Evidence${o.title ? `: ${h(o.title)}` : ''}</h1>`,
    `<p class="verdict">${h(summary)}</p>`,
    `<p>Win rate ${f2(num(stats.winRate))}, ${intervalText({ lower: num(stats.lower), upper: num(stats.upper, 1) })} on ${num(stats.cases)} cases.</p>`,
    `<table class="facts"><tbody>${facts.map(([k, v]) => `<tr><td>${h(k)}</td><td>${h(v)}</td></tr>`).join('')}</tbody></table>`,
    '<h2>Win rate after each look</h2>',
    looksChart(looks),
    reqs.length ? `<h2>Requirements</h2><div class="legend"><span><i class="sw cur"></i>current</span><span><i class="sw cand"></i>candidate</span></div>${requirementBars(reqs)}` : '',
    r.current !== undefined || r.candidate !== undefined
      ? `<h2>Prompts</h2><div class="pair"><div><div class="label">Current</div><pre class="prompt">${h(str(r.current) || '(empty)')}</pre></div><div><div class="label">Candidate</div><pre class="prompt">${h(str(r.candidate) || '(empty)')}</pre></div></div>`
      : '',
    `<h2>Cases (${cases.length})</h2>`,
    ...cases.map(caseSection),
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${h(pageCsp({ nonce, cspSource: o.cspSource }))}">`,
    `<title>${h(o.title ? `Evidence: ${o.title}` : 'Evidence report')}</title>`,
    `<style nonce="${nonce}">${STYLE}</style>`,
    '</head><body>',
    ...body,
    '</body></html>',
  ].join('\n');
}
