/**
 * A node runner on Dify itself (`evidence.runtime: dify`): each prompt version runs in a
 * temporary copy of the app (tempApps.ts), never in the user's app.
 *
 * For a version, the export text with that version written back in (dsl/writeback replacePrompts,
 * what `promptopt set` uses) is imported as a new app, once, on the first case not in the cache.
 * A case whose values are the Start node's variables (and `sys.query`) runs the copy's whole
 * draft, so knowledge retrieval, tools and upstream nodes are in the answer: the prompt's node's
 * `node_finished` output is the answer and the workflow's (or chat's) final output is kept beside
 * it. A case that gives the node's inputs directly (an upstream node's output, the context) runs
 * that node alone (`…/workflows/draft/nodes/{node_id}/run`). See answers.ts for Dify's formats.
 *
 * Answers are cached on disk by content (server, sha256 of the DSL with the version in place,
 * node, how it ran, the case's values), so a re-run sends nothing and makes no copy. Every run sent
 * counts as a call against the budget (`budget.maxCalls`, shared with the model calls through
 * the LLM client) and at most `concurrency` (default 2) run on Dify at once. `close()` deletes
 * every copy this runner made — after a cancel or an error too — and the first copy of a runner
 * is preceded by deleting the copies crashed runs left behind. Dify's own model credentials run the
 * prompt: no key is needed here; the judge still runs on the configured model.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { replacePrompts } from '../dsl/writeback';
import { parseDify } from '../dsl/parse';
import { CancelledError, DifyError, LlmError, isAbortError } from '../errors';
import { raiseHint } from '../llm/budget';
import { DiskCache, hashKey } from '../llm/cache';
import { Limiter } from '../llm/limiter';
import type { Budget, ChatResponse, LlmClient } from '../llm/types';
import { demoBlock } from '../runtime/render';
import type { NodeAnswer, NodeCase, NodeRunner, NodeRunOptions, RuntimeInfo } from '../runtime/runner';
import { finalOutput, nodeFinished, nodeOutputText, nodeRunInputs, nodeUsage, wholeRunInputs } from './answers';
import type { DifyClient } from './client';
import { readWorkflow } from '../runtime/workflow';
import { sha256 } from './remotes';
import { createTempApp, deleteLeftovers, markRunLive, tempAppName, type TempApp } from './tempApps';

export interface DifyRunnerOptions {
  client: DifyClient;
  /** The app's export text as in the workspace (YAML). */
  dsl: string;
  /** Its name, for messages. */
  file?: string;
  /** Draft runs at once (default 2). */
  concurrency?: number;
  /** Directory of the answer cache (absent: no cache). */
  cacheDir?: string;
  /** The run's LLM client: Dify runs are charged to its budget, and its own calls count toward the limit. */
  llm?: LlmClient;
  budget?: Budget;
  /** Delete leftover copies of crashed runs before the first copy (default true). */
  cleanLeftovers?: boolean;
  now?: () => number;
  /** Notes for the log (copies made and deleted). */
  log?: (line: string) => void;
}

interface CachedAnswer {
  output: string;
  final?: string;
  finishReason?: string;
  promptTokens: number;
  completionTokens: number;
  app: string;
}

export interface DifyRunner extends NodeRunner {
  readonly source: 'dify';
  /** Copies made so far (deleted by close). */
  readonly copies: readonly TempApp[];
  /** Draft runs sent to Dify (cache hits not counted). */
  readonly sent: number;
  describe(): RuntimeInfo;
  /** Deletes every copy this runner made; later runs are refused. Never throws for a copy Dify no longer has. */
  close(): Promise<{ deleted: string[]; failed: Array<{ id: string; message: string }> }>;
}

