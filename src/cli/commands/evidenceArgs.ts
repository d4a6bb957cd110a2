/** What `cases` and `eval` share: the prompt's file and record, the workspace, the client, confirmation. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseDify, type DifyDocument } from '../../core/dsl';
import type { PromptRecord } from '../../core/dsl/types';
import type { EngineConfig } from '../../core/engine/config';
import { UsageError } from '../../core/errors';
import { costTableWith, createLlmClient } from '../../core/llm';
import type { LlmClient } from '../../core/llm/types';
import { endpointFromEnv } from '../../core/service/endpoint';
import { llmCacheDir, loadEngineConfig } from '../../core/service/workspace';
import { findWorkspaceRoot } from '../../core/storage';
import type { CliIo } from '../io';
import { readTextFile } from './fileInput';
import { confirmOnTty, type Confirm } from '../confirm';
import { llmLimitFlags } from './llmFlags';
import { llmLimitsOf } from '../../core/llm/limits';

export { confirmOnTty, type Confirm };

export interface EvidenceSetup {
  abs: string;
  root: string;
  doc: DifyDocument;
  record: PromptRecord;
  config: EngineConfig;
  client: LlmClient;
  model: string;
}

/** Reads the file, finds the prompt, loads the workspace config and builds the client. Throws UsageError (exit 2) without a key. */
export async function setupEvidence(
  io: CliIo,
  cmd: string,
  v: {
    file: string;
    prompt: string;
    workspace?: string;
    'base-url'?: string;
    model?: string;
    'no-cache'?: boolean;
    'llm-timeout'?: string;
    'llm-retries'?: string;
    'llm-max-response-mb'?: string;
  },
): Promise<EvidenceSetup> {
  const { abs, text } = await readTextFile(io.cwd, v.file);
  const root = v.workspace ? path.resolve(io.cwd, v.workspace) : findWorkspaceRoot(abs);
  const doc = parseDify(text, { file: path.relative(root, abs) || abs });
  const record = doc.prompts.find((p) => p.id === v.prompt);
  if (!record) {
    const known = doc.prompts.slice(0, 6).map((p) => p.id).join(', ');
    throw new UsageError('USAGE', `there is no prompt "${v.prompt}" in ${v.file}${known ? ` (ids: ${known}${doc.prompts.length > 6 ? ', …' : ''})` : ''}. List them with promptopt extract.`, { file: v.file });
  }
  const config = await loadEngineConfig(root, [{ model: llmLimitFlags(v) }]);
  const endpoint = endpointFromEnv(io.env, { baseUrl: v['base-url'], model: v.model, configModel: config.model.name });
  if (!endpoint) {
    throw new UsageError(
      'USAGE',
      `${cmd} needs a model: set OPENAI_API_KEY or PROMPTOPT_API_KEY and, for another endpoint, --base-url; a local server on this machine (--base-url http://127.0.0.1:11434/v1 for Ollama) needs no key.`,
    );
  }
  const client = createLlmClient(
    { ...endpoint, ...llmLimitsOf(config.model), concurrency: Math.max(1, config.concurrency) },
    { cacheDir: v['no-cache'] ? undefined : llmCacheDir(root), budget: config.budget, costTable: costTableWith(config.pricing) },
  );
  return { abs, root, doc, record, config, client, model: endpoint.model };
}


export function intFlag(v: string | undefined, name: string, min = 1, max = 1000): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError('USAGE', `--${name} must be an integer from ${min} to ${max}, not "${v}".`);
  return n;
}

/** A dataset path: as given (relative to cwd), else a bare name inside `<root>/.optimizer/datasets/` (with or without .jsonl). */
export async function resolveDatasetFile(io: CliIo, root: string, name: string): Promise<string> {
  const tries = path.isAbsolute(name)
    ? [name]
    : [path.resolve(io.cwd, name), path.join(root, '.optimizer', 'datasets', name), path.join(root, '.optimizer', 'datasets', `${name}.jsonl`)];
  for (const t of tries) {
    const st = await fs.stat(t).catch(() => undefined);
    if (st?.isFile()) return t;
  }
  throw new UsageError('FILE_NOT_FOUND', `dataset not found: ${name} (looked at ${tries.join(', ')}).`, { file: name });
}

