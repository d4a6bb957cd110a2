import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { Checklist } from '../../../src/core/evidence/checklist';
import type { EvidenceReport } from '../../../src/core/evidence/evaluate';
import { mdFence, mdInline } from '../../../src/core/evidence/inert';
import { evidenceMarkdown } from '../../../src/core/evidence/report';
import { evidencePage } from '../../../src/core/evidence/reportPage';
import { winStats } from '../../../src/core/evidence/stats';
import { zeroUsage } from '../../../src/core/evidence/usage';
import { activeConstructs } from './inertCheck';

/** Pieces an attacker puts in a model answer, a reason or a case file. */
const PIECES = [
  '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<svg onload=alert(1)>', '[x](command:workbench.action.terminal.new)', '![i](https://e.com/p.png)',
  '<https://e.com>', '<command:x>', 'https://e.com', 'www.e.com', 'a@b.co', 'e.com', '```', '````', '`````', '~~~', '`', '\n', '\r', '\r\n', '\u2028',
  '# ', '## ', '- ', '* ', '+ ', '1. ', '> ', '|', '\\', '*', '**', '_', '__', '$', '$$', '==', '~~', '{.x}', '[^1]', '[^1]: n', '&lt;', '&#60;', '&amp;',
  '&#x3C;', '<!--', '-->', '<![CDATA[', ']]>', '[ref]: command:x', '[a][ref]', '===', '---', '    code', '\t', ' ', 'text', 'é', '中文', '\u0000', '"', "'", 'javascript:alert(1)',
];
const evil = fc.oneof(fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join('')), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 30 }));

function reportOf(t: string[]): { r: EvidenceReport; checklist: Checklist } {
  const [a = '', b = '', c = '', d = '', e = '', f = '', g = '', k = ''] = t;
  const r: EvidenceReport = {
    promptId: a,
    method: 'judge',
    judgeModel: b,
    taskModel: c,
    candidateSha256: 'x',
    requestNote: d,
    cases: [
      {
        id: e,
        kind: f,
        note: g,
        input: { [k]: a, q: b },
        current: { output: c },
        candidate: { output: d, error: { code: 'X', message: e } },
        winner: 'tie',
        reason: f,
        orders: [
          { winner: 'A', reason: g },
          { winner: 'B', reason: k, error: a },
        ],
        checks: { [b]: { current: true, candidate: null } },
      },
    ],
    stats: winStats({ wins: 0, ties: 1, losses: 0 }),
    requirements: [{ id: c, text: d, current: 0.5, candidate: 1, cases: 2 }],
    dropped: [c],
    verdict: 'no evidence',
    usage: zeroUsage(),
    looks: [{ cases: 1, winRate: 0.5, lower: 0.1, upper: 0.9 }],
    positionConsistency: 0.5,
  };
  return { r, checklist: { version: 1, promptId: a, promptSha256: 'x', requirements: [{ id: c, text: e, kind: 'format', check: { type: 'json' }, origin: 'prompt' }] } };
}

describe('evidence report: no active construct survives (property)', () => {
  it('markdown: every fence closes; outside fences no raw <, no link or image syntax, no autolink, no code span, no injected block', () => {
    fc.assert(
      fc.property(fc.array(evil, { minLength: 8, maxLength: 8 }), (t) => {
        const { r, checklist } = reportOf(t);
        const md = evidenceMarkdown(r, { checklist, current: t[0]!, candidate: t[1]!, casesFile: t[2]!, nodeTitle: t[3]! });
        assert.deepEqual(activeConstructs(md), []);
      }),
      { numRuns: 400 },
    );
  });

  it('a fence holds its text whole, whatever backticks it has; inline text never spans lines', () => {
    fc.assert(
      fc.property(evil, (s) => {
        const f = mdFence(s);
        const fence = /^`+/.exec(f)![0];
        const body = f.slice(fence.length + 'text\n'.length, f.length - fence.length - 1);
        assert.equal(body, s === '' ? '(empty)' : s.replace(/\u0000/g, '\ufffd'));
        assert.ok(!body.split(/\r\n|\r|\n/).some((l) => /^ {0,3}`+\s*$/.test(l) && l.trim().length >= fence.length));
        assert.ok(!/[\r\n]/.test(mdInline(s)));
      }),
      { numRuns: 400 },
    );
  });

  it('HTML page: the only elements are the page\'s own, none has an event handler, link or source', () => {
    const OWN = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'p', 'table', 'thead', 'tbody', 'tr', 'td', 'th', 'b', 'span', 'div', 'pre', 'section', 'ul', 'li', 'svg', 'line', 'text', 'circle', 'rect', 'i']);
    fc.assert(
      fc.property(fc.array(evil, { minLength: 8, maxLength: 8 }), (t) => {
        const { r, checklist } = reportOf(t);
        const html = evidencePage({ ...r, checklist, current: t[0], candidate: t[1], casesFile: t[2] }, { nonce: 'abc123', title: t[3] });
        for (const m of html.matchAll(/<\/?([a-zA-Z][\w:-]*)([^>]*)>/g)) {
          const tag = m[1]!.toLowerCase();
          assert.ok(OWN.has(tag), `an element <${tag}> the page did not write`);
          assert.ok(!/\son\w+\s*=|\s(href|src|xlink:href|action|formaction)\s*=/i.test(m[2]!), `an active attribute in ${m[0]}`);
        }
        assert.ok(!/<script/i.test(html));
        assert.equal((html.match(/<style /g) ?? []).length, 1);
        assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;nonce-abc123&#39;; img-src &#39;none&#39;; script-src &#39;none&#39;/);
      }),
      { numRuns: 300 },
    );
  });
});
