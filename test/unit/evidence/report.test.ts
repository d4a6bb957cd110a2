import { strict as assert } from 'node:assert';
import type { EvidenceReport } from '../../../src/core/evidence/evaluate';
import { evidenceMarkdown, evidenceTable } from '../../../src/core/evidence/report';
import { winStats } from '../../../src/core/evidence/stats';
import { zeroUsage } from '../../../src/core/evidence/usage';

const report: EvidenceReport = {
  promptId: 'n/p',
  method: 'judge',
  candidateSha256: 'x',
  cases: [
    { id: 'case-01', kind: 'adversarial', input: { 'sys.query': 'a | b' }, current: { output: 'old' }, candidate: { output: 'new | \u001b[31mred' }, winner: 'candidate', reason: 'A | B \u001b[2J', checks: { R1: { current: true, candidate: false } } },
  ],
  stats: winStats({ wins: 1, ties: 0, losses: 0 }),
  requirements: [{ id: 'R1', text: 'JSON', current: 1, candidate: 0, cases: 1 }],
  dropped: ['R1'],
  verdict: 'worse',
  usage: zeroUsage(),
};

describe('evidence: the report and the terminal table', () => {
  it('the table shows control characters escaped, never raw, and pipes as they are', () => {
    const t = evidenceTable(report);
    assert.ok(!t.includes('\u001b'), 'a raw ESC reached the terminal output');
    assert.match(t, /A \| B \\u001b\[2J/);
    assert.match(t, /R1 {2}JSON +100% → 0% {2}\(dropped\)/);
    assert.match(t, /Verdict: worse · win rate 1\.00/);
  });

  it('the markdown report gives per case the input, both answers side by side, the reason and the checks', () => {
    const md = evidenceMarkdown(report, { checklist: { version: 1, promptId: 'n/p', promptSha256: 'x', requirements: [{ id: 'R1', text: 'JSON', kind: 'format', check: { type: 'json' }, origin: 'prompt' }] }, current: 'cur', candidate: 'cand', casesFile: 'c.jsonl', nodeTitle: 'Answer' });
    assert.match(md, /### case-01 · adversarial · candidate wins/);
    assert.match(md, /\| Current \| Candidate \|\n\|---\|---\|\n\| old \| new \\\| /);
    assert.match(md, /Checks: R1 ✓\/✗ \(current\/candidate\)/);
    assert.match(md, /\| R1 \| JSON \| json \| 100% \| 0% ↓ \|/);
  });
});
