/**
 * Which model a run uses, decided in one place from plain inputs: Optimize (resolveBackend) and
 * the "current" mark of Select Model both come from `chooseBackend`, so the pick shows what a run
 * would use. No `vscode` import: unit-tested in Node.
 */

export type BackendSetting = 'auto' | 'endpoint' | 'editor';

/** An editor model as far as the choice needs it (a vscode.LanguageModelChat fits). */
export interface EditorModelLike {
  vendor: string;
  id: string;
}

export interface BackendInputs<M extends EditorModelLike = EditorModelLike> {
  setting: BackendSetting;
  /** An API key is set (SecretStorage or the environment). */
  hasKey: boolean;
  /** The endpoint's base URL is a server on this machine (needs no key). */
  localBaseUrl: boolean;
  /** `promptOptimizer.llm.editorModel` (`vscode:<vendor>/<id>`, or empty: the first one). */
  editorModelRef: string;
  /** The editor models VS Code offers now, in its order. */
  editorModels: readonly M[];
}

export type BackendChoice<M extends EditorModelLike = EditorModelLike> =
  | { kind: 'endpoint' }
  | { kind: 'editor'; model: M }
  /**
   * No model: `why` is 'no-key' (the endpoint needs a key), 'editor-missing' (the chosen editor
   * model is not offered now) or 'no-editor-model' (none at all); `explicit` when the backend
   * setting asked for it (auto falling through is not).
   */
  | { kind: 'none'; why: 'no-key' | 'editor-missing' | 'no-editor-model'; explicit: boolean };

/** `vscode:<vendor>/<id>` (or `<vendor>/<id>`, or `<id>`) as vendor and id; undefined when empty. */
export function parseModelRef(ref: string | undefined): { vendor?: string; id: string } | undefined {
  const s = (ref ?? '').trim().replace(/^vscode:/, '');
  if (!s) return undefined;
  const slash = s.indexOf('/');
  return slash > 0 ? { vendor: s.slice(0, slash), id: s.slice(slash + 1) } : { id: s };
}

/** The editor model a run would use: the one `ref` names, else (no ref) the first offered. */
export function editorModelFor<M extends EditorModelLike>(ref: string, models: readonly M[]): M | undefined {
  const sel = parseModelRef(ref);
  if (!sel) return models[0];
  return models.find((m) => m.id === sel.id && (sel.vendor === undefined || m.vendor === sel.vendor));
}

/**
 * The setting's choice, or (auto) the endpoint when a key is set or the base URL is a local
 * server, else the first editor model offered (the one chosen with Select Model when set).
 */
export function chooseBackend<M extends EditorModelLike>(inp: BackendInputs<M>): BackendChoice<M> {
  const editor = (explicit: boolean): BackendChoice<M> => {
    const model = editorModelFor(inp.editorModelRef, inp.editorModels);
    if (model) return { kind: 'editor', model };
    return { kind: 'none', why: parseModelRef(inp.editorModelRef) ? 'editor-missing' : 'no-editor-model', explicit };
  };
  if (inp.setting === 'editor') return editor(true);
  if (inp.hasKey || inp.localBaseUrl) return { kind: 'endpoint' };
  if (inp.setting === 'endpoint') return { kind: 'none', why: 'no-key', explicit: true };
  return editor(false);
}

/** What an item of Select Model stands for. */
export type ModelChoice =
  | { kind: 'editor'; ref: string; name: string }
  | { kind: 'endpoint'; model: string }
  | { kind: 'local'; baseUrl: string; model: string; server: string }
  | { kind: 'other' }
  | { kind: 'info' };

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

/**
 * The id of the Select Model item a run would use now (chooseBackend's answer), or undefined
 * when a run would use no model: the endpoint model is a local server's item when the base URL
 * is a local server listed with that model, else the endpoint's.
 */
export function currentChoiceId(
  inp: BackendInputs,
  endpoint: { baseUrl: string; model: string },
  localServers: readonly { baseUrl: string; models: readonly string[] }[] | undefined,
): string | undefined {
  const c = chooseBackend(inp);
  if (c.kind === 'editor') return `vscode:${c.model.vendor}/${c.model.id}`;
  if (c.kind === 'none') return undefined;
  const baseUrl = endpoint.baseUrl.replace(/\/+$/, '');
  const listed = (localServers ?? []).some((s) => s.baseUrl === baseUrl && s.models.includes(endpoint.model));
  return listed ? `local:${baseUrl}#${endpoint.model}` : `endpoint:${endpoint.model}`;
}

/**
 * What happens the first time a run uses an editor model, from VS Code's own record
 * (`context.languageModelAccessInformation.canSendRequest`): VS Code asks for consent only for
 * models whose provider requires sign-in (e.g. GitHub Copilot), once per extension; other
 * providers' models are used without a question (canSendRequest is then `true`).
 */
export function editorAccessNote(canSend: boolean | undefined): string {
  if (canSend === true) return 'Ready: VS Code sends requests to it without asking (its provider needs no sign-in consent, or you allowed it already).';
  if (canSend === false) return 'VS Code refused this extension access to it earlier: a run fails until access is allowed again (VS Code Accounts menu) or another model is picked.';
  return 'Its provider requires sign-in: VS Code asks once whether Prompt Optimizer may use it, the first time a run sends it a request.';
}
