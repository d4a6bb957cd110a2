/**
 * The one way a prompt is run on a case: a node runner takes the prompt (its record, the
 * node's spec, the text to run — the current one or a candidate —, demos) and a case, and
 * gives the node's answer. The evidence gate, dataset runs and the estimate (a replay of the
 * same runs over the response cache) all go through it, so "as Dify sends it" lives here only.
 *
 * `modelNodeRunner` sends the request Dify builds for the node (nodeRequest.ts) to a model
 * through the LLM client (cache, budget, concurrency). A runner on Dify itself plugs in behind
 * the same interface.
 */
import type { ChatResponse, LlmClient } from '../llm/types';
import { buildTaskCall, type PromptTarget } from './nodeRequest';
import { isOptimizerError } from '../errors';
import { taskRequest, type NodeCall } from './request';
import type { Demo, DemoMode, Example } from './types';

/** One prompt version on one case. */
export interface NodeCase extends PromptTarget {
  /** The text run in the prompt's place (default the record's own). */
  text?: string;
  demos?: Demo[];
  demoMode?: DemoMode;
  example: Example;
}

export interface NodeRunOptions {
  signal?: AbortSignal;
  /** Tag of the request (logs, the estimate's breakdown). */
  tag?: string;
  /** Model instead of the node's own. */
  model?: string;
  /** false: without `model`, the client's configured model rather than the node's (dataset runs choose the model themselves). */
  nodeModel?: boolean;
  /** Instead of the node's own (temperature 0 when the node sets none). */
  temperature?: number;
  maxTokens?: number;
}

export interface NodeAnswer {
  /** The node's answer: its text, or the arguments of its tool call (a function-call extractor). */
  output: string;
  /** Where this run differed from Dify's request (e.g. tools refused by the endpoint). */
  note?: string;
  /** The answer was cut off (a model's finish reason "length"). */
  truncated?: boolean;
  /** The model's response, when a model answered (usage, cost, cached). */
  response?: ChatResponse;
  /** The app's final output, when the whole app ran (a runner on Dify: the workflow's outputs or the chat answer). */
  final?: string;
  /** The answer came from the runner's own cache (nothing was sent). */
  cached?: boolean;
}

/** Where a runner's answers came from, for the report (runner on Dify: which server, version and app copies). */
export interface RuntimeInfo {
  source: 'dify';
  server: string;
  /** The server's DSL version (CURRENT_APP_DSL_VERSION, as its import answers) and the export's own. */
  version?: string;
  /** The temporary app copies the answers came from (names and ids). */
  apps: string[];
}

export interface NodeRunner {
  /** Where answers come from, for reports: 'model' (our reproduction of Dify's request) or 'dify' (Dify itself). */
  readonly source: 'model' | 'dify';
  run(c: NodeCase, opts?: NodeRunOptions): Promise<NodeAnswer>;
  /** Where the answers so far came from (absent: the model runner, which the report already describes). */
  describe?(): RuntimeInfo | undefined;
}

/** Runs the node's request, as Dify builds it, on a model through `client`. */
export function modelNodeRunner(client: LlmClient): NodeRunner {
  return {
    source: 'model',
    async run(c, opts = {}) {
      const call = buildTaskCall(c, c.example);
      const send = async (nc: NodeCall): Promise<NodeAnswer> => {
        const req = taskRequest(nc, { modelOverride: opts.model, signal: opts.signal, tag: opts.tag });
        const res = await client.chat({
          ...req,
          model: opts.nodeModel === false ? opts.model : req.model,
          temperature: opts.temperature ?? req.temperature,
          maxTokens: opts.maxTokens ?? req.maxTokens,
        });
        const output = answerOf(nc, res);
        return { output, truncated: res.finishReason === 'length', response: res, ...(nc.note ? { note: nc.note } : {}) };
      };
      if (!call.tools?.length || !call.withoutTools) return send(call);
      try {
        return await send(call);
      } catch (e) {
        if (isOptimizerError(e) && e.code === 'LLM_NO_TOOLS') return send(call.withoutTools);
        throw e;
      }
    },
  };
}

/**
 * The node's answer from the model's: a function-call extractor's is the tool call's arguments
 * (Dify reads them, else the text); an agent's first step that calls a tool is the text and the
 * call, written out (no tool is run here).
 */
function answerOf(nc: NodeCall, res: ChatResponse): string {
  const call = nc.tools?.length ? res.toolCalls?.[0] : undefined;
  if (!call) return res.text;
  if (nc.toolAnswer === 'describe') return `${res.text ? `${res.text}\n` : ''}[calls tool ${call.name} with ${call.arguments}]`;
  return call.arguments;
}
