import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConnectToDifyResult } from '../../src/extension/commands/connectToDify';
import type { PullFromDifyResult } from '../../src/extension/commands/pullFromDify';
import type { PushToDifyResult } from '../../src/extension/commands/pushToDify';
import { FAKE_USER, startFakeDify, type FakeDify } from '../support/fakeDify';
import { api, revertAndCloseAll } from './support/ext';
import { corpusFiles, workspaceDir } from './support/helpers';
import { TEST_KEY_PREFIX } from './support/protocol';

describe('Restricted Mode: no Dify sign-in, pull or push', () => {
  let f: FakeDify;
  before(async () => {
    await api();
    f = await startFakeDify({ tokenPrefix: TEST_KEY_PREFIX, password: `${TEST_KEY_PREFIX}restricted-dify` });
  });
  after(async () => {
    await f.close();
    await revertAndCloseAll();
  });

  it('refuses Connect, Pull and Push without a single request to the server', async () => {
    const app = f.addApp({ name: 'Flow', mode: 'workflow' });
    const c = await vscode.commands.executeCommand<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: f.url, method: 'password', email: FAKE_USER.email, password: `${TEST_KEY_PREFIX}restricted-dify` });
    assert.match(c.refused ?? '', /Restricted Mode/);
    const p = await vscode.commands.executeCommand<PullFromDifyResult>('promptOptimizer.pullFromDify', { server: f.url, appId: app.id });
    assert.match(p.refused ?? '', /Restricted Mode/);
    const u = await vscode.commands.executeCommand<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(corpusFiles()[0]) });
    assert.match(u.refused ?? '', /Restricted Mode/);
    assert.equal(f.requests.length, 0);
    // Disconnect stays allowed (it only removes what Connect stored); with no sign-in it says so.
    const d = await vscode.commands.executeCommand<{ refused?: string }>('promptOptimizer.disconnectFromDify', {});
    assert.match(d.refused ?? '', /Not connected to any Dify server/);
    assert.equal(fs.existsSync(path.join(workspaceDir(), '.optimizer', 'remotes.json')), false);
  });
});
