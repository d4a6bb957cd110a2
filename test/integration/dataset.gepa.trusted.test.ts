import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult, DatasetRunOptions } from '../../src/extension/commands/optimizeWithDataset';
import { startFakeOpenAI, type FakeOpenAIServer, type RecordedRequest } from '../support/fakeOpenAI';
import { FORMAT_PHRASE, INTENT_JSONL, INTENT_VAR, intentHandler, ruleFor } from '../support/intentModel';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll, workCopy } from './support/ext';
import { waitFor, workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}dataset-gepa-5c1d`;
/** The system prompt of the fixture's llm node; its user message is `{{#start_node.query#}}` (Dify's standard layout). */
const PROMPT = 'llm_node/prompt_template/0';

function clearLlmCache(): void {
  fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
}

function bodiesOf(requests: readonly RecordedRequest[]): string[] {
  return requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body));
}

const isFixed = (t: string) => [FORMAT_PHRASE, ruleFor('refund'), ruleFor('login')].every((p) => t.includes(p));

/**
 * GEPA, KNN and the Ensemble from "Optimize Prompt with Dataset…" on Dify's standard layout,
 * against the intent task model (a TEST DOUBLE on 127.0.0.1, built so that feedback helps; its
 * scores are scripted mechanics, not real-model results).
 */
