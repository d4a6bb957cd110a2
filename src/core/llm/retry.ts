import { CancelledError, LlmError } from '../errors';
import { DEFAULT_MAX_RETRIES, LIMIT_PLACES, formatDuration } from './limits';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff; doubles each retry. Default 500 ms. */
  baseDelayMs: number;
  /** Cap of one backoff. Default 8 s. */
  maxDelayMs: number;
  /** A retry-after longer than this is not waited for; the error is returned instead. Default 60 s. */
  maxRetryAfterMs: number;
  /** Source of the jitter, 0..1 (default Math.random; tests fix it). */
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: DEFAULT_MAX_RETRIES, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

/** HTTP statuses worth another try: timeout, conflict, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The server's wish, in ms, from `retry-after-ms` (ms) or `retry-after` (seconds or an HTTP
 * date); undefined when absent or unreadable.
 */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers.get('retry-after');
  if (ra !== null && ra.trim() !== '') {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** Exponential backoff with jitter: a random delay in [½·d, d] where d = base·2^attempt, capped. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = policy.random ?? Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(d / 2 + random() * (d / 2));
}

/** Waits `ms`, rejecting with CancelledError at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('The LLM request was cancelled.'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError('The LLM request was cancelled.'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error of the last attempt of a request that was retried until none was left, saying the
 * whole time spent: "… Gave up after 4 attempts, 243 s (…)". A timeout also names where the
 * number of retries is set (where the timeout is set is in its own message).
 */
export function gaveUpError(err: LlmError, attempts: number, elapsedMs: number): LlmError {
  const what = `${attempts} attempt${attempts === 1 ? '' : 's'}, ${formatDuration(elapsedMs)}`;
  const retries = err.code === 'LLM_TIMEOUT' ? ` Retries: ${LIMIT_PLACES.retries}.` : '';
  return new LlmError(err.code, `${err.message} Gave up after ${what}.${retries}`, { status: err.status, location: err.location, cause: err.cause });
}
