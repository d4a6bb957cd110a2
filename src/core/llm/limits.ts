/**
 * The limits every LLM request runs under, and where they are set: how long one attempt may take
 * (the whole answer, body included), how many times a failed attempt is retried, and how large
 * an answer may be. Set in `.optimizer/config.yaml` (`model.timeout_seconds`, `model.max_retries`,
 * `model.max_response_mb`), the VS Code settings `promptOptimizer.llm.timeoutSeconds`,
 * `promptOptimizer.llm.maxRetries`, `promptOptimizer.llm.maxResponseMb`, or the CLI flags
 * `--llm-timeout`, `--llm-retries`, `--llm-max-response-mb`.
 */

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 3;
/** Far above any real completion (a 128k-token answer is well under 1 MB of JSON). */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Where each limit is set, named in messages. */
export const LIMIT_PLACES = {
  timeout: 'model.timeout_seconds in .optimizer/config.yaml, the promptOptimizer.llm.timeoutSeconds setting or --llm-timeout',
  retries: 'model.max_retries in .optimizer/config.yaml, the promptOptimizer.llm.maxRetries setting or --llm-retries',
  size: 'model.max_response_mb in .optimizer/config.yaml, the promptOptimizer.llm.maxResponseMb setting or --llm-max-response-mb',
} as const;

/** The limits as the engine config's `model` section holds them (seconds, count, MB). */
export interface ModelLimitsConfig {
  timeoutSeconds?: number;
  maxRetries?: number;
  maxResponseMb?: number;
}

/** The limits as a client takes them. */
export interface LlmLimits {
  timeoutMs?: number;
  maxRetries?: number;
  maxResponseBytes?: number;
}

/** The config's limits (seconds, MB) as a client's (ms, bytes); unset ones stay unset (the client's defaults). */
export function llmLimitsOf(m: ModelLimitsConfig | undefined): LlmLimits {
  const out: LlmLimits = {};
  if (m?.timeoutSeconds !== undefined) out.timeoutMs = Math.round(m.timeoutSeconds * 1000);
  if (m?.maxRetries !== undefined) out.maxRetries = m.maxRetries;
  if (m?.maxResponseMb !== undefined) out.maxResponseBytes = Math.round(m.maxResponseMb * 1024 * 1024);
  return out;
}

/** `60 s`, `1.5 s`, `250 ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

/** `8 MB`, `1.5 MB`, `512 KB`, `12 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) {
    const mb = n / (1024 * 1024);
    return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
  }
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
