import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { readZip, writeZip } from './fakeZip';

/**
 * A fake Dify console (and the bits of /openapi/v1 we use) on 127.0.0.1, written from
 * langgenius/dify's source. No Dify can run on these machines. Each route cites where its
 * behaviour comes from; test/unit/dify/contract.test.ts holds the contract table.
 */

export interface FakeDifyOptions {
  /** Serve cookies as under https: `__Host-` prefixed names and Secure (api/libs/token.py `_real_cookie_name`). */
  secure?: boolean;
  /** Lifetime of access and CSRF tokens (ACCESS_TOKEN_EXPIRE_MINUTES); default one hour. */
  accessTtlMs?: number;
  /** How the password field arrives: base64 (api/libs/encryption.py, newest) or as is (older servers). */
  passwordField?: 'base64' | 'plain';
  /** 'modern': format=yaml|ifpkg, ifpkg by default; 'ifpkg-only': always a package; 'legacy': no `format`, always JSON {data}. */
  exportFormats?: 'modern' | 'ifpkg-only' | 'legacy';
  /** CURRENT_APP_DSL_VERSION of the fake server. */
  dslVersion?: string;
  /** OPENAPI_KNOWN_CLIENT_IDS; none: no device flow (404). */
  clientIds?: string[];
  /** Older console: the login answers tokens in the body and reads Authorization: Bearer. */
  legacyBearer?: boolean;
  /**
   * What a node of a draft run outputs (node_finished.data.outputs); default `{text: "<title>: <inputs>"}`.
   * Throwing fails the node (status failed, its message the error). Added for the Dify runtime's tests.
   */
  nodeOutputs?: (ctx: { app: FakeApp; node: { id: string; data: Record<string, unknown> }; inputs: Record<string, unknown>; query?: string; single: boolean }) => Record<string, unknown>;
  /** Milliseconds each node of a draft run takes (default 2). */
  nodeDelayMs?: number;
  /** Put before every token handed out (the in-editor tests use TEST_KEY_PREFIX, which the harness hunts for in logs). */
  tokenPrefix?: string;
  /** The account's password (default FAKE_USER.password). */
  password?: string;
}

export interface FakeApp {
  id: string;
  name: string;
  mode: string;
  /** The draft DSL as the server would export it. */
  dsl: string;
  description?: string;
  /** Unix seconds (AppPartial.created_at). */
  createdAt?: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  csrfHeader: boolean;
  cookieNames: string[];
  bearer: boolean;
  status?: number;
}

export interface FakeDify {
  url: string;
  apps: Map<string, FakeApp>;
  requests: FakeRequest[];
  /** Temporary apps deleted through DELETE /apps/{id}. */
  deleted: string[];
  /** Draft runs (whole or single-node) received, and the most at once. */
  runStats: { runs: number; active: number; maxActive: number };
  addApp(a: { name: string; mode: string; dsl?: string; graph?: unknown }): FakeApp;
  /** Someone edits the draft in Dify's editor. */
  editDraft(appId: string, edit: (dsl: string) => string): void;
  /** Ends every access token now (the next call must refresh). */
  expireAccessTokens(): void;
  /** Ends every refresh token too (the sign-in is over). */
  expireRefreshTokens(): void;
  /** Approves the pending device code (the user clicked Authorize at /device). */
  approveDevice(): void;
  /** Changes how long each node of a draft run takes from now on (see FakeDifyOptions.nodeDelayMs). */
  setNodeDelay(ms: number): void;
  /** Every token the server handed out (to check none reaches a log or the workspace). */
  issuedSecrets(): string[];
  close(): Promise<void>;
}

export const FAKE_USER = { email: 'dev@example.com', password: 'p@ss wörd-1', id: '9f0c1e2a-0000-4000-8000-00000000000a' };
export const FAKE_WORKSPACE = '5e1b7c3d-0000-4000-8000-00000000000b';

/** Dify's export: yaml.dump of the app data (PyYAML sorts keys), at the server's DSL version. */
function reserialize(text: string, version: string): string {
  const doc = parseYaml(text) as Record<string, unknown>;
  return stringifyYaml({ ...doc, kind: 'app', version }, { sortMapEntries: true, lineWidth: 0 });
}

