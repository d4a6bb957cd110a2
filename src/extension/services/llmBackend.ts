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
import { LOCAL_SERVER_PLACEHOLDER_KEY, isLoopbackUrl } from '../../core/llm/localServers';
import { Settings } from '../constants';
import { editorModelRef, listEditorModels, parseEditorModelRef } from '../llm/editorModels';
import type { ApiKeyStore, KeySource } from './apiKey';
import { endpointSettings } from './settings';

export type BackendSetting = 'auto' | 'endpoint' | 'editor';

/** What a run will use. */
export type Backend =
  | { kind: 'endpoint'; baseUrl: string; model: string; apiKey: string; keySource: KeySource | 'none (local server)'; concurrency?: number; timeoutMs?: number }
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

async function editorBackend(explicit: boolean): Promise<Backend> {
  const ref = editorModelSetting();
  const selector = parseEditorModelRef(ref);
  const models = await listEditorModels(selector);
  const model = models[0];
  if (model) return { kind: 'editor', model, ref: editorModelRef(model) };
  if (ref) {
    const why = `The editor model ${ref} chosen with Select Model is not available now (its extension may be disabled or signed out)`;
    return { kind: 'none', reason: `${why}. Pick another model with Prompt Optimizer: Select Model.`, note: `${why}, so the rule strategies ran instead. Pick another model with Prompt Optimizer: Select Model.` };
  }
  const why = 'No language model is available in the editor (none is provided by an installed extension such as GitHub Copilot)';
  const how = 'Install or sign in to one, or set an API key or a local server with Select Model.';
  return explicit ? { kind: 'none', reason: `${why}. ${how}`, note: `${why}, so the rule strategies ran instead. ${how}` } : { kind: 'none' };
}

/**
 * Picks the backend: the setting's choice, or (auto) the endpoint when a key is set or the base
 * URL is a local server, else the first editor model available. Lists models but never sends a
 * request (so no consent prompt appears here).
 */
export async function resolveBackend(keys: ApiKeyStore): Promise<Backend> {
  const setting = backendSetting();
  if (setting === 'editor') return editorBackend(true);
  const ep = endpointSettings();
  const key = await keys.get();
  const local = isLoopbackUrl(ep.baseUrl);
  if (key || local) {
    return {
      kind: 'endpoint',
      baseUrl: ep.baseUrl,
      model: ep.model,
      apiKey: key?.key ?? LOCAL_SERVER_PLACEHOLDER_KEY,
      keySource: key?.source ?? 'none (local server)',
      concurrency: ep.concurrency,
      timeoutMs: ep.timeoutMs,
    };
  }
  if (setting === 'endpoint') return { kind: 'none' };
  return editorBackend(false);
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
export function clientFor(backend: Backend, opts: Omit<PipelineOptions, 'concurrency'> & { logger?: PipelineOptions['log']; concurrency?: number }): LlmClient | undefined {
  if (backend.kind === 'none') return undefined;
  const mod = loadLlmModule();
  if (backend.kind === 'editor') {
    return mod.createEditorModelClient(backend.model, {
      cacheDir: opts.cacheDir,
      cache: opts.cache,
      budget: opts.budget,
      costTable: opts.costTable,
      concurrency: opts.concurrency,
      log: opts.logger,
    });
  }
  return mod.createLlmClient(
    { baseUrl: backend.baseUrl, apiKey: backend.apiKey, model: backend.model, concurrency: backend.concurrency ?? opts.concurrency, timeoutMs: backend.timeoutMs },
    { cacheDir: opts.cacheDir, cache: opts.cache, budget: opts.budget, costTable: opts.costTable, logger: opts.logger },
  );
}
