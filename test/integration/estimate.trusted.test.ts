import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { casesFileFor } from '../../src/core/evidence/cases';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { evidenceHandler, HEURISTIC_NEUTRAL_WINNER, SUPPORT_CHATFLOW } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll } from './support/ext';
import { workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}estimate-4b2e`;
const PROMPT = '1700000000003/msg:5c1e2c1a-0000-4000-8000-00000000e001';

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  cancelled: boolean;
  usedLlm: boolean;
  estimate?: { calls: number; promptTokens: number; completionTokens: number; costUsd?: number };
  asked?: { message: string; answer: 'Run' | 'Cancel' };
}

let counter = 0;
function chatflowCopy(tag: string): string {
  const dir = path.join(workspaceDir(), 'it-work', `estimate-${tag}-${++counter}-${Date.now() % 100000}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `support-est-${tag}.yml`);
  fs.writeFileSync(file, SUPPORT_CHATFLOW);
  return file;
}

describe('Optimize asks before spending: the estimate against promptOptimizer.confirmAboveCalls (trusted)', () => {
  let srv: FakeOpenAIServer;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  const G = vscode.ConfigurationTarget.Global;
  const answered = async () => {
    await new Promise((r) => setTimeout(r, 50));
    return srv.chatRequests().filter((r) => r.outcome === 'answered').length;
  };

  before(async () => {
    const model = evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER });
    srv = await startFakeOpenAI({ handler: model.handler });
    await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    await config().update('llm.baseUrl', srv.url, G);
    await config().update('strategies', ['llm_guided'], G);
    await config().update('maxIterations', 1, G);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of ['llm.baseUrl', 'strategies', 'maxIterations', 'confirmAboveCalls']) await config().update(k, undefined, G);
    await srv?.close();
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  it('the setting is declared with machine scope, a default and a description', () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON?.contributes?.configuration?.properties?.['promptOptimizer.confirmAboveCalls']);
    const p = ext!.packageJSON.contributes.configuration.properties['promptOptimizer.confirmAboveCalls'];
    assert.equal(p.scope, 'machine');
    // 450: one candidate's sequential evidence (up to 48 cases) is estimated at about 205 calls.
    assert.equal(p.default, 450);
    assert.match(p.markdownDescription, /0. asks before every run/);
  });

  it('above the threshold: Cancel sends nothing; Run sends at most the estimate; the same run again estimates 0 and asks nothing', async () => {
    await config().update('confirmAboveCalls', 0, G);
    const editor = await open(chatflowCopy('ask'));
    const before = await answered();
    const no = (await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT, { estimateAnswer: 'Cancel' }))!;
    assert.equal(no.asked?.answer, 'Cancel');
    assert.match(no.asked!.message, /^Estimate: at most \d+ call\(s\) to the model for 1 prompt\(s\)/);
    assert.match(no.asked!.message, /This is an estimate/);
    assert.equal(no.cancelled, true);
    assert.deepEqual(no.proposals, []);
    assert.equal(await answered(), before, 'a declined run sent a request');
    assert.equal(fs.existsSync(casesFileFor(workspaceDir(), editor.document.uri.fsPath, PROMPT)), false, 'a declined run wrote test cases');

    const yes = (await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT, { estimateAnswer: 'Run' }))!;
    assert.equal(yes.asked?.answer, 'Run');
    assert.equal(yes.usedLlm, true);
    assert.equal(yes.proposals.length, 1, yes.notes.join(' '));
    const sent = (await answered()) - before;
    assert.ok(sent > 0 && sent <= yes.estimate!.calls, `sent ${sent}, estimated at most ${yes.estimate!.calls}`);
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', yes.proposals[0]!.id);

    // Everything is in the cache now: no call, so no question even at 0 (and no modal to hang on).
    const again = (await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT))!;
    assert.equal(again.estimate?.calls, 0);
    assert.equal(again.asked, undefined);
    assert.equal(await answered(), before + sent);
    if (again.proposals[0]) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', again.proposals[0].id);
  });

  it('at or below the threshold the run goes ahead without a question', async () => {
    await config().update('confirmAboveCalls', 100000, G);
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
    const editor = await open(chatflowCopy('below'));
    const run = (await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, PROMPT))!;
    assert.ok(run.estimate && run.estimate.calls > 0);
    assert.equal(run.asked, undefined);
    assert.equal(run.usedLlm, true);
    const log = (await api()).logLines();
    assert.ok(log.some((l) => /Estimate: at most \d+ call/.test(l)), 'the estimate is not in the log');
    if (run.proposals[0]) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', run.proposals[0].id);
  });
});
