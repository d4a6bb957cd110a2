/**
 * The language models VS Code offers (GitHub Copilot or any extension that provides one through
 * the Language Model API) as an LlmClient: a vscode.lm transport under the core's shared
 * pipeline (cache, budget, concurrency, retries, accounting — src/core/llm/pipeline.ts), so
 * whatever works over that interface (the strategies of Optimize) uses it unchanged.
 *
 * - The first request of this extension to a model that needs consent makes VS Code ask the
 *   user; it is only made from a command the user ran (Optimize), never at activation.
 * - Cancellation: the request's AbortSignal cancels the CancellationToken handed to sendRequest.
 * - Limits: the streamed answer must end within `timeoutMs` (default 60 s, from the request) and
 *   stay under `maxResponseBytes` (default 8 MB); past either the request is cancelled and fails
 *   with LLM_TIMEOUT / LLM_RESPONSE_TOO_LARGE.
 * - Tokens: counted with the model's countTokens; cost is unknown (no price: $0 and logged as such).
 * - Embeddings: vscode.lm has none; embed() fails with LLM_NO_EMBEDDINGS saying so.
 */
import * as vscode from 'vscode';
import { CancelledError, LlmError } from '../../core/errors';
import { ResponseLimitError, readBoundedText } from '../../core/llm/bounded';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../../core/llm/limits';
import { limitError } from '../../core/llm/mapError';
import { createPipelineClient, type Classified, type LlmTransport, type PipelineClient, type PipelineOptions } from '../../core/llm/pipeline';
import type { ChatMessage } from '../../core/llm/types';
import { NO_EMBEDDINGS_REASON, editorModelRef } from './editorModels';

/** A LanguageModelError's code ('NoPermissions', 'Blocked', 'NotFound', …) or undefined. */
function lmErrorCode(e: unknown): string | undefined {
  if (e instanceof vscode.LanguageModelError) return e.code || undefined;
  const code = (e as { code?: unknown } | null)?.code;
  const name = (e as { name?: unknown } | null)?.name;
  if (typeof code === 'string' && ['NoPermissions', 'Blocked', 'NotFound'].includes(code)) return code;
  if (name === 'LanguageModelError' && typeof code === 'string') return code;
  return undefined;
}

function describe(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const one = msg.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

/** Maps what sendRequest or its stream threw to a typed error naming the model. */
export function classifyEditorModelError(e: unknown, label: string): Classified {
  if (e instanceof LlmError || e instanceof CancelledError) return { error: e, retryable: false };
  if (e instanceof ResponseLimitError) return { error: limitError(e, `the editor model ${label}`), retryable: false };
  if (e instanceof vscode.CancellationError || (e as { name?: unknown } | null)?.name === 'Canceled') {
    return { error: new CancelledError('The LLM request was cancelled.'), retryable: false };
  }
  const said = describe(e);
  switch (lmErrorCode(e)) {
    case 'NoPermissions':
      return {
        error: new LlmError(
          'LLM_NO_PERMISSION',
          `Prompt Optimizer may not use the editor model ${label}: the permission was refused or not given${said ? ` (${said})` : ''}. Run Optimize again and choose Allow when VS Code asks, or pick another model with Select Model.`,
        ),
        retryable: false,
      };
    case 'Blocked':
      return {
        error: new LlmError('LLM_BLOCKED', `The editor model ${label} refused the request: its quota is used up or the request was blocked${said ? ` (${said})` : ''}. Try again later or pick another model with Select Model.`),
        retryable: false,
      };
    case 'NotFound':
      return {
        error: new LlmError('LLM_NO_MODEL', `The editor model ${label} is no longer available (the extension that provides it was disabled, removed or signed out)${said ? `: ${said}` : ''}. Pick another model with Select Model.`),
        retryable: false,
      };
    default:
      return { error: new LlmError('LLM_BAD_RESPONSE', `The editor model ${label} failed: ${said || 'no reason given'}.`), retryable: false };
  }
}

/** Turns the core's messages into VS Code's: system text goes first as a user turn (vscode.lm has no system role). */
export function toLmMessages(messages: ChatMessage[]): vscode.LanguageModelChatMessage[] {
  const out: vscode.LanguageModelChatMessage[] = [];
  for (const m of messages) {
    if (m.role === 'assistant') out.push(vscode.LanguageModelChatMessage.Assistant(m.content));
    else out.push(vscode.LanguageModelChatMessage.User(m.content));
  }
  return out;
}

/**
 * Runs `fn` with a CancellationToken that is cancelled when `signal` aborts; the call then
 * rejects with CancelledError at once, whether or not the provider ends its stream.
 */
async function withToken<T>(signal: AbortSignal, fn: (token: vscode.CancellationToken, cancel: () => void) => Thenable<T> | Promise<T>): Promise<T> {
  const cts = new vscode.CancellationTokenSource();
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      cts.cancel();
      reject(new CancelledError('The LLM request was cancelled.'));
    };
  });
  aborted.catch(() => undefined);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([Promise.resolve(fn(cts.token, () => cts.cancel())), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    cts.dispose();
  }
}

