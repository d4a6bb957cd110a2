/**
 * GEPA on an unlabelled dataset (the cases `promptopt cases` writes), scored by the evidence
 * judge against the current prompt's answers. The model is the scripted evidence model
 * (test/support/evidenceModel.ts: a TEST DOUBLE on 127.0.0.1 whose answers carry `[q=N]`, the
 * number of quality phrases in the instruction, and whose judge prefers the higher N) plus a
 * scripted reflection step that acts on the judge's words (test/support/judgedGepaModel.ts). The numbers are mechanics, never
 * real-model quality.
 */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CancelledError, DatasetError } from '../../../src/core/errors';
import { createMetric, parseDataset, parseMetricArg, scoreOutput, splitDataset } from '../../../src/core/evaluation';
import type { NodeMessage } from '../../../src/core/runtime/render';
import { casesToJsonl, checklistFileFor, evaluateCandidate, readChecklist } from '../../../src/core/evidence';
import { chooseMetrics, prepareTraining, type OptimizerReport, type TrainingRequest } from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer, type ScriptedReply } from '../../support';
import { QUALITY_PHRASES, qualityOf } from '../../support/evidenceModel';
import { judgedGepaHandler } from '../../support/judgedGepaModel';
import { client, record, tempDir } from './helpers';
import { createTrainCommand } from '../../../src/cli/commands/train';
import type { CliIo } from '../../../src/cli/io';

const BASE = "You are the support assistant. Answer the user's question using the documentation below.\n\nDocumentation:\n{{#context#}}";
const MESSAGES: NodeMessage[] = [
  { role: 'system', text: BASE },
  { role: 'user', text: '{{#sys.query#}}' },
];

/** Ten generated cases (inputs only, `source: generated`), as `promptopt cases` writes them. */
const CASES = casesToJsonl(
  Array.from({ length: 10 }, (_, i) => ({
    id: `case-${i + 1}`,
    kind: i % 3 === 0 ? ('edge' as const) : ('typical' as const),
    note: `scripted case ${i + 1}`,
    vars: { 'sys.query': `How do I do task ${i + 1}?`, context: i % 3 === 0 ? '' : `Task ${i + 1} is done from Settings > Tasks.` },
  })),
  '1718246807593/prompt_template/0',
);

const split = splitDataset(parseDataset(CASES, { file: 'cases.jsonl' }));

interface Setup {
  srv: FakeOpenAIServer;
  counts: ReturnType<typeof judgedGepaHandler>['counts'];
  reflections: string[];
  /** Called when a judge request arrives; a reply returned is sent instead of the judge's. */
  onJudge?: (user: string) => ScriptedReply | undefined;
  root: string;
  datasetFile: string;
}

async function setup(): Promise<Setup> {
  const model = judgedGepaHandler();
  const srv = await startFakeOpenAI({ handler: model.handler });
  const root = await tempDir('promptopt-gepajudge-');
  const datasetFile = path.join(root, '.optimizer', 'datasets', 'support-cases.jsonl');
  await fs.mkdir(path.dirname(datasetFile), { recursive: true });
  await fs.writeFile(datasetFile, CASES);
  return {
    srv,
    counts: model.counts,
    reflections: model.reflections,
    set onJudge(f: Setup['onJudge']) {
      model.state.onJudge = f;
    },
    root,
    datasetFile,
  };
}

function request(s: Setup, over: Partial<TrainingRequest> = {}): TrainingRequest {
  return {
    root: s.root,
    record: record(BASE),
    messages: MESSAGES,
    dataset: parseDataset(CASES, { file: s.datasetFile }),
    optimizer: 'gepa',
    deps: { gepa: { auto: 'light' } },
    client: client(s.srv.url, { budget: over.budget }),
    configuredModel: 'fake-model',
    useIndex: false,
    concurrency: 2,
    ...over,
  };
}

async function train(s: Setup, over: Partial<TrainingRequest> = {}, signal?: AbortSignal): Promise<{ report: OptimizerReport; estimate: Awaited<ReturnType<typeof prepareTraining>>['estimate']; choice: Awaited<ReturnType<typeof prepareTraining>>['metricChoice'] }> {
  const p = await prepareTraining(request(s, over));
  try {
    return { report: await p.run(signal), estimate: p.estimate, choice: p.metricChoice };
  } finally {
    await p.close();
  }
}

