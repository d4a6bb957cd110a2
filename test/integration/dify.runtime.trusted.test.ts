import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { markerText, TEMP_NAME_PREFIX } from '../../src/core/dify/tempApps';
import { parseDify } from '../../src/core/dsl';
import { casesFileFor } from '../../src/core/evidence/cases';
import { CHECKLIST_MARK } from '../../src/core/evidence/checklist';
import { JUDGE_MARK } from '../../src/core/evidence/judge';
import { extractPromptBlock } from '../../src/core/strategies/llmPrompts';
import type { ConnectToDifyResult } from '../../src/extension/commands/connectToDify';
import type { PullFromDifyResult } from '../../src/extension/commands/pullFromDify';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { FAKE_USER, startFakeDify, type FakeDify } from '../support/fakeDify';
import { LLM_ID, START_ID, promptAwareOutputs, runtimeAppDsl } from '../support/fakeDifyRuntime';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../support/fakeOpenAI';
import { api, open, revertAndCloseAll } from './support/ext';
import { expectLogError, workspaceDir } from './support/helpers';
import { TEST_KEY_PREFIX } from './support/protocol';

/**
 * Optimize with `promptOptimizer.evidence.runtime: dify` in a real editor: the sign-in comes from
 * Connect to Dify (VS Code SecretStorage), both prompt versions run on temporary copies of the
 * app on the fake Dify (test/support/fakeDify.ts; its draft-run behaviour in fakeDifyRuntime.ts,
 * both written from langgenius/dify's source: the contract table with the paths is in
 * test/unit/dify/client.test.ts), and the rewriter, checklist and judge are a scripted model on
 * 127.0.0.1 (TEST DOUBLE). The Dify copy's llm node answers in UPPERCASE when its system prompt
 * says so; the judge prefers the UPPERCASE answer. Figures here are mechanics, not model quality.
 */
const KEY = `${TEST_KEY_PREFIX}dify-runtime-5c2f`;
const PASSWORD = `${TEST_KEY_PREFIX}dify-runtime-pw-81d0`;
const ORIGINAL = 'You answer support questions. Answer plainly.';
const BETTER = 'You answer support questions. Answer in UPPERCASE.';
const DIR = 'dify-runtime';

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  skipped: Record<string, string>;
  failures: Array<{ promptId: string; message: string }>;
  cancelled: boolean;
  estimate?: unknown;
  usedLlm: boolean;
}

function handler(counts: { task: number }) {
  return (req: ParsedChatRequest): ScriptedReply => {
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    const user = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    if (system.startsWith(CHECKLIST_MARK)) return { content: JSON.stringify({ requirements: [{ text: 'Answers the question', kind: 'task' }] }) };
    if (system.startsWith(JUDGE_MARK)) {
      const a = /<answer_A>\n([\s\S]*?)\n<\/answer_A>/.exec(user)?.[1] ?? '';
      const b = /<answer_B>\n([\s\S]*?)\n<\/answer_B>/.exec(user)?.[1] ?? '';
      const up = (s: string) => s.length > 0 && s === s.toUpperCase();
      return { content: JSON.stringify({ winner: up(a) === up(b) ? 'tie' : up(a) ? 'A' : 'B', reason: 'scripted', a_meets: [], b_meets: [] }) };
    }
    if (extractPromptBlock(user) !== undefined) return { content: JSON.stringify({ prompt: BETTER, rationale: 'scripted rewrite', confidence: 0.9, changes: ['scripted'] }) };
    // The task itself runs on Dify: a request reaching the model here is a fault the test reports.
    counts.task++;
    return { content: 'the task must run on Dify' };
  };
}

