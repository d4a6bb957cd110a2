import { strict as assert } from 'node:assert';
import { DifyError } from '../../../src/core/errors';
import { DifyClient, loginWithDeviceFlow, loginWithPassword, normalizeServer, signOut, type CredentialStore, type DifySession } from '../../../src/core/dify';
import { FAKE_USER, FAKE_WORKSPACE, startFakeDify, type FakeDify } from '../../support/fakeDify';

/**
 * The contract the fake Dify keeps, each row from langgenius/dify's source (file · function):
 *
 * | behaviour                                  | source                                                                 |
 * |--------------------------------------------|------------------------------------------------------------------------|
 * | POST /console/api/login, 3 cookies          | api/controllers/console/auth/login.py · LoginApi.post                   |
 * | `__Host-` cookie names under https           | api/libs/token.py · _real_cookie_name, is_secure                        |
 * | password field base64-decoded (newest)       | api/controllers/console/wraps.py · decrypt_password_field; api/libs/encryption.py · FieldEncryption.decrypt_field; web/utils/encryption.ts · encryptPassword |
 * | CSRF header = csrf cookie, on every method   | api/libs/login.py · login_required; api/libs/token.py · check_csrf_token |
 * | draft routes exempt from CSRF                | api/libs/token.py · CSRF_WHITE_LIST                                     |
 * | 401 unauthorized body                        | api/extensions/ext_login.py · unauthorized_handler                      |
 * | POST /console/api/refresh-token              | api/controllers/console/auth/login.py · RefreshTokenApi.post            |
 * | GET /apps (pagination)                       | api/controllers/console/app/app.py · AppListApi.get                     |
 * | GET /apps/{id}/export include_secret, format | api/controllers/console/app/app.py · AppExportQuery, AppExportApi.get   |
 * | DELETE /apps/{id} → 204                      | api/controllers/console/app/app.py · AppApi.delete                      |
 * | POST /apps/imports 200 / 202 / 400           | api/controllers/console/app/app_import.py · AppImportApi.post           |
 * | overwrite only workflow / advanced-chat      | api/services/app_dsl_service.py · AppDslService.import_app              |
 * | version → pending / with-warnings            | api/services/dsl_version.py · check_version_compatibility               |
 * | POST /apps/imports/{id}/confirm (10 min)     | app_import.py · AppImportConfirmApi.post; app_dsl_service.py · IMPORT_INFO_REDIS_EXPIRY |
 * | GET /apps/imports/{app}/check-dependencies   | app_import.py · AppImportCheckDependenciesApi.get                       |
 * | POST …/workflows/draft/run (SSE)             | api/controllers/console/app/workflow.py · DraftWorkflowRunApi; api/libs/helper.py · compact_generate_response |
 * | POST …/workflows/draft/nodes/{n}/run         | api/controllers/console/app/workflow.py · DraftWorkflowNodeRunApi       |
 * | device flow code / token                     | api/controllers/openapi/oauth_device/code.py, token.py · OAuthDeviceCodeApi, OAuthDeviceTokenApi |
 * | POST /openapi/v1/apps/{id}:publish           | api/controllers/openapi/app_workflow.py · AppPublishApi.post           |
 * | device poll payload (token, account, …)       | api/controllers/openapi/oauth_device/approve.py · _build_account_poll_payload |
 * | POST /console/api/logout                     | api/controllers/console/auth/login.py · LogoutApi.post; api/services/account_service.py · AccountService.logout |
 * | DELETE /openapi/v1/account/sessions/self     | api/controllers/openapi/account.py · AccountSessionsSelfApi.delete     |
 */

async function signIn(f: FakeDify): Promise<DifySession> {
  return loginWithPassword({ server: f.url, email: FAKE_USER.email, password: FAKE_USER.password });
}

