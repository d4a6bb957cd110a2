/**
 * Evidence and datasets on an editor model: Generate Test Cases, Optimize with the evidence
 * gate (cases, task runs and judge) and Optimize Prompt with Dataset… all through vscode.lm,
 * with no key and no endpoint.
 *
 * The models are the scripted ones of the test-only extension test/lmProvider (VS Code 1.104+;
 * skipped on older hosts only). Their answers come from the TEST DOUBLES of the fake-server
 * tests (test/support/evidenceModel.ts, test/support/taskModel.ts), run on what the provider
 * received: fixed rules, not a model, so the scores and verdicts here are mechanics, never
 * real-model quality.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult } from '../../src/extension/commands/optimizeWithDataset';
import type { GenerateTestCasesResult } from '../../src/extension/commands/generateTestCases';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import type { ScriptedModels, SeenRequest } from '../lmProvider/extension';
import { evidenceHandler, HEURISTIC_NEUTRAL_WINNER, QUALITY_PHRASES, SUPPORT_CHATFLOW, type RequestCounts } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../support/fakeOpenAI';
import { BEST_MARKERS, SENTIMENT_JSONL, scriptedHandler } from '../support/taskModel';
import { api, open, revertAndCloseAll, until, workCopy } from './support/ext';
import { waitFor, workspaceDir } from './support/helpers';

const PROVIDER_ID = 'promptopt-test.scripted-models';
const REF = 'vscode:promptopt-test/scripted-rewriter';
const G = vscode.ConfigurationTarget.Global;
const SETTINGS = ['llm.backend', 'llm.editorModel', 'strategies', 'maxIterations'];
const CHAT_PROMPT = '1700000000003/msg:5c1e2c1a-0000-4000-8000-00000000e001';
const DATASET_PROMPT = 'llm_node/prompt_template/0';
const config = () => vscode.workspace.getConfiguration('promptOptimizer');

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  skipped: Record<string, string>;
  usedLlm: boolean;
  cancelled: boolean;
}

function atLeast(version: string, min: [number, number]): boolean {
  const [a = 0, b = 0] = version.split('.').map((n) => parseInt(n, 10));
  return a > min[0] || (a === min[0] && b >= min[1]);
}

function clearLlmCache(): void {
  fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
}

/**
 * A fake-server handler answering what the provider received. vscode.lm has no system role:
 * the extension sends a system prompt as the first user message, so a first message followed by
 * others is given back to the handler as the system prompt it was.
 */
function scriptOf(handler: (req: ParsedChatRequest, ctx: never) => ScriptedReply) {
  return (seen: SeenRequest): string => {
    const messages = seen.messages.map((m, i) => ({ role: i === 0 && seen.messages.length > 1 ? 'system' : m.role, content: m.content }));
    const reply = handler({ model: seen.model, messages, body: {}, headers: {} } as unknown as ParsedChatRequest, undefined as never);
    if (!('content' in reply)) throw new Error(`the scripted handler gave no content: ${JSON.stringify(reply)}`);
    return reply.content;
  };
}

/** The sentiment examples with the fixture's start node variable. */
function sentimentDataset(): string {
  return SENTIMENT_JSONL.split('\n')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, string>;
      return JSON.stringify({ 'start_node.query': o['sys.query'], expected: o.expected });
    })
    .join('\n');
}

let counter = 0;
/**
 * A fresh folder holding the support chatflow under a name no other suite uses (its test cases
 * file is named after the workflow, so they are generated anew, not reused).
 */
