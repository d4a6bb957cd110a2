import { toOptimizerError } from '../errors';
import { DifyClient } from './client';
import { normalizeServer } from './http';
import type { CredentialStore, FetchLike } from './types';

export interface SignOutResult {
  server: string;
  /** Whether the server ended the sign-in too (its tokens no longer work there). */
  revoked: boolean;
  /** Why the server could not be told, in plain words (the local sign-in is forgotten anyway). */
  serverError?: string;
}

/**
 * Signs out of `server`: asks the server to end the sign-in (DifyClient.logout, within
 * `timeoutMs`), then forgets it here — always, also when the server is unreachable or the
 * sign-in had already expired there, so a sign-out never leaves a token on this machine.
 */
export async function signOut(store: CredentialStore, server: string, opts: { timeoutMs?: number; fetch?: FetchLike } = {}): Promise<SignOutResult> {
  const want = normalizeServer(server);
  const session = (await store.get(want)) ?? (await store.get(server));
  if (!session) return { server: want, revoked: false, serverError: 'not signed in here' };
  let revoked = false;
  let serverError: string | undefined;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // No onSessionChange: a refresh (or the cleared cookies) during logout must not be stored back.
    await new DifyClient(session, { fetch: opts.fetch }).logout(signal);
    revoked = true;
  } catch (e) {
    serverError = signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : toOptimizerError(e).message;
  } finally {
    await store.delete(session.server);
  }
  return { server: session.server, revoked, serverError };
}