describe('GEPA learns from the evidence judge (unlabelled datasets)', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.srv.close();
    await fs.rm(s.root, { recursive: true, force: true });
  });

  it('a generated dataset is scored by the judge automatically; GEPA improves the judged win rate of the instruction', async () => {
    const { report, estimate, choice } = await train(s);
    assert.deepEqual(choice.specs, [{ type: 'judge' }]);
    assert.equal(choice.auto, true);
    assert.equal(choice.checklistFile, checklistFileFor(s.datasetFile));
    // the checklist was drawn once from the current prompt and stored beside the dataset
    assert.equal(s.counts.checklist, 1);
    assert.equal((await readChecklist(checklistFileFor(s.datasetFile)))?.requirements.length, 2);
    // the baseline is the judge's reference: a tie on every example, half of the requirements met
    assert.equal(report.baseline.validationScore, 0.5);
    assert.equal(report.accepted, true);
    assert.equal(report.best.validationScore, 1);
    assert.ok(qualityOf(report.best.text) > qualityOf(BASE));
    assert.ok(report.best.text.includes(QUALITY_PHRASES[0]!), 'the citation rule the failed requirement asked for');
    assert.ok(report.best.text.includes('{{#context#}}'));
    // the child answered the judge's feedback (lineage)
    assert.ok(report.best.answered?.some((f) => /Requirements not met: [^\n]*R2 "Cites the context"/.test(f.text) && /scripted: quality 0 vs 0/.test(f.text)));

    // An independent check with the evidence evaluation (`promptopt eval`): the best instruction wins on every case.
    const dataset = parseDataset(CASES, { file: s.datasetFile });
    const judgedRate = async (text: string) =>
      (await evaluateCandidate({ client: client(s.srv.url), record: record(BASE), examples: dataset.examples, candidate: text, judgeModel: 'fake-model' })).stats;
    const before = await judgedRate(BASE);
    const after = await judgedRate(report.best.text);
    assert.equal(before.wins, 0);
    assert.equal(after.wins, dataset.examples.length);
    assert.ok(after.winRate > before.winRate);

    // the estimate counted the judge: two calls per example evaluation, plus the checklist
    // (task calls: GEPA's metric calls plus up to one reference answer per train example)
    assert.equal(estimate.judgeCalls, 2 * (estimate.taskCalls - split.train.length) + 1);
    assert.ok(estimate.notes.some((n) => /Scored by the evidence judge/.test(n)));
    assert.ok(s.counts.judge <= estimate.judgeCalls - 1 && s.counts.task <= estimate.taskCalls);
    assert.ok(report.usage.calls <= estimate.calls);
  });

  it('the reflection request carries the judge\'s reasons and the failed requirements', async () => {
    await train(s);
    assert.ok(s.reflections.length >= 1);
    const first = s.reflections[0]!;
    assert.match(first, /The judge said: scripted: quality 0 vs 0/);
    assert.match(first, /Requirements not met: R2 "Cites the context"/);
    assert.match(first, /<feedback>\nRequirements not met: R2 "Cites the context"\.\nThe judge said: scripted: quality 0 vs 0\n\(This is the current prompt's own answer/);
    // the judge saw the current prompt as the task and the case's inputs
    const judged = s.srv.chatRequests().map((r) => r.body as { messages: Array<{ role: string; content: string }> }).filter((b) => b.messages[0]!.content.startsWith('You compare two answers'));
    assert.ok(judged.every((b) => b.messages[1]!.content.includes(`<instruction>\n${BASE}\n</instruction>`)));
    assert.ok(judged.some((b) => b.messages[1]!.content.includes('sys.query: How do I do task')));
  });

  it('a budget stops the search before a step it cannot finish; resuming the run repeats no call', async () => {
    const v = split.validation.length;
    const bodies = () => s.srv.chatRequests().map((r) => JSON.stringify(r.body));
    const first = await train(s, { runId: 'judge-run', budget: { maxCalls: 2 * v + 1 + 5 } });
    assert.equal(first.report.stoppedReason, 'budget');
    assert.equal(first.report.accepted, false);
    assert.equal(s.reflections.length, 0);
    assert.ok(s.srv.chatRequests().length <= 2 * v + 1 + 5);
    const seen = new Set(bodies());
    const n = s.srv.chatRequests().length;
    const second = await train(s, { runId: 'judge-run', resume: true });
    assert.equal(second.report.accepted, true);
    assert.ok(second.report.reusedResults >= v);
    const again = bodies().slice(n).filter((b) => seen.has(b));
    assert.equal(again.length, 0, `repeated ${again.length} call(s)`);
    // another judge model does not reuse what this one judged
    const other = await prepareTraining(request(s, { runId: 'judge-run', resume: true, metrics: [{ type: 'judge', model: 'other-judge' }] }));
    assert.equal(other.reuse.results, 0);
    await other.close();
    // and a third attempt of the finished run makes no call at all
    const m = s.srv.chatRequests().length;
    const third = await train(s, { runId: 'judge-run', resume: true });
    assert.equal(s.srv.chatRequests().length, m);
    assert.equal(third.report.best.text, second.report.best.text);
  });
});

