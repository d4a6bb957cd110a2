import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { VersionStore } from '../../src/core/storage';
import { proposalTitle, type ProposalSummary } from '../../src/extension/review/proposals';
import type { ReviewOutcome } from '../../src/extension/review/reviewController';
import { evidenceHandler, HEURISTIC_BETTER_LOSER, SUPPORT_CHATFLOW } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll } from './support/ext';
import { workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}evidence-unproven-41b7`;
const PROMPT = '1700000000003/msg:5c1e2c1a-0000-4000-8000-00000000e001';

interface RunResult {
  proposals: ProposalSummary[];
  skipped: Record<string, string>;
  usedLlm: boolean;
  notes: string[];
  refused: Array<{ promptId: string; strategy: string; verdict: string; reportFile: string }>;
}

let counter = 0;
function chatflowCopy(tag: string): string {
  const dir = path.join(workspaceDir(), 'it-work', `unproven-${tag}-${++counter}-${Date.now() % 100000}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `support-${tag}.yml`);
  fs.writeFileSync(file, SUPPORT_CHATFLOW);
  return file;
}

const webviewTabs = () =>
  vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && (t.input as vscode.TabInputWebview).viewType.includes('promptOptimizer.evidenceReport'));

/** The evidence webview tabs, once the tab model has caught up (up to 5 s). */
async function waitForWebviews(n: number): Promise<vscode.Tab[]> {
  for (let i = 0; i < 50 && webviewTabs().length !== n; i++) await new Promise((r) => setTimeout(r, 100));
  const all = vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => `${t.label} [${t.input instanceof vscode.TabInputWebview ? (t.input as vscode.TabInputWebview).viewType : typeof t.input}]`);
  assert.equal(webviewTabs().length, n, `evidence webviews: tabs are ${all.join(', ')}`);
  return webviewTabs();
}

/**
 * Unproven proposals in VS Code. The model is the scripted evidence model (a TEST DOUBLE on
 * 127.0.0.1): TIES adds no quality for its task model, so its judge calls every case a tie in
 * both orders, a consistent judge ("no evidence"; one look of 12 cases, evidence.maxCases 12);
 * HEURISTIC_BETTER_LOSER loses every case ("worse").
 */
const TIES = (p: string) => `${p}\nBe friendly.`;
describe('Evidence: unproven proposals are reviewable, worse ones listed with their reports (trusted)', () => {
  let srv: FakeOpenAIServer;
  let rewrite: (p: string) => string = TIES;
  let bias: 'first' | 'none' = 'first';
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');

  before(async () => {
    srv = await startFakeOpenAI({ handler: (req, ctx) => evidenceHandler({ rewrite: (p) => rewrite(p), bias }).handler(req, ctx) });
    await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    await config().update('maxIterations', 1, vscode.ConfigurationTarget.Global);
    await config().update('evidence.maxCases', 12, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of ['llm.baseUrl', 'strategies', 'maxIterations', 'evidence.maxCases']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });
  beforeEach(() => fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true }));
  afterEach(revertAndCloseAll);

  it('an unproven proposal enters the queue with its mark; its report opens as a webview; accepting records it as unproven', async () => {
    rewrite = TIES;
    bias = 'none';
    const file = chatflowCopy('queue');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT);
    assert.equal(run.usedLlm, true, run.notes.join(' '));
    assert.equal(run.proposals.length, 1, JSON.stringify(run.skipped));
    const p = run.proposals[0]!;
    assert.equal(p.unproven, true);
    assert.equal(p.evidence?.verdict, 'no evidence');
    assert.match(proposalTitle(p), /· unproven: 0\.50 \(90% interval [01]\.\d\d–[01]\.\d\d\) on 12 cases$/);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.match(tab?.label ?? '', /unproven: 0\.50 \(90% interval/, `diff tab: ${tab?.label}`);
    const a = await api();
    assert.ok(a.proposals().some((q) => q.id === p.id && q.unproven), 'the unproven proposal is not in the review queue');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    assert.ok(lenses.some((l) => /^Proposal .*unproven: 0\.50/.test(l.command?.title ?? '')), lenses.map((l) => l.command?.title).join(' | '));
    const evidenceLens = lenses.find((l) => l.command?.title === 'Evidence');
    assert.ok(evidenceLens, 'no Evidence CodeLens');
    // The CodeLens's command opens the report as a webview.
    const report = await vscode.commands.executeCommand<string>(evidenceLens.command!.command, ...(evidenceLens.command!.arguments ?? []));
    assert.ok(report && fs.existsSync(report.replace(/\.md$/, '.json')));
    assert.match((await waitForWebviews(1))[0]!.label, /^Evidence: /);
    // Accepting records the version as unproven.
    const out = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(out.ok, true, out.message);
    assert.equal(out.recorded, 'accepted (unproven)');
    const store = await VersionStore.open(workspaceDir(), { readOnly: true });
    try {
      const v = await store.get(p.workflow, p.promptId, p.version!);
      assert.equal(v.status, 'accepted');
      assert.equal(v.unproven, true);
      assert.equal(v.text, p.proposed);
    } finally {
      await store.close();
    }
  });

  it('a worse candidate is not queued but listed with its report, which the command opens', async () => {
    rewrite = HEURISTIC_BETTER_LOSER;
    bias = 'none';
    const file = chatflowCopy('worse');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT);
    assert.deepEqual(run.proposals, []);
    assert.equal(run.refused.length, 1, JSON.stringify(run.refused));
    const r = run.refused[0]!;
    assert.equal(r.verdict, 'worse');
    assert.ok(fs.existsSync(r.reportFile));
    const a = await api();
    assert.ok(a.logLines().some((l) => l.includes(`refused ${PROMPT} llm_guided: worse`) && l.includes(r.reportFile)), 'the log does not name the report');
    const shown = await vscode.commands.executeCommand<string>('promptOptimizer.showEvidenceReport', r.reportFile);
    assert.equal(shown, r.reportFile);
    await waitForWebviews(1);
    // The markdown export stays.
    const md = await vscode.commands.executeCommand<string>('promptOptimizer.exportEvidenceReport', r.reportFile);
    assert.ok(md && fs.readFileSync(md, 'utf8').includes('## Cases'));
  });
});
