import { CancelledError, DifyError } from '../errors';
import { applySetCookies, DifyTransport, difyMessageOf, hasConsoleTokens, normalizeServer, setCookiesOf } from './http';
import type { DeviceCode, DifySession, FetchLike } from './types';

/**
 * Signing in. Facts from langgenius/dify:
 * - api/controllers/console/auth/login.py LoginApi: POST /console/api/login
 *   `{email, password, remember_me}` → `{"result": "success"}` and three cookies; `{"result":
 *   "fail", "data": ...}` when the account has no workspace; 401 `authentication_failed` for a
 *   wrong password. Older consoles answered `{"result": "success", "data": {access_token,
 *   refresh_token}}` and read `Authorization: Bearer` (api/extensions/ext_login.py then).
 * - api/controllers/console/wraps.py `decrypt_password_field` + api/libs/encryption.py
 *   `FieldEncryption.decrypt_field`: newer servers base64-decode the password field, as
 *   web/utils/encryption.ts `encryptPassword` (base64 of the UTF-8 bytes) encodes it. Older
 *   servers take it as is: `passwordEncoding: 'auto'` tries base64 first, then plain on a 401.
 * - api/controllers/openapi/oauth_device/code.py and token.py: RFC 8628 device flow,
 *   `{client_id, device_label}` → `{device_code, user_code, verification_uri, expires_in,
 *   interval}`; polling answers 400 `{error: authorization_pending | slow_down | expired_token |
 *   access_denied}` until 200 with a payload holding `token`.
 */

export type PasswordEncoding = 'auto' | 'base64' | 'plain';

export interface PasswordLogin {
  server: string;
  email: string;
  password: string;
  passwordEncoding?: PasswordEncoding;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/** Base64 of the UTF-8 bytes, as web/utils/encryption.ts `encryptField` does. */
export function encodePasswordField(password: string): string {
  return Buffer.from(password, 'utf8').toString('base64');
}

export async function loginWithPassword(o: PasswordLogin): Promise<DifySession> {
  const server = normalizeServer(o.server);
  const mode = o.passwordEncoding ?? 'auto';
  const tries: Array<'base64' | 'plain'> = mode === 'auto' ? ['base64', 'plain'] : [mode];
  let last: DifyError | undefined;
  for (const enc of tries) {
    const password = enc === 'base64' ? encodePasswordField(o.password) : o.password;
    const t = new DifyTransport({ kind: 'console', server, savedAt: new Date().toISOString() }, o.fetch);
    const res = await t.raw('/console/api/login', {
      method: 'POST',
      json: { email: o.email, password, remember_me: true },
      anonymous: true,
      noRefresh: true,
      okStatuses: [400, 401],
      signal: o.signal,
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    if (res.status === 401 || res.status === 400) {
      last = new DifyError('DIFY_AUTH', `Dify at ${server} refused the sign-in for ${o.email}: ${difyMessageOf(body, String(res.status))}`, { status: res.status });
      continue;
    }
    const b = (body ?? {}) as { result?: string; data?: unknown };
    if (b.result === 'fail') throw new DifyError('DIFY_AUTH', `Dify at ${server}: ${typeof b.data === 'string' ? b.data : 'the sign-in failed'}`);
    const cookies = applySetCookies({}, setCookiesOf(res));
    const session: DifySession = { kind: 'console', server, cookies, account: o.email, savedAt: new Date().toISOString() };
    const data = b.data as { access_token?: string; refresh_token?: string } | undefined;
    if (data && typeof data === 'object' && data.access_token) {
      session.bearer = data.access_token;
      session.refreshToken = data.refresh_token;
    }
    if (!hasConsoleTokens(cookies) && !session.bearer) {
      throw new DifyError('DIFY_BAD_RESPONSE', `Dify at ${server} accepted the sign-in but sent no access token (no access_token cookie).`);
    }
    return session;
  }
  throw last ?? new DifyError('DIFY_AUTH', `Dify at ${server} refused the sign-in.`);
}

export interface DeviceLogin {
  server: string;
  /** Must be one of the server's OPENAPI_KNOWN_CLIENT_IDS. */
  clientId: string;
  deviceLabel: string;
  /** Shown to the user: open `verification_uri` and enter `user_code`. */
  onCode: (code: DeviceCode) => void | Promise<void>;
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** Waits between polls (tests shorten it); default: the server's interval in seconds. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  workspaceId?: string;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new CancelledError());
      },
      { once: true },
    );
  });
}

