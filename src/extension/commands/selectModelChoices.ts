/**
 * The choices of Select Model — editor models (vscode.lm), the endpoint's models, local servers
 * found on this machine — and how a choice is stored: in user (global) settings that are
 * machine-scoped where they decide where prompts go, never in workspace settings.
 */
import * as vscode from 'vscode';
import { endpointLabel } from '../../core/llm/redact';
import type { LocalServer } from '../../core/llm/localServers';
import { Settings } from '../constants';
import { isLoopbackUrl } from '../../core/llm/localServers';
import { choiceId, currentChoiceId, editorAccessNote, type BackendSetting, type ModelChoice } from '../llm/backendChoice';
import { editorModelRef } from '../llm/editorModels';

export const KNOWN_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'gpt-4.1', 'o4-mini', 'deepseek-chat', 'qwen-plus'];

export type { ModelChoice } from '../llm/backendChoice';
export { choiceId } from '../llm/backendChoice';

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
  backend: BackendSetting;
  editorModel: string;
  /** An API key is set (a run then uses the endpoint, in auto). */
  hasKey: boolean;
  /** VS Code's record of this extension's access to a model (languageModelAccessInformation.canSendRequest). */
  canSendRequest?: (m: vscode.LanguageModelChat) => boolean | undefined;
}

/** The items in display order, with separators. */
export function modelItems(st: ChoicesState): ModelItem[] {
  // The mark shows what a run would use: the same decision as resolveBackend (chooseBackend).
  const currentId = currentChoiceId(
    { setting: st.backend, hasKey: st.hasKey, localBaseUrl: isLoopbackUrl(st.baseUrl), editorModelRef: st.editorModel, editorModels: st.editorModels },
    { baseUrl: st.baseUrl, model: st.model },
    st.localServers,
  );
  const mark = (c: ModelChoice) => (currentId !== undefined && choiceId(c) === currentId ? { current: true as const } : {});
  const items: ModelItem[] = [separator('Editor models (VS Code Language Model API, no key)')];
  if (st.editorModels.length === 0) {
    items.push({ label: '$(info) No language model in the editor', description: 'none is provided by an installed extension (e.g. GitHub Copilot)', choice: { kind: 'info' } });
  }
  for (const m of st.editorModels) {
    const choice: ModelChoice = { kind: 'editor', ref: editorModelRef(m), name: m.name };
    const current = mark(choice);
    items.push({
      label: m.name,
      description: `${m.vendor} · ${m.family}${current.current ? ' · current' : ''}`,
      detail: `${editorAccessNote(st.canSendRequest?.(m))} No price is known: cost shows as unknown.`,
      choice,
      ...current,
    });
  }
  items.push(separator(`Endpoint models (${endpointLabel(st.baseUrl)})`));
  // Chosen but unusable: the endpoint with no key (and no editor model to fall back on in auto).
  const noKey = currentId === undefined && st.backend !== 'editor' && !st.hasKey;
  for (const m of [...new Set([st.model, ...KNOWN_MODELS])]) {
    const choice: ModelChoice = { kind: 'endpoint', model: m };
    const current = mark(choice);
    const description = current.current ? 'current' : noKey && m === st.model ? 'set, but no API key: a run uses the rule strategies (Set API Key)' : undefined;
    items.push({ label: m, description, choice, ...current });
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
        const choice: ModelChoice = { kind: 'local', baseUrl: srv.baseUrl, model: m, server: srv.name };
        const current = mark(choice);
        items.push({ label: m, description: `${srv.name} · ${srv.baseUrl}${current.current ? ' · current' : ''}`, choice, ...current });
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
