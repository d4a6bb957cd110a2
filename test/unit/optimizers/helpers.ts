import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PromptRecord } from '../../../src/core/dsl/types';
import { findVariables } from '../../../src/core/dsl/variables';
import { createLlmClient } from '../../../src/core/llm';
import type { Budget } from '../../../src/core/llm/types';
import { createMetric, parseDataset, splitDataset } from '../../../src/core/evaluation';
import type { NodeMessage } from '../../../src/core/runtime';
import type { OptimizerContext } from '../../../src/core/optimizers';
import type { FakeOpenAIServer } from '../../support';
import { INTENT_BASE, INTENT_JSONL, INTENT_USER } from '../../support/intentModel';
import { BEST_MARKERS, SENTIMENT_JSONL, TICKETS_JSONL } from '../../support/taskModel';

export const KEY = 'sk-test-dataset-0000';

/** A hand-built PromptRecord (the DSL extractor lives on another branch). */
export function record(text: string, over: Partial<PromptRecord> = {}): PromptRecord {
  return {
    id: '1718246807593/prompt_template/0',
    nodeId: '1718246807593',
    nodeTitle: 'Classifier LLM',
    nodeType: 'llm',
    kind: 'llm-message',
    role: 'system',
    messageIndex: 0,
    yamlPath: ['workflow', 'graph', 'nodes', 0, 'data', 'prompt_template', 0, 'text'],
    editionType: 'basic',
    text,
    variables: findVariables(text),
    ...over,
  };
}

export function client(url: string, opts: { budget?: Budget; concurrency?: number; completionReserve?: number } = {}) {
  return createLlmClient(
    { baseUrl: url, apiKey: KEY, model: 'fake-model', concurrency: opts.concurrency ?? 4, maxRetries: 0, timeoutMs: 5000 },
    { budget: opts.budget, ...(opts.completionReserve ? { defaultCompletionReserve: opts.completionReserve } : {}) },
  );
}

export async function tempDir(prefix = 'promptopt-data-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** The intent task (test/support/intentModel.ts): 8 train, 8 validation examples. */
export const intent = splitDataset(parseDataset(INTENT_JSONL, { file: 'intent.jsonl' }));
/** Dify's standard layout: a system prompt plus a user message holding the start node's query. */
export const STANDARD: NodeMessage[] = [
  { role: 'system', text: INTENT_BASE },
  { role: 'user', text: INTENT_USER },
];

/** A context on the intent task in the standard layout, exact match, against `srv`. */
export function intentCtx(srv: FakeOpenAIServer, over: Partial<OptimizerContext> = {}): OptimizerContext {
  return {
    runId: 'intent-run',
    record: record(INTENT_BASE),
    messages: STANDARD,
    train: intent.train,
    validation: intent.validation,
    metrics: [createMetric({ type: 'exact' })],
    client: client(srv.url, { budget: over.budget }),
    concurrency: 4,
    ...over,
  };
}

/** The sentiment task (test/support/taskModel.ts) and its baseline instruction. */
export const BASE = 'Classify the sentiment of the review.';
export const sentiment = splitDataset(parseDataset(SENTIMENT_JSONL, { file: 'sentiment.jsonl' }), { seed: 3 });
export const tickets = splitDataset(parseDataset(TICKETS_JSONL, { file: 'tickets.jsonl' }));
export const exact = [createMetric({ type: 'exact' })];
export const isBest = (t: string): boolean => BEST_MARKERS.every((m) => t.toLowerCase().includes(m));

/** A context on the sentiment task (system prompt only), exact match, against `srv`. */
export function ctxFor(srv: FakeOpenAIServer, over: Partial<OptimizerContext> = {}): OptimizerContext {
  return {
    runId: 'test-run',
    record: record(BASE),
    train: sentiment.train,
    validation: sentiment.validation,
    metrics: exact,
    client: client(srv.url, { budget: over.budget }),
    concurrency: 4,
    ...over,
  };
}