export interface EditorModelClientOptions extends Omit<PipelineOptions, 'log'> {
  /** Shown by VS Code in its consent prompt: why the extension asks for the model. */
  justification?: string;
  log?: PipelineOptions['log'];
  /** Deadline of one request, the whole streamed answer included (default 60 s). */
  timeoutMs?: number;
  /** Most bytes (UTF-8) of one answer (default 8 MB). */
  maxResponseBytes?: number;
}

/** The LlmClient over one editor model. `model` comes from listEditorModels. */
export function createEditorModelClient(model: vscode.LanguageModelChat, opts: EditorModelClientOptions = {}): PipelineClient & { readonly modelRef: string; readonly modelName: string } {
  const ref = editorModelRef(model);
  const label = `${model.name} (${model.vendor})`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const justification = opts.justification ?? 'Prompt Optimizer for Dify asks the model to rewrite and judge the prompts of your Dify export.';
  const transport: LlmTransport = {
    label: `vscode-lm/${model.vendor}/${model.id}`,
    defaultModel: ref,
    fixedModel: true,
    noEmbeddingsReason: NO_EMBEDDINGS_REASON,
    async chat(req, _model, maxTokens, signal) {
      if (signal.aborted) throw new CancelledError('The LLM request was cancelled.');
      // Tool definitions and few-shot tool turns are not mapped to vscode.lm here: the caller falls back (e.g. Dify's prompt mode).
      if (req.tools?.length) throw new LlmError('LLM_NO_TOOLS', `The editor model ${label} is run without tools here.`);
      return withToken(signal, async (token, cancel) => {
        const modelOptions: Record<string, unknown> = {};
        if (req.temperature !== undefined) modelOptions.temperature = req.temperature;
        if (maxTokens !== undefined) modelOptions.max_tokens = maxTokens;
        const response = await model.sendRequest(toLmMessages(req.messages), { justification, modelOptions }, token);
        // The deadline runs from the start of the answer: sendRequest may wait on the user (a sign-in consent prompt).
        const text = await readBoundedText(response.text, {
          timeoutMs,
          maxBytes: maxResponseBytes,
          signal,
          onStop: cancel,
          abortError: () => new CancelledError('The LLM request was cancelled.'),
        });
        return { text, finishReason: 'stop', model: ref };
      });
    },
    async countTokens(messages, _model, signal) {
      return withToken(signal, async (token) => {
        let n = 0;
        for (const m of toLmMessages(messages)) n += (await model.countTokens(m, token)) + 3;
        return n;
      });
    },
    async countText(text, _model, signal) {
      return withToken(signal, (token) => model.countTokens(text, token));
    },
    classify(raw) {
      return classifyEditorModelError(raw, label);
    },
  };
  const client = createPipelineClient(transport, { ...opts, retry: { maxRetries: 0, ...opts.retry } });
  return Object.assign(client, { modelRef: ref, modelName: label });
}
