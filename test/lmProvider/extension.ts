/**
 * Test-only extension (never packaged): a language model provider registered through
 * `vscode.lm.registerLanguageModelChatProvider` (stable since VS Code 1.104), so the extension's
 * vscode.lm backend is exercised for real inside VS Code: selectChatModels lists these models,
 * sendRequest reaches provideLanguageModelChatResponse through VS Code, cancellation arrives as
 * the request's CancellationToken, countTokens reaches provideTokenCount.
 *
 * Its answers are scripted (the deterministic rewriter of test/support/fakeOpenAI.ts, not a
 * model): the integration tests set the behaviour through the exported {@link ScriptedModels}.
 * The @types/vscode of the project are 1.100's, so the newer API is declared locally here.
 */
import * as vscode from 'vscode';
import { defaultChatReply } from '../support/fakeOpenAI';

export const VENDOR = 'promptopt-test';

/** How the next requests are answered. */
export type Behaviour =
  | 'rewrite' // the deterministic rewriter (JSON answers strategies accept)
  | 'no-permissions' // LanguageModelError.NoPermissions, as VS Code raises when consent is refused
  | 'blocked' // LanguageModelError.Blocked (quota / blocked)
  | 'not-found' // LanguageModelError.NotFound (model removed)
  | 'hang' // no answer until the request is cancelled
  | 'endless' // text parts without end (the provider stops itself after 8 s or 64 MB)
  | 'stall' // one part, then nothing more (the provider ends itself after 30 s)
  | 'script'; // the answer of ScriptedModels.script (a test double's rules, e.g. test/support/evidenceModel.ts)

export interface SeenRequest {
  model: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  modelOptions: Record<string, unknown>;
}

/**
 * Answers a request in 'script' mode. vscode.lm has no system role (the extension sends a
 * system prompt as the first user message), so `messages` are as the provider received them.
 */
export type Script = (req: SeenRequest) => string | Promise<string>;

/** What the tests read and set. */
export interface ScriptedModels {
  behaviour: Behaviour;
  /** The answers in 'script' mode. */
  script?: Script;
  readonly requests: SeenRequest[];
  /** Requests whose CancellationToken fired while they waited. */
  cancelled: number;
  tokenCounts: number;
  /**
   * Offers the models (true) or none (false, the default, so suites that expect no editor model
   * are unaffected) and tells VS Code the list changed.
   */
  setAvailable(available: boolean): void;
  reset(): void;
}

interface ModelInfo {
  id: string;
  name: string;
  family: string;
  version: string;
  maxInputTokens: number;
  maxOutputTokens: number;
  capabilities: Record<string, unknown>;
}

interface RequestMessage {
  role: number;
  content: ReadonlyArray<unknown>;
}

type LmWithProviders = typeof vscode.lm & {
  registerLanguageModelChatProvider?(vendor: string, provider: unknown): vscode.Disposable;
};

const MODEL_A: ModelInfo = { id: 'scripted-rewriter', name: 'Scripted Rewriter', family: 'scripted', version: '1', maxInputTokens: 100_000, maxOutputTokens: 8_000, capabilities: {} };
const MODEL_B: ModelInfo = { id: 'scripted-second', name: 'Scripted Second', family: 'scripted', version: '1', maxInputTokens: 100_000, maxOutputTokens: 8_000, capabilities: {} };

function textOf(content: ReadonlyArray<unknown>): string {
  return content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : typeof (p as { value?: unknown }).value === 'string' ? (p as { value: string }).value : '')).join('');
}

export function activate(context: vscode.ExtensionContext): ScriptedModels {
  const changed = new vscode.EventEmitter<void>();
  let available = false;
  const state: ScriptedModels = {
    behaviour: 'rewrite',
    requests: [],
    cancelled: 0,
    tokenCounts: 0,
    setAvailable(v: boolean) {
      available = v;
      changed.fire();
    },
    reset() {
      state.behaviour = 'rewrite';
      state.script = undefined;
      state.requests.length = 0;
      state.cancelled = 0;
      state.tokenCounts = 0;
    },
  };
  const lm = vscode.lm as LmWithProviders;
  if (typeof lm.registerLanguageModelChatProvider !== 'function') return state; // VS Code < 1.104
  const provider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    provideLanguageModelChatInformation(): ModelInfo[] {
      return available ? [MODEL_A, MODEL_B] : [];
    },
    async provideLanguageModelChatResponse(
      model: ModelInfo,
      messages: readonly RequestMessage[],
      options: { modelOptions?: Record<string, unknown> },
      progress: vscode.Progress<unknown>,
      token: vscode.CancellationToken,
    ): Promise<void> {
      const msgs = messages.map((m) => ({ role: m.role === vscode.LanguageModelChatMessageRole.Assistant ? ('assistant' as const) : ('user' as const), content: textOf(m.content) }));
      const seen: SeenRequest = { model: model.id, messages: msgs, modelOptions: { ...(options.modelOptions ?? {}) } };
      state.requests.push(seen);
      switch (state.behaviour) {
        case 'no-permissions':
          throw vscode.LanguageModelError.NoPermissions('The user did not allow this extension to use the model (scripted refusal).');
        case 'blocked':
          throw vscode.LanguageModelError.Blocked('Quota exceeded (scripted).');
        case 'not-found':
          throw vscode.LanguageModelError.NotFound(`Model ${model.id} was removed (scripted).`);
        case 'hang':
          await new Promise<void>((resolve) => {
            if (token.isCancellationRequested) return resolve();
            token.onCancellationRequested(() => resolve());
          });
          state.cancelled += 1;
          throw new vscode.CancellationError();
        case 'endless': {
          const part = 'x'.repeat(64 * 1024);
          const started = Date.now();
          for (let sent = 0; !token.isCancellationRequested && sent < 64 * 1024 * 1024 && Date.now() - started < 8_000; sent += part.length) {
            progress.report(new vscode.LanguageModelTextPart(part));
            await new Promise((r) => setTimeout(r, 1));
          }
          return;
        }
        case 'stall':
          progress.report(new vscode.LanguageModelTextPart('{"improved'));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 30_000);
            token.onCancellationRequested(() => {
              clearTimeout(t);
              resolve();
            });
          });
          return;
        case 'script': {
          if (!state.script) throw new Error('scripted models: behaviour "script" without a script');
          progress.report(new vscode.LanguageModelTextPart(await state.script(seen)));
          return;
        }
        default: {
          const reply = defaultChatReply({ model: model.id, messages: msgs, body: {}, headers: {} });
          // Two parts, as a streaming model sends them.
          const cut = Math.floor(reply.content.length / 2);
          progress.report(new vscode.LanguageModelTextPart(reply.content.slice(0, cut)));
          progress.report(new vscode.LanguageModelTextPart(reply.content.slice(cut)));
        }
      }
    },
    async provideTokenCount(_model: ModelInfo, text: string | RequestMessage): Promise<number> {
      state.tokenCounts += 1;
      const s = typeof text === 'string' ? text : textOf(text.content);
      return Math.max(1, Math.ceil(s.length / 4));
    },
  };
  context.subscriptions.push(lm.registerLanguageModelChatProvider(VENDOR, provider), changed);
  return state;
}

export function deactivate(): void {}
