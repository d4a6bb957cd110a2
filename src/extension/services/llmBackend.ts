/**
 * Which model the LLM strategies use, and the client for it: the OpenAI-compatible endpoint
 * (API key from SecretStorage or the environment; a local server on this machine needs none) or
 * one of the editor's language models (vscode.lm). Settings that choose it are machine-scoped,
 * so a workspace cannot send the prompts elsewhere. The clients load from dist/llm.js on first use.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LlmClient } from '../../core/llm/types';
import type { PipelineOptions } from '../../core/llm/pipeline';
import { llmLimitsOf, type ModelLimitsConfig } from '../../core/llm/limits';
import { LOCAL_SERVER_PLACEHOLDER_KEY, isLoopbackUrl } from '../../core/llm/localServers';
import { Settings } from '../constants';
import { chooseBackend, type BackendInputs, type BackendSetting } from '../llm/backendChoice';
import { editorModelRef, listEditorModels } from '../llm/editorModels';
import type { ApiKeyStore, KeySource } from './apiKey';
import { endpointSettings } from './settings';

export type { BackendSetting } from '../llm/backendChoice';

/** What a run will use. */
export type Backend =
  | { kind: 'endpoint'; baseUrl: string; model: string; apiKey: string; keySource: KeySource | 'none (local server)'; concurrency?: number }
  | { kind: 'editor'; model: vscode.LanguageModelChat; ref: string }
  | {
      kind: 'none';
      /** Why no model (a note for an Optimize run, which falls back to rules); undefined: simply no key (the engine's own note says how to set one). */
      note?: string;
      /** The same reason without the fallback (for commands that need a model and stop instead). */
      reason?: string;
    };

export function backendSetting(): BackendSetting {
  const v = vscode.workspace.getConfiguration(Settings.section).get<string>(Settings.llmBackend);
  return v === 'endpoint' || v === 'editor' ? v : 'auto';
}

export function editorModelSetting(): string {
  return vscode.workspace.getConfiguration(Settings.section).get<string>(Settings.editorModel)?.trim() ?? '';
}

/** What resolveBackend and Select Model's "current" mark decide from: the settings, whether a key is set, the editor models offered now. */
export async function backendInputs(keys: ApiKeyStore, editorModels?: readonly vscode.LanguageModelChat[]): Promise<BackendInputs<vscode.LanguageModelChat>> {
  return {
    setting: backendSetting(),
    hasKey: !!(await keys.get()),
    localBaseUrl: isLoopbackUrl(endpointSettings().baseUrl),
    editorModelRef: editorModelSetting(),
    editorModels: editorModels ?? (await listEditorModels()),
  };
}

/**
 * Picks the backend (see chooseBackend): the setting's choice, or (auto) the endpoint when a key
 * is set or the base URL is a local server, else the first editor model available. Lists models
 * but never sends a request.
 */
export async function resolveBackend(keys: ApiKeyStore): Promise<Backend> {
  const inputs = await backendInputs(keys);
  const choice = chooseBackend(inputs);
  if (choice.kind === 'editor') return { kind: 'editor', model: choice.model, ref: editorModelRef(choice.model) };
  if (choice.kind === 'endpoint') {
    const ep = endpointSettings();
    const key = await keys.get();
    return {
      kind: 'endpoint',
      baseUrl: ep.baseUrl,
      model: ep.model,
      apiKey: key?.key ?? LOCAL_SERVER_PLACEHOLDER_KEY,
      keySource: key?.source ?? 'none (local server)',
      concurrency: ep.concurrency,
    };
  }
  if (choice.why === 'editor-missing') {
    const why = `The editor model ${inputs.editorModelRef} chosen with Select Model is not available now (its extension may be disabled or signed out)`;
    return { kind: 'none', reason: `${why}. Pick another model with Prompt Optimizer: Select Model.`, note: `${why}, so the rule strategies ran instead. Pick another model with Prompt Optimizer: Select Model.` };
  }
  if (choice.why === 'no-editor-model' && choice.explicit) {
    const why = 'No language model is available in the editor (none is provided by an installed extension such as GitHub Copilot)';
    const how = 'Install or sign in to one, or set an API key or a local server with Select Model.';
    return { kind: 'none', reason: `${why}. ${how}`, note: `${why}, so the rule strategies ran instead. ${how}` };
  }
  return { kind: 'none' };
}

/** How the backend is named in logs and notes (no key). */
export function describeBackend(b: Backend): string {
  if (b.kind === 'editor') return `editor model ${b.model.name} (${b.ref})`;
  if (b.kind === 'endpoint') {
    let host = b.baseUrl;
    try {
      host = new URL(b.baseUrl).host;
    } catch {
      // shown as set
    }
    return `endpoint ${host}, model ${b.model}, key from ${b.keySource}`;
  }
  return 'no model';
}

type LlmModule = typeof import('../llmEntry');

/** Loads `dist/llm.js` (openai SDK + clients) on first use. */
export function loadLlmModule(): LlmModule {
  // A computed path: esbuild leaves it to the runtime, so the SDK is not in extension.js.
  return require(path.join(__dirname, 'llm.js')) as LlmModule;
}

/** The client for `backend` (undefined for 'none'). */
export function clientFor(
  backend: Backend,
  opts: Omit<PipelineOptions, 'concurrency'> & { logger?: PipelineOptions['log']; concurrency?: number; /** The run's config.model: timeout, retries, response size. */ limits?: ModelLimitsConfig },
): LlmClient | undefined {
  if (backend.kind === 'none') return undefined;
  const mod = loadLlmModule();
  const limits = llmLimitsOf(opts.limits);
  if (backend.kind === 'editor') {
    return mod.createEditorModelClient(backend.model, {
      cacheDir: opts.cacheDir,
      cache: opts.cache,
      budget: opts.budget,
      costTable: opts.costTable,
      concurrency: opts.concurrency,
      log: opts.logger,
      timeoutMs: limits.timeoutMs,
      maxResponseBytes: limits.maxResponseBytes,
    });
  }
  return mod.createLlmClient(
    { baseUrl: backend.baseUrl, apiKey: backend.apiKey, model: backend.model, concurrency: backend.concurrency ?? opts.concurrency, ...limits },
    { cacheDir: opts.cacheDir, cache: opts.cache, budget: opts.budget, costTable: opts.costTable, logger: opts.logger },
  );
}
