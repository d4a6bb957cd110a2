/**
 * The choices of Select Model — editor models (vscode.lm), the endpoint's models, local servers
 * found on this machine — and how a choice is stored: in user (global) settings that are
 * machine-scoped where they decide where prompts go, never in workspace settings.
 */
import * as vscode from 'vscode';
import { endpointLabel } from '../../core/llm/redact';
import type { LocalServer } from '../../core/llm/localServers';
import { Settings } from '../constants';
import { editorModelRef } from '../llm/editorModels';

export const KNOWN_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'gpt-4.1', 'o4-mini', 'deepseek-chat', 'qwen-plus'];

/** What an item stands for. */
export type ModelChoice =
  | { kind: 'editor'; ref: string; name: string }
  | { kind: 'endpoint'; model: string }
  | { kind: 'local'; baseUrl: string; model: string; server: string }
  | { kind: 'other' }
  | { kind: 'info' };

export type ModelItem = vscode.QuickPickItem & { choice?: ModelChoice; /** The current choice (the pick opens on it). */ current?: boolean };

function separator(label: string): ModelItem {
  return { label, kind: vscode.QuickPickItemKind.Separator };
}

export interface ChoicesState {
  editorModels: readonly vscode.LanguageModelChat[];
  /** Undefined while the probe runs. */
  localServers: readonly LocalServer[] | undefined;
  baseUrl: string;
  model: string;
  backend: string;
  editorModel: string;
}

/** Stable id of a choice (for the trace and tests). */
export function choiceId(c: ModelChoice): string {
  switch (c.kind) {
    case 'editor':
      return c.ref;
    case 'endpoint':
      return `endpoint:${c.model}`;
    case 'local':
      return `local:${c.baseUrl}#${c.model}`;
    default:
      return c.kind;
  }
}

/** The items in display order, with separators. */
export function modelItems(st: ChoicesState): ModelItem[] {
  const items: ModelItem[] = [separator('Editor models (VS Code Language Model API, no key)')];
  if (st.editorModels.length === 0) {
    items.push({ label: '$(info) No language model in the editor', description: 'none is provided by an installed extension (e.g. GitHub Copilot)', choice: { kind: 'info' } });
  }
  for (const m of st.editorModels) {
    const ref = editorModelRef(m);
    const current = st.backend === 'editor' && (st.editorModel === ref || (!st.editorModel && m === st.editorModels[0]));
    items.push({
      label: m.name,
      description: `${m.vendor} · ${m.family}${current ? ' · current' : ''}`,
      detail: 'VS Code asks your permission the first time a run uses it. No price is known: cost shows as unknown.',
      choice: { kind: 'editor', ref, name: m.name },
      ...(current ? { current } : {}),
    });
  }
  items.push(separator(`Endpoint models (${endpointLabel(st.baseUrl)})`));
  const onEndpoint = st.backend !== 'editor';
  const baseUrl = st.baseUrl.replace(/\/+$/, '');
  // The base URL is a local server that answered: its item below is the current one.
  const onListedServer = (st.localServers ?? []).some((srv) => srv.baseUrl === baseUrl && srv.models.includes(st.model));
  for (const m of [...new Set([st.model, ...KNOWN_MODELS])]) {
    const current = onEndpoint && !onListedServer && m === st.model;
    items.push({ label: m, description: current ? 'current' : undefined, choice: { kind: 'endpoint', model: m }, ...(current ? { current } : {}) });
  }
  items.push({ label: 'Other…', description: 'type a model name', choice: { kind: 'other' } });
  items.push(separator('Local servers on this machine (no key)'));
  if (st.localServers === undefined) {
    items.push({ label: '$(sync~spin) Looking for local servers…', description: 'Ollama, LM Studio, llama.cpp, vLLM', choice: { kind: 'info' } });
  } else if (st.localServers.length === 0) {
    items.push({ label: '$(info) No local server answered', description: 'on 127.0.0.1 ports 11434, 1234, 8080, 8000 (and promptOptimizer.llm.localServerPorts)', choice: { kind: 'info' } });
  } else {
    for (const srv of st.localServers) {
      if (srv.models.length === 0) {
        items.push({ label: `${srv.name} (port ${srv.port})`, description: 'answers but lists no model', choice: { kind: 'info' } });
      }
      for (const m of srv.models) {
        const current = onEndpoint && baseUrl === srv.baseUrl && st.model === m;
        items.push({
          label: m,
          description: `${srv.name} · ${srv.baseUrl}${current ? ' · current' : ''}`,
          choice: { kind: 'local', baseUrl: srv.baseUrl, model: m, server: srv.name },
          ...(current ? { current } : {}),
        });
      }
    }
  }
  return items;
}

/** Stores a choice in user settings; returns what was chosen (model name or editor model reference). */
export async function applyChoice(choice: Exclude<ModelChoice, { kind: 'other' } | { kind: 'info' }>): Promise<string> {
  const c = vscode.workspace.getConfiguration(Settings.section);
  const G = vscode.ConfigurationTarget.Global;
  if (choice.kind === 'editor') {
    await c.update(Settings.llmBackend, 'editor', G);
    await c.update(Settings.editorModel, choice.ref, G);
    return choice.ref;
  }
  if (choice.kind === 'local') {
    await c.update(Settings.baseUrl, choice.baseUrl, G);
  }
  await c.update(Settings.model, choice.model, G);
  await c.update(Settings.llmBackend, 'endpoint', G);
  return choice.model;
}
