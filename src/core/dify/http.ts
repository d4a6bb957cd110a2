import { DifyError } from '../errors';
import type { DifySession, FetchLike } from './types';

/**
 * HTTP to a Dify server with a session: the console's cookies and CSRF header, refresh on
 * expiry, Dify's error bodies turned into DifyError. Facts from langgenius/dify:
 * - api/libs/token.py: cookies `access_token`, `refresh_token`, `csrf_token`, each `__Host-`
 *   prefixed when the console is served over https; `check_csrf_token` wants the header
 *   `X-CSRF-Token` equal to the csrf cookie; `extract_access_token` reads the cookie, then
 *   `Authorization: Bearer`.
 * - api/libs/login.py `login_required`: the CSRF check runs on every method but OPTIONS.
 * - api/controllers/console/auth/login.py RefreshTokenApi: POST /console/api/refresh-token reads
 *   the refresh cookie and sets three new cookies; 401 when it is refused.
 */

export const CSRF_HEADER = 'X-CSRF-Token';
const COOKIE_ACCESS = 'access_token';
const COOKIE_REFRESH = 'refresh_token';
const COOKIE_CSRF = 'csrf_token';

/** `https://host/` or `host` → `https://host`; keeps a path prefix (self-hosted behind a proxy). */
export function normalizeServer(url: string): string {
  const raw = url.trim();
  if (!raw) throw new DifyError('DIFY_NETWORK', 'No Dify server URL was given.');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new DifyError('DIFY_NETWORK', `"${raw}" is not a URL of a Dify server.`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new DifyError('DIFY_NETWORK', `"${raw}": only http and https servers are supported.`);
  // The console API lives under /console/api; a pasted console page URL keeps only its origin + prefix.
  let p = u.pathname.replace(/\/+$/, '');
  p = p.replace(/\/(console\/api|openapi\/v1|apps|signin)(\/.*)?$/, '');
  return `${u.protocol}//${u.host}${p}`;
}

/** The value of cookie `name`, with or without the `__Host-` prefix. */
export function cookieValue(jar: Record<string, string> | undefined, name: string): string | undefined {
  if (!jar) return undefined;
  return jar[`__Host-${name}`] ?? jar[name];
}

/** Applies Set-Cookie headers to a jar: `name=value; attrs`; an empty value or Max-Age=0 / Expires in the past removes it. */
export function applySetCookies(jar: Record<string, string>, setCookies: string[]): Record<string, string> {
  const out = { ...jar };
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    let removed = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.trim().toLowerCase();
      if (key === 'max-age' && Number(v.trim()) <= 0) removed = true;
      if (key === 'expires') {
        const t = Date.parse(v.trim());
        if (!Number.isNaN(t) && t <= Date.now()) removed = true;
        if (v.trim() === '0') removed = true;
      }
    }
    if (removed) delete out[name];
    else out[name] = value;
  }
  return out;
}

export function setCookiesOf(res: Response): string[] {
  const h = res.headers as Headers & { getSetCookie?: () => string[] };
  if (typeof h.getSetCookie === 'function') return h.getSetCookie();
  const one = res.headers.get('set-cookie');
  return one ? [one] : [];
}

export function hasConsoleTokens(jar: Record<string, string> | undefined): boolean {
  return !!cookieValue(jar, COOKIE_ACCESS);
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Answers that are not errors (e.g. 202 and 400 of an import, which carry an Import body). */
  okStatuses?: number[];
  /** No refresh-and-retry on 401 (the refresh call itself, the login). */
  noRefresh?: boolean;
  /** Send no session at all. */
  anonymous?: boolean;
}

/** Dify's error body: `{code, message, status}` (api/libs/external_api.py), or `{error}` on openapi, or `{message}`. */
export function difyMessageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    for (const k of ['message', 'error_description', 'error', 'data']) {
      if (typeof b[k] === 'string' && b[k]) return b[k] as string;
    }
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300);
  return fallback;
}

/** A session bound to its server: signs requests, refreshes an expired console sign-in once, reports the new tokens. */
export class DifyTransport {
  private refreshing?: Promise<boolean>;

