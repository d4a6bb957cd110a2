import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult } from '../../src/extension/commands/optimizeWithDataset';
import { startFakeOpenAI, type FakeOpenAIServer, type RecordedRequest } from '../support/fakeOpenAI';
import { BEST_MARKERS, SENTIMENT_JSONL, scriptedHandler } from '../support/taskModel';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll, workCopy } from './support/ext';
import { waitFor, workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}dataset-91b2`;
const PROMPT = 'llm_node/prompt_template/0';

/** Drops the LLM response cache, so a run's requests reach the server (only the run log can spare them). */
function clearLlmCache(): void {
  fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
}

/** The bodies of the POST requests (chat and embeddings) among `requests`, as JSON text. */
function bodiesOf(requests: readonly RecordedRequest[]): string[] {
  return requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body));
}

/** The embeddings index file's text ('' while it does not exist). */
function indexText(): string {
  const f = path.join(workspaceDir(), '.optimizer', 'embeddings', 'index.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
}

/**
 * "Optimize Prompt with Dataset…" against the scripted task model (a TEST DOUBLE on 127.0.0.1:
 * it answers correctly only when the instruction holds certain phrases; its scores are not
 * real-model results).
 */
describe('Optimize Prompt with Dataset (trusted)', function () {
  this.timeout(60000);
  let srv: FakeOpenAIServer;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  let dataset: string;
  /** From this chat request on (0-based since the last reset), the server holds requests unanswered. */
  let holdFrom: number | undefined;

  before(async () => {
    srv = await startFakeOpenAI({ handler: (req, ctx) => (holdFrom !== undefined && ctx.index >= holdFrom ? { hang: true } : scriptedHandler(req, ctx)) });
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    const dir = path.join(workspaceDir(), '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    dataset = path.join(dir, 'sentiment.jsonl');
    fs.writeFileSync(
      dataset,
      SENTIMENT_JSONL.split('\n')
        .map((l) => {
          const o = JSON.parse(l) as Record<string, string>;
          return JSON.stringify({ 'start_node.query': o['sys.query'], expected: o.expected });
        })
        .join('\n'),
    );
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await config().update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  /** Runs a small COPRO (breadth 3, depth 2) on a work copy of the fixture, confirmed. */
  async function runCopro(tag: string): Promise<{ editor: vscode.TextEditor; res: DatasetRunResult }> {
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', tag));
    const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, {
      dataset,
      optimizer: 'copro',
      confirmed: true,
      breadth: 3,
      depth: 2,
    });
    return { editor, res };
  }


  it('Reject of a dataset proposal leaves the embeddings index as it was', async () => {
    const a = await api();
    srv.reset();
    const before = indexText();
    const { res } = await runCopro('dataset-reject');
    assert.equal(res.ran, true, res.message);
    assert.ok(res.proposal, 'a proposal goes into the review flow');
    assert.equal(indexText(), before, 'the index learned a candidate before the user decided');
    const r = await vscode.commands.executeCommand<{ ok: boolean }>('promptOptimizer.rejectProposal', res.proposal);
    assert.equal(r.ok, true);
    assert.equal(indexText(), before, 'the index learned a rejected candidate');
    assert.deepEqual(a.proposals().filter((x) => x.id === res.proposal), []);
    // The next test's run must reach the server, not this run's cached answers.
    clearLlmCache();
  });

  it('runs COPRO, shows the report, and proposes the best instruction for review; Accept writes it', async () => {
    const a = await api();
    srv.reset();
    const { editor, res } = await runCopro('dataset');
    assert.equal(res.ran, true, res.message);
    assert.ok(res.report, 'a report');
    assert.equal(res.report!.accepted, true);
    assert.ok((res.report!.bestValidation ?? 0) > (res.report!.baselineValidation ?? 0));
    assert.match(res.reportText ?? '', /train \/ validation/);
    assert.ok(srv.chatRequests().length > 0 && srv.chatRequests().length <= (res.estimateCalls ?? 0) + 5);
    assert.ok(res.proposal, 'a proposal goes into the review flow');
    const p = a.proposals().find((x) => x.id === res.proposal)!;
    assert.ok(BEST_MARKERS.every((m) => p.proposed.includes(m)), p.proposed);
    assert.equal(p.strategy, 'copro');
    // the run log of every (candidate, example) result is under .optimizer/runs/
    assert.ok(fs.readdirSync(path.join(workspaceDir(), '.optimizer', 'runs')).some((f) => f.includes(res.report!.runId)));
    // Nothing is learned before the user decides.
    const indexBefore = indexText();
    assert.ok(!indexBefore.includes(res.report!.runId), 'the index learned the candidate before Accept');
    // Accept through the same review flow: the document gets the new instruction.
    await vscode.commands.executeCommand('promptOptimizer.acceptProposal', res.proposal);
    await waitFor('accepted text in the document', () => editor.document.getText().includes(BEST_MARKERS[0]));
    // ... and the embeddings index learns the accepted version (appended, nothing else changed).
    const indexAfter = indexText();
    assert.ok(indexAfter.startsWith(indexBefore));
    const added = indexAfter.slice(indexBefore.length).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { promptId: string; runId: string; text: string });
    assert.equal(added.length, 1, indexAfter);
    assert.equal(added[0].promptId, PROMPT);
    assert.equal(added[0].runId, res.report!.runId);
    assert.ok(BEST_MARKERS.every((m) => added[0].text.includes(m)), added[0].text);
    assert.ok(!a.logLines().some((l) => l.includes(KEY)), 'the key never reaches the log');
  });

  it('Cancel stops a COPRO run mid-way; resumed with its run id, it asks nothing already answered and picks what an uninterrupted run picks', async function () {
    this.timeout(120_000);
    await api();
    const opts = { dataset, optimizer: 'copro', confirmed: true, breadth: 3, depth: 2 } as const;
    const run = (uri: vscode.Uri, more: { runId?: string } = {}) =>
      vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', uri, PROMPT, { ...opts, ...more });

    // Reference: the same run, never interrupted.
    clearLlmCache();
    srv.reset();
    const ref = await run((await open(workCopy('basic_llm_chat_workflow.yml', 'dataset-ref'))).document.uri);
    assert.equal(ref.ran, true, ref.message);
    assert.ok(ref.report);
    const reference = new Set(bodiesOf(srv.requests));
    if (ref.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', ref.proposal);

    // Attempt 1: the server answers the first 14 chat requests, then holds the rest until Cancel.
    const runsDir = path.join(workspaceDir(), '.optimizer', 'runs');
    const logsBefore = new Set(fs.readdirSync(runsDir));
    clearLlmCache();
    srv.reset();
    holdFrom = 14;
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'dataset-resume'));
    let first: DatasetRunResult;
    try {
      const pending = run(editor.document.uri);
      const answered = () => srv.requests.filter((r) => r.method === 'POST' && r.outcome === 'answered').length;
      // Every answer that arrived is in the run log (results and memos), and later requests wait at the server.
      const recorded = () => {
        const log = fs.readdirSync(runsDir).find((f) => !logsBefore.has(f));
        if (!log) return 0;
        return fs.readFileSync(path.join(runsDir, log), 'utf8').split('\n').filter((l) => /^\{"type":"(result|memo)"/.test(l)).length;
      };
      await waitFor('14 answers recorded and requests held at the server', () => srv.inFlight > 0 && srv.chatRequests().length > 14 && answered() >= 14 && recorded() >= answered(), 30_000);
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), true, 'Cancel Optimization did not see the dataset run');
      first = await pending;
    } finally {
      holdFrom = undefined;
    }
    assert.equal(first.cancelled, true, first.message);
    assert.equal(first.resumable, true);
    assert.ok(first.runId);
    const outcomes = await Promise.all(srv.requests.map((r) => r.done));
    assert.ok(outcomes.includes('aborted'), 'the requests held at the server were not aborted');
    const answered1 = bodiesOf(srv.requests.filter((r) => r.outcome === 'answered'));
    assert.ok(answered1.length >= 14 && answered1.length < reference.size, `attempt 1 got ${answered1.length} answers of ${reference.size}`);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), false, 'a dataset run is still marked active');

    // Resuming with the dataset or the prompt changed since the run started is refused, before any request.
    clearLlmCache();
    srv.reset();
    const original = fs.readFileSync(dataset, 'utf8');
    try {
      fs.writeFileSync(dataset, original.replace('"expected":"negative"', '"expected":"neutral"'));
      const refused = await run(editor.document.uri, { runId: first.runId });
      assert.equal(refused.ran, false);
      assert.match(refused.message ?? '', new RegExp(`run ${first.runId} cannot be resumed: the examples in sentiment\\.jsonl have changed since the run started`));
    } finally {
      fs.writeFileSync(dataset, original);
    }
    const doc = editor.document;
    const before = doc.getText();
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, doc.lineAt(90).range, doc.lineAt(90).text.replace('You are a helpful assistant.', 'You are a helpful assistant. Be brief.'));
    assert.ok(await vscode.workspace.applyEdit(edit));
    const refusedPrompt = await run(doc.uri, { runId: first.runId });
    assert.equal(refusedPrompt.ran, false);
    assert.match(refusedPrompt.message ?? '', /cannot be resumed: the prompt text has changed since the run started/);
    const undo = new vscode.WorkspaceEdit();
    undo.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), before);
    assert.ok(await vscode.workspace.applyEdit(undo));
    assert.equal(srv.requests.length, 0, 'a refused resume sent a request');

    // Attempt 2: resumed with the run id the first attempt returned.
    const second = await run(doc.uri, { runId: first.runId });
    assert.equal(second.ran, true, second.message);
    assert.ok(second.report);
    assert.equal(second.report.runId, first.runId);
    assert.equal(second.runId, first.runId);
    const bodies2 = bodiesOf(srv.requests);
    assert.deepEqual(bodies2.filter((b) => answered1.includes(b)), [], 'the resumed run asked again what attempt 1 had been answered');
    assert.deepEqual(new Set([...answered1, ...bodies2]), reference, 'the two attempts together did not ask what the uninterrupted run asked');
    // The estimate it confirmed left out the recorded results.
    assert.ok((second.reusedResults ?? 0) > 0 && (second.estimateCalls ?? 0) < (ref.estimateCalls ?? 0), `estimate ${second.estimateCalls} with ${second.reusedResults} reused, uninterrupted ${ref.estimateCalls}`);
    assert.ok((second.report.reusedResults ?? 0) > 0);
    // Same choice as the uninterrupted run.
    assert.equal(second.report.bestText, ref.report.bestText);
    assert.equal(second.report.bestValidation, ref.report.bestValidation);
    assert.equal(second.report.baselineValidation, ref.report.baselineValidation);
    assert.equal(second.report.accepted, ref.report.accepted);
    assert.equal(second.report.candidates, ref.report.candidates);
    if (second.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', second.proposal);
    clearLlmCache();
  });

  it('a run the calls budget stops is resumable: with a higher budget it goes on from its run log, asking nothing already answered', async () => {
    await api();
    const opts = { dataset, optimizer: 'copro', confirmed: true, breadth: 3, depth: 2 } as const;
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'dataset-budget'));
    clearLlmCache();
    srv.reset();
    try {
      await config().update('budget.maxCalls', 25, vscode.ConfigurationTarget.Global);
      const first = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, opts);
      assert.equal(first.ran, true, first.message);
      assert.equal(first.report?.stoppedReason, 'budget');
      assert.equal(first.resumable, true);
      assert.ok(first.runId);
      assert.ok(srv.chatRequests().length <= 25, `${srv.chatRequests().length} calls with a budget of 25`);
      const answered1 = bodiesOf(srv.requests.filter((r) => r.outcome === 'answered'));
      if (first.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', first.proposal);

      await config().update('budget.maxCalls', 500, vscode.ConfigurationTarget.Global);
      clearLlmCache();
      srv.reset();
      const second = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, { ...opts, runId: first.runId });
      assert.equal(second.ran, true, second.message);
      assert.equal(second.report?.runId, first.runId);
      assert.equal(second.report?.stoppedReason, undefined);
      assert.equal(second.resumable, false);
      assert.deepEqual(bodiesOf(srv.requests).filter((b) => answered1.includes(b)), [], 'the resumed run asked again what the first attempt had been answered');
      assert.ok((second.report?.reusedResults ?? 0) > 0);
      assert.ok(BEST_MARKERS.every((m) => second.report!.bestText.includes(m)), second.report?.bestText);
      if (second.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', second.proposal);
    } finally {
      await config().update('budget.maxCalls', undefined, vscode.ConfigurationTarget.Global);
      clearLlmCache();
    }
  });

  it('says why when there is no key, and makes no request', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    // A local server (this suite's, on 127.0.0.1) needs no key: the endpoint here is a remote one.
    await config().update('llm.baseUrl', 'https://api.example.invalid/v1', vscode.ConfigurationTarget.Global);
    await config().update('llm.backend', 'endpoint', vscode.ConfigurationTarget.Global);
    srv.reset();
    try {
      const file = workCopy('basic_llm_chat_workflow.yml', 'dataset-nokey');
      const editor = await open(file);
      const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, {
        dataset,
        optimizer: 'knn',
        confirmed: true,
      });
      if (process.env.OPENAI_API_KEY || process.env.PROMPTOPT_API_KEY) return; // an env key counts as a key
      assert.equal(res.ran, false);
      assert.match(res.message ?? '', /API key/);
      assert.equal(srv.chatRequests().length, 0);
    } finally {
      await config().update('llm.backend', undefined, vscode.ConfigurationTarget.Global);
      await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    }
  });

  it('a broken dataset is reported with its file and line', async () => {
    await api();
    const bad = path.join(workspaceDir(), '.optimizer', 'datasets', 'bad.jsonl');
    fs.writeFileSync(bad, '{"start_node.query": "ok", "expected": "positive"}\n{"start_node.query": \n');
    const file = workCopy('basic_llm_chat_workflow.yml', 'dataset-bad');
    const editor = await open(file);
    const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, {
      dataset: bad,
      optimizer: 'copro',
      confirmed: true,
    });
    assert.equal(res.ran, false);
    assert.match(res.message ?? '', /bad\.jsonl:2/);
    assert.doesNotMatch(res.message ?? '', /Unexpected error/, 'a dataset error from the training bundle lost its type');
  });
});