/** The OAuth device flow of /openapi/v1, where the server enables it. */
export async function loginWithDeviceFlow(o: DeviceLogin): Promise<DifySession> {
  const server = normalizeServer(o.server);
  const t = new DifyTransport({ kind: 'openapi', server, savedAt: new Date().toISOString() }, o.fetch);
  const start = await t.raw('/openapi/v1/oauth/device/code', {
    method: 'POST',
    json: { client_id: o.clientId, device_label: o.deviceLabel },
    anonymous: true,
    okStatuses: [400, 404],
    signal: o.signal,
  });
  const startBody = (await start.json().catch(() => ({}))) as Partial<DeviceCode> & { error?: string };
  if (start.status === 404) throw new DifyError('DIFY_UNSUPPORTED', `${server} has no OAuth device flow (/openapi/v1/oauth/device/code is missing). Sign in with email and password instead.`, { status: 404 });
  if (start.status === 400) {
    const why = startBody.error === 'unsupported_client' ? `the server does not know the client id "${o.clientId}" (OPENAPI_KNOWN_CLIENT_IDS)` : difyMessageOf(startBody, '400');
    throw new DifyError('DIFY_UNSUPPORTED', `${server} refused the device flow: ${why}.`, { status: 400 });
  }
  if (!startBody.device_code || !startBody.user_code || !startBody.verification_uri) throw new DifyError('DIFY_BAD_RESPONSE', `${server} answered the device code request without a device_code, user_code or verification_uri.`);
  const code = startBody as DeviceCode;
  await o.onCode(code);
  const sleep = o.sleep ?? defaultSleep;
  let interval = Math.max(1, Number(code.interval) || 5) * 1000;
  const deadline = Date.now() + Math.max(30, Number(code.expires_in) || 600) * 1000;
  while (Date.now() < deadline) {
    if (o.signal?.aborted) throw new CancelledError();
    await sleep(interval, o.signal);
    const res = await t.raw('/openapi/v1/oauth/device/token', {
      method: 'POST',
      json: { device_code: code.device_code, client_id: o.clientId },
      anonymous: true,
      okStatuses: [400],
      signal: o.signal,
    });
    const body = (await res.json().catch(() => ({}))) as { error?: string; token?: string; workspaces?: Array<{ id?: string }>; default_workspace_id?: string; workspace_id?: string; account?: { email?: string } };
    if (res.status === 200 && typeof body.token === 'string' && body.token) {
      const ws = o.workspaceId ?? body.workspace_id ?? body.default_workspace_id ?? body.workspaces?.[0]?.id;
      return { kind: 'openapi', server, bearer: body.token, workspaceId: ws, account: body.account?.email, savedAt: new Date().toISOString() };
    }
    switch (body.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += 5000;
        continue;
      case 'access_denied':
        throw new DifyError('DIFY_AUTH', `The sign-in to ${server} was denied in the browser.`);
      case 'expired_token':
        throw new DifyError('DIFY_AUTH', `The device code for ${server} expired before it was approved. Start again.`);
      default:
        throw new DifyError('DIFY_BAD_RESPONSE', `${server} answered the device token poll with ${res.status}: ${difyMessageOf(body, 'no token')}`);
    }
  }
  throw new DifyError('DIFY_AUTH', `The device code for ${server} expired before it was approved. Start again.`);
}
