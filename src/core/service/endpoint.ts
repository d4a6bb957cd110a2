import { LlmError } from '../errors';
import { LOCAL_SERVER_PLACEHOLDER_KEY, isLoopbackUrl } from '../llm/localServers';
import type { EndpointConfig } from '../llm/types';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'gpt-4o-mini';

/**
 * The endpoint for headless use: the key only from the environment (OPENAI_API_KEY or
 * PROMPTOPT_API_KEY), never from a file; base URL and model from flags, then the environment.
 * A base URL on this machine (a local server: Ollama, LM Studio, llama.cpp, vLLM) needs no key.
 * Undefined when no key is set and the base URL is not local: the caller runs the rule
 * strategies and says so. Throws LlmError LLM_UNSUPPORTED for an editor model (`vscode:…`),
 * which only exists inside VS Code.
 */
export function endpointFromEnv(
  env: NodeJS.ProcessEnv,
  flags: { baseUrl?: string; model?: string; configModel?: string } = {},
): EndpointConfig | undefined {
  const model = flags.model || env.PROMPTOPT_MODEL || flags.configModel || DEFAULT_MODEL;
  if (/^vscode:/i.test(model)) {
    const from = flags.model ? '--model' : env.PROMPTOPT_MODEL ? 'PROMPTOPT_MODEL' : 'model.name in .optimizer/config.yaml';
    throw new LlmError(
      'LLM_UNSUPPORTED',
      `${from} names the editor model "${model}", but editor models (VS Code's Language Model API, e.g. GitHub Copilot) exist only inside VS Code. The promptopt CLI reaches models over HTTP: set OPENAI_API_KEY for an OpenAI-compatible endpoint, or point --base-url at a local server on this machine (e.g. http://127.0.0.1:11434/v1 for Ollama), which needs no key.`,
    );
  }
  const baseUrl = flags.baseUrl || env.OPENAI_BASE_URL || DEFAULT_BASE_URL;
  const apiKey = env.PROMPTOPT_API_KEY || env.OPENAI_API_KEY || (isLoopbackUrl(baseUrl) ? LOCAL_SERVER_PLACEHOLDER_KEY : '');
  if (!apiKey) return undefined;
  return { apiKey, baseUrl, model };
}