/** api/services/dsl_version.py check_version_compatibility. */
function compat(imported: string, current: string): 'completed' | 'completed-with-warnings' | 'pending' | 'failed' {
  const p = (v: string) => v.split('.').map((x) => Number(x));
  const a = p(imported);
  const b = p(current);
  if (a.some(Number.isNaN) || b.some(Number.isNaN)) return 'failed';
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) > (b[i] ?? 0)) return 'pending';
    if ((a[i] ?? 0) < (b[i] ?? 0)) break;
  }
  if ((a[0] ?? 0) < (b[0] ?? 0)) return 'pending';
  if ((a[1] ?? 0) < (b[1] ?? 0)) return 'completed-with-warnings';
  return 'completed';
}

export function appDsl(name: string, mode: string, graph: unknown, version = '0.3.0'): string {
  const doc: Record<string, unknown> = { app: { name, mode, icon: '🤖', icon_background: '#FFEAD5', description: '' }, kind: 'app', version };
  if (mode === 'workflow' || mode === 'advanced-chat') doc.workflow = { graph, features: {}, environment_variables: [], conversation_variables: [] };
  else doc.model_config = { pre_prompt: 'You are helpful.', prompt_type: 'simple' };
  return stringifyYaml(doc, { sortMapEntries: true, lineWidth: 0 });
}

interface Tokens {
  user: string;
  exp: number;
}