describe('Optimize Prompt with Dataset: GEPA, KNN and Ensemble on the standard layout (trusted)', function () {
  this.timeout(90000);
  let srv: FakeOpenAIServer;
  let dataset: string;
  let holdFrom: number | undefined;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  const run = (uri: vscode.Uri, opts: DatasetRunOptions) => vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', uri, PROMPT, { dataset, confirmed: true, ...opts });

  before(async () => {
    srv = await startFakeOpenAI({ handler: (req, ctx) => (holdFrom !== undefined && ctx.index >= holdFrom ? { hang: true } : intentHandler(req)) });
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    const dir = path.join(workspaceDir(), '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    dataset = path.join(dir, 'intent.jsonl');
    // the fixture's start node is start_node: the examples give its query
    fs.writeFileSync(dataset, INTENT_JSONL.split(INTENT_VAR).join('start_node.query'));
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await config().update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  it('GEPA finds the instruction that fixes the failing examples, the report shows its lineage, and Accept writes it', async () => {
    const a = await api();
    clearLlmCache();
    srv.reset();
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'gepa'));
    const res = await run(editor.document.uri, { optimizer: 'gepa', auto: 'light' });
    assert.equal(res.ran, true, res.message);
    assert.equal(res.report!.optimizer, 'gepa');
    assert.equal(res.report!.baselineValidation, 0);
    assert.equal(res.report!.bestValidation, 1);
    assert.ok(isFixed(res.report!.bestText), res.report!.bestText);
    assert.match(res.reportText ?? '', /Lineage \(each reflective candidate, its parent, and the feedback it answered\)/);
    assert.match(res.reportText ?? '', /intent-\d+: Wrong: expected "/);
    assert.ok(srv.chatRequests().length <= (res.estimateCalls ?? 0));
    // the reflection saw what the node received (the user turn) and the feedback
    const reflection = srv.chatRequests().find((r) => JSON.stringify(r.body).includes('reflective instruction editor'));
    assert.ok(reflection);
    assert.match(JSON.stringify(reflection.body), /<input>\\n[a-z]/);
    const p = a.proposals().find((x) => x.id === res.proposal)!;
    assert.ok(p, 'a proposal goes into the review flow');
    await vscode.commands.executeCommand('promptOptimizer.acceptProposal', res.proposal);
    await waitFor('accepted text in the document', () => editor.document.getText().includes(ruleFor('login')));
    clearLlmCache();
  });

  it('Cancel stops a GEPA run mid-way; resumed with its run id, it asks nothing already answered and picks what an uninterrupted run picks', async function () {
    this.timeout(120_000);
    await api();
    clearLlmCache();
    srv.reset();
    const ref = await run((await open(workCopy('basic_llm_chat_workflow.yml', 'gepa-ref'))).document.uri, { optimizer: 'gepa', auto: 'light' });
    assert.equal(ref.ran, true, ref.message);
    const reference = new Set(bodiesOf(srv.requests));
    if (ref.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', ref.proposal);

    clearLlmCache();
    srv.reset();
    holdFrom = 10;
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'gepa-resume'));
    let first: DatasetRunResult;
    try {
      const pending = run(editor.document.uri, { optimizer: 'gepa', auto: 'light' });
      await waitFor('requests held at the server', () => srv.inFlight > 0 && srv.requests.filter((r) => r.outcome === 'answered').length >= 10, 30_000);
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), true);
      first = await pending;
    } finally {
      holdFrom = undefined;
    }
    assert.equal(first.cancelled, true, first.message);
    assert.equal(first.resumable, true);
    const answered1 = bodiesOf(srv.requests.filter((r) => r.outcome === 'answered'));
    assert.ok(answered1.length >= 10 && answered1.length < reference.size, `attempt 1 got ${answered1.length} of ${reference.size}`);

    clearLlmCache();
    srv.reset();
    const second = await run(editor.document.uri, { optimizer: 'gepa', auto: 'light', runId: first.runId });
    assert.equal(second.ran, true, second.message);
    const bodies2 = bodiesOf(srv.requests);
    assert.deepEqual(bodies2.filter((b) => answered1.includes(b)), [], 'the resumed run asked again what attempt 1 had been answered');
    assert.deepEqual(new Set([...answered1, ...bodies2]), reference);
    assert.equal(second.report!.bestText, ref.report!.bestText);
    assert.equal(second.report!.bestValidation, ref.report!.bestValidation);
    if (second.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', second.proposal);
    clearLlmCache();
  });

  it('a GEPA run the calls budget stops never goes past it and is resumable with a higher budget', async () => {
    await api();
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'gepa-budget'));
    clearLlmCache();
    srv.reset();
    try {
      await config().update('budget.maxCalls', 14, vscode.ConfigurationTarget.Global);
      const first = await run(editor.document.uri, { optimizer: 'gepa', auto: 'light' });
      assert.equal(first.ran, true, first.message);
      assert.equal(first.report?.stoppedReason, 'budget');
      assert.equal(first.resumable, true);
      assert.ok(srv.requests.length <= 14, `${srv.requests.length} calls with a budget of 14`);
      if (first.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', first.proposal);
      await config().update('budget.maxCalls', 500, vscode.ConfigurationTarget.Global);
      clearLlmCache();
      srv.reset();
      const second = await run(editor.document.uri, { optimizer: 'gepa', auto: 'light', runId: first.runId });
      assert.equal(second.ran, true, second.message);
      assert.ok((second.report?.reusedResults ?? 0) > 0);
      assert.ok(isFixed(second.report!.bestText), second.report!.bestText);
      if (second.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', second.proposal);
    } finally {
      await config().update('budget.maxCalls', undefined, vscode.ConfigurationTarget.Global);
      clearLlmCache();
    }
  });

  it('KNN on the standard layout: the demos show the queries the node receives and validation rises', async () => {
    await api();
    clearLlmCache();
    srv.reset();
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'knn-standard'));
    const res = await run(editor.document.uri, { optimizer: 'knn' });
    assert.equal(res.ran, true, res.message);
    assert.ok((res.report!.bestValidation ?? 0) > (res.report!.baselineValidation ?? 0));
    const systems = srv.chatRequests().map((r) => (r.body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === 'system')?.content ?? '');
    const withDemos = systems.filter((t) => t.includes('## Examples'));
    assert.ok(withDemos.length > 0);
    for (const t of withDemos) assert.ok(!/Input: \n/.test(t) && /Input: [a-z]/.test(t), t);
    if (res.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
    clearLlmCache();
  });

  it('Ensemble with GEPA under a calls budget: each member gets a share, the report shows the plan', async () => {
    await api();
    clearLlmCache();
    srv.reset();
    try {
      await config().update('budget.maxCalls', 120, vscode.ConfigurationTarget.Global);
      const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'ensemble-gepa'));
      const res = await run(editor.document.uri, { optimizer: 'ensemble', members: ['knn', 'gepa'] });
      assert.equal(res.ran, true, res.message);
      assert.ok(srv.requests.length <= 120);
      assert.match(res.reportText ?? '', /Member knn: share \d+ call/);
      assert.match(res.reportText ?? '', /Member gepa: share \d+ call/);
      assert.equal(res.report!.bestValidation, 1);
      if (res.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
    } finally {
      await config().update('budget.maxCalls', undefined, vscode.ConfigurationTarget.Global);
      clearLlmCache();
    }
  });
});