  constructor(
    public session: DifySession,
    private readonly fetchImpl: FetchLike = (u, i) => fetch(u, i),
    /** Called with the session after a refresh changed it (persist it). */
    private readonly onSessionChange?: (s: DifySession) => void | Promise<void>,
  ) {}

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.session.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private sign(headers: Record<string, string>): void {
    const s = this.session;
    if (s.cookies && Object.keys(s.cookies).length) {
      headers.Cookie = Object.entries(s.cookies)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
      const csrf = cookieValue(s.cookies, COOKIE_CSRF);
      if (csrf) headers[CSRF_HEADER] = csrf;
    }
    if (s.bearer) headers.Authorization = `Bearer ${s.bearer}`;
  }

  /** One HTTP exchange; returns the Response (body unread) when its status is ok or listed. */
  async raw(path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    if (!opts.anonymous) this.sign(headers);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), { method: opts.method ?? 'GET', headers, body, signal: opts.signal, redirect: 'manual' });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const msg = e instanceof Error ? ((e as { cause?: { message?: string } }).cause?.message ?? e.message) : String(e);
      throw new DifyError('DIFY_NETWORK', `Could not reach the Dify server ${this.session.server}: ${msg}`, { cause: e });
    }
    if (res.status === 401 && !opts.noRefresh && !opts.anonymous && (await this.refresh())) {
      return this.raw(path, { ...opts, noRefresh: true });
    }
    if (res.ok || opts.okStatuses?.includes(res.status)) return res;
    throw await this.errorOf(res, path);
  }

  async errorOf(res: Response, path: string): Promise<DifyError> {
    const text = await res.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    const msg = difyMessageOf(body, `${res.status} ${res.statusText}`);
    const where = `${this.session.server} (${path.split('?')[0]})`;
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get('location');
      return new DifyError('DIFY_HTTP', `${where} redirects${to ? ` to ${to}` : ''}; sign in with the address the console is served at${to && /^https:/.test(to) ? ' (https)' : ''}.`, { status: res.status });
    }
    if (res.status === 401) {
      return new DifyError('DIFY_AUTH', `Not signed in to ${this.session.server}, or the sign-in has ended (${msg}). Sign in again: promptopt dify login ${this.session.server}, or "Prompt Optimizer: Connect to Dify…".`, { status: 401 });
    }
    if (res.status === 403) return new DifyError('DIFY_FORBIDDEN', `Dify refused ${where}: ${msg}`, { status: 403 });
    if (res.status === 404) return new DifyError('DIFY_APP_NOT_FOUND', `Dify has no such resource at ${where}: ${msg}`, { status: 404 });
    return new DifyError('DIFY_HTTP', `Dify answered ${res.status} at ${where}: ${msg}`, { status: res.status });
  }

  async json<T>(path: string, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.raw(path, opts);
    const text = await res.text();
    if (!text) return { status: res.status, body: undefined as T };
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch {
      throw new DifyError('DIFY_BAD_RESPONSE', `${this.session.server}${path.split('?')[0]} did not answer with JSON (status ${res.status}).`, { status: res.status });
    }
  }

  /** Refreshes an expired console sign-in once at a time; true when new tokens came. */
  refresh(): Promise<boolean> {
    if (this.session.kind !== 'console') return Promise.resolve(false);
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const s = this.session;
    const headers: Record<string, string> = { Accept: 'application/json' };
    let body: string | undefined;
    if (cookieValue(s.cookies, COOKIE_REFRESH)) {
      headers.Cookie = Object.entries(s.cookies ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
    } else if (s.refreshToken) {
      // Older consoles: the refresh token in the body, new tokens in the body.
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify({ refresh_token: s.refreshToken });
    } else {
      return false;
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url('/console/api/refresh-token'), { method: 'POST', headers, body, redirect: 'manual' });
    } catch {
      return false;
    }
    if (!res.ok) return false;
    const text = await res.text().catch(() => '');
    const next: DifySession = { ...s };
    const set = setCookiesOf(res);
    if (set.length) next.cookies = applySetCookies(s.cookies ?? {}, set);
    try {
      const data = (JSON.parse(text) as { data?: { access_token?: string; refresh_token?: string } }).data;
      if (data && typeof data === 'object' && data.access_token) {
        next.bearer = data.access_token;
        if (data.refresh_token) next.refreshToken = data.refresh_token;
      }
    } catch {
      /* cookies only */
    }
    if (!hasConsoleTokens(next.cookies) && !next.bearer) return false;
    this.session = next;
    await this.onSessionChange?.(next);
    return true;
  }
}
