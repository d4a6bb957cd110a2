import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GenerateTestCasesResult } from '../../src/extension/commands/generateTestCases';
import { proposalTitle, type ProposalSummary } from '../../src/extension/review/proposals';
import { evidenceHandler, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER, SUPPORT_CHATFLOW, QUALITY_PHRASES } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll } from './support/ext';
import { workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}evidence-7d1c`;

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  skipped: Record<string, string>;
  usedLlm: boolean;
}

let counter = 0;
/** A fresh folder holding the support chatflow (its own .optimizer/datasets name). */
function chatflowCopy(tag: string): string {
  const dir = path.join(workspaceDir(), 'it-work', `evidence-${tag}-${++counter}-${Date.now() % 100000}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `support-${tag}.yml`);
  fs.writeFileSync(file, SUPPORT_CHATFLOW);
  return file;
}

describe('Evidence: Generate Test Cases and optimize with the evidence gate (trusted)', () => {
  let srv: FakeOpenAIServer;
  let rewrite = HEURISTIC_NEUTRAL_WINNER;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  const PROMPT = '1700000000003/msg:5c1e2c1a-0000-4000-8000-00000000e001';

  before(async () => {
    const model = evidenceHandler({ rewrite: (p) => rewrite(p) });
    srv = await startFakeOpenAI({ handler: model.handler });
    await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    await config().update('maxIterations', 1, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of ['llm.baseUrl', 'strategies', 'maxIterations']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  it('Generate Test Cases writes a generated dataset for the prompt, opens it, and reuses it after', async () => {
    const file = chatflowCopy('cases');
    const editor = await open(file);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    assert.ok(lenses.some((l) => l.command?.command === 'promptOptimizer.generateTestCases' && l.command.arguments?.[1] === PROMPT), 'no Test cases CodeLens on the prompt');
    srv.reset();
    const r = await vscode.commands.executeCommand<GenerateTestCasesResult>('promptOptimizer.generateTestCases', editor.document.uri, PROMPT, { yes: true });
    assert.equal(r.refused, undefined, r.refused);
    assert.equal(r.cases, 12);
    assert.ok(r.file && fs.existsSync(r.file));
    assert.equal(path.relative(workspaceDir(), r.file).split(path.sep).slice(0, 2).join('/'), '.optimizer/datasets');
    const lines = fs.readFileSync(r.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: string; inputs: Record<string, string> });
    assert.equal(lines.length, 12);
    assert.ok(lines.every((l) => l.source === 'generated' && ['Cloud', 'Desktop'].includes(l.inputs['1700000000001.product']!)));
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, r.file, 'the cases file was not opened');
    assert.equal(srv.chatRequests().length, 2);
    const again = await vscode.commands.executeCommand<GenerateTestCasesResult>('promptOptimizer.generateTestCases', editor.document.uri, PROMPT, { yes: true });
    assert.equal(again.reused, true);
    assert.equal(srv.chatRequests().length, 2, 'the existing cases were generated again');
  });

  it('Optimize keeps a heuristic-neutral rewrite that wins on the cases, with verdict and win rate in the diff title, the CodeLens and the report', async () => {
    rewrite = HEURISTIC_NEUTRAL_WINNER;
    const file = chatflowCopy('win');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT);
    assert.equal(run.usedLlm, true, run.notes.join(' '));
    assert.equal(run.proposals.length, 1, JSON.stringify(run.skipped));
    const p = run.proposals[0]!;
    assert.ok(p.proposed.includes(QUALITY_PHRASES[1]!));
    assert.equal(p.evidence?.verdict, 'better');
    assert.equal(p.evidence?.cases, 12);
    assert.match(proposalTitle(p), /· better, win rate 1\.00 on 12 cases$/);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.match(tab?.label ?? '', /better, win rate 1\.00 on 12 cases/, `diff tab: ${tab?.label}`);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    assert.ok(lenses.some((l) => /^Proposal .*better, win rate 1\.00/.test(l.command?.title ?? '')), lenses.map((l) => l.command?.title).join(' | '));
    const report = await vscode.commands.executeCommand<string>('promptOptimizer.showEvidenceReport', p.id);
    assert.ok(report && fs.readFileSync(report, 'utf8').includes('candidate wins'));
    const a = await api();
    assert.ok(a.logLines().some((l) => /evidence .* llm_guided: kept, better, win rate 1\.00/.test(l)), 'the log does not give the evidence');
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
  });

  it('Optimize refuses a heuristic-better rewrite that loses on the cases, and says why', async () => {
    rewrite = HEURISTIC_BETTER_LOSER;
    // The rewrite request is the same as the previous test's: forget its cached answer.
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
    const file = chatflowCopy('lose');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT);
    assert.equal(run.usedLlm, true);
    assert.deepEqual(run.proposals, []);
    assert.match(run.skipped[PROMPT] ?? '', /llm_guided: worse on the test cases \(worse on 12 test cases: 0 wins, 0 ties, 12 losses/);
  });
});
