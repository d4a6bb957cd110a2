/**
 * A judged training run (unlabelled cases, the evidence judge) keys its results by the
 * checklist's content: the run log records the checklist it judged with, a resume after the
 * checklist was edited is refused in plain words (RESUME_CHANGED, as for the dataset), and a
 * run with the edited checklist judges again with the new requirement. Scripted models on
 * 127.0.0.1 (judgedGepaModel): mechanics, never real-model quality.
 */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseDataset } from '../../../src/core/evaluation';
import type { NodeMessage } from '../../../src/core/runtime/render';
import { casesToJsonl, checklistFileFor, checklistSha256, type Checklist } from '../../../src/core/evidence';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { prepareTraining, type TrainingRequest } from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { judgedGepaHandler } from '../../support/judgedGepaModel';
import { client, record, tempDir } from './helpers';

const BASE = "You are the support assistant. Answer the user's question using the documentation below.\n\nDocumentation:\n{{#context#}}";
const MESSAGES: NodeMessage[] = [
  { role: 'system', text: BASE },
  { role: 'user', text: '{{#sys.query#}}' },
];
const CASES = casesToJsonl(
  Array.from({ length: 8 }, (_, i) => ({ id: `case-${i + 1}`, kind: 'typical' as const, note: `scripted case ${i + 1}`, vars: { 'sys.query': `How do I do task ${i + 1}?`, context: `Task ${i + 1} is done from Settings > Tasks.` } })),
  '1718246807593/prompt_template/0',
);

describe('train with the judge: the checklist in the run log and the result keys', function () {
  this.timeout(60000);
  let srv: FakeOpenAIServer;
  let root: string;
  let datasetFile: string;
  beforeEach(async () => {
    srv = await startFakeOpenAI({ handler: judgedGepaHandler().handler });
    root = await tempDir('promptopt-clresume-');
    datasetFile = path.join(root, '.optimizer', 'datasets', 'support-cases.jsonl');
    await fs.mkdir(path.dirname(datasetFile), { recursive: true });
    await fs.writeFile(datasetFile, CASES);
  });
  afterEach(async () => {
    await srv.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const request = (over: Partial<TrainingRequest> = {}): TrainingRequest => ({
    root,
    record: record(BASE),
    messages: MESSAGES,
    dataset: parseDataset(CASES, { file: datasetFile }),
    optimizer: 'gepa',
    deps: { gepa: { auto: 'light' } },
    client: client(srv.url),
    configuredModel: 'fake-model',
    useIndex: false,
    concurrency: 2,
    ...over,
  });
  const train = async (over: Partial<TrainingRequest> = {}) => {
    const p = await prepareTraining(request(over));
    try {
      return { prepared: p, report: await p.run() };
    } finally {
      await p.close();
    }
  };
  const judgeBodies = (from: number) => srv.chatRequests().slice(from).map((r) => JSON.stringify(r.body)).filter((b) => b.includes(JUDGE_MARK));
  const addRequirement = async () => {
    const file = checklistFileFor(datasetFile);
    const c = JSON.parse(await fs.readFile(file, 'utf8')) as Checklist;
    c.requirements.push({ id: 'R9', text: 'Greets the user by name', kind: 'other', check: { type: 'judge' }, origin: 'prompt' });
    await fs.writeFile(file, JSON.stringify(c, null, 2));
    return c;
  };

  it('the run log records the checklist drawn at the start; unchanged, a resume reuses every result and makes no call', async () => {
    const first = await train({ runId: 'cl-same' });
    const log = (await fs.readFile(first.prepared.runFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; sha256?: string; checklist?: string });
    const drawn = JSON.parse(await fs.readFile(checklistFileFor(datasetFile), 'utf8')) as Checklist;
    const recorded = log.find((r) => r.type === 'checklist')?.sha256 ?? log[0]!.checklist;
    assert.equal(recorded, checklistSha256(drawn));
    const n = srv.chatRequests().length;
    const again = await prepareTraining(request({ runId: 'cl-same', resume: true }));
    try {
      assert.ok(again.reuse.results > 0, 'no recorded result is reusable with the same checklist');
      await again.run();
    } finally {
      await again.close();
    }
    assert.equal(srv.chatRequests().length, n, 'the unchanged resume made a call');
  });

  it('edited after the run started: the resume is refused, saying the checklist changed; a new run judges with the new requirement', async () => {
    await train({ runId: 'cl-edit' });
    await addRequirement();
    await assert.rejects(prepareTraining(request({ runId: 'cl-edit', resume: true })), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'RESUME_CHANGED');
      assert.match(e.message, /run cl-edit cannot be resumed: the requirement checklist support-cases\.checklist\.json has changed since the run started/);
      return true;
    });
    const n = srv.chatRequests().length;
    const fresh = await train({ runId: 'cl-new' });
    const judged = judgeBodies(n);
    assert.ok(judged.length > 0, 'the edited checklist was not judged');
    assert.ok(judged.every((b) => b.includes('R9. Greets the user by name')));
    assert.ok(fresh.report.candidates.some((c) => JSON.stringify(c).includes('R9')), 'the report does not show the new requirement');
  });

  it("a recorded result's key holds the checklist's content (the judge metric's settings)", async () => {
    await train({ runId: 'cl-key' });
    const before = await prepareTraining(request({ runId: 'cl-key-2' }));
    const a = before.ctx.metrics[0]!.settings;
    await before.close();
    const edited = await addRequirement();
    const after = await prepareTraining(request({ runId: 'cl-key-3' }));
    const b = after.ctx.metrics[0]!.settings;
    await after.close();
    assert.match(a ?? '', /; checklist [0-9a-f]{64}$/);
    assert.notEqual(a, b);
    assert.ok(b?.endsWith(checklistSha256(edited)));
  });

  it('a checklist gone since the run started: the resume is refused (a new one would be drawn)', async () => {
    await train({ runId: 'cl-gone' });
    await fs.rm(checklistFileFor(datasetFile));
    await assert.rejects(prepareTraining(request({ runId: 'cl-gone', resume: true })), /is gone or no longer fits the prompt, so a new one would be drawn/);
  });
});
