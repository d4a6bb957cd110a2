import type { EndpointConfig } from '../llm/types';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'gpt-4o-mini';

/**
 * The endpoint for headless use: the key only from the environment (OPENAI_API_KEY or
 * PROMPTOPT_API_KEY), never from a file; base URL and model from flags, then the environment.
 * Undefined when no key is set: the caller runs the rule strategies and says so.
 */
export function endpointFromEnv(
  env: NodeJS.ProcessEnv,
  flags: { baseUrl?: string; model?: string; configModel?: string } = {},
): EndpointConfig | undefined {
  const apiKey = env.PROMPTOPT_API_KEY || env.OPENAI_API_KEY;
  if (!apiKey) return undefined;
  return {
    apiKey,
    baseUrl: flags.baseUrl || env.OPENAI_BASE_URL || DEFAULT_BASE_URL,
    model: flags.model || env.PROMPTOPT_MODEL || flags.configModel || DEFAULT_MODEL,
  };
}
