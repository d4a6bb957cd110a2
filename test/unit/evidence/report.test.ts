import { strict as assert } from 'node:assert';
import type { Checklist } from '../../../src/core/evidence/checklist';
import type { EvidenceReport } from '../../../src/core/evidence/evaluate';
import { evidenceMarkdown, evidenceTable } from '../../../src/core/evidence/report';
import { winStats } from '../../../src/core/evidence/stats';
import { zeroUsage } from '../../../src/core/evidence/usage';
import { activeConstructs } from './inertCheck';

const report: EvidenceReport = {
  promptId: 'n/p',
  method: 'judge',
  candidateSha256: 'x',
  cases: [
    {
      id: 'case-01',
      kind: 'adversarial',
      input: { 'sys.query': 'a | b' },
      current: { output: 'old' },
      candidate: { output: 'new | \u001b[31mred' },
      winner: 'candidate',
      reason: 'A | B \u001b[2J',
      orders: [
        { winner: 'B', reason: 'B is clearer' },
        { winner: 'A', reason: 'A is clearer' },
      ],
      checks: { R1: { current: true, candidate: false } },
    },
  ],
  stats: winStats({ wins: 1, ties: 0, losses: 0 }),
  requirements: [{ id: 'R1', text: 'JSON', current: 1, candidate: 0, cases: 1 }],
  dropped: ['R1'],
  verdict: 'worse',
  usage: zeroUsage(),
};
const checklist: Checklist = { version: 1, promptId: 'n/p', promptSha256: 'x', requirements: [{ id: 'R1', text: 'JSON', kind: 'format', check: { type: 'json' }, origin: 'prompt' }] };
const ctx = { checklist, current: 'cur', candidate: 'cand', casesFile: '.optimizer/datasets/c.jsonl', nodeTitle: 'Answer' };

describe('evidence: the report and the terminal table', () => {
  it('the table shows control characters escaped, never raw, and pipes as they are', () => {
    const t = evidenceTable(report);
    assert.ok(!t.includes('\u001b'), 'a raw ESC reached the terminal output');
    assert.match(t, /A \| B \\u001b\[2J/);
    assert.match(t, /R1 {2}JSON +100% → 0% {2}\(dropped\)/);
    assert.match(t, /Verdict: worse · win rate 1\.00/);
  });

  it('the markdown report gives per case the input, both answers, the judge\'s reasons for both orders and the checks', () => {
    const md = evidenceMarkdown(report, ctx);
    assert.match(md, /### case-01 · adversarial · candidate wins/);
    assert.match(md, /Input:\n\n```text\nsys\.query: a \| b\n```/);
    assert.match(md, /Current answer:\n\n```text\nold\n```/);
    assert.match(md, /Candidate answer:\n\n```text\nnew \| \u001b\[31mred\n```/);
    // Order 0 shows the current answer as A: B wins = the candidate; order 1 swaps them: A = the candidate.
    assert.match(md, /Judge, current answer shown first: candidate wins · B is clearer/);
    assert.match(md, /Judge, candidate answer shown first: candidate wins · A is clearer/);
    assert.match(md, /Checks: R1 ✓\/✗ \(current\/candidate\)/);
    assert.match(md, /\| R1 \| JSON \| json \| 100% \| 0% ↓ \|/);
    assert.match(md, /Win rate 1\.00, 90% interval 0\.27–1\.00 on 1 cases\./);
    assert.deepEqual(activeConstructs(md), []);
  });

  it('shows the looks, the judge\'s position consistency and a judge that is also the task model, when the report has them', () => {
    const md = evidenceMarkdown({ ...report, looks: [{ cases: 8, winRate: 0.6, lower: 0.35, upper: 0.8 }, { cases: 16, winRate: 0.7, lower: 0.52, upper: 0.83 }], positionConsistency: 0.875, sameJudgeAsTask: true }, ctx);
    assert.match(md, /## Looks\n\n\| Cases \| Win rate \| 90% interval \|\n\|---\|---\|---\|\n\| 8 \| 0\.60 \| 0\.35–0\.80 \|\n\| 16 \| 0\.70 \| 0\.52–0\.83 \|/);
    assert.match(md, /Judge position consistency: 88% of judged cases/);
    assert.match(md, /the judge is the model that answers the task/);
    assert.deepEqual(activeConstructs(md), []);
  });

  it('an answer with a run of four backticks cannot close its fence; HTML, links, autolinks and injected blocks stay text', () => {
    const evil = 'x\n````\n# Injected heading\n- item\n<script>alert(1)</script>\n[x](command:workbench.action.files.delete)\n````';
    const bad: EvidenceReport = {
      ...report,
      cases: [
        {
          ...report.cases[0]!,
          id: 'c1 [x](command:a) <img src=x onerror=alert(1)>',
          kind: '`k`',
          note: '_n_ <b>b</b>\n# h',
          input: { 'sys.query': '````\n<script>' },
          candidate: { output: evil },
          reason: 'r',
          orders: [
            { winner: 'A', reason: 'see <http://evil.example> and [here](command:x "t") ![i](https://e.com/i.png)\n\n# heading\n| a | b |' },
            { winner: 'tie', reason: 'www.evil.com a@b.co &lt;script&gt; $x$ ==hi== ~~s~~ **b** `c`', error: '<i>' },
          ],
        },
      ],
      requirements: [{ id: 'R1 | x', text: 'has [a](command:b)\n| c |', current: 1, candidate: 0, cases: 1 }],
    };
    const md = evidenceMarkdown(bad, { ...ctx, nodeTitle: '<h1>T</h1>', casesFile: '`f`.jsonl', checklist: { ...checklist, requirements: [{ ...checklist.requirements[0]!, id: 'R1 | x', text: 'has [a](command:b)\n| c |' }] } });
    assert.deepEqual(activeConstructs(md), []);
    // The answer is there in full, in a fence longer than its longest run of backticks.
    assert.ok(md.includes(`\`\`\`\`\`text\n${evil}\n\`\`\`\`\``), 'the answer is not fenced whole');
    // Escaped text keeps what it says.
    assert.match(md, /&lt;script&gt;alert\\\(1\\\)&lt;\/script&gt;|&lt;http:\u200b\/\/evil/);
    assert.ok(md.includes('&amp;lt;script&amp;gt;'), 'an entity in the text must show as typed');
  });

  it('the checker itself finds what is active (it can fail)', () => {
    assert.notDeepEqual(activeConstructs('Reason: <b>x</b>\n'), []);
    assert.notDeepEqual(activeConstructs('Reason: [x](command:y)\n'), []);
    assert.notDeepEqual(activeConstructs('```text\nx\n'), []);
    assert.notDeepEqual(activeConstructs('# Injected\n'), []);
    assert.notDeepEqual(activeConstructs('Reason: see http://x.org\n'), []);
    assert.notDeepEqual(activeConstructs('| a | b |\n|---|---|\n| a | b | c |\n'), []);
    assert.deepEqual(activeConstructs('Reason: \\[x\\]\\(y\\) &lt;b&gt;\n'), []);
  });
});
