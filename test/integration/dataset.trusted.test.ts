import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult } from '../../src/extension/commands/optimizeWithDataset';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { BEST_MARKERS, SENTIMENT_JSONL, scriptedHandler } from '../support/taskModel';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll, workCopy } from './support/ext';
import { waitFor, workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}dataset-91b2`;
const PROMPT = 'llm_node/prompt_template/0';

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

  before(async () => {
    srv = await startFakeOpenAI({ handler: scriptedHandler });
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

  it('Reject of a dataset proposal leaves the embeddings index as it was', async () => {
    const a = await api();
    srv.reset();
    const before = indexText();
    const file = workCopy('basic_llm_chat_workflow.yml', 'dataset-reject');
    const editor = await open(file);
    const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, {
      dataset,
      optimizer: 'copro',
      confirmed: true,
      breadth: 3,
      depth: 2,
    });
    assert.equal(res.ran, true, res.message);
    assert.ok(res.proposal, 'a proposal goes into the review flow');
    assert.equal(indexText(), before, 'the index learned a candidate before the user decided');
    const r = await vscode.commands.executeCommand<{ ok: boolean }>('promptOptimizer.rejectProposal', res.proposal);
    assert.equal(r.ok, true);
    assert.equal(indexText(), before, 'the index learned a rejected candidate');
    assert.deepEqual(a.proposals().filter((x) => x.id === res.proposal), []);
    // The next test's run must reach the server, not this run's cached answers.
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
  });

  it('runs COPRO, shows the report, and proposes the best instruction for review; Accept writes it', async () => {
    const a = await api();
    srv.reset();
    const file = workCopy('basic_llm_chat_workflow.yml', 'dataset');
    const editor = await open(file);
    const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, {
      dataset,
      optimizer: 'copro',
      confirmed: true,
      breadth: 3,
      depth: 2,
    });
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

  it('says why when there is no key, and makes no request', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
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
