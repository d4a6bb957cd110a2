import { strict as assert } from 'node:assert';
import { analysisInput, analyzePrompt } from '../../../src/core/analysis/index';
import { parseDify } from '../../../src/core/dsl/index';
import { readAnyFixture } from '../dsl/helpers';

const kinds = (a: { issues: { kind: string }[] }) => a.issues.map((i) => i.kind);

describe('analysis per kind', () => {
  it('a query template that only carries the user query is not asked for a role, a task or a format', () => {
    const q = analyzePrompt({ text: '{{#sys.query#}}', kind: 'llm-query-template', role: null });
    assert.deepEqual(kinds(q).filter((k) => k.startsWith('missing-') || k === 'too-short'), []);
    // The same text as an instruction is judged as one.
    const asInstruction = analyzePrompt({ text: 'Answer the question {{#sys.query#}} for the customer of the online shop politely and in detail with care today', kind: 'llm-message', role: 'system' });
    assert.ok(kinds(asInstruction).includes('missing-role'));
    const longQuery = analyzePrompt({ text: 'Answer the question {{#sys.query#}} for the customer of the online shop politely and in detail with care today', kind: 'llm-query-template', role: null });
    assert.ok(!kinds(longQuery).includes('missing-role'));
  });

  it('class names: vague, duplicated and overlapping classes of one classifier are flagged and cost clarity', () => {
    const vague = analyzePrompt({ text: 'Other', kind: 'classifier-class', role: null, siblings: ['Refund request'] });
    assert.ok(kinds(vague).includes('vague-class'));
    assert.ok(vague.clarity < 100);
    const dup = analyzePrompt({ text: 'Refund request', kind: 'classifier-class', role: null, siblings: ['refund  request!', 'Shipping'] });
    assert.ok(kinds(dup).includes('duplicate-class'));
    const over = analyzePrompt({ text: 'Refund', kind: 'classifier-class', role: null, siblings: ['Refund request', 'Shipping'] });
    assert.ok(kinds(over).includes('overlapping-class'));
    const fine = analyzePrompt({ text: 'Shipping or delivery question', kind: 'classifier-class', role: null, siblings: ['Refund request', 'Billing'] });
    assert.deepEqual(kinds(fine), []);
    assert.equal(fine.overall, 100);
  });

  it('a parameter description that says no type, unit or format is flagged; one that does is not', () => {
    assert.ok(kinds(analyzePrompt({ text: 'the order', kind: 'extractor-parameter', role: null })).includes('parameter-format-missing'));
    assert.ok(!kinds(analyzePrompt({ text: 'The refund amount in euros, as a number.', kind: 'extractor-parameter', role: null })).includes('parameter-format-missing'));
    assert.ok(!kinds(analyzePrompt({ text: '订单日期，格式 YYYY-MM-DD', kind: 'extractor-parameter', role: null })).includes('parameter-format-missing'));
  });

  it('labels are never asked for a role, task or output format', () => {
    const long = 'Questions about the delivery of an order that was paid but has not arrived within the promised time frame yet';
    const a = analyzePrompt({ text: long, kind: 'classifier-class', role: null, siblings: [] });
    assert.deepEqual(kinds(a).filter((k) => k.startsWith('missing-')), []);
  });

  it('analysisInput gives a class name the other classes of its node', () => {
    const doc = parseDify(readAnyFixture('dify-source/chatflow_labels.yml'));
    const cls = doc.prompts.find((p) => p.id === 'route/class:1')!;
    assert.deepEqual(analysisInput(cls, doc.prompts).siblings, ['Shipping or delivery question', 'Anything else']);
    const other = doc.prompts.find((p) => p.id === 'route/class:3')!;
    assert.ok(kinds(analyzePrompt(analysisInput(other, doc.prompts))).includes('vague-class'));
  });

  it('is linear in the prompt length: 16x the text takes far less than 256x the time (it was quadratic on one line)', function () {
    this.timeout(120000);
    const unit = 'Please summarize the report in three bullet points and keep every number exact. ';
    const time = (chars: number) => {
      const text = unit.repeat(Math.ceil(chars / unit.length));
      const ts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = process.hrtime.bigint();
        analyzePrompt({ text });
        ts.push(Number(process.hrtime.bigint() - t0));
      }
      return ts.sort((x, y) => x - y)[1];
    };
    time(100_000);
    const small = time(100_000);
    const big = time(1_600_000);
    // Linear: about 16x (up to ~30x with GC noise); quadratic: 256x.
    assert.ok(big / small < 64, `1.6 MB took ${(big / small).toFixed(1)}x the time of 100 KB`);
  });
});