describe('COPRO, Ensemble and the CLI on a judged dataset', function () {
  this.timeout(30000);
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.srv.close();
    await fs.rm(s.root, { recursive: true, force: true });
  });

  it('COPRO scores its candidates with the judge and keeps one that wins', async () => {
    const { report, estimate } = await train(s, { optimizer: 'copro', deps: { copro: { breadth: 3, depth: 1 } } });
    assert.equal(report.baseline.validationScore, 0.5);
    assert.equal(report.accepted, true);
    assert.ok(qualityOf(report.best.text) > 0);
    assert.ok(estimate.judgeCalls > 2 * (estimate.taskCalls - split.train.length));
    assert.ok(report.usage.calls <= estimate.calls, `${report.usage.calls} calls, estimate ${estimate.calls}`);
  });

  it('an Ensemble without chosen members runs copro and gepa, and says why', async () => {
    const p = await prepareTraining(request(s, { optimizer: 'ensemble', deps: { copro: { breadth: 2, depth: 1 }, gepa: { auto: 'light' } } }));
    try {
      assert.ok(p.estimate.notes.some((n) => /runs copro and gepa: KNN needs expected answers/.test(n)));
      const report = await p.run();
      assert.deepEqual(report.members?.map((m) => m.optimizer), ['copro', 'gepa']);
      assert.equal(report.accepted, true);
    } finally {
      await p.close();
    }
  });

  it('promptopt train on a cases file: says it scores with the judge, counts the judge in the estimate, and improves', async () => {
    const cmd = createTrainCommand({ loadPrompts: () => [record(BASE), record('{{#sys.query#}}', { id: '1718246807593/prompt_template/1', role: 'user', messageIndex: 1 })] });
    await fs.writeFile(path.join(s.root, 'app.yml'), 'app: {name: t, mode: workflow}\n');
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliIo = { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env: { OPENAI_API_KEY: 'placeholder' }, cwd: s.root, signal: new AbortController().signal };
    const code = await cmd.run(['app.yml', '--prompt', '1718246807593/prompt_template/0', '--dataset', 'support-cases', '--optimizer', 'gepa', '--budget-calls', '150', '--base-url', s.srv.url, '--model', 'fake-model', '--yes'], cli);
    const text = out.join('');
    if (process.env.SHOW_CLI) console.log(text);
    assert.equal(code, 0, err.join(''));
    assert.match(text, /Scoring: the evidence judge \(no example has "expected" or "labels"\) compares each answer with the current prompt's answer, in both orders, and checks the requirement checklist \.optimizer\/datasets\/support-cases\.checklist\.json/);
    // --budget-calls 150 alone: 150 / 3 calls per example evaluation = 50 metric calls (+ reference answers), each with 2 judge calls
    assert.match(text, /Estimate: about \d+ calls \((50|5[0-9]) task, \d+ proposal/);
    assert.match(text, /Note:\s+Scored by the evidence judge/);
    assert.ok(s.srv.chatRequests().length <= 150);
    assert.ok(s.reflections.length >= 1);
    assert.match(text, /case-\d+: Requirements not met: R2 "Cites the context"/);
    assert.match(text, /Best candidate \(gepa, round \d\) beats the baseline on validation/);
    // --json says how the examples were scored
    out.length = 0;
    assert.equal(await cmd.run(['app.yml', '--prompt', '1718246807593/prompt_template/0', '--dataset', 'support-cases', '--optimizer', 'gepa', '--base-url', s.srv.url, '--model', 'fake-model', '--json'], cli), 0, err.join(''));
    const json = JSON.parse(out.join('')) as { metric: { specs: unknown[]; auto: boolean; checklistFile: string }; estimate: { judgeCalls: number } };
    assert.deepEqual(json.metric.specs, [{ type: 'judge' }]);
    assert.equal(json.metric.auto, true);
    assert.ok(json.metric.checklistFile.endsWith('support-cases.checklist.json'));
    assert.ok(json.estimate.judgeCalls > 0);
    // and --metric exact on the same file is refused before any call
    const n = s.srv.chatRequests().length;
    await assert.rejects(
      cmd.run(['app.yml', '--prompt', '1718246807593/prompt_template/0', '--dataset', 'support-cases', '--optimizer', 'gepa', '--metric', 'exact', '--base-url', s.srv.url, '--yes'], cli),
      (e: DatasetError) => e.code === 'DATASET_METRIC' && /--metric judge/.test(e.message),
    );
    assert.equal(s.srv.chatRequests().length, n);
  });
});