export async function startFakeDify(opts: FakeDifyOptions = {}): Promise<FakeDify> {
  opts = { ...opts }; // setNodeDelay changes it: never the caller's object
  const ttl = opts.accessTtlMs ?? 3600_000;
  const version = opts.dslVersion ?? '0.3.0';
  const pre = opts.secure ? '__Host-' : '';
  const access = new Map<string, Tokens>();
  const refresh = new Map<string, Tokens>();
  const csrf = new Map<string, Tokens>();
  const oauth = new Set<string>();
  const issued: string[] = [];
  const pending = new Map<string, { yaml: string; appId?: string; name?: string; description?: string; exp: number }>();
  const leaked = new Map<string, unknown[]>();
  const devices = new Map<string, { approved: boolean; polls: number }>();
  const apps = new Map<string, FakeApp>();
  const requests: FakeRequest[] = [];
  const deleted: string[] = [];
  const tok = (p: string) => {
    const t = `${opts.tokenPrefix ?? ''}${p}-${randomBytes(12).toString('hex')}`;
    issued.push(t);
    return t;
  };

  function issueSession(res: http.ServerResponse, user: string): { access_token: string; refresh_token: string } {
    const a = tok('at');
    const r = tok('rt');
    const c = tok('ct');
    access.set(a, { user, exp: Date.now() + ttl });
    refresh.set(r, { user, exp: Date.now() + 30 * 86400_000 });
    csrf.set(c, { user, exp: Date.now() + ttl });
    const attrs = `Path=/; SameSite=Lax${opts.secure ? '; Secure' : ''}`;
    res.setHeader('Set-Cookie', [
      `${pre}csrf_token=${c}; Max-Age=${Math.round(ttl / 1000)}; ${attrs}`,
      `${pre}access_token=${a}; HttpOnly; Max-Age=${Math.round(ttl / 1000)}; ${attrs}`,
      `${pre}refresh_token=${r}; HttpOnly; Max-Age=${30 * 86400}; ${attrs}`,
    ]);
    return { access_token: a, refresh_token: r };
  }

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(data);
  };
  const cookiesOf = (req: http.IncomingMessage): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const i = part.indexOf('=');
      if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    return out;
  };

  function addApp(a: { name: string; mode: string; dsl?: string; graph?: unknown }): FakeApp {
    const graph = a.graph ?? { nodes: [{ id: 'start', data: { type: 'start', title: 'Start', variables: [] } }, { id: 'llm1', data: { type: 'llm', title: 'Writer', prompt_template: [{ role: 'system', text: 'Write.' }] } }, { id: 'end', data: { type: 'end', title: 'End' } }], edges: [] };
    const app: FakeApp = { id: randomUUID(), name: a.name, mode: a.mode, dsl: reserialize(a.dsl ?? appDsl(a.name, a.mode, graph, version), version) };
    apps.set(app.id, app);
    return app;
  }

  /** api/services/app_dsl_service.py import_app (the parts a test can see). */
  function doImport(yamlText: string, appId: string | undefined, name: string | undefined, confirmed: boolean, description?: string): { status: number; body: Record<string, unknown> } {
    const id = randomUUID();
    const fail = (error: string) => ({ status: 400, body: { id, status: 'failed', app_id: null, app_mode: null, current_dsl_version: version, imported_dsl_version: '', error, warnings: [] } });
    let data: Record<string, unknown>;
    try {
      data = parseYaml(yamlText) as Record<string, unknown>;
    } catch (e) {
      return fail(`Invalid YAML format: ${(e as Error).message}`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) return fail('Invalid YAML format: content must be a mapping');
    const imported = typeof data.version === 'string' ? data.version : '0.1.0';
    const status = compat(imported, version);
    if (status === 'failed') return fail(`Invalid version: ${imported}`);
    const appData = data.app as { name?: string; mode?: string } | undefined;
    if (!appData) return fail('Missing app data in YAML content');
    let app = appId ? apps.get(appId) : undefined;
    if (appId && !app) return fail('App not found');
    if (app && app.mode !== 'workflow' && app.mode !== 'advanced-chat') return fail('Only workflow or advanced chat apps can be overwritten');
    if (status === 'pending' && !confirmed) {
      pending.set(id, { yaml: yamlText, appId, name, description, exp: Date.now() + 10 * 60_000 });
      return { status: 202, body: { id, status: 'pending', app_id: appId ?? null, app_mode: null, current_dsl_version: version, imported_dsl_version: imported, error: '', warnings: [] } };
    }
    if (!appData.mode) return fail('loss app mode');
    if (!app) {
      app = { id: randomUUID(), name: name ?? appData.name ?? 'Untitled', mode: appData.mode, dsl: '', description: description ?? '', createdAt: Math.floor(Date.now() / 1000) };
      apps.set(app.id, app);
    }
    app.dsl = reserialize(yamlText, version);
    const deps = Array.isArray(data.dependencies) ? data.dependencies : [];
    if (deps.length) leaked.set(app.id, deps);
    const warnings = status === 'completed-with-warnings' ? [{ code: 'dsl_version_older', path: 'version', message: `DSL ${imported} is older than ${version}`, details: {} }] : [];
    return { status: 200, body: { id, status: confirmed ? 'completed' : status, app_id: app.id, app_mode: app.mode, current_dsl_version: version, imported_dsl_version: imported, error: '', warnings } };
  }

  function graphNodes(app: FakeApp): Array<{ id: string; data: { type?: string; title?: string } }> {
    const doc = parseYaml(app.dsl) as { workflow?: { graph?: { nodes?: Array<{ id: string; data: { type?: string; title?: string } }> } } };
    return doc.workflow?.graph?.nodes ?? [];
  }

  /** Console auth: libs/login.py login_required → ext_login (cookie, then Bearer) → libs/token.py check_csrf_token. */
  function authConsole(req: http.IncomingMessage, path: string): { user?: string; error?: [number, unknown] } {
    const cookies = cookiesOf(req);
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = cookies[`${pre}access_token`] ?? bearer;
    const t = token ? access.get(token) : undefined;
    if (!t || t.exp < Date.now()) return { error: [401, { code: 'unauthorized', message: t ? 'Token has expired.' : 'Invalid Authorization token.', status: 401 }] };
    if (opts.legacyBearer) return { user: t.user };
    // CSRF_WHITE_LIST in api/libs/token.py: /console/api/apps/<id>/workflows/draft… (pattern.match: a prefix).
    if (/^\/console\/api\/apps\/[a-f0-9-]+\/workflows\/draft/.test(path)) return { user: t.user };
    const header = req.headers['x-csrf-token'];
    const fromCookie = cookies[`${pre}csrf_token`];
    const c = typeof header === 'string' ? csrf.get(header) : undefined;
    if (!header || header !== fromCookie || !c || c.user !== t.user || c.exp < Date.now()) {
      return { error: [401, { code: 'unauthorized', message: 'CSRF token is missing or invalid.', status: 401 }] };
    }
    return { user: t.user };
  }

  async function body(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  function multipartFile(raw: Buffer, type: string): { fields: Record<string, string>; file?: { name: string; data: Buffer } } {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
    const b = `--${boundary?.[1] ?? boundary?.[2]}`;
    const out: { fields: Record<string, string>; file?: { name: string; data: Buffer } } = { fields: {} };
    let p = raw.indexOf(b);
    while (p >= 0) {
      const next = raw.indexOf(b, p + b.length);
      if (next < 0) break;
      const part = raw.subarray(p + b.length + 2, next - 2);
      const sep = part.indexOf('\r\n\r\n');
      const head = part.subarray(0, sep).toString('utf8');
      const data = part.subarray(sep + 4);
      const name = /name="([^"]*)"/.exec(head)?.[1] ?? '';
      const filename = /filename="([^"]*)"/.exec(head)?.[1];
      if (filename !== undefined) out.file = { name: filename, data };
      else out.fields[name] = data.toString('utf8');
      p = next;
    }
    return out;
  }

  const runStats = { runs: 0, active: 0, maxActive: 0 };
  /** A node's outputs (opts.nodeOutputs, else the default), or its error. */
  function outputsOf(app: FakeApp, n: { id: string; data: Record<string, unknown> }, inputs: Record<string, unknown>, query: string | undefined, single: boolean): { outputs?: Record<string, unknown>; error?: string } {
    if (!opts.nodeOutputs) return { outputs: { text: `${String(n.data.title)}: ${JSON.stringify(inputs)}` } };
    try {
      return { outputs: opts.nodeOutputs({ app, node: n, inputs, query, single }) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  /** api/core/app/apps/advanced_chat/generate_task_pipeline.py: an answer node's text streams as `message` events, then message_end. */
  async function sse(res: http.ServerResponse, app: FakeApp, inputs: Record<string, unknown>, query?: string): Promise<void> {
    runStats.runs++;
    runStats.active++;
    runStats.maxActive = Math.max(runStats.maxActive, runStats.active);
    res.on('close', () => runStats.active--);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const runId = randomUUID();
    const taskId = randomUUID();
    const write = (ev: Record<string, unknown>) => res.write(`data: ${JSON.stringify({ task_id: taskId, workflow_run_id: runId, ...ev })}\n\n`);
    write({ event: 'workflow_started', data: { id: runId, workflow_id: app.id, inputs, created_at: Math.floor(Date.now() / 1000) } });
    res.write('event: ping\n\n');
    let index = 1;
    let last = '';
    let failed: string | undefined;
    for (const n of graphNodes(app) as unknown as Array<{ id: string; data: Record<string, unknown> }>) {
      if (res.destroyed) return;
      const exec = randomUUID();
      write({ event: 'node_started', data: { id: exec, node_id: n.id, node_type: n.data.type, title: n.data.title, index } });
      await new Promise((r) => setTimeout(r, opts.nodeDelayMs ?? 2));
      const o = outputsOf(app, n, inputs, query, false);
      write({ event: 'node_finished', data: { id: exec, node_id: n.id, node_type: n.data.type, title: n.data.title, index: index++, status: o.error ? 'failed' : 'succeeded', error: o.error ?? null, inputs, outputs: o.outputs ?? null, elapsed_time: 0.01 } });
      if (o.error) {
        failed = `Node ${String(n.data.title)} run failed: ${o.error}`;
        break;
      }
      if (typeof o.outputs?.text === 'string' && n.data.type !== 'end' && n.data.type !== 'start') last = o.outputs.text;
    }
    if (!failed && app.mode === 'advanced-chat') {
      for (const chunk of last.match(/.{1,8}/gs) ?? []) write({ event: 'message', id: runId, message_id: runId, conversation_id: taskId, answer: chunk, created_at: Math.floor(Date.now() / 1000) });
      write({ event: 'message_end', id: runId, message_id: runId, conversation_id: taskId, metadata: {} });
    }
    write({ event: 'workflow_finished', data: { id: runId, workflow_id: app.id, status: failed ? 'failed' : 'succeeded', outputs: failed ? {} : opts.nodeOutputs ? (app.mode === 'advanced-chat' ? { answer: last } : { result: last }) : { result: `${app.name}: ${JSON.stringify(inputs)}` }, error: failed ?? null, elapsed_time: 0.05, total_tokens: 0, total_steps: index - 1 } });
    res.end();
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const path = u.pathname;
      const q = Object.fromEntries(u.searchParams);
      const rec: FakeRequest = { method: req.method ?? 'GET', path, query: q, csrfHeader: !!req.headers['x-csrf-token'], cookieNames: Object.keys(cookiesOf(req)), bearer: !!req.headers.authorization };
      requests.push(rec);
      const reply = (status: number, b: unknown, h?: Record<string, string>) => {
        rec.status = status;
        send(res, status, b, h);
      };
      const raw = await body(req);
      const json = () => {
        try {
          return JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          return {};
        }
      };
      const m = (re: RegExp) => re.exec(path);
      let g: RegExpExecArray | null;

      // --- api/controllers/console/auth/login.py ---------------------------------------------
      if (req.method === 'POST' && path === '/console/api/login') {
        const b = json();
        let pw = typeof b.password === 'string' ? b.password : '';
        if (opts.passwordField !== 'plain') {
          const dec = Buffer.from(pw, 'base64');
          if (dec.toString('base64') !== pw) return reply(401, { code: 'authentication_failed', message: 'Invalid encrypted data', status: 401 });
          pw = dec.toString('utf8');
        }
        if (b.email !== FAKE_USER.email || pw !== (opts.password ?? FAKE_USER.password)) return reply(401, { code: 'authentication_failed', message: 'Invalid email or password.', status: 401 });
        const t = issueSession(res, FAKE_USER.id);
        return reply(200, opts.legacyBearer ? { result: 'success', data: t } : { result: 'success' });
      }
      if (req.method === 'POST' && path === '/console/api/refresh-token') {
        const rt = cookiesOf(req)[`${pre}refresh_token`] ?? (json().refresh_token as string | undefined);
        const t = rt ? refresh.get(rt) : undefined;
        if (!rt) return reply(401, { result: 'fail', message: 'No refresh token provided' });
        if (!t || t.exp < Date.now()) return reply(401, { result: 'fail', message: 'Invalid refresh token' });
        refresh.delete(rt);
        const pair = issueSession(res, t.user);
        return reply(200, opts.legacyBearer ? { result: 'success', data: pair } : { result: 'success' });
      }

      // --- api/controllers/openapi/oauth_device/{code,token}.py --------------------------------
      if (path.startsWith('/openapi/v1/oauth/device/')) {
        if (!opts.clientIds) return reply(404, { code: 'not_found', message: 'Not Found' });
        const b = json();
        if (!opts.clientIds.includes(String(b.client_id))) return reply(400, { error: 'unsupported_client' });
        if (path.endsWith('/code')) {
          const dc = tok('dc');
          devices.set(dc, { approved: false, polls: 0 });
          return reply(200, { device_code: dc, user_code: 'ABCD-EFGH', verification_uri: `http://127.0.0.1/device`, expires_in: 900, interval: 1 });
        }
        const d = devices.get(String(b.device_code));
        if (!d) return reply(400, { error: 'expired_token' });
        d.polls++;
        if (!d.approved) return reply(400, { error: 'authorization_pending' });
        devices.delete(String(b.device_code));
        const token = tok('dfoa');
        oauth.add(token);
        return reply(200, { token, account: { email: FAKE_USER.email }, workspaces: [{ id: FAKE_WORKSPACE, name: 'Default' }] });
      }

      // --- the rest of /openapi/v1: Bearer of the device flow ----------------------------------
      if (path.startsWith('/openapi/v1/')) {
        const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !oauth.has(bearer)) return reply(401, { error: 'invalid_token', message: 'Invalid or expired token' });
        if (req.method === 'POST' && (g = m(/^\/openapi\/v1\/apps\/([a-f0-9-]+):publish$/))) {
          if (!apps.has(g[1])) return reply(404, { code: 'app_not_found', message: 'App not found.' });
          return reply(200, { version_id: randomUUID(), created_at: Math.floor(Date.now() / 1000), warning: null });
        }
        if (req.method === 'GET' && (g = m(/^\/openapi\/v1\/apps\/([a-f0-9-]+)\/export$/))) {
          const app = apps.get(g[1]);
          return app ? reply(200, { data: app.dsl }) : reply(404, { code: 'app_not_found', message: 'App not found.' });
        }
        if (req.method === 'POST' && (g = m(/^\/openapi\/v1\/workspaces\/([^/]+)\/apps\/imports$/))) {
          const b = json();
          const r = doImport(String(b.yaml_content ?? ''), b.app_id as string | undefined, b.name as string | undefined, false);
          return reply(r.status, r.body);
        }
        if (req.method === 'GET' && path === '/openapi/v1/apps') return reply(200, { page: 1, limit: 100, total: apps.size, has_more: false, data: [...apps.values()].map(({ id, name, mode }) => ({ id, name, mode })) });
        if (req.method === 'GET' && (g = m(/^\/openapi\/v1\/apps\/([a-f0-9-]+)$/))) {
          const app = apps.get(g[1]);
          return app ? reply(200, { info: { id: app.id, name: app.name, mode: app.mode } }) : reply(404, { code: 'app_not_found', message: 'App not found.' });
        }
        if (req.method === 'GET' && (g = m(/^\/openapi\/v1\/apps\/([a-f0-9-]+)\/check-dependencies$/))) return reply(200, { leaked_dependencies: leaked.get(g[1]) ?? [] });
        return reply(404, { code: 'not_found', message: 'Not Found' });
      }

      // --- console routes: login_required + CSRF ----------------------------------------------
      if (!path.startsWith('/console/api/')) return reply(404, { code: 'not_found', message: 'Not Found' });
      const auth = authConsole(req, path);
      if (auth.error) return reply(auth.error[0], auth.error[1]);

      // api/controllers/console/app/app.py AppListApi / AppApi / AppExportApi
      if (req.method === 'GET' && path === '/console/api/apps') {
        const name = q.name?.toLowerCase();
        const rows = [...apps.values()].filter((a) => !name || a.name.toLowerCase().includes(name));
        return reply(200, { page: Number(q.page ?? 1), limit: Number(q.limit ?? 20), total: rows.length, has_more: false, data: rows.map(({ id, name: n, mode, description, createdAt }) => ({ id, name: n, mode, description: description ?? '', created_at: createdAt ?? 0 })) });
      }
      if ((g = m(/^\/console\/api\/apps\/([a-f0-9-]{36})$/))) {
        const app = apps.get(g[1]);
        if (!app) return reply(404, { code: 'app_not_found', message: 'App not found.', status: 404 });
        if (req.method === 'DELETE') {
          apps.delete(app.id);
          deleted.push(app.id);
          rec.status = 204;
          res.writeHead(204);
          return res.end();
        }
        return reply(200, { id: app.id, name: app.name, mode: app.mode });
      }
      if (req.method === 'GET' && (g = m(/^\/console\/api\/apps\/([a-f0-9-]{36})\/export$/))) {
        const app = apps.get(g[1]);
        if (!app) return reply(404, { code: 'app_not_found', message: 'App not found.', status: 404 });
        const wantsZip = opts.exportFormats === 'ifpkg-only' || ((opts.exportFormats ?? 'modern') === 'modern' && q.format !== 'yaml');
        if (!wantsZip) return reply(200, { data: app.dsl });
        const appYaml = Buffer.from(app.dsl, 'utf8');
        const manifest = stringifyYaml({ version: 1, apps: [{ path: 'app.yaml', size: appYaml.length, sha256: createHash('sha256').update(appYaml).digest('hex') }] });
        const zip = writeZip([{ name: 'manifest.yaml', data: Buffer.from(manifest) }, { name: 'app.yaml', data: appYaml }]);
        rec.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${app.name}.ifpkg"` });
        return res.end(Buffer.from(zip));
      }

      // api/controllers/console/app/app_import.py
      if (req.method === 'POST' && path === '/console/api/apps/imports') {
        const type = req.headers['content-type'] ?? '';
        if (type.startsWith('multipart/form-data')) {
          const mp = multipartFile(raw, type);
          if (!mp.file?.name.toLowerCase().endsWith('.ifpkg')) return reply(400, { code: 'invalid_param', message: 'App package file must use the .ifpkg extension' });
          const appYaml = readZip(mp.file.data).get('app.yaml');
          if (!appYaml) return reply(400, { code: 'invalid_param', message: 'App package has no app.yaml' });
          const r = doImport(Buffer.from(appYaml).toString('utf8'), mp.fields.app_id, mp.fields.name, false, mp.fields.description);
          return reply(r.status, r.body);
        }
        const b = json();
        if (b.mode !== 'yaml-content' && b.mode !== 'yaml-url') return reply(400, { code: 'invalid_param', message: `Invalid import_mode: ${String(b.mode)}` });
        if (!b.yaml_content) return reply(400, { id: randomUUID(), status: 'failed', error: 'yaml_content is required when import_mode is yaml-content', current_dsl_version: version });
        const r = doImport(String(b.yaml_content), b.app_id as string | undefined, b.name as string | undefined, false, b.description as string | undefined);
        return reply(r.status, r.body);
      }
      if (req.method === 'POST' && (g = m(/^\/console\/api\/apps\/imports\/([^/]+)\/confirm$/))) {
        const p = pending.get(g[1]);
        pending.delete(g[1]);
        if (!p || p.exp < Date.now()) return reply(400, { id: g[1], status: 'failed', error: 'Import information expired or does not exist', current_dsl_version: version, warnings: [] });
        const r = doImport(p.yaml, p.appId, p.name, true, p.description);
        return reply(r.status, { ...r.body, id: g[1] });
      }
      if (req.method === 'GET' && (g = m(/^\/console\/api\/apps\/imports\/([a-f0-9-]{36})\/check-dependencies$/))) return reply(200, { leaked_dependencies: leaked.get(g[1]) ?? [] });

      // api/controllers/console/app/workflow.py DraftWorkflowRunApi / DraftWorkflowNodeRunApi
      if (req.method === 'POST' && (g = m(/^\/console\/api\/apps\/([a-f0-9-]{36})\/workflows\/draft\/run$/))) {
        const app = apps.get(g[1]);
        if (!app) return reply(404, { code: 'app_not_found', message: 'App not found.', status: 404 });
        if (app.mode !== 'workflow') return reply(400, { code: 'app_unavailable', message: 'App unavailable, please check your app configurations.', status: 400 });
        const b = json();
        if (!b.inputs || typeof b.inputs !== 'object') return reply(400, { code: 'invalid_param', message: 'inputs: Field required', status: 400 });
        rec.status = 200;
        return sse(res, app, b.inputs as Record<string, unknown>);
      }
      // api/controllers/console/app/workflow.py AdvancedChatDraftWorkflowRunApi (AdvancedChatWorkflowRunPayload: inputs, query, files, conversation_id)
      if (req.method === 'POST' && (g = m(/^\/console\/api\/apps\/([a-f0-9-]{36})\/advanced-chat\/workflows\/draft\/run$/))) {
        const app = apps.get(g[1]);
        if (!app) return reply(404, { code: 'app_not_found', message: 'App not found.', status: 404 });
        if (app.mode !== 'advanced-chat') return reply(400, { code: 'app_unavailable', message: 'App unavailable, please check your app configurations.', status: 400 });
        const b = json();
        if (typeof b.query !== 'string') return reply(400, { code: 'invalid_param', message: 'query: Field required', status: 400 });
        rec.status = 200;
        return sse(res, app, (b.inputs as Record<string, unknown>) ?? {}, b.query);
      }
      if (req.method === 'POST' && (g = m(/^\/console\/api\/apps\/([a-f0-9-]{36})\/workflows\/draft\/nodes\/([^/]+)\/run$/))) {
        const app = apps.get(g[1]);
        if (!app) return reply(404, { code: 'app_not_found', message: 'App not found.', status: 404 });
        const node = graphNodes(app).find((n) => n.id === decodeURIComponent(g![2]));
        if (!node) return reply(404, { code: 'not_found', message: 'Node not found.', status: 404 });
        const b = json();
        if (!b.inputs || typeof b.inputs !== 'object') return reply(400, { code: 'invalid_param', message: 'inputs: Field required', status: 400 });
        runStats.runs++;
        const o = outputsOf(app, node as unknown as { id: string; data: Record<string, unknown> }, b.inputs as Record<string, unknown>, b.query as string | undefined, true);
        return reply(200, { id: randomUUID(), index: 1, node_id: node.id, node_type: node.data.type, title: node.data.title, inputs: b.inputs, process_data: null, outputs: o.outputs ?? null, status: o.error ? 'failed' : 'succeeded', error: o.error ?? null, elapsed_time: 0.01, execution_metadata: {} });
      }
      return reply(404, { code: 'not_found', message: 'Not Found', status: 404 });
    })().catch((e) => {
      if (!res.headersSent) send(res, 500, { code: 'internal_server_error', message: String(e) });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apps,
    requests,
    deleted,
    runStats,
    addApp,
    editDraft(appId, edit) {
      const app = apps.get(appId);
      if (!app) throw new Error(`fake dify: no app ${appId}`);
      app.dsl = reserialize(edit(app.dsl), version);
    },
    expireAccessTokens() {
      for (const t of access.values()) t.exp = 0;
      for (const t of csrf.values()) t.exp = 0;
    },
    expireRefreshTokens() {
      for (const t of refresh.values()) t.exp = 0;
    },
    approveDevice() {
      for (const d of devices.values()) d.approved = true;
    },
    setNodeDelay(ms) {
      opts.nodeDelayMs = ms;
    },
    issuedSecrets: () => [...issued],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