describe('Dify as the evidence runtime: Optimize in the editor (trusted)', function () {
  this.timeout(90000);
  let f: FakeDify;
  let srv: FakeOpenAIServer;
  const counts = { task: 0 };
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  const SETTINGS = ['llm.baseUrl', 'strategies', 'maxIterations', 'evidence.maxCases', 'evidence.runtime', 'evidence.difyConcurrency'];
  /** Copies made by a run (the user's look-alike app has no marker). */
  const tmpApps = () => [...f.apps.values()].filter((a) => a.name.startsWith(TEMP_NAME_PREFIX) && !a.name.endsWith('my own app'));

  before(async () => {
    await api();
    f = await startFakeDify({ tokenPrefix: TEST_KEY_PREFIX, password: PASSWORD, nodeOutputs: promptAwareOutputs });
    srv = await startFakeOpenAI({ handler: handler(counts) });
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    await config().update('maxIterations', 1, vscode.ConfigurationTarget.Global);
    await config().update('evidence.maxCases', 12, vscode.ConfigurationTarget.Global);
    await config().update('evidence.runtime', 'dify', vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of SETTINGS) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await f?.close();
    await revertAndCloseAll();
    fs.rmSync(path.join(workspaceDir(), DIR), { recursive: true, force: true });
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'remotes.json'), { force: true });
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'dify-base'), { recursive: true, force: true });
  });
  beforeEach(() => {
    // Each test's rewrite request is the same: forget earlier answers, so every run really goes to Dify.
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache'), { recursive: true, force: true });
    counts.task = 0;
  });
  afterEach(revertAndCloseAll);

  /** Pulls a fresh app (its origin recorded in remotes.json) and writes 12 test cases for its system prompt. */
  async function pulledApp(tag: string): Promise<{ file: string; promptId: string; appId: string }> {
    const app = f.addApp({ name: `Support ${tag}`, mode: 'workflow', dsl: runtimeAppDsl(ORIGINAL, 'workflow', `Support ${tag}`) });
    const p = await vscode.commands.executeCommand<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: app.id, out: `${DIR}/${tag}.yml`, noOpen: true });
    assert.ok(p.file, p.error);
    const promptId = parseDify(fs.readFileSync(p.file, 'utf8')).prompts.find((r) => r.nodeId === LLM_ID && r.role === 'system')!.id;
    const cases = casesFileFor(workspaceDir(), p.file, promptId);
    fs.mkdirSync(path.dirname(cases), { recursive: true });
    fs.writeFileSync(cases, [...'abcdefghijkl'].map((q, i) => JSON.stringify({ id: `c${i}`, source: 'generated', inputs: { [`${START_ID}.question`]: `question ${q}` } })).join('\n') + '\n');
    return { file: p.file, promptId, appId: app.id };
  }

  it('without a sign-in for the server, Optimize stops with what to do, and creates nothing on Dify', async () => {
    const dir = path.join(workspaceDir(), DIR);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'not-pulled.yml');
    fs.writeFileSync(file, runtimeAppDsl(ORIGINAL));
    const promptId = parseDify(fs.readFileSync(file, 'utf8')).prompts.find((r) => r.nodeId === LLM_ID && r.role === 'system')!.id;
    const cases = casesFileFor(workspaceDir(), file, promptId);
    fs.mkdirSync(path.dirname(cases), { recursive: true });
    fs.writeFileSync(cases, JSON.stringify({ id: 'c0', source: 'generated', inputs: { [`${START_ID}.question`]: 'q' } }) + '\n');
    const editor = await open(file);
    expectLogError(/needs a sign-in|Which Dify should run the evidence/, 'the run without a sign-in fails on purpose');
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, promptId, { estimateAnswer: 'Run' });
    assert.equal(run.proposals.length, 0, JSON.stringify(run));
    assert.equal(run.failures.length, 1, JSON.stringify(run));
    assert.match(run.failures[0]!.message, /Connect to Dify|--dify-server/);
    assert.equal(run.estimate, undefined, 'it stops before the estimate: not the heuristic score alone');
    assert.equal(srv.chatRequests().length, 0, 'no request reached the model');
    assert.equal(f.apps.size, 0, 'nothing was created on Dify');
  });

  it('runs both versions on temporary copies of the app, keeps the better one on that evidence, and deletes the copies (and a crashed run\'s)', async () => {
    // A copy a crashed run left an hour ago (its marker names another machine), and an app of the user's that only looks like one.
    const crashed = f.addApp({ name: `${TEMP_NAME_PREFIX} Support crashed 0badc0de`, mode: 'workflow', dsl: runtimeAppDsl(ORIGINAL) });
    crashed.description = markerText({ runId: 'crashed-run-1', host: 'another-machine', pid: 4242, at: Date.now() - 3_600_000 });
    const lookalike = f.addApp({ name: `${TEMP_NAME_PREFIX} my own app`, mode: 'workflow', dsl: runtimeAppDsl(ORIGINAL) });
    const c = await vscode.commands.executeCommand<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: f.url, method: 'password', email: FAKE_USER.email, password: PASSWORD });
    assert.equal(c.server, f.url, c.error);
    const { file, promptId, appId } = await pulledApp('keep');
    const before = f.apps.get(appId)!.dsl;
    const editor = await open(file);
    const runsBefore = f.runStats.runs;
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, promptId, { estimateAnswer: 'Run' });
    assert.deepEqual(run.failures, []);
    assert.equal(run.proposals.length, 1, JSON.stringify(run.skipped));
    const p = run.proposals[0]!;
    assert.equal(p.proposed, BETTER);
    assert.equal(p.evidence?.verdict, 'better');
    assert.equal(p.evidence?.cases, 12);
    assert.ok(run.notes.some((n) => /evidence runs on Dify/.test(n)), run.notes.join(' '));
    assert.equal(f.runStats.runs - runsBefore, 24, 'both versions ran on each of the 12 cases on Dify');
    assert.equal(counts.task, 0, 'no task request reached the model endpoint');
    assert.equal(tmpApps().length, 0, 'the temporary copies are deleted, the crashed run\'s too; an app without the marker stays');
    assert.ok(f.apps.has(lookalike.id), 'an app without the marker is not ours');
    assert.equal(f.deleted.length, 3);
    assert.ok(f.deleted.includes(crashed.id));
    assert.equal(f.apps.get(appId)!.dsl, before, "the user's app was never touched");
    // The report says where the answers came from.
    const report = await vscode.commands.executeCommand<string>('promptOptimizer.showEvidenceReport', p.id);
    const json = JSON.parse(fs.readFileSync(report.replace(/\.md$/, '.json'), 'utf8')) as { runtime?: { source: string; server?: string; apps: string[] } };
    assert.equal(json.runtime?.source, 'dify');
    assert.equal(json.runtime?.apps.length, 2);
    assert.match(fs.readFileSync(report, 'utf8'), /Dify/);
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
  });

  it('Cancel halfway through the runs on Dify stops the run, leaves the file as it was, and still deletes the copies', async () => {
    f.setNodeDelay(150);
    const { file, promptId } = await pulledApp('cancel');
    const editor = await open(file);
    const text = editor.document.getText();
    const deletedBefore = f.deleted.length;
    const runsBefore = f.runStats.runs;
    const pending = vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, promptId, { estimateAnswer: 'Run' });
    const t0 = Date.now();
    while (!(tmpApps().length === 2 && f.runStats.runs - runsBefore >= 2) && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(tmpApps().length, 2, 'both copies were created on Dify');
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), true);
    const run = await pending;
    assert.equal(run.cancelled, true);
    assert.equal(run.proposals.length, 0);
    assert.ok(f.runStats.runs - runsBefore < 24, `the runs stopped (${f.runStats.runs - runsBefore} of 24 started)`);
    assert.equal(tmpApps().length, 0, 'the copies are deleted after a cancel');
    assert.equal(f.deleted.length - deletedBefore, 2);
    assert.equal(editor.document.getText(), text);
    assert.equal(editor.document.isDirty, false);
    f.setNodeDelay(2);
  });
});