describe('GEPA with the judge: a cancelled run resumes on the recorded answers', () => {
  it('cancelled while scoring a child: the resumed run reuses the current prompt\'s recorded answers and repeats no answered call', async () => {
    const s = await setup();
    try {
      const ac = new AbortController();
      // Cancel when the first child answer goes to the judge (its task answer has arrived); that judge call never answers.
      s.onJudge = (user) => {
        if (!/\[q=2\]/.test(user)) return undefined;
        ac.abort();
        return { hang: true };
      };
      await assert.rejects(train(s, { runId: 'judge-cancel', concurrency: 1 }, ac.signal), (e: Error) => e instanceof CancelledError);
      assert.equal(s.reflections.length, 1);
      const answered = new Set(s.srv.chatRequests().filter((r) => r.outcome === 'answered').map((r) => JSON.stringify(r.body)));
      const n = s.srv.chatRequests().length;
      s.onJudge = undefined;
      const { report } = await train(s, { runId: 'judge-cancel', resume: true, concurrency: 1 });
      assert.equal(report.accepted, true);
      const later = s.srv.chatRequests().slice(n).map((r) => r.body as { messages: Array<{ role: string; content: string }> });
      const repeated = later.filter((b) => answered.has(JSON.stringify(b)));
      assert.equal(repeated.length, 0, `repeated ${repeated.length} answered call(s): ${repeated.map((b) => JSON.stringify(b).slice(0, 300)).join('\n')}`);
      // no task call of the current prompt: the child is judged against its answers recorded by the first attempt
      const isTask = (b: (typeof later)[number]) => b.messages[0]!.content.startsWith("You are the support assistant");
      assert.ok(later.some(isTask));
      assert.equal(later.filter((b) => isTask(b) && qualityOf(b.messages[0]!.content) === 0).length, 0);
      assert.equal(s.reflections.length, 1, 'the reflection was recorded, not asked again');
    } finally {
      await s.srv.close();
      await fs.rm(s.root, { recursive: true, force: true });
    }
  });
});

describe('choosing the metric of a dataset', () => {
  const file = '/tmp/x/cases.jsonl';
  const generated = parseDataset(CASES, { file });
  const labelled = parseDataset('{"id":"a","q":"hi","expected":"hello"}\n{"id":"b","q":"yo","expected":"hey"}\n', { file: '/tmp/x/l.jsonl' });
  const mixed = parseDataset(`{"id":"a","q":"hi","expected":"hello"}\n${CASES.split('\n')[0]}\n`, { file: '/tmp/x/m.jsonl' });

  it('labelled → exact; unlabelled → the judge; an explicit judge is kept on any dataset', () => {
    assert.deepEqual(chooseMetrics(labelled, undefined, 'gepa'), { specs: [{ type: 'exact' }], auto: false });
    assert.deepEqual(chooseMetrics(generated, undefined, 'gepa'), { specs: [{ type: 'judge' }], auto: true, checklistFile: '/tmp/x/cases.checklist.json' });
    assert.equal(chooseMetrics(mixed, [parseMetricArg('judge')], 'copro').specs[0]!.type, 'judge');
    assert.deepEqual(parseMetricArg('judge=gpt-4o@2'), { type: 'judge', model: 'gpt-4o', weight: 2 });
  });

  it('refuses a label metric on unlabelled examples and KNN on a judged dataset, in plain words', () => {
    assert.throws(
      () => chooseMetrics(mixed, undefined, 'gepa'),
      (e: DatasetError) => e.code === 'DATASET_METRIC' && /1 of 2 examples in m\.jsonl have no "expected" or "labels" \(the first: case-1\).*--metric judge/.test(e.message) && e.message.startsWith('/tmp/x/m.jsonl:2'),
    );
    assert.throws(() => chooseMetrics(generated, [{ type: 'exact' }], 'copro'), (e: DatasetError) => e.code === 'DATASET_METRIC');
    assert.throws(() => chooseMetrics(generated, undefined, 'knn'), (e: DatasetError) => e.code === 'DATASET_METRIC' && /KNN's demonstrations/.test(e.message));
    assert.throws(() => chooseMetrics(generated, undefined, 'ensemble', ['knn', 'gepa']), (e: DatasetError) => /--members copro,gepa/.test(e.message));
    // an Ensemble whose members are not chosen runs copro and gepa (prepareTraining)
    assert.equal(chooseMetrics(generated, undefined, 'ensemble').specs[0]!.type, 'judge');
  });

  it('the judge metric is not usable outside a training run', async () => {
    const m = createMetric({ type: 'judge' });
    assert.equal(m.calls, 2);
    const r = scoreOutput([m], 'x', generated.examples[0]!, {});
    await assert.rejects(r, (e: DatasetError) => e.code === 'DATASET_METRIC' && /built by a training run/.test(e.message));
  });
});