function chatflowCopy(tag: string): string {
  const unique = `${tag}-${++counter}-${Date.now() % 100000}`;
  const dir = path.join(workspaceDir(), 'it-work', `lm-evidence-${unique}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `support-lm-${unique}.yml`);
  fs.writeFileSync(file, SUPPORT_CHATFLOW);
  return file;
}

describe('Evidence and datasets on an editor model (trusted, VS Code 1.104+)', function () {
  this.timeout(120_000);
  let models: ScriptedModels;
  let counts: RequestCounts;
  let dataset: string;

  before(async function () {
    const provider = vscode.extensions.getExtension<ScriptedModels>(PROVIDER_ID);
    if (!atLeast(vscode.version, [1, 104])) {
      assert.equal(provider, undefined, 'the scripted provider needs VS Code 1.104+');
      this.skip();
    }
    assert.ok(provider, `the test-only extension ${PROVIDER_ID} is not installed on VS Code ${vscode.version}`);
    models = await provider.activate();
    models.setAvailable(true);
    await until('the scripted models to be listed by vscode.lm', async () => (await vscode.lm.selectChatModels({ vendor: 'promptopt-test' })).length === 2, 15_000);
    await api();
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await config().update('strategies', ['llm_guided'], G);
    await config().update('maxIterations', 1, G);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.selectModel', REF), REF);
    const dir = path.join(workspaceDir(), '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    dataset = path.join(dir, 'sentiment-editor-model.jsonl');
    fs.writeFileSync(dataset, sentimentDataset());
  });
  beforeEach(() => {
    models?.reset();
    clearLlmCache();
  });
  after(async () => {
    models?.setAvailable(false);
    for (const k of SETTINGS) await config().update(k, undefined, G);
    if (dataset) fs.rmSync(dataset, { force: true });
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  function evidenceScript(): void {
    const m = evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER });
    counts = m.counts;
    models.behaviour = 'script';
    models.script = scriptOf(m.handler as never);
  }

  it('Generate Test Cases: the editor model writes the cases, with no key', async () => {
    evidenceScript();
    const editor = await open(chatflowCopy('cases'));
    const r = await vscode.commands.executeCommand<GenerateTestCasesResult>('promptOptimizer.generateTestCases', editor.document.uri, CHAT_PROMPT, { yes: true });
    assert.equal(r.refused, undefined, r.refused);
    assert.equal(r.reused, false, 'existing cases were reused');
    assert.equal(r.cases, 12);
    assert.ok(r.file && fs.existsSync(r.file));
    assert.equal(counts.cases, 2, JSON.stringify(counts));
    assert.equal(models.requests.length, 2, 'every request went to the editor model');
    assert.ok(models.requests.every((q) => q.model === 'scripted-rewriter'));
    const lines = fs.readFileSync(r.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: string; inputs: Record<string, string> });
    assert.equal(lines.length, 12);
    assert.ok(lines.every((l) => l.source === 'generated'));
  });

  it('Optimize with the evidence gate: cases, task runs and judge all on the editor model; the winning rewrite is proposed with its verdict', async () => {
    evidenceScript();
    const editor = await open(chatflowCopy('gate'));
    const run = (await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, CHAT_PROMPT))!;
    assert.equal(run.usedLlm, true, run.notes.join(' '));
    assert.equal(run.proposals.length, 1, JSON.stringify(run.skipped));
    const p = run.proposals[0]!;
    assert.ok(p.proposed.includes(QUALITY_PHRASES[1]!));
    assert.equal(p.evidence?.verdict, 'better');
    assert.equal(p.evidence?.cases, 12);
    // Every role of the run reached the provider through vscode.lm.
    assert.ok(counts.rewrite > 0 && counts.cases > 0 && counts.task > 0 && counts.judge > 0, JSON.stringify(counts));
    const answered = counts.rewrite + counts.cases + counts.checklist + counts.task + counts.judge;
    assert.equal(models.requests.length, answered);
    assert.ok(models.tokenCounts > 0, 'countTokens was not used');
    const a = await api();
    assert.ok(a.logLines().some((l) => l.includes('LLM editor model Scripted Rewriter')), 'the log does not name the editor model');
    assert.ok(a.logLines().some((l) => /evidence .* llm_guided: kept, better/.test(l)), 'the log does not give the evidence');
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
  });

  async function runDataset(tag: string, opts: Record<string, unknown>): Promise<{ editor: vscode.TextEditor; pending: Thenable<DatasetRunResult | undefined> }> {
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', tag));
    const pending = vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, DATASET_PROMPT, { dataset, confirmed: true, ...opts });
    return { editor, pending };
  }

  it('Optimize Prompt with Dataset: COPRO runs on the editor model with no key and proposes the best instruction', async () => {
    models.behaviour = 'script';
    models.script = scriptOf(scriptedHandler as never);
    const { pending } = await runDataset('lm-copro', { optimizer: 'copro', breadth: 3, depth: 2 });
    const res = (await pending)!;
    assert.equal(res.ran, true, res.message);
    assert.match(res.backend ?? '', /^editor model Scripted Rewriter/);
    assert.equal(res.report?.accepted, true, res.reportText);
    assert.ok((res.report!.bestValidation ?? 0) > (res.report!.baselineValidation ?? 0), res.reportText);
    assert.ok(BEST_MARKERS.every((m) => res.report!.bestText.includes(m)), res.report!.bestText);
    assert.ok(models.requests.length > 0 && models.requests.length <= (res.estimateCalls ?? 0) + 5, `${models.requests.length} requests for an estimate of ${res.estimateCalls}`);
    assert.ok(models.requests.every((q) => q.model === 'scripted-rewriter'));
    assert.equal(res.report!.usage.costUsd, 0, 'an editor model has no price');
    assert.ok(res.proposal, 'a proposal goes into the review flow');
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
  });

  it('KNN on an editor model is refused before any request (no embeddings), an Ensemble of KNN alone too; the default Ensemble runs COPRO and GEPA', async () => {
    for (const opts of [{ optimizer: 'knn' }, { optimizer: 'ensemble', members: ['knn'] }]) {
      const { pending } = await runDataset('lm-knn', opts);
      const res = (await pending)!;
      assert.equal(res.ran, false);
      assert.match(res.message ?? '', /KNN few-shot picks its demos by embedding your inputs, and editor models .* offer no embeddings/);
      assert.equal(res.runId, undefined, 'a run was prepared');
    }
    assert.equal(models.requests.length, 0, 'a request was made before the refusal');
    // The default Ensemble runs its other members there, and says so before it runs.
    models.behaviour = 'script';
    models.script = scriptOf(scriptedHandler as never);
    const { pending } = await runDataset('lm-ensemble', { optimizer: 'ensemble', breadth: 2, depth: 1, auto: 'light' });
    const res = (await pending)!;
    assert.equal(res.ran, true, res.message);
    assert.ok(res.notes?.some((n) => /so the Ensemble runs COPRO and GEPA without KNN on Scripted Rewriter/.test(n)), JSON.stringify(res.notes));
    assert.match(res.reportText ?? '', /copro/i);
    assert.doesNotMatch(res.reportText ?? '', /knn/i);
    if (res.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
  });

  it('Cancel stops a GEPA dataset run on the editor model at once; Resume finishes it', async () => {
    models.behaviour = 'hang';
    const { editor, pending } = await runDataset('lm-cancel', { optimizer: 'gepa', auto: 'light' });
    const before = editor.document.getText();
    await waitFor('a request to reach the editor model', () => models.requests.length > 0, 20_000);
    const t0 = Date.now();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), true);
    const res = (await pending)!;
    assert.ok(Date.now() - t0 < 3_000, `the run took ${Date.now() - t0} ms to stop after Cancel`);
    assert.equal(res.cancelled, true, JSON.stringify(res));
    assert.equal(res.resumable, true);
    assert.ok(res.runId);
    assert.equal(editor.document.getText(), before);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), false, 'a run is still marked active');
    models.behaviour = 'script';
    models.script = scriptOf(scriptedHandler as never);
    const again = (await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, DATASET_PROMPT, {
      dataset,
      optimizer: 'gepa',
      auto: 'light',
      confirmed: true,
      runId: res.runId,
    }))!;
    assert.equal(again.ran, true, again.message);
    assert.equal(again.runId, res.runId);
    assert.match(again.backend ?? '', /^editor model Scripted Rewriter/);
    if (again.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', again.proposal);
  });
});

describe('Optimize Prompt with Dataset on a local server without a key (trusted)', function () {
  this.timeout(60_000);
  let srv: FakeOpenAIServer;
  let dataset: string;

  before(async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    srv = await startFakeOpenAI({ handler: scriptedHandler });
    await config().update('llm.baseUrl', srv.url, G);
    dataset = path.join(workspaceDir(), '.optimizer', 'datasets', 'sentiment-local-server.jsonl');
    fs.mkdirSync(path.dirname(dataset), { recursive: true });
    fs.writeFileSync(dataset, sentimentDataset());
    clearLlmCache();
  });
  after(async () => {
    await config().update('llm.baseUrl', undefined, G);
    if (dataset) fs.rmSync(dataset, { force: true });
    await srv?.close();
    await revertAndCloseAll();
  });

  it('COPRO runs on the loopback server with no key set (a placeholder, not a key, in the header)', async () => {
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'local-dataset'));
    const res = (await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, DATASET_PROMPT, {
      dataset,
      optimizer: 'copro',
      confirmed: true,
      breadth: 3,
      depth: 2,
    }))!;
    assert.equal(res.ran, true, res.message);
    assert.match(res.backend ?? '', /^endpoint 127\.0\.0\.1:\d+, model .*, key from none \(local server\)$/);
    const chats = srv.chatRequests();
    assert.ok(chats.length > 0, 'no request reached the local server');
    assert.ok(chats.every((c) => /^Bearer no-key-needed/.test(String(c.headers.authorization))), 'a request carried something other than the placeholder');
    assert.equal(res.report?.accepted, true, res.reportText);
    if (res.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
  });
});
