import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { replacePrompts } from '../../src/core/dsl';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import type { VersionNode } from '../../src/extension/views/versionsTreeProvider';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, IMPROVABLE, open, revertAndCloseAll, workCopy } from './support/ext';
import { workspaceDir } from './support/helpers';

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  recorded: boolean;
  usedLlm: boolean;
}

describe('Restricted Mode: analysis yes, LLM calls and .optimizer/ writes no', () => {
  let srv: FakeOpenAIServer;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');

  before(async () => {
    srv = await startFakeOpenAI();
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of ['llm.baseUrl', 'strategies']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });

  it('makes no LLM request even with a key, writes nothing to .optimizer/, and says why', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', `${TEST_KEY_PREFIX}restricted-5d0a`);
    const file = workCopy(IMPROVABLE.file, 'restricted');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, IMPROVABLE.promptId);
    assert.equal(srv.requests.length, 0, 'an LLM request was made in Restricted Mode');
    assert.equal(run.usedLlm, false);
    assert.equal(run.recorded, false);
    assert.ok(run.notes.some((n) => /Restricted Mode: no LLM request/.test(n)), run.notes.join(' | '));
    assert.ok(run.notes.some((n) => /no version is recorded in \.optimizer/.test(n)), run.notes.join(' | '));
    assert.ok(!fs.existsSync(path.join(workspaceDir(), '.optimizer')), '.optimizer/ was created in Restricted Mode');
    // The rule proposal can still be reviewed and accepted into the editor (the user's own edit).
    assert.equal(run.proposals.length, 1);
    const before = editor.document.getText();
    const r = await vscode.commands.executeCommand<{ ok: boolean; message?: string; recorded?: string }>('promptOptimizer.acceptProposal', run.proposals[0].id);
    assert.equal(r.ok, true);
    assert.equal(r.recorded, undefined);
    assert.match(r.message ?? '', /Restricted Mode: the version was not recorded/);
    assert.equal(editor.document.getText(), replacePrompts(before, [{ id: IMPROVABLE.promptId, text: run.proposals[0].proposed }]));
    assert.ok(!fs.existsSync(path.join(workspaceDir(), '.optimizer')));
  });

  it('refuses Restore Version and Delete Version with a message naming Restricted Mode', async () => {
    await api();
    const fake: VersionNode = {
      type: 'version',
      root: workspaceDir(),
      workflow: 'x.yml',
      promptId: 'p',
      title: 'T',
      current: false,
      version: { schemaVersion: 1, workflow: 'x.yml', promptId: 'p', version: '1.0.0', parentVersion: null, status: 'baseline', createdAt: new Date().toISOString(), text: 't', textSha256: '', metadata: {} },
    };
    const r = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('promptOptimizer.restoreVersion', fake);
    assert.equal(r.ok, false);
    assert.match(r.message, /not available in Restricted Mode.*\.optimizer/);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.deleteVersion', fake, undefined, { confirmed: true }), false);
    assert.ok(!fs.existsSync(path.join(workspaceDir(), '.optimizer')));
  });
});

describe('Optimize Prompt with Dataset in Restricted Mode', () => {
  it('is refused with the reason, before anything runs', async () => {
    const res = await vscode.commands.executeCommand<{ ran: boolean; message?: string }>('promptOptimizer.optimizeWithDataset');
    assert.equal(res.ran, false);
    assert.match(res.message ?? '', /Restricted Mode/);
  });
});
