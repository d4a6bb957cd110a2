import type { z } from 'zod';
import { LlmError } from '../errors';
import type { ChatRequest, ChatResponse, LlmClient } from './types';

function excerpt(s: string, max = 160): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** Balanced `{…}` / `[…]` spans of `text`, outermost first, skipping brackets inside strings. */
function balancedSpans(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const open = text[i];
    if (open !== '{' && open !== '[') continue;
    const stack: string[] = [];
    let inStr = false;
    let esc = false;
    for (let j = i; j < text.length; j++) {
      const c = text[j]!;
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
      else if (c === '}' || c === ']') {
        if (stack.pop() !== c) break;
        if (stack.length === 0) {
          out.push(text.slice(i, j + 1));
          i = j;
          break;
        }
      }
    }
  }
  return out;
}

/**
 * Reads the JSON value in a model's answer, tolerating what models wrap around it: code fences
 * (```json … ```), a preamble ("Here is the JSON:") and an epilogue. Returns undefined when no
 * JSON value can be found.
 */
export function parseJsonLoose(text: string): unknown {
  const candidates: string[] = [text.trim()];
  for (const m of text.matchAll(/```[A-Za-z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/g)) candidates.push(m[1]!.trim());
  candidates.push(...balancedSpans(text));
  for (const c of candidates) {
    if (!c) continue;
    try {
      return JSON.parse(c) as unknown;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface ChatJsonResult<T> {
  value: T;
  response: ChatResponse;
}

/**
 * Asks for a JSON object (response_format json_object where the endpoint accepts it; the client
 * falls back without it on HTTP 400 and remembers) and validates the answer with `schema`.
 *
 * Errors (LlmError): LLM_TRUNCATED when the answer was cut off (finish_reason `length`);
 * LLM_BAD_RESPONSE with a short excerpt when no JSON can be read or it does not match the
 * schema. In both cases the cached answer, if any, is dropped so the next run asks again, and
 * the error carries the answer as `response` (see {@link responseOf}) so the call is counted.
 */
export async function chatJson<S extends z.ZodType>(
  client: LlmClient,
  req: ChatRequest,
  schema: S,
): Promise<ChatJsonResult<z.infer<S>>> {
  const full: ChatRequest = { ...req, responseFormat: 'json' };
  const response = await client.chat(full);
  const fail = async (err: LlmError): Promise<never> => {
    await client.forget?.(full).catch(() => undefined);
    // The call was made: callers count it (usage) from the answer that came back.
    (err as LlmError & { response?: ChatResponse }).response = response;
    throw err;
  };
  if (response.finishReason === 'length') {
    return fail(
      new LlmError(
        'LLM_TRUNCATED',
        `The model's answer was cut off (finish_reason "length") after ${response.usage.completionTokens} tokens${req.maxTokens ? ` (max_tokens ${req.maxTokens})` : ''}.`,
      ),
    );
  }
  const parsed = parseJsonLoose(response.text);
  if (parsed === undefined) {
    return fail(new LlmError('LLM_BAD_RESPONSE', `The model's answer is not JSON: "${excerpt(response.text)}"`));
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    const issues = checked.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    return fail(new LlmError('LLM_BAD_RESPONSE', `The model's JSON does not have the expected shape (${issues}): "${excerpt(response.text)}"`));
  }
  return { value: checked.data as z.infer<S>, response };
}

/** The answer an LLM_TRUNCATED / LLM_BAD_RESPONSE error of chatJson came with (undefined for other errors). */
export function responseOf(e: unknown): ChatResponse | undefined {
  const r = (e as { response?: unknown } | null)?.response;
  return r && typeof r === 'object' && typeof (r as ChatResponse).finishReason === 'string' ? (r as ChatResponse) : undefined;
}
