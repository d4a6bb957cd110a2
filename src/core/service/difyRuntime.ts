/**
 * `evidence.runtime: dify`, composed: the Dify server the answers come from (given, else the one
 * the file was pulled from — .optimizer/remotes.json —, else the only server signed in to), its
 * stored sign-in (SecretStorage in VS Code, the CLI's 0600 file), and the node runner on
 * temporary app copies (dify/runner.ts). No key or token is written anywhere by this.
 */
import * as path from 'node:path';
import type { DifyDocument } from '../dsl/parse';
import { DifyClient } from '../dify/client';
import { getRemote } from '../dify/remotes';
import { createDifyRunner, type DifyRunner } from '../dify/runner';
import type { CredentialStore, FetchLike } from '../dify/types';
import { DifyError } from '../errors';
import type { Budget, LlmClient } from '../llm/types';
import { optimizerDir } from '../storage';

export interface DifyRuntimeParams {
  root: string;
  workflowFile: string;
  doc: DifyDocument;
  /** The run's model client (the judge's): Dify runs are charged to its budget. */
  llm?: LlmClient;
  budget?: Budget;
  credentials: CredentialStore;
  /** The server to run on (default: where the file was pulled from, else the only one signed in to). */
  server?: string;
  concurrency?: number;
  /** false: no answer cache (--no-cache). */
  cache?: boolean;
  fetch?: FetchLike;
  log?: (line: string) => void;
}

export function difyAnswerCacheDir(root: string): string {
  return path.join(optimizerDir(root), 'cache', 'dify');
}

/** The server a run on Dify uses, and how it was chosen (for messages). */
export async function resolveDifyServer(p: Pick<DifyRuntimeParams, 'root' | 'workflowFile' | 'credentials' | 'server'>): Promise<string> {
  if (p.server) return p.server;
  const remote = await getRemote(p.root, p.workflowFile).catch(() => undefined);
  if (remote) return remote.server;
  const signedIn = await p.credentials.list();
  if (signedIn.length === 1) return signedIn[0]!;
  throw new DifyError(
    'DIFY_AUTH',
    signedIn.length
      ? `Which Dify should run the evidence? ${path.basename(p.workflowFile)} was not pulled from one and you are signed in to ${signedIn.join(', ')}: name one with --dify-server <url>.`
      : `Running the evidence on Dify needs a sign-in: promptopt dify login <server> (in VS Code: "Prompt Optimizer: Connect to Dify…").`,
  );
}

/** Opens the runner on Dify for one comparison; close() deletes the app copies it made. */
export async function openDifyRuntime(p: DifyRuntimeParams): Promise<DifyRunner> {
  const server = await resolveDifyServer(p);
  const session = (await p.credentials.get(server)) ?? (await p.credentials.get(server.replace(/\/+$/, '')));
  if (!session) throw new DifyError('DIFY_AUTH', `Not signed in to ${server}: promptopt dify login ${server} (in VS Code: "Prompt Optimizer: Connect to Dify…"), then run again.`);
  if (session.kind !== 'console') throw new DifyError('DIFY_UNSUPPORTED', `Draft runs on ${server} need a console sign-in (email and password); the device-flow token only reaches /openapi/v1. Sign in with promptopt dify login ${server}.`);
  const client = new DifyClient(session, { fetch: p.fetch, onSessionChange: (s) => p.credentials.set(s) });
  return createDifyRunner({
    client,
    dsl: p.doc.text,
    file: p.doc.file,
    concurrency: p.concurrency,
    cacheDir: p.cache === false ? undefined : difyAnswerCacheDir(p.root),
    llm: p.llm,
    budget: p.budget,
    log: p.log,
  });
}
