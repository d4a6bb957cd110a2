import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConnectToDifyResult } from '../../src/extension/commands/connectToDify';
import type { DisconnectFromDifyResult } from '../../src/extension/commands/disconnectFromDify';
import type { PullFromDifyResult } from '../../src/extension/commands/pullFromDify';
import type { PushToDifyResult } from '../../src/extension/commands/pushToDify';
import { FAKE_USER, startFakeDify, type FakeDify } from '../support/fakeDify';
import { revertAndCloseAll } from './support/ext';
import { activateByOpeningExport, workspaceDir } from './support/helpers';
import { TEST_KEY_PREFIX } from './support/protocol';

/**
 * Connect / Pull / Push in a real editor against the fake Dify (test/support/fakeDify.ts; the
 * contract table with Dify's source paths is in test/unit/dify/client.test.ts). Every token the
 * fake hands out and the password start with TEST_KEY_PREFIX, which the harness looks for in
 * the extension's logs after the run.
 */
const PASSWORD = `${TEST_KEY_PREFIX}dify-pw-3e9a`;
const DIR = 'dify-pulled';

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('Dify connect, pull and push (trusted)', function () {
  this.timeout(60000);
  let f: FakeDify;
  /** A newer server that exports only packages and has the device flow (difyctl's client id). */
  let g: FakeDify | undefined;
  const ws = () => workspaceDir();
  const run = <T>(id: string, arg: unknown) => vscode.commands.executeCommand<T>(id, arg);

  before(async () => {
    await activateByOpeningExport();
    f = await startFakeDify({ tokenPrefix: TEST_KEY_PREFIX, password: PASSWORD, dslVersion: '0.3.0' });
  });
  after(async () => {
    await revertAndCloseAll();
    // Whatever a failed test left signed in (the next test file must not see several servers).
    for (const server of [f.url, g?.url]) if (server) await run('promptOptimizer.disconnectFromDify', { server });
    await f.close();
    await g?.close();
    fs.rmSync(path.join(ws(), DIR), { recursive: true, force: true });
    fs.rmSync(path.join(ws(), '.optimizer', 'remotes.json'), { force: true });
    fs.rmSync(path.join(ws(), '.optimizer', 'dify-base'), { recursive: true, force: true });
  });
  afterEach(revertAndCloseAll);

  it('Connect to Dify signs in with email and password; nothing of it lands in settings or the workspace', async () => {
    const r = await run<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: f.url, method: 'password', email: FAKE_USER.email, password: PASSWORD });
    assert.equal(r.server, f.url, r.error);
    assert.equal(r.kind, 'console');
    const settings = JSON.stringify(vscode.workspace.getConfiguration('promptOptimizer'));
    assert.ok(!settings.includes(f.url), 'the server is not a setting');
    const bad = await run<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: f.url, method: 'password', email: FAKE_USER.email, password: 'wrong' });
    assert.match(bad.error ?? '', /refused the sign-in/);
  });

  it('Pull from Dify writes the app into the workspace and records its origin; Push sends an edit made in the editor', async () => {
    const app = f.addApp({ name: 'Editor Flow', mode: 'workflow' });
    const p = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: app.id, out: `${DIR}/editor-flow.yml` });
    assert.ok(p.file, p.error);
    assert.equal(fs.readFileSync(p.file, 'utf8'), app.dsl);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, p.file, 'the pulled file is opened');
    const remotes = JSON.parse(fs.readFileSync(path.join(ws(), '.optimizer', 'remotes.json'), 'utf8')) as { files: Record<string, { appId: string; appMode: string; server: string }> };
    assert.deepEqual(remotes.files[`${DIR}/editor-flow.yml`], { ...remotes.files[`${DIR}/editor-flow.yml`], appId: app.id, appMode: 'workflow', server: f.url });

    const doc = vscode.window.activeTextEditor!.document;
    const at = doc.getText().indexOf('Write.');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + 'Write.'.length)), 'Write one clear paragraph.');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const r = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: doc.uri });
    assert.equal(r.status, 'pushed', r.error);
    assert.equal(doc.isDirty, false, 'the editor was saved before the push');
    assert.match(f.apps.get(app.id)!.dsl, /Write one clear paragraph\./);
  });

  it('Push refuses when the draft changed in Dify since the pull, and opens the three-way difference', async () => {
    const app = f.addApp({ name: 'Shared Flow', mode: 'workflow' });
    const p = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: app.id, out: `${DIR}/shared-flow.yml`, noOpen: true });
    assert.ok(p.file, p.error);
    fs.writeFileSync(p.file, fs.readFileSync(p.file, 'utf8').replace('Write.', 'Write ours.'));
    f.editDraft(app.id, (d) => d.replace('Write.', 'Write theirs.'));
    const theirs = f.apps.get(app.id)!.dsl;
    const r = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(p.file) });
    assert.equal(r.status, 'conflict');
    assert.match(r.diff ?? '', /Write theirs\./);
    assert.match(r.diff ?? '', /Write ours\./);
    assert.equal(vscode.window.activeTextEditor?.document.languageId, 'diff');
    assert.equal(f.apps.get(app.id)!.dsl, theirs, 'Dify kept its draft');
  });

  it('a DSL version mismatch is imported only when confirmed; a chat app goes in as a new app', async () => {
    const app = f.addApp({ name: 'Versioned Flow', mode: 'workflow' });
    // The access token has expired since Connect: the pull refreshes it (RefreshTokenApi) and goes on.
    f.expireAccessTokens();
    const p = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: app.id, out: `${DIR}/versioned.yml`, noOpen: true });
    assert.ok(p.file, p.error);
    assert.ok(f.requests.some((q) => q.path === '/console/api/refresh-token' && q.status === 200), 'the expired sign-in was refreshed');
    fs.writeFileSync(p.file!, fs.readFileSync(p.file!, 'utf8').replace(/^version: .*$/m, 'version: 0.9.0').replace('Write.', 'Newer.'));
    const r = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(p.file!), yes: true });
    assert.equal(r.status, 'pushed', r.error);
    assert.match(f.apps.get(app.id)!.dsl, /Newer\./);
    assert.ok(f.requests.some((q) => q.path.endsWith('/confirm') && q.status === 200));

    const chat = f.addApp({ name: 'Chat Helper', mode: 'chat' });
    const c = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: chat.id, out: `${DIR}/chat.yml`, noOpen: true });
    const refused = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(c.file!), yes: true });
    assert.match(refused.error ?? '', /overwrites only workflow and advanced-chat/);
    const asNew = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(c.file!), asNew: true, appName: 'Chat Helper (new)' });
    assert.equal(asNew.status, 'pushed', asNew.error);
    assert.notEqual(asNew.appId, chat.id);
    assert.ok(f.apps.get(asNew.appId!));
  });

  it('a server that gives only packages: Pull keeps the .ifpkg, Push uploads it; the device flow signs in to /openapi/v1', async () => {
    g = await startFakeDify({ tokenPrefix: TEST_KEY_PREFIX, password: PASSWORD, exportFormats: 'ifpkg-only', clientIds: ['difyctl'] });
    const c = await run<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: g.url, method: 'password', email: FAKE_USER.email, password: PASSWORD });
    assert.equal(c.kind, 'console', c.error);
    const app = g.addApp({ name: 'Packaged Flow', mode: 'workflow' });
    // Two servers are signed in now: the pull names its server.
    const p = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { server: g.url, appId: app.id, out: `${DIR}/packaged.yml`, noOpen: true });
    assert.ok(p.file?.endsWith('packaged.ifpkg'), p.error ?? p.file);
    assert.equal(fs.readFileSync(p.file!).subarray(0, 2).toString('latin1'), 'PK');
    const r = await run<PushToDifyResult>('promptOptimizer.pushToDify', { uri: vscode.Uri.file(p.file!) });
    assert.equal(r.status, 'pushed', r.error);
    assert.ok(g.requests.some((q) => q.path === '/console/api/apps/imports' && q.status === 200));

    // "Sign in in the browser": the code is shown; the user approves it while the command waits.
    const pending = run<ConnectToDifyResult>('promptOptimizer.connectToDify', { server: g.url, method: 'device' });
    const t0 = Date.now();
    while (!g.requests.some((q) => q.path.endsWith('/oauth/device/token')) && Date.now() - t0 < 10000) await new Promise((res) => setTimeout(res, 50));
    g.approveDevice();
    const d = await pending;
    assert.equal(d.kind, 'openapi', d.error);
    assert.equal(d.account, FAKE_USER.email);
    const viaToken = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { server: g.url, appId: app.id, out: `${DIR}/via-token.yml`, noOpen: true, force: true });
    assert.ok(viaToken.file, viaToken.error);
    assert.ok(g.requests.some((q) => q.path === `/openapi/v1/apps/${app.id}/export` && q.status === 200));
  });

  it('Disconnect from Dify ends each sign-in on its server and forgets it here; a pull afterwards says to connect', async () => {
    assert.ok(g, 'the previous test connected to the second server');
    const d1 = await run<DisconnectFromDifyResult>('promptOptimizer.disconnectFromDify', { server: g.url });
    assert.deepEqual(d1, { server: g.url, revoked: true, serverError: undefined });
    assert.ok(g.requests.some((q) => q.method === 'DELETE' && q.path === '/openapi/v1/account/sessions/self' && q.status === 200), 'the device token was revoked on the server');
    const d2 = await run<DisconnectFromDifyResult>('promptOptimizer.disconnectFromDify', {});
    assert.deepEqual(d2, { server: f.url, revoked: true, serverError: undefined }, 'with one sign-in left, no server needs naming');
    assert.ok(f.requests.some((q) => q.path === '/console/api/logout' && q.status === 200));
    const none = await run<DisconnectFromDifyResult>('promptOptimizer.disconnectFromDify', {});
    assert.match(none.refused ?? '', /Not connected/);
    const app = f.addApp({ name: 'After Flow', mode: 'workflow' });
    const p = await run<PullFromDifyResult>('promptOptimizer.pullFromDify', { appId: app.id, out: `${DIR}/after.yml`, noOpen: true });
    assert.equal(p.file, undefined);
    assert.match(p.error ?? p.refused ?? '', /Connect to Dify/);
  });

  it('no token the server gave, and not the password, is anywhere in the workspace', () => {
    const hay = walk(ws())
      .filter((p) => !p.includes(`${path.sep}node_modules${path.sep}`))
      .map((p) => fs.readFileSync(p, 'latin1'))
      .join('\n');
    for (const s of [...f.issuedSecrets(), ...(g?.issuedSecrets() ?? [])]) assert.ok(!hay.includes(s), `token ${s.slice(0, 12)}… leaked into the workspace`);
    assert.ok(!hay.includes(PASSWORD));
  });
});
