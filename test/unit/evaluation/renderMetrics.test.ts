import * as assert from 'node:assert/strict';
import { DatasetError } from '../../../src/core/errors';
import { createMetric, parseMetricArg, runExample, scoreOutput, type Example } from '../../../src/core/evaluation';
import { renderPrompt } from '../../../src/core/runtime';
import { hashEmbedding, startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { client, record } from '../optimizers/helpers';

const ex = (vars: Record<string, string>, expected?: string, labels?: string[]): Example => ({
  id: 'e1',
  vars,
  ...(expected !== undefined ? { expected } : {}),
  ...(labels ? { labels } : {}),
  source: { file: 'd.jsonl', line: 3 },
});

describe('evaluation: rendering', () => {
  it('substitutes Dify variables into the node messages and replaces the record message with the candidate', () => {
    const rec = record('Summarise {{#1718246807593.text#}} using {{#context#}}.', { messageIndex: 0 });
    const msgs = renderPrompt(
      rec,
      [
        { role: 'system', text: rec.text },
        { role: 'user', text: 'Q: {{#sys.query#}} ({{@llm.context@}}) {{name}} {{#env.X#}}' },
      ],
      ex({ '1718246807593.text': 'the doc', context: 'CTX', 'sys.query': 'why?', 'llm.context': 'm', name: 'N' }, 'x'),
      { text: 'New: {{#1718246807593.text#}}|{{#context#}}' },
    );
    assert.deepEqual(msgs, [
      { role: 'system', content: 'New: the doc|CTX' },
      // {{#env.X#}} is not given: Dify's convert_template writes the selector's text.
      { role: 'user', content: 'Q: why? (m) N env.X' },
    ]);
  });

  it('renders jinja2 messages with nunjucks (loops, filters, dotted names)', () => {
    const rec = record('{% for w in words.split(",") %}[{{ w | upper }}]{% endfor %} {{ sys.query }} {{ user }}', { editionType: 'jinja2' });
    const msgs = renderPrompt(rec, undefined, ex({ words: 'a,b', 'sys.query': 'q', user: '<b>' }, 'x'));
    assert.deepEqual(msgs, [{ role: 'system', content: '[A][B] q <b>' }]);
    assert.throws(
      () => renderPrompt(record('{% if %}', { editionType: 'jinja2' }), undefined, ex({ q: 'a' }, 'x')),
      (e: DatasetError) => e.code === 'DATASET_RENDER' && e.message.includes('prompt 1718246807593/prompt_template/0'),
    );
  });

  it('adds the user input when the system prompt does not reference it, and inserts demos as a block or as pairs', () => {
    const rec = record('Classify the review.');
    const demos = [{ exampleId: 'd1', input: 'good', output: 'positive' }];
    const e = ex({ 'sys.query': 'bad phone' }, 'negative');
    assert.deepEqual(renderPrompt(rec, undefined, e), [
      { role: 'system', content: 'Classify the review.' },
      { role: 'user', content: 'bad phone' },
    ]);
    const block = renderPrompt(rec, undefined, e, { demos });
    assert.equal(block[0]!.content, 'Classify the review.\n\n## Examples\n\nExample 1\nInput: good\nOutput: positive');
    const pairs = renderPrompt(rec, undefined, e, { demos, demoMode: 'pairs' });
    assert.deepEqual(pairs.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
    assert.equal(pairs[3]!.content, 'bad phone');
    const userRec = record('Review: {{#sys.query#}}', { role: 'user' });
    assert.deepEqual(renderPrompt(userRec, undefined, e, { demos }), [
      { role: 'system', content: '## Examples\n\nExample 1\nInput: good\nOutput: positive' },
      { role: 'user', content: 'Review: bad phone' },
    ]);
  });
});

describe('evaluation: metrics', () => {
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({
      handler: (req) => {
        const user = req.messages[req.messages.length - 1]!.content;
        if (req.messages[0]!.content.includes('You grade an answer')) {
          return { content: JSON.stringify({ score: user.includes('Paris') ? 0.9 : 0.1, reason: 'rubric check (scripted)' }) };
        }
        return { content: user.includes('capital') ? 'It is Paris.' : 'no idea' };
      },
    });
  });
  after(() => srv.close());

  const score = async (spec: unknown, output: string, e: Example) => (await scoreOutput([createMetric(spec)], output, e, { client: client(srv.url) })).score;

  it('exact (normalized) and contains, against expected or any label', async () => {
    assert.equal(await score({ type: 'exact' }, '  "Positive." ', ex({ q: 'a' }, 'positive')), 1);
    assert.equal(await score({ type: 'exact' }, 'positive!', ex({ q: 'a' }, undefined, ['neg', 'Positive'])), 1);
    assert.equal(await score({ type: 'exact' }, 'it is positive', ex({ q: 'a' }, 'positive')), 0);
    assert.equal(await score({ type: 'contains' }, 'It is POSITIVE overall', ex({ q: 'a' }, 'positive')), 1);
    assert.equal(await score({ type: 'contains', all: true }, 'red and blue', ex({ q: 'a' }, undefined, ['red', 'green'])), 0);
  });

  it('regex, JSON, JSON schema (ajv) and numeric tolerance', async () => {
    assert.equal(await score({ type: 'regex', pattern: '^\\d{3}-\\d{4}$' }, '555-1234', ex({ q: 'a' }, 'x')), 1);
    assert.equal(await score({ type: 'regex' }, 'order 42', ex({ q: 'a' }, 'order \\d+')), 1);
    assert.equal(await score({ type: 'json' }, '```json\n{"a": 1}\n```', ex({ q: 'a' }, 'x')), 1);
    assert.equal(await score({ type: 'json' }, '{a: 1}', ex({ q: 'a' }, 'x')), 0);
    const schema = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
    assert.equal(await score({ type: 'json_schema', schema }, '{"name": "x"}', ex({ q: 'a' }, 'x')), 1);
    assert.equal(await score({ type: 'json_schema', schema }, '{"name": 3}', ex({ q: 'a' }, 'x')), 0);
    assert.equal(await score({ type: 'numeric', tolerance: 0.5 }, 'about 41.6 km', ex({ q: 'a' }, '42')), 1);
    assert.equal(await score({ type: 'numeric', tolerance: 0.01, relative: true }, '1,010', ex({ q: 'a' }, '1000')), 1);
    assert.equal(await score({ type: 'numeric' }, '43', ex({ q: 'a' }, '42')), 0);
    await assert.rejects(score({ type: 'numeric' }, '1', ex({ q: 'a' }, 'many')), (e: DatasetError) => e.code === 'DATASET_METRIC' && e.message.startsWith('d.jsonl:3'));
    assert.throws(() => createMetric({ type: 'regex', pattern: '(' }), (e: DatasetError) => e.code === 'DATASET_METRIC');
    assert.throws(() => createMetric({ type: 'levenshtein' }), (e: DatasetError) => e.code === 'DATASET_METRIC');
  });

  it('LLM-as-judge returns the score, its reason, and the reason as textual feedback (zod-validated); embedding similarity uses /v1/embeddings', async () => {
    const m = createMetric({ type: 'llm_judge', rubric: 'Names the right capital.' });
    const r = await m.score('Paris', ex({ q: 'capital of France?' }, 'Paris'), { client: client(srv.url) });
    assert.deepEqual(r, { score: 0.9, reason: 'rubric check (scripted)', feedback: 'The judge gave 0.90 against the rubric: rubric check (scripted) (reference answer: "Paris").' });
    // the reason reaches GEPA through scoreOutput's feedback
    const scored = await scoreOutput([m], 'Lyon', ex({ q: 'capital of France?' }, 'Paris'), { client: client(srv.url) });
    assert.match(scored.feedback, /^The judge gave 0\.\d\d against the rubric: rubric check \(scripted\)/);
    const before = srv.requests.filter((q) => q.path === '/v1/embeddings').length;
    const sim = await score({ type: 'embedding' }, 'the cat sat', ex({ q: 'a' }, 'the cat sat'));
    assert.ok(Math.abs(sim - 1) < 1e-9);
    const expected = hashEmbedding('dog runs').reduce((s, x, i) => s + x * hashEmbedding('cat sits')[i]!, 0);
    assert.ok(Math.abs((await score({ type: 'embedding' }, 'dog runs', ex({ q: 'a' }, 'cat sits'))) - Math.max(0, expected)) < 1e-9);
    assert.equal(srv.requests.filter((q) => q.path === '/v1/embeddings').length, before + 2);
  });

  it('weights combine metrics; per-example results record each metric; a failed call scores 0 with the error', async () => {
    const metrics = [createMetric(parseMetricArg('exact@3')), createMetric(parseMetricArg('contains'))];
    const r = await scoreOutput(metrics, 'It is Paris.', ex({ q: 'a' }, 'paris'), {});
    assert.equal(r.score, 0.25);
    assert.deepEqual(r.metrics.map((m) => [m.metric, m.score, m.weight]), [
      ['exact', 0, 3],
      ['contains', 1, 1],
    ]);
    const res = await runExample({ record: record('Answer.') }, ex({ 'sys.query': 'capital of France' }, 'Paris'), { client: client(srv.url), metrics });
    assert.equal(res.output, 'It is Paris.');
    assert.equal(res.score, 0.25);
    srv.enqueue({ status: 400, body: { error: { message: 'bad request' } } });
    const failed = await runExample({ record: record('Answer.') }, ex({ 'sys.query': 'x' }, 'Paris'), { client: client(srv.url), metrics });
    assert.equal(failed.score, 0);
    assert.ok(failed.error?.code.startsWith('LLM_'));
    assert.deepEqual(parseMetricArg('numeric=0.5@2'), { type: 'numeric', tolerance: 0.5, weight: 2 });
    assert.throws(() => parseMetricArg('bogus'), (e: DatasetError) => e.code === 'DATASET_METRIC');
  });
});
