/** The LLM request limits as flags of the commands that call a model (optimize, cases, eval, train). */
import { UsageError } from '../../core/errors';
import type { ModelLimitsConfig } from '../../core/llm/limits';

/** parseArgs options of the three flags. */
export const LLM_LIMIT_FLAGS = {
  'llm-timeout': { type: 'string' },
  'llm-retries': { type: 'string' },
  'llm-max-response-mb': { type: 'string' },
} as const;

/** Usage lines of the three flags. */
export const LLM_LIMIT_USAGE = `LLM request limits (override model.timeout_seconds, model.max_retries and model.max_response_mb in .optimizer/config.yaml):
  --llm-timeout s          deadline of one request in seconds, the whole answer included (default 60)
  --llm-retries n          retries after a failed request: timeout, network, HTTP 408/409/429/5xx (default 3)
  --llm-max-response-mb n  most MB of one answer; a larger one is cut off (default 8)`;

function positive(v: string | undefined, name: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError('USAGE', `--${name} takes a number above 0 and at most ${max}, not "${v}".`);
  return n;
}

/** The flags as config overrides of the `model` section (unset flags leave config.yaml in charge). */
export function llmLimitFlags(v: { 'llm-timeout'?: string; 'llm-retries'?: string; 'llm-max-response-mb'?: string }): ModelLimitsConfig {
  const out: ModelLimitsConfig = {};
  const timeout = positive(v['llm-timeout'], 'llm-timeout', 3600);
  if (timeout !== undefined) out.timeoutSeconds = timeout;
  const r = v['llm-retries'];
  if (r !== undefined) {
    const n = Number(r);
    if (!Number.isInteger(n) || n < 0 || n > 10) throw new UsageError('USAGE', `--llm-retries takes an integer from 0 to 10, not "${r}".`);
    out.maxRetries = n;
  }
  const mb = positive(v['llm-max-response-mb'], 'llm-max-response-mb', 1024);
  if (mb !== undefined) out.maxResponseMb = mb;
  return out;
}
