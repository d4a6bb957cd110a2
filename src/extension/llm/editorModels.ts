/**
 * Editor models (vscode.lm) as the rest of the extension names and lists them. Light on purpose:
 * it loads with the extension; the client itself (vscodeLmClient.ts) loads with dist/llm.js.
 */
import * as vscode from 'vscode';

/** Prefix of a model reference that names an editor model: `vscode:<vendor>/<id>`. */
export const EDITOR_MODEL_PREFIX = 'vscode:';

/** Why an editor model cannot embed, in plain words (KNN and similar need embeddings). */
export const NO_EMBEDDINGS_REASON =
  "VS Code's language models offer no embeddings, so the KNN demo selection (and anything else that needs embeddings) cannot run on an editor model. Use an OpenAI-compatible endpoint or a local server that serves embeddings (Set API Key / Select Model).";

/** The reference of a model as stored and shown: `vscode:<vendor>/<id>`. */
export function editorModelRef(model: Pick<vscode.LanguageModelChat, 'vendor' | 'id'>): string {
  return `${EDITOR_MODEL_PREFIX}${model.vendor}/${model.id}`;
}

/** `vscode:<vendor>/<id>` (or `<vendor>/<id>`) as a selector; undefined for an empty reference. */
export function parseEditorModelRef(ref: string | undefined): vscode.LanguageModelChatSelector | undefined {
  const s = (ref ?? '').trim().replace(/^vscode:/, '');
  if (!s) return undefined;
  const slash = s.indexOf('/');
  return slash > 0 ? { vendor: s.slice(0, slash), id: s.slice(slash + 1) } : { id: s };
}

/** The chat models VS Code offers now (no consent is asked to list them). */
export async function listEditorModels(selector?: vscode.LanguageModelChatSelector): Promise<vscode.LanguageModelChat[]> {
  if (!vscode.lm || typeof vscode.lm.selectChatModels !== 'function') return [];
  try {
    return await vscode.lm.selectChatModels(selector);
  } catch {
    return [];
  }
}