describe('dify client against the fake Dify', function () {
  this.timeout(20000);
  let f: FakeDify;
  afterEach(async () => f?.close());

  it('normalises server URLs (console page, trailing slash, no scheme)', () => {
    assert.equal(normalizeServer('cloud.dify.ai/'), 'https://cloud.dify.ai');
    assert.equal(normalizeServer('https://dify.example.com/apps'), 'https://dify.example.com');
    assert.equal(normalizeServer('http://10.0.0.5:8080/dify/console/api/apps'), 'http://10.0.0.5:8080/dify');
    assert.throws(() => normalizeServer('ftp://x'), DifyError);
  });

  it('signs in (base64 password field), keeps the __Host- cookies, and sends X-CSRF-Token', async () => {
    f = await startFakeDify({ secure: true });
    f.addApp({ name: 'Support Flow', mode: 'workflow' });
    const s = await signIn(f);
    assert.ok(s.cookies?.['__Host-access_token'] && s.cookies['__Host-csrf_token'] && s.cookies['__Host-refresh_token']);
    const c = new DifyClient(s);
    const apps = await c.listApps();
    assert.deepEqual(apps.map((a) => a.name), ['Support Flow']);
    const last = f.requests.at(-1)!;
    assert.equal(last.csrfHeader, true);
    assert.ok(last.cookieNames.includes('__Host-access_token'));
  });

  it('falls back to a plain password on servers that do not decode the field', async () => {
    f = await startFakeDify({ passwordField: 'plain' });
    const s = await signIn(f);
    assert.ok(s.cookies?.access_token);
    const logins = f.requests.filter((r) => r.path === '/console/api/login');
    assert.deepEqual(logins.map((r) => r.status), [401, 200]);
  });

  it('a wrong password is refused with Dify’s message', async () => {
    f = await startFakeDify();
    await assert.rejects(loginWithPassword({ server: f.url, email: FAKE_USER.email, password: 'nope', passwordEncoding: 'base64' }), (e: DifyError) => e.code === 'DIFY_AUTH' && /Invalid email or password/.test(e.message));
  });

  it('a request without the CSRF header is refused (401)', async () => {
    f = await startFakeDify();
    const s = await signIn(f);
    const res = await fetch(`${f.url}/console/api/apps`, { headers: { Cookie: `access_token=${s.cookies!.access_token}` } });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { message: string }).message, /CSRF/);
  });

  it('refreshes an expired access token once and persists the new tokens', async () => {
    f = await startFakeDify();
    f.addApp({ name: 'A', mode: 'workflow' });
    const s = await signIn(f);
    const seen: DifySession[] = [];
    const c = new DifyClient(s, { onSessionChange: (n) => void seen.push(n) });
    f.expireAccessTokens();
    assert.equal((await c.listApps()).length, 1);
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0].cookies!.access_token, s.cookies!.access_token);
    assert.deepEqual(f.requests.slice(-3).map((r) => [r.path, r.status]), [['/console/api/apps', 401], ['/console/api/refresh-token', 200], ['/console/api/apps', 200]]);
    f.expireAccessTokens();
    f.expireRefreshTokens();
    await assert.rejects(c.listApps(), (e: DifyError) => e.code === 'DIFY_AUTH' && /Sign in again/.test(e.message));
  });

  it('older consoles: tokens in the login body, sent as Bearer', async () => {
    f = await startFakeDify({ legacyBearer: true, passwordField: 'plain' });
    f.addApp({ name: 'Old', mode: 'workflow' });
    const s = await signIn(f);
    assert.ok(s.bearer);
    assert.equal((await new DifyClient(s).listApps()).length, 1);
  });

  it('exports yaml with include_secret=false and format=yaml; a package-only server gives the .ifpkg bytes', async () => {
    f = await startFakeDify();
    const app = f.addApp({ name: 'E', mode: 'workflow' });
    const c = new DifyClient(await signIn(f));
    const y = await c.exportApp(app.id);
    assert.equal(y.format, 'yaml');
    assert.equal(y.format === 'yaml' && y.text, app.dsl);
    const req = f.requests.at(-1)!;
    assert.deepEqual([req.query.include_secret, req.query.format], ['false', 'yaml']);
    await f.close();
    f = await startFakeDify({ exportFormats: 'ifpkg-only' });
    const app2 = f.addApp({ name: 'P', mode: 'workflow' });
    const z = await new DifyClient(await signIn(f)).exportApp(app2.id);
    assert.equal(z.format, 'ifpkg');
    assert.deepEqual([...z.bytes.subarray(0, 2)], [0x50, 0x4b]);
  });

  it('import: 200 over a workflow app, 400 for a chat app, 202 pending then confirm', async () => {
    f = await startFakeDify({ dslVersion: '0.3.0' });
    const wf = f.addApp({ name: 'W', mode: 'workflow' });
    const chat = f.addApp({ name: 'C', mode: 'chat' });
    const c = new DifyClient(await signIn(f));
    const y = (await c.exportApp(wf.id)) as { text: string };
    const ok = await c.importApp({ yaml: y.text.replace('Write.', 'Write well.') }, { appId: wf.id });
    assert.equal(ok.httpStatus, 200);
    assert.equal(ok.status, 'completed');
    assert.match(f.apps.get(wf.id)!.dsl, /Write well\./);
    const bad = await c.importApp({ yaml: y.text }, { appId: chat.id });
    assert.equal(bad.httpStatus, 400);
    assert.match(bad.error!, /Only workflow or advanced chat apps can be overwritten/);
    const newer = y.text.replace(/^version: .*$/m, 'version: 0.9.0');
    const pend = await c.importApp({ yaml: newer }, { appId: wf.id });
    assert.equal(pend.httpStatus, 202);
    assert.equal(pend.status, 'pending');
    assert.equal(pend.imported_dsl_version, '0.9.0');
    const done = await c.confirmImport(pend.id);
    assert.equal(done.status, 'completed');
    const again = await c.confirmImport(pend.id);
    assert.equal(again.status, 'failed');
    assert.match(again.error!, /expired or does not exist/);
  });

  it('imports as a new app (no app_id), checks dependencies, deletes the temporary app', async () => {
    f = await startFakeDify();
    const c = new DifyClient(await signIn(f));
    const dsl = f.addApp({ name: 'Src', mode: 'workflow' }).dsl.replace(/^kind: app$/m, 'kind: app\ndependencies:\n  - type: marketplace\n    value:\n      marketplace_plugin_unique_identifier: langgenius/openai:0.0.1');
    const imp = await c.importApp({ yaml: dsl }, { name: 'tmp-eval' });
    assert.equal(imp.status, 'completed');
    assert.ok(imp.app_id && f.apps.has(imp.app_id));
    const deps = await c.checkDependencies(imp.app_id!);
    assert.equal(deps.length, 1);
    await c.deleteApp(imp.app_id!);
    assert.deepEqual(f.deleted, [imp.app_id]);
    assert.equal(f.apps.has(imp.app_id!), false);
  });

  it('runs the draft (SSE events up to workflow_finished) and a single node', async () => {
    f = await startFakeDify();
    const app = f.addApp({ name: 'Runner', mode: 'workflow' });
    const c = new DifyClient(await signIn(f));
    const names: string[] = [];
    const r = await c.runDraftWorkflow(app.id, { inputs: { q: 'hi' } }, { onEvent: (e) => names.push(e.event) });
    assert.deepEqual(names, ['workflow_started', 'node_started', 'node_finished', 'node_started', 'node_finished', 'node_started', 'node_finished', 'workflow_finished']);
    assert.equal(r.status, 'succeeded');
    assert.deepEqual(r.outputs, { result: 'Runner: {"q":"hi"}' });
    assert.ok(r.workflowRunId);
    const n = await c.runDraftNode(app.id, 'llm1', { inputs: { q: 'x' } });
    assert.equal(n.status, 'succeeded');
    assert.deepEqual(n.outputs, { text: 'Writer: {"q":"x"}' });
    await assert.rejects(c.runDraftNode(app.id, 'nope', { inputs: {} }), (e: DifyError) => e.status === 404);
  });

  it('device flow: pending until approved, then openapi export and :publish with the token', async () => {
    f = await startFakeDify({ clientIds: ['promptopt'] });
    const app = f.addApp({ name: 'Pub', mode: 'workflow' });
    let shown = '';
    const s = await loginWithDeviceFlow({
      server: f.url,
      clientId: 'promptopt',
      deviceLabel: 'test',
      onCode: (code) => void (shown = code.user_code),
      sleep: async () => {
        if (f.requests.filter((r) => r.path.endsWith('/device/token')).length >= 2) f.approveDevice();
      },
    });
    assert.equal(shown, 'ABCD-EFGH');
    assert.equal(s.kind, 'openapi');
    assert.equal(s.workspaceId, FAKE_WORKSPACE);
    const c = new DifyClient(s);
    assert.equal(((await c.exportApp(app.id)) as { text: string }).text, app.dsl);
    const pub = await c.publish(app.id);
    assert.ok(pub.version_id);
    await assert.rejects(new DifyClient({ ...s, kind: 'console', bearer: undefined, cookies: {} }).publish(app.id), (e: DifyError) => e.code === 'DIFY_UNSUPPORTED');
    await assert.rejects(loginWithDeviceFlow({ server: f.url, clientId: 'other', deviceLabel: 't', onCode: () => undefined }), (e: DifyError) => e.code === 'DIFY_UNSUPPORTED' && /client id/.test(e.message));
  });

  /** An in-memory CredentialStore (the real ones are the 0600 file and SecretStorage). */
  function memoryStore(...sessions: DifySession[]): CredentialStore & { map: Map<string, DifySession> } {
    const map = new Map(sessions.map((x) => [x.server, x]));
    return { map, get: async (k) => map.get(k), set: async (x) => void map.set(x.server, x), delete: async (k) => void map.delete(k), list: async () => [...map.keys()] };
  }

  it('sign-out (console): the server drops the refresh token, so the sign-in cannot come back; deleted here', async () => {
    f = await startFakeDify();
    f.addApp({ name: 'A', mode: 'workflow' });
    const s = await signIn(f);
    const store = memoryStore(s);
    const r = await signOut(store, f.url);
    assert.deepEqual(r, { server: s.server, revoked: true, serverError: undefined });
    assert.deepEqual(await store.list(), []);
    assert.ok(f.requests.some((q) => q.path === '/console/api/logout' && q.status === 200));
    // The old tokens: once the access JWT expires, the refresh that would renew it is refused.
    f.expireAccessTokens();
    await assert.rejects(new DifyClient(s).listApps(), (e: DifyError) => e.code === 'DIFY_AUTH');
  });

  it('sign-out (device flow): the token is revoked at once; an unreachable server still forgets it here', async () => {
    f = await startFakeDify({ clientIds: ['promptopt'] });
    const app = f.addApp({ name: 'Pub', mode: 'workflow' });
    const s = await loginWithDeviceFlow({ server: f.url, clientId: 'promptopt', deviceLabel: 't', onCode: () => undefined, sleep: async () => f.approveDevice() });
    assert.equal(s.kind, 'openapi');
    const r = await signOut(memoryStore(s), f.url);
    assert.equal(r.revoked, true);
    assert.ok(f.requests.some((q) => q.path === '/openapi/v1/account/sessions/self' && q.status === 200));
    await assert.rejects(new DifyClient(s).exportApp(app.id), (e: DifyError) => e.code === 'DIFY_AUTH');
    await f.close();
    const store = memoryStore(s);
    const gone = await signOut(store, s.server, { timeoutMs: 3000 });
    assert.equal(gone.revoked, false);
    assert.match(gone.serverError ?? '', /Could not reach the Dify server/);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await signOut(store, s.server), { server: s.server, revoked: false, serverError: 'not signed in here' });
  });
});
