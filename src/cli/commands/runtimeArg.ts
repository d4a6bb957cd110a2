/** `--runtime model|dify` and `--dify-server` of `eval` and `optimize`: where both prompts run on the cases. */
import type { DifyDocument } from '../../core/dsl/parse';
import { FileCredentialStore, defaultCredentialFile } from '../../core/dify/credentials';
import type { DifyRunner } from '../../core/dify/runner';
import type { EngineConfig } from '../../core/engine/config';
import { UsageError } from '../../core/errors';
import type { LlmClient } from '../../core/llm/types';
import { openDifyRuntime } from '../../core/service/difyRuntime';
import type { CliIo } from '../io';

export const RUNTIME_OPTIONS = {
  runtime: { type: 'string' },
  'dify-server': { type: 'string' },
} as const;

export const RUNTIME_USAGE = `  --runtime        where both prompts run on the cases: model (default; the node's request as Dify
                   builds it, on the task model) or dify (temporary copies of the app on your Dify,
                   whole draft runs with Dify's own models, knowledge and tools; deleted afterwards;
                   sign in first with 'promptopt dify login'); config.yaml: evidence: { runtime: dify }
  --dify-server    the Dify to run on (default: the one the file was pulled from)`;

export function runtimeOf(flag: string | undefined, config: EngineConfig): 'model' | 'dify' {
  if (flag !== undefined && flag !== 'model' && flag !== 'dify') throw new UsageError('USAGE', `--runtime must be model or dify, not '${flag}'.`);
  return (flag as 'model' | 'dify' | undefined) ?? config.evidence.runtime ?? 'model';
}

/** Opens runners on Dify for the CLI (sign-ins from the CLI's credentials file); each close() deletes its copies, and says so when one could not be. */
export function cliDifyRuntime(io: CliIo, p: { root: string; abs: string; doc: DifyDocument; llm?: LlmClient; config: EngineConfig; server?: string; noCache?: boolean }): () => Promise<DifyRunner> {
  const credentials = new FileCredentialStore(defaultCredentialFile(io.env));
  return async () => {
    const runner = await openDifyRuntime({
      root: p.root,
      workflowFile: p.abs,
      doc: p.doc,
      llm: p.llm,
      budget: p.config.budget,
      credentials,
      server: p.server,
      concurrency: p.config.evidence.difyConcurrency,
      cache: !p.noCache,
      log: (line) => {
        if (/^Could not/.test(line)) io.stderr(`warning: ${line}\n`);
      },
    });
    return runner;
  };
}
