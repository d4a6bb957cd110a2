import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GenerateTestCasesResult } from '../../src/extension/commands/generateTestCases';
import { evidenceHandler, SUPPORT_CHATFLOW } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll } from './support/ext';
import { workspaceDir } from './support/helpers';

describe('Evidence in Restricted Mode: no test case is generated, no request is sent', () => {
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler().handler });
    await vscode.workspace.getConfiguration('promptOptimizer').update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await vscode.workspace.getConfiguration('promptOptimizer').update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });

  it('Generate Test Cases refuses and says why', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', `${TEST_KEY_PREFIX}restricted-evidence`);
    const dir = path.join(workspaceDir(), 'it-work', `evidence-restricted-${Date.now() % 100000}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'support-restricted.yml');
    fs.writeFileSync(file, SUPPORT_CHATFLOW);
    const editor = await open(file);
    const r = await vscode.commands.executeCommand<GenerateTestCasesResult>('promptOptimizer.generateTestCases', editor.document.uri, '1700000000003/msg:5c1e2c1a-0000-4000-8000-00000000e001', { yes: true });
    assert.match(r.refused ?? '', /Restricted Mode/);
    assert.equal(srv.chatRequests().length, 0);
    assert.equal(fs.existsSync(path.join(workspaceDir(), '.optimizer', 'datasets')), false);
  });
});