export function createDifyRunner(o: DifyRunnerOptions): DifyRunner {
  const client = o.client;
  const now = o.now ?? Date.now;
  const runId = randomUUID();
  const startedAt = now();
  const limiter = new Limiter(Math.max(1, o.concurrency ?? 2));
  const cache = o.cacheDir ? new DiskCache<CachedAnswer>(o.cacheDir) : undefined;
  const doc = parseDify(o.dsl, { file: o.file });
  const view = readWorkflow(doc);
  const appName = doc.app.name || 'app';
  const mode = doc.app.mode;
  const exportVersion = doc.app.version;
  const dataOf = (id: string) => (view.nodes.get(id)?.data ?? {}) as { type?: unknown };
  const startIds = new Set([...view.nodes.keys()].filter((id) => dataOf(id).type === 'start'));
  const nodeType = (id: string) => (typeof dataOf(id).type === 'string' ? (dataOf(id).type as string) : undefined);
  const copies = new Map<string, Promise<TempApp>>();
  const made: TempApp[] = [];
  const flights = new Map<string, Promise<NodeAnswer>>();
  const versions = new Map<string, string>();
  let leftovers: Promise<unknown> | undefined;
  let serverVersion: string | undefined;
  let closed = false;
  let sent = 0;
  markRunLive(runId, true);

  if (mode !== 'workflow' && mode !== 'advanced-chat') {
    markRunLive(runId, false);
    throw new DifyError('DIFY_UNSUPPORTED', `Running the evidence on Dify takes a workflow or chatflow (advanced-chat) app; ${o.file ?? 'this file'} is a "${mode || 'unknown'}" app. Use evidence.runtime: model for it.`);
  }

  const versionDsl = (c: NodeCase): string => {
    let text = c.text ?? c.record.text;
    if (c.demos?.length) {
      if ((c.demoMode ?? 'block') !== 'block') throw new DifyError('DIFY_UNSUPPORTED', `Demos as message pairs cannot be written into ${c.record.id} on Dify; run with demos as a block, or evidence.runtime: model.`);
      text = `${text}\n\n${demoBlock(c.demos)}`;
    }
    let v = versions.get(text);
    if (v === undefined) {
      v = text === c.record.text ? o.dsl : replacePrompts(doc, [{ id: c.record.id, text }], { file: o.file, verify: true });
      versions.set(text, v);
    }
    return v;
  };

  const copyOf = (dsl: string, sha: string): Promise<TempApp> => {
    let p = copies.get(sha);
    if (!p) {
      // Not given the run's signal: a copy Dify made must be known to be deleted, even after a cancel.
      p = (async () => {
        if (o.cleanLeftovers !== false) {
          leftovers ??= deleteLeftovers(client, { before: startedAt }).then(
            (ids) => ids.length && o.log?.(`Deleted ${ids.length} temporary app(s) left on ${client.server} by an earlier run.`),
            (e: unknown) => o.log?.(`Could not look for temporary apps of earlier runs on ${client.server}: ${String((e as Error)?.message ?? e)}`),
          );
          await leftovers;
        }
        const app = await createTempApp(client, dsl, { name: tempAppName(appName, sha), marker: { runId, host: os.hostname(), pid: process.pid, at: now() } });
        made.push(app);
        serverVersion ??= app.serverDslVersion;
        o.log?.(`Made the temporary app "${app.name}" (${app.id}) on ${client.server}.`);
        return app;
      })();
      copies.set(sha, p);
      p.catch(() => copies.delete(sha));
    }
    return p;
  };

  const reserveCall = (what: string) => {
    const max = o.budget?.maxCalls;
    const used = (o.llm?.spent?.().calls ?? 0) + sent;
    if (max !== undefined && used + 1 > max) {
      throw new LlmError('LLM_BUDGET_EXCEEDED', `Budget exceeded: the run may make at most ${max} call(s) (draft runs on Dify count as calls) and ${used} are used or under way; ${what} was not sent. ${raiseHint('calls', o.budget?.origin)}`);
    }
    sent += 1;
    o.llm?.chargeBudget?.({ calls: 1, tokens: 0, costUsd: 0 });
  };

  const responseOf = (a: CachedAnswer, cached: boolean): ChatResponse => ({
    text: a.output,
    finishReason: a.finishReason ?? 'stop',
    usage: cached ? { promptTokens: 0, completionTokens: 0, totalTokens: 0 } : { promptTokens: a.promptTokens, completionTokens: a.completionTokens, totalTokens: a.promptTokens + a.completionTokens },
    model: `dify:${a.app}`,
    cached,
    costUsd: 0,
  });
  const answerOf = (a: CachedAnswer, cached: boolean): NodeAnswer => ({ output: a.output, final: a.final, truncated: a.finishReason === 'length', cached, response: responseOf(a, cached) });

  async function runOnce(c: NodeCase, opts: NodeRunOptions, dsl: string, sha: string, key: string): Promise<NodeAnswer> {
    const nodeId = c.record.nodeId;
    const whole = wholeRunInputs(c.example, startIds);
    const release = await limiter.acquire(opts.signal);
    try {
      if (closed) throw new CancelledError('The runs on Dify were stopped.');
      const app = await copyOf(dsl, sha);
      if (opts.signal?.aborted) throw new CancelledError('The evaluation was cancelled.');
      reserveCall(`the draft run of ${c.record.id} on case ${c.example.id}`);
      let answer: CachedAnswer;
      if (whole) {
        const run = await client.runDraftWorkflow(app.id, { inputs: whole.inputs, query: whole.query, mode: mode as 'workflow' | 'advanced-chat' }, { signal: opts.signal });
        const fin = nodeFinished(run.events, nodeId);
        if (!fin) throw new DifyError('DIFY_RUN_FAILED', `The draft run of "${app.name}" on case ${c.example.id} ${run.error ? `failed: ${run.error}` : `never finished node ${nodeId}`} (prompt ${c.record.id}).`);
        if (fin.status !== 'succeeded' && fin.status !== 'exception') throw new DifyError('DIFY_RUN_FAILED', `Node ${nodeId} of "${app.name}" ${fin.status} on case ${c.example.id}: ${fin.error ?? run.error ?? 'no reason given'} (prompt ${c.record.id}).`);
        const u = nodeUsage(fin.outputs, fin.process_data);
        answer = { output: nodeOutputText(fin.node_type ?? nodeType(nodeId), fin.outputs), final: finalOutput(run), finishReason: u.finishReason, promptTokens: u.promptTokens, completionTokens: u.completionTokens, app: app.name };
      } else {
        const ex = await client.runDraftNode(app.id, nodeId, nodeRunInputs(c.example), opts.signal);
        if (ex.status !== 'succeeded' && ex.status !== 'exception') throw new DifyError('DIFY_RUN_FAILED', `Node ${nodeId} of "${app.name}", run alone on case ${c.example.id}, ${ex.status}: ${ex.error ?? 'no reason given'} (prompt ${c.record.id}).`);
        const u = nodeUsage(ex.outputs, ex.process_data);
        answer = { output: nodeOutputText(ex.node_type ?? nodeType(nodeId), ex.outputs), finishReason: u.finishReason, promptTokens: u.promptTokens, completionTokens: u.completionTokens, app: app.name };
      }
      if (cache) await cache.set(key, answer).catch((e: unknown) => o.log?.(`Could not write the Dify answer cache: ${String(e)}`));
      return answerOf(answer, false);
    } catch (e) {
      if (isAbortError(e) && !(e instanceof CancelledError)) throw new CancelledError('The evaluation was cancelled.');
      throw e;
    } finally {
      release();
    }
  }

  return {
    source: 'dify',
    get copies() {
      return made;
    },
    get sent() {
      return sent;
    },
    async run(c, opts = {}) {
      if (closed) throw new CancelledError('The runs on Dify were stopped.');
      if (opts.signal?.aborted) throw new CancelledError('The evaluation was cancelled.');
      const dsl = versionDsl(c);
      const sha = sha256(dsl);
      const how = wholeRunInputs(c.example, startIds) ? 'workflow' : 'node';
      const key = hashKey({ kind: 'dify-node', v: 1, server: client.server, dslSha256: sha, nodeId: c.record.nodeId, promptId: c.record.id, how, vars: c.example.vars });
      const hit = cache ? await cache.get(key).catch(() => undefined) : undefined;
      if (hit) return answerOf(hit, true);
      let f = flights.get(key);
      if (!f) {
        f = runOnce(c, opts, dsl, sha, key);
        flights.set(key, f);
        void f.then(
          () => flights.delete(key),
          () => flights.delete(key),
        );
      }
      return f;
    },
    describe(): RuntimeInfo {
      const version = [serverVersion ? `server DSL ${serverVersion}` : '', exportVersion ? `export DSL ${exportVersion}` : ''].filter(Boolean).join(', ');
      return { source: 'dify', server: client.server, ...(version ? { version } : {}), apps: made.map((a) => `${a.name} (${a.id})`) };
    },
    async close() {
      closed = true;
      const deleted: string[] = [];
      const failed: Array<{ id: string; message: string }> = [];
      const all = await Promise.allSettled([...copies.values()]);
      for (const r of all) {
        if (r.status !== 'fulfilled') continue;
        try {
          await client.deleteApp(r.value.id);
          deleted.push(r.value.id);
        } catch (e) {
          if (e instanceof DifyError && e.status === 404) deleted.push(r.value.id);
          else failed.push({ id: r.value.id, message: String((e as Error)?.message ?? e) });
        }
      }
      if (deleted.length) o.log?.(`Deleted ${deleted.length} temporary app(s) on ${client.server}.`);
      for (const f of failed) o.log?.(`Could not delete the temporary app ${f.id} on ${client.server} (the next run deletes it): ${f.message}`);
      markRunLive(runId, false);
      return { deleted, failed };
    },
  };
}
