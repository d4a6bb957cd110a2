import OpenAI from 'openai';
import { CancelledError, LlmError, isAbortError } from '../errors';
import { responseLimitOf, type ResponseLimitError } from './bounded';
import { LIMIT_PLACES, formatBytes, formatDuration } from './limits';

export interface ErrorContext {
  endpoint: string;
  model: string;
  timeoutMs: number;
  redact: (s: string) => string;
}

function excerpt(s: string, max = 200): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** The server's own words, when it sent any (redacted, shortened). */
function serverMessage(e: InstanceType<typeof OpenAI.APIError>, redact: (s: string) => string): string {
  const body = e.error as { message?: unknown } | undefined;
  const raw = typeof body?.message === 'string' ? body.message : typeof e.error === 'string' ? e.error : '';
  return raw ? `: ${excerpt(redact(raw))}` : '';
}

/**
 * Turns anything the SDK (or fetch) throws into an LlmError with a stable code and a plain
 * message naming the endpoint and model; cancellation becomes CancelledError. The API key is
 * never part of the message (everything passes through `redact`), and the raw SDK error is
 * not kept as `cause` (its request could hold the key); a redacted summary is kept instead.
 */
export function mapError(e: unknown, ctx: ErrorContext): LlmError | CancelledError {
  if (e instanceof LlmError || e instanceof CancelledError) return e;
  const { endpoint, model, redact } = ctx;
  const limit = responseLimitOf(e);
  if (limit) return limitError(limit, `${endpoint} (model ${model})`);
  if (e instanceof OpenAI.APIUserAbortError || isAbortError(e)) return new CancelledError('The LLM request was cancelled.');
  const summary = e instanceof Error ? { name: e.name, message: redact(e.message) } : { message: redact(String(e)) };
  if (e instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmError('LLM_TIMEOUT', `No answer from ${endpoint} (model ${model}) within ${formatDuration(ctx.timeoutMs)} (the limit of one attempt).`, { cause: summary });
  }
  if (e instanceof OpenAI.APIConnectionError) {
    const detail = rootCauseCode(e);
    return new LlmError(
      'LLM_NETWORK',
      `Could not reach ${endpoint}${detail ? ` (${redact(String(detail))})` : ''}. Check the base URL and the network.`,
      { cause: summary },
    );
  }
  if (e instanceof OpenAI.APIError) {
    const status = e.status;
    const said = serverMessage(e, redact);
    if (status === 401) {
      return new LlmError(
        'LLM_AUTH',
        `The endpoint ${endpoint} refused the API key (HTTP 401). Check that the key configured for it is valid.`,
        { status, cause: summary },
      );
    }
    if (status === 403) {
      return new LlmError('LLM_AUTH', `The endpoint ${endpoint} does not allow this key to use model ${model} (HTTP 403)${said}.`, {
        status,
        cause: summary,
      });
    }
    if (status === 404) {
      return new LlmError(
        'LLM_MODEL_NOT_FOUND',
        `Model "${model}" was not found at ${endpoint} (HTTP 404)${said}. Check the model name and the base URL.`,
        { status, cause: summary },
      );
    }
    if (status === 429) {
      return new LlmError('LLM_RATE_LIMITED', `The endpoint ${endpoint} is rate limiting requests (HTTP 429)${said}.`, { status, cause: summary });
    }
    if (status !== undefined && status >= 500) {
      return new LlmError('LLM_HTTP', `The endpoint ${endpoint} failed with HTTP ${status}${said}.`, { status, cause: summary });
    }
    if (status !== undefined) {
      return new LlmError('LLM_HTTP', `The endpoint ${endpoint} rejected the request for model ${model} (HTTP ${status})${said}.`, {
        status,
        cause: summary,
      });
    }
    return new LlmError('LLM_BAD_RESPONSE', `Unreadable answer from ${endpoint}: ${excerpt(redact(e.message))}`, { cause: summary });
  }
  if (e instanceof SyntaxError) {
    return new LlmError('LLM_BAD_RESPONSE', `The endpoint ${endpoint} sent a body that is not valid JSON: ${excerpt(redact(e.message))}`, {
      cause: summary,
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new LlmError('LLM_NETWORK', `LLM request to ${endpoint} failed: ${excerpt(redact(msg))}`, { cause: summary });
}

/**
 * A response that went over a limit as an LlmError: LLM_TIMEOUT (the whole answer, body
 * included, did not arrive within the deadline of one attempt) or LLM_RESPONSE_TOO_LARGE (cut
 * off at the size limit). `who` names the endpoint and model, or the editor model.
 */
export function limitError(e: ResponseLimitError, who: string): LlmError {
  const got = e.bytes > 0 ? `; ${formatBytes(e.bytes)} had arrived` : '';
  const summary = { name: e.name, kind: e.kind, limit: e.limit, bytes: e.bytes, elapsedMs: e.elapsedMs };
  if (e.kind === 'size') {
    return new LlmError(
      'LLM_RESPONSE_TOO_LARGE',
      `The answer from ${who} was larger than ${formatBytes(e.limit)} and was cut off after ${formatDuration(e.elapsedMs)}. No real completion is that large: the endpoint is likely misbehaving. If it is not, raise the limit (${LIMIT_PLACES.size}).`,
      { cause: summary },
    );
  }
  return new LlmError(
    'LLM_TIMEOUT',
    `The answer from ${who} did not end within ${formatDuration(e.limit)} (the limit of one attempt, body included${got}). Change it with ${LIMIT_PLACES.timeout}.`,
    { cause: summary },
  );
}

/** The deepest `code` (e.g. ECONNREFUSED, UND_ERR_SOCKET) or message in an error's cause chain. */
function rootCauseCode(e: unknown): string {
  let cur: unknown = (e as { cause?: unknown }).cause;
  let found = '';
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    const code = (cur as { code?: unknown }).code;
    found = typeof code === 'string' ? code : found || cur.message;
    cur = (cur as { cause?: unknown }).cause;
  }
  return found;
}

/** Whether another attempt may succeed. */
export function isRetryable(e: LlmError | CancelledError): boolean {
  if (!(e instanceof LlmError)) return false;
  if (e.code === 'LLM_TIMEOUT' || e.code === 'LLM_NETWORK' || e.code === 'LLM_RATE_LIMITED') return true;
  return e.code === 'LLM_HTTP' && e.status !== undefined && (e.status === 408 || e.status === 409 || e.status >= 500);
}
