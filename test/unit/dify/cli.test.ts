import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FAKE_USER, startFakeDify, type FakeDify } from '../../support/fakeDify';

/** The compiled CLI, run as a real process (as test/unit/cli/reliability.test.ts does). */
const MAIN = path.resolve(__dirname, '../../../src/cli/main.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function proc(args: string[], cwd: string, env: NodeJS.ProcessEnv, stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { PATH: process.env.PATH, HOME: env.HOME, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('promptopt dify (CLI process) against the fake Dify', function () {
  // Several CLI processes per test, on a shared 2-core machine.
  this.timeout(180000);
  let f: FakeDify;
  let ws: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}, stdin?: string) => proc(args, ws, { ...env, ...extra }, stdin);
  /** Every token the fake handed out: none may appear in output, the workspace or .optimizer/. */
  const assertNoSecrets = (...texts: string[]) => {
    const hay = [...texts, ...walk(ws).map((p) => fs.readFileSync(p, 'latin1'))].join('\n');
    for (const s of f.issuedSecrets()) assert.ok(!hay.includes(s), `a token leaked: ${s.slice(0, 6)}…`);
    assert.ok(!hay.includes(FAKE_USER.password), 'the password leaked');
  };

  beforeEach(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dify-ws-'));
    fs.mkdirSync(path.join(ws, '.git'));
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dify-home-'));
    env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'cfg'), PROMPTOPT_DIFY_EMAIL: FAKE_USER.email };
  });
  afterEach(async () => {
    await f?.close();
    fs.rmSync(ws, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function loginAndPull(name = 'Support Flow', mode = 'workflow') {
    const app = f.addApp({ name, mode });
    const li = await run(['dify', 'login', f.url, '--password-stdin'], {}, `${FAKE_USER.password}\n`);
    assert.equal(li.code, 0, li.err);
    const pl = await run(['dify', 'pull', '--name', name.split(' ')[0]]);
    assert.equal(pl.code, 0, pl.err);
    return { app, li, pl, file: path.join(ws, `${name}.yml`) };
  }

  it('login keeps tokens in a 0600 file outside the workspace; pull writes the file and remotes.json', async () => {
    f = await startFakeDify();
    const { app, li, pl, file } = await loginAndPull();
    const cred = path.join(home, 'cfg', 'promptopt', 'dify-credentials.json');
    assert.equal(fs.statSync(cred).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(cred)).mode & 0o777, 0o700);
    assert.match(fs.readFileSync(cred, 'utf8'), /access_token/);
    assert.equal(fs.readFileSync(file, 'utf8'), app.dsl);
    const remotes = JSON.parse(fs.readFileSync(path.join(ws, '.optimizer', 'remotes.json'), 'utf8')) as { files: Record<string, { server: string; appId: string; appMode: string; baseSha256: string }> };
    const r = remotes.files['Support Flow.yml'];
    assert.deepEqual([r.server, r.appId, r.appMode], [f.url, app.id, 'workflow']);
    assert.match(r.baseSha256, /^[0-9a-f]{64}$/);
    const exp = f.requests.find((q) => q.path.endsWith('/export'))!;
    assert.deepEqual([exp.query.include_secret, exp.query.format], ['false', 'yaml']);
    assertNoSecrets(li.out, li.err, pl.out, pl.err);
  });

  it('push after an edit imports over the draft, records the new base, and a second push finds no conflict', async () => {
    f = await startFakeDify();
    const { app, file } = await loginAndPull();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Write.', 'Write a short, friendly answer.'));
    const p1 = await run(['dify', 'push', 'Support Flow.yml']);
    assert.equal(p1.code, 0, p1.err);
    assert.match(p1.out, /pushed to the draft of .* not published/);
    assert.match(f.apps.get(app.id)!.dsl, /short, friendly answer/);
    const imp = f.requests.filter((q) => q.path === '/console/api/apps/imports');
    assert.equal(imp.length, 1);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('friendly', 'kind'));
    const p2 = await run(['dify', 'push', 'Support Flow.yml']);
    assert.equal(p2.code, 0, p2.err);
    assert.match(f.apps.get(app.id)!.dsl, /short, kind answer/);
    assertNoSecrets(p1.out, p1.err, p2.out, p2.err);
  });

  it('refuses to push over a draft changed in Dify since the pull, and shows base / Dify / ours', async () => {
    f = await startFakeDify();
    const { app, file } = await loginAndPull();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Write.', 'Write ours.'));
    f.editDraft(app.id, (d) => d.replace('Write.', 'Write theirs.'));
    const before = f.apps.get(app.id)!.dsl;
    const r = await run(['dify', 'push', 'Support Flow.yml']);
    assert.equal(r.code, 1);
    assert.match(r.err, /DIFY_CONFLICT/);
    assert.match(r.out, /base → Dify's draft/);
    assert.match(r.out, /\+.*Write theirs\./);
    assert.match(r.out, /base → ours/);
    assert.match(r.out, /\+.*Write ours\./);
    assert.equal(f.apps.get(app.id)!.dsl, before, 'nothing was overwritten');
    assert.equal(f.requests.filter((q) => q.path === '/console/api/apps/imports').length, 0);
  });

  it('202 pending: without --yes nothing is confirmed; with --yes both versions are shown and it is confirmed', async () => {
    f = await startFakeDify({ dslVersion: '0.3.0' });
    const { app, file } = await loginAndPull();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^version: .*$/m, 'version: 0.9.0').replace('Write.', 'Newer.'));
    const no = await run(['dify', 'push', 'Support Flow.yml']);
    assert.equal(no.code, 1);
    assert.match(no.err, /0\.9\.0.*0\.3\.0/);
    assert.doesNotMatch(f.apps.get(app.id)!.dsl, /Newer\./);
    const yes = await run(['dify', 'push', 'Support Flow.yml', '--yes']);
    assert.equal(yes.code, 0, yes.err);
    assert.match(yes.out, /after confirming the DSL version/);
    assert.match(f.apps.get(app.id)!.dsl, /Newer\./);
    assert.ok(f.requests.some((q) => /\/apps\/imports\/[^/]+\/confirm$/.test(q.path) && q.status === 200));
  });

  it('a chat app is not overwritten (says so); --as-new imports it as a new app; a broken file shows Dify’s 400 error', async () => {
    f = await startFakeDify();
    const { app } = await loginAndPull('Chat Bot', 'chat');
    const r = await run(['dify', 'push', 'Chat Bot.yml']);
    assert.equal(r.code, 1);
    assert.match(r.err, /overwrites only workflow and advanced-chat drafts.*--as-new/);
    const n = await run(['dify', 'push', 'Chat Bot.yml', '--as-new', '--app-name', 'Chat Bot (optimized)']);
    assert.equal(n.code, 0, n.err);
    assert.equal(f.apps.size, 2);
    assert.ok([...f.apps.values()].some((a) => a.name === 'Chat Bot (optimized)' && a.id !== app.id));
    fs.writeFileSync(path.join(ws, 'broken.yml'), 'kind: app\nversion: 0.3.0\n');
    const b = await run(['dify', 'push', 'broken.yml', '--as-new']);
    assert.equal(b.code, 1);
    assert.match(b.err, /Dify refused the import of broken\.yml: Missing app data in YAML content.*DIFY_IMPORT_FAILED/);
  });

  it('an expired sign-in is refreshed during a push and the new tokens are stored; --publish without a device sign-in pushes nothing', async () => {
    f = await startFakeDify();
    const { file } = await loginAndPull();
    const cred = path.join(home, 'cfg', 'promptopt', 'dify-credentials.json');
    const before = fs.readFileSync(cred, 'utf8');
    f.expireAccessTokens();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Write.', 'Refreshed.'));
    const r = await run(['dify', 'push', 'Support Flow.yml']);
    assert.equal(r.code, 0, r.err);
    assert.notEqual(fs.readFileSync(cred, 'utf8'), before);
    assert.equal(fs.statSync(cred).mode & 0o777, 0o600);
    const p = await run(['dify', 'push', 'Support Flow.yml', '--publish']);
    assert.equal(p.code, 1);
    assert.match(p.err, /device-flow sign-in.*Nothing was pushed/);
  });

  it('a server that only gives packages: pull keeps the .ifpkg as is, push uploads it', async () => {
    f = await startFakeDify({ exportFormats: 'ifpkg-only' });
    const app = f.addApp({ name: 'Pkg', mode: 'workflow' });
    assert.equal((await run(['dify', 'login', f.url], { PROMPTOPT_DIFY_PASSWORD: FAKE_USER.password })).code, 0);
    const pl = await run(['dify', 'pull', '--app', app.id]);
    assert.equal(pl.code, 0, pl.err);
    const file = path.join(ws, 'Pkg.ifpkg');
    assert.equal(fs.readFileSync(file).subarray(0, 2).toString('latin1'), 'PK');
    const ps = await run(['dify', 'push', 'Pkg.ifpkg']);
    assert.equal(ps.code, 0, ps.err);
    const imp = f.requests.find((q) => q.path === '/console/api/apps/imports')!;
    assert.equal(imp.status, 200);
  });

  it('wrong password and unknown servers give one plain line and exit 1; no password is stored', async () => {
    f = await startFakeDify();
    const r = await run(['dify', 'login', f.url], { PROMPTOPT_DIFY_PASSWORD: 'wrong' });
    assert.equal(r.code, 1);
    assert.match(r.err, /refused the sign-in.*DIFY_AUTH/);
    const cred = path.join(home, 'cfg', 'promptopt', 'dify-credentials.json');
    assert.equal(fs.existsSync(cred), false);
    const pl = await run(['dify', 'pull', '--name', 'x']);
    assert.equal(pl.code, 1);
    assert.match(pl.err, /Not signed in to any Dify server/);
  });

  it('logout ends the sign-in on the server and deletes the tokens; with the server gone it still deletes them here and says so', async () => {
    f = await startFakeDify();
    await loginAndPull();
    const cred = path.join(home, 'cfg', 'promptopt', 'dify-credentials.json');
    const lo = await run(['dify', 'logout']);
    assert.equal(lo.code, 0, lo.err);
    assert.match(lo.out, /Signed out of http:\/\/127\.0\.0\.1:\d+: the server ended the sign-in/);
    assert.ok(f.requests.some((q) => q.path === '/console/api/logout' && q.status === 200));
    assert.doesNotMatch(fs.readFileSync(cred, 'utf8'), /127\.0\.0\.1/);
    assert.match((await run(['dify', 'pull', '--name', 'Support'])).err, /Not signed in to any Dify server/);

    assert.equal((await run(['dify', 'login', f.url], { PROMPTOPT_DIFY_PASSWORD: FAKE_USER.password })).code, 0);
    const url = f.url;
    await f.close();
    const off = await run(['dify', 'logout', url]);
    assert.equal(off.code, 0, off.err);
    assert.match(off.out, /Signed out of .* here \(tokens deleted\); the server could not be told \(Could not reach/);
    assert.doesNotMatch(fs.readFileSync(cred, 'utf8'), /127\.0\.0\.1/);
    assert.match((await run(['dify', 'logout'])).out, /Not signed in to any server/);
    assertNoSecrets(lo.out, off.out);
  });
});
