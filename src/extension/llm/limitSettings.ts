/**
 * The VS Code settings of the LLM request limits (timeout, retries, response size) as the engine
 * config's `model` section holds them, so they override `.optimizer/config.yaml` like every other
 * engine setting. No `vscode` import: a plain reader of the settings, unit-tested in Node.
 */
import type { ModelLimitsConfig } from '../../core/llm/limits';
import { Settings } from '../constants';

function num(v: unknown, min: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : undefined;
}

/** Reads `promptOptimizer.llm.timeoutSeconds`, `.maxRetries`, `.maxResponseMb` through `get`; unset (null) ones stay unset. */
export function limitSettings(get: (key: string) => unknown): ModelLimitsConfig {
  const timeoutSeconds = num(get(Settings.llmTimeoutSeconds), Number.MIN_VALUE);
  const retries = num(get(Settings.llmMaxRetries), 0);
  const maxResponseMb = num(get(Settings.llmMaxResponseMb), Number.MIN_VALUE);
  return {
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    ...(retries !== undefined ? { maxRetries: Math.floor(retries) } : {}),
    ...(maxResponseMb !== undefined ? { maxResponseMb } : {}),
  };
}
