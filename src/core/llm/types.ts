/**
 * The LLM layer's contract. Everything that talks to a model (LLM strategies, evaluation,
 * optimizers) depends on these interfaces only; `src/core/llm/client.ts` implements them over
 * the `openai` SDK, and tests run that real client against a loopback server.
 */

export interface ChatMessage {
  /** 'tool': the result of a tool call (`toolCallId`), as in a few-shot tool exchange. */
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An assistant turn's tool calls (few-shot exchanges such as Dify's function-call extractor sends). */
  toolCalls?: ToolCall[];
  /** The call a 'tool' message answers. */
  toolCallId?: string;
}

/** A function the model may call (OpenAI's `tools[].function`). */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON schema of the arguments. */
  parameters: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them (JSON text). */
  arguments: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Defaults to the client's configured model. */
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** 'json' asks for a JSON object (response_format) where the endpoint supports it. */
  responseFormat?: 'text' | 'json';
  /** With responseFormat 'json': the schema the answer must follow (response_format json_schema). */
  jsonSchema?: { name: string; schema: Record<string, unknown>; strict?: boolean };
  topP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Functions the model may call; an endpoint that refuses them fails with LLM_NO_TOOLS. */
  tools?: ToolSpec[];
  /** Default: the endpoint's ('auto'). */
  toolChoice?: 'auto' | 'required' | 'none' | { name: string };
  /** Cancels the HTTP request itself. */
  signal?: AbortSignal;
  /** Skip the response cache for this call (e.g. sampling several different candidates). */
  noCache?: boolean;
  /** Free-form label for accounting and logs (e.g. 'strategy:llm_clarity'). */
  tag?: string;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ChatResponse {
  text: string;
  /** The tool calls of the answer (requests with `tools`). */
  toolCalls?: ToolCall[];
  /** 'stop' | 'length' | 'content_filter' | … as the endpoint said. */
  finishReason: string;
  usage: TokenUsage;
  model: string;
  /** true when served from the on-disk cache (no call made, no cost). */
  cached: boolean;
  costUsd: number;
}

export interface EmbedRequest {
  input: string[];
  model?: string;
  signal?: AbortSignal;
}

export interface LlmUsageTotals {
  calls: number;
  cachedCalls: number;
  retries: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface LlmClient {
  chat(req: ChatRequest): Promise<ChatResponse>;
  embed(req: EmbedRequest): Promise<number[][]>;
  /** Totals since the client was created (or since the budget was last reset). */
  usage(): LlmUsageTotals;
  /**
   * Optional: drops the cached answer of `req` (e.g. one that failed validation or was
   * rejected), so the next identical request asks the endpoint again.
   */
  forget?(req: ChatRequest): Promise<void>;
  /** Optional: the cached answer of `req`, without sending anything or counting it (for estimates). */
  peek?(req: ChatRequest): Promise<ChatResponse | undefined>;
  /** Optional: what the budget counts for this client's own calls (sent calls, tokens, cost). */
  spent?(): Spend;
  /** Optional: counts usage made elsewhere (earlier attempts of a resumed run) against the budget; usage() is unchanged. */
  chargeBudget?(spent: Spend): void;
  /**
   * Optional: `listener` runs, and is awaited, just before each call is sent to the endpoint
   * (once per call, not per retry; never for cache hits). A listener that throws stops the call
   * before it is sent. Returns a function that removes the listener.
   */
  onSend?(listener: () => void | Promise<void>): () => void;
}

/** Calls, tokens and cost counted against a budget. */
export interface Spend {
  calls: number;
  tokens: number;
  costUsd: number;
}

/** How to reach an OpenAI-compatible endpoint. The key is injected by the caller (SecretStorage or env), never read from a file by the core. */
export interface EndpointConfig {
  baseUrl: string;
  apiKey: string;
  model: string;
  embeddingModel?: string;
  headers?: Record<string, string>;
  /** Deadline of one attempt, the whole answer included (default 60 s). */
  timeoutMs?: number;
  /** Retries after a failed attempt (default 3). */
  maxRetries?: number;
  /** Most bytes of one answer (default 8 MB); a larger one is cut off (LLM_RESPONSE_TOO_LARGE). */
  maxResponseBytes?: number;
  concurrency?: number;
}

export interface Budget {
  maxCalls?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  /** Where each limit was set (a budget error names that place; unknown: all of them). */
  origin?: { calls?: 'file' | 'setting' | 'flag'; tokens?: 'file' | 'setting' | 'flag'; cost?: 'file' | 'setting' | 'flag' };
}
