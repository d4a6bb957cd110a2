import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DifyClient, loginWithPassword } from '../../../src/core/dify';
import { createDifyRunner } from '../../../src/core/dify/runner';
import { TEMP_NAME_PREFIX, markerText, parseMarker } from '../../../src/core/dify/tempApps';
import { parseDify } from '../../../src/core/dsl';
import type { PromptRecord } from '../../../src/core/dsl/types';
import { CancelledError, DifyError, LlmError } from '../../../src/core/errors';
import type { Example } from '../../../src/core/runtime/types';
import { FAKE_USER, startFakeDify, type FakeDify } from '../../support/fakeDify';
import { LLM_ID, START_ID, promptAwareOutputs, runtimeAppDsl } from '../../support/fakeDifyRuntime';

/**
 * The Dify node runner against the fake Dify (test/support/fakeDify.ts, written from
 * langgenius/dify's source). What each step relies on:
 * - copies: POST /console/api/apps/imports without app_id, with name and description
 *   (api/controllers/console/app/app_import.py AppImportApi; api/services/entities/dsl_entities.py AppImportParams);
 * - runs: POST …/workflows/draft/run and …/advanced-chat/workflows/draft/run, SSE events
 *   workflow_started, node_started, node_finished, message, message_end, workflow_finished
 *   (api/controllers/console/app/workflow.py; api/core/app/apps/*\/generate_task_pipeline.py);
 * - single-node runs: POST …/workflows/draft/nodes/{node_id}/run with `#selector#` inputs
 *   (DraftWorkflowNodeRunApi; api/core/workflow/workflow_entry.py mapping_user_inputs_to_variable_pool);
 * - deletes: DELETE /console/api/apps/{id} → 204 (api/controllers/console/app/app.py AppApi.delete);
 * - leftovers: GET /console/api/apps?name= lists description (api/fields/app_fields.py).
 */

const CURRENT = 'You answer support questions. Answer plainly.';
const CANDIDATE = 'You answer support questions. Answer in UPPERCASE.';

function ex(id: string, question: string): Example {
  return { id, vars: { [`${START_ID}.question`]: question }, source: { file: 'cases.jsonl', line: 1 } };
}

describe('Dify runtime: the node runner on temporary app copies', function () {
  this.timeout(20000);
  let f: FakeDify;
  let client: DifyClient;
  let dsl: string;
  let record: PromptRecord;
  let userAppId: string;
  let cacheDir: string;

  async function setup(opts: Parameters<typeof startFakeDify>[0] = {}, mode: 'workflow' | 'advanced-chat' = 'workflow') {
    f = await startFakeDify({ nodeOutputs: promptAwareOutputs, ...opts });
    const userApp = f.addApp({ name: 'Support Flow', mode, dsl: runtimeAppDsl(CURRENT, mode) });
    userAppId = userApp.id;
    dsl = userApp.dsl;
    const doc = parseDify(dsl);
    record = doc.prompts.find((p) => p.nodeId === LLM_ID && p.role === 'system')!;
    assert.ok(record, 'the llm system prompt is extracted');
    client = new DifyClient(await loginWithPassword({ server: f.url, email: FAKE_USER.email, password: FAKE_USER.password }));
    cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'difyrt-'));
  }
  const tmpApps = () => [...f.apps.values()].filter((a) => a.name.startsWith(TEMP_NAME_PREFIX));

  afterEach(async () => {
    await f?.close();
    if (cacheDir) await fs.rm(cacheDir, { recursive: true, force: true });
  });

  it('answers each version from its own copy (node_finished of the prompt\'s node, the final output beside it) and deletes both copies', async () => {
    await setup();
    const userDslBefore = f.apps.get(userAppId)!.dsl;
    const r = createDifyRunner({ client, dsl, cacheDir });
    const a = await r.run({ record, example: ex('c1', 'where is my order?') });
    const b = await r.run({ record, text: CANDIDATE, example: ex('c1', 'where is my order?') });
    assert.equal(a.output, 'Question: where is my order?');
    assert.equal(b.output, 'QUESTION: WHERE IS MY ORDER?');
    assert.equal(b.final, 'QUESTION: WHERE IS MY ORDER?');
    assert.equal(a.response?.usage.completionTokens, a.output.length, 'Dify\'s own token counts');
    assert.equal(r.copies.length, 2);
    const copies = tmpApps();
    assert.equal(copies.length, 2);
    for (const c of copies) {
      assert.match(c.name, /^\[promptopt tmp\] Support Flow [0-9a-f]{8}$/);
      assert.equal(parseMarker(c.description)?.pid, process.pid);
    }
    // Each copy holds its version; the user's app is never imported over or run.
    assert.ok(copies.some((c) => c.dsl.includes('UPPERCASE')) && copies.some((c) => !c.dsl.includes('UPPERCASE')));
    assert.equal(f.apps.get(userAppId)!.dsl, userDslBefore);
    assert.ok(!f.requests.some((q) => q.path.includes(userAppId)));
    assert.ok(!f.requests.some((q) => q.path === '/console/api/apps/imports' && q.method === 'POST' && q.query.app_id));
    const info = r.describe();
    assert.equal(info.source, 'dify');
    assert.equal(info.server, f.url);
    assert.match(info.version ?? '', /server DSL 0\.3\.0/);
    assert.equal(info.apps.length, 2);
    const closed = await r.close();
    assert.equal(closed.deleted.length, 2);
    assert.equal(tmpApps().length, 0);
    assert.ok(f.apps.has(userAppId), 'the user\'s app stays');
    await assert.rejects(r.run({ record, example: ex('c2', 'x') }), CancelledError);
  });

  it('a cache hit sends nothing to Dify and makes no copy', async () => {
    await setup();
    const r1 = createDifyRunner({ client, dsl, cacheDir });
    await r1.run({ record, text: CANDIDATE, example: ex('c1', 'hello') });
    await r1.close();
    const before = f.requests.length;
    const r2 = createDifyRunner({ client, dsl, cacheDir });
    const again = await r2.run({ record, text: CANDIDATE, example: ex('c1', 'hello') });
    assert.equal(again.output, 'QUESTION: HELLO');
    assert.equal(again.cached, true);
    assert.equal(again.response?.cached, true);
    assert.equal(r2.sent, 0);
    assert.equal(r2.copies.length, 0);
    await r2.close();
    assert.equal(f.requests.length, before, 'no request at all');
    // Another case, or the other version, is not a hit.
    const r3 = createDifyRunner({ client, dsl, cacheDir });
    assert.equal((await r3.run({ record, example: ex('c1', 'hello') })).cached, false);
    await r3.close();
  });

  it('deletes the copies a crashed run left (found by the marker), keeps those of live runs, never touches other apps', async () => {
    await setup();
    const old = Date.now() - 3600_000;
    const crashed = f.addApp({ name: `${TEMP_NAME_PREFIX} Support Flow deadbeef`, mode: 'workflow', dsl });
    crashed.description = markerText({ runId: 'run-crashed', host: 'another-host', pid: 4242, at: old });
    const noMarker = f.addApp({ name: `${TEMP_NAME_PREFIX} lookalike`, mode: 'workflow', dsl });
    noMarker.description = 'made by hand';
    const other = f.addApp({ name: 'My other app', mode: 'workflow', dsl });
    other.description = markerText({ runId: 'run-x', host: 'another-host', pid: 1, at: old });
    // A run still going in this process (started before ours): its copies stay.
    const live = createDifyRunner({ client, dsl, cacheDir: undefined });
    await live.run({ record, example: ex('c0', 'first') });
    const liveCopy = live.copies[0]!.id;
    await new Promise((r) => setTimeout(r, 5));
    const r = createDifyRunner({ client, dsl });
    await r.run({ record, text: CANDIDATE, example: ex('c1', 'hi') });
    assert.ok(!f.apps.has(crashed.id), 'the crashed run\'s copy is deleted');
    assert.ok(f.apps.has(noMarker.id) && f.apps.has(other.id), 'apps without the marker, or without the prefix, stay');
    assert.ok(f.apps.has(liveCopy), 'a live run\'s copy stays');
    await r.close();
    await live.close();
    assert.ok(!f.apps.has(liveCopy));
  });

  it('cancel halfway: the run stops and close deletes its copies', async () => {
    await setup({ nodeDelayMs: 150 });
    const r = createDifyRunner({ client, dsl, cacheDir });
    const ac = new AbortController();
    const p = Promise.all([r.run({ record, example: ex('c1', 'a') }, { signal: ac.signal }), r.run({ record, text: CANDIDATE, example: ex('c1', 'a') }, { signal: ac.signal })]);
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(tmpApps().length >= 1, 'copies were made');
    ac.abort();
    await assert.rejects(p, CancelledError);
    await r.close();
    assert.equal(tmpApps().length, 0);
    // Nothing half-done was cached.
    const r2 = createDifyRunner({ client, dsl, cacheDir });
    assert.equal((await r2.run({ record, example: ex('c1', 'a') })).cached, false);
    await r2.close();
  });

  it('a failed node is that case\'s error (DIFY_RUN_FAILED, Dify\'s message); close still deletes the copy', async () => {
    await setup();
    const r = createDifyRunner({ client, dsl, cacheDir });
    await assert.rejects(r.run({ record, text: 'FAIL on purpose', example: ex('c1', 'a') }), (e: unknown) => e instanceof DifyError && e.code === 'DIFY_RUN_FAILED' && /refused \(scripted\)/.test(e.message) && e.message.includes(record.id));
    assert.equal(tmpApps().length, 1);
    await r.close();
    assert.equal(tmpApps().length, 0);
  });

  it('a refused copy (import failed) throws DIFY_IMPORT_FAILED and leaves nothing', async () => {
    await setup({ dslVersion: '0.1.0' });
    // The fake's server is older than the file's DSL: pending, confirmed, completed. A file Dify cannot read fails.
    const r = createDifyRunner({ client, dsl: dsl.replace(/^version: .*$/m, "version: 'x.y'") });
    await assert.rejects(r.run({ record, example: ex('c1', 'a') }), (e: unknown) => e instanceof DifyError && e.code === 'DIFY_IMPORT_FAILED');
    await r.close();
    assert.equal(tmpApps().length, 0);
  });

  it('runs the node alone when the case gives the node\'s inputs directly', async () => {
    await setup();
    const r = createDifyRunner({ client, dsl, cacheDir });
    const e: Example = { id: 'n1', vars: { [`${START_ID}.question`]: 'refund?', context: 'Refunds take 5 days.' }, source: { file: 'c', line: 1 } };
    const a = await r.run({ record, text: CANDIDATE, example: e });
    assert.equal(a.output, 'QUESTION: REFUND?');
    assert.equal(a.final, undefined);
    assert.ok(f.requests.some((q) => q.method === 'POST' && q.path.endsWith(`/workflows/draft/nodes/${LLM_ID}/run`)));
    assert.ok(!f.requests.some((q) => q.path.endsWith('/workflows/draft/run')));
    await r.close();
  });

  it('a chatflow runs with the query; the final output is the streamed answer', async () => {
    await setup({}, 'advanced-chat');
    const r = createDifyRunner({ client, dsl, cacheDir });
    const a = await r.run({ record, text: CANDIDATE, example: { id: 'q1', vars: { 'sys.query': 'can I pay by card?' }, source: { file: 'c', line: 1 } } });
    assert.equal(a.output, 'CAN I PAY BY CARD?');
    assert.equal(a.final, 'CAN I PAY BY CARD?');
    assert.ok(f.requests.some((q) => q.path.endsWith('/advanced-chat/workflows/draft/run')));
    await r.close();
  });

  it('counts runs against the budget\'s calls and keeps at most `concurrency` runs on Dify at once', async () => {
    await setup({ nodeDelayMs: 20 });
    const charged: number[] = [];
    const llm = { spent: () => ({ calls: 1, tokens: 0, costUsd: 0 }), chargeBudget: (s: { calls: number }) => charged.push(s.calls) } as never;
    const r = createDifyRunner({ client, dsl, llm, budget: { maxCalls: 4 }, concurrency: 2 });
    const runs = ['a', 'b', 'c', 'd'].map((q) => r.run({ record, text: CANDIDATE, example: ex(q, q) }).then(
      (x) => x.output,
      (e: unknown) => e,
    ));
    const out = await Promise.all(runs);
    // 1 call already spent by the model client + 3 runs = 4; the fourth run is refused before it is sent.
    assert.equal(out.filter((o) => typeof o === 'string').length, 3);
    const refused = out.find((o) => o instanceof LlmError) as LlmError;
    assert.equal(refused?.code, 'LLM_BUDGET_EXCEEDED');
    assert.match(refused.message, /draft runs on Dify count as calls/);
    assert.equal(charged.length, 3);
    assert.equal(f.runStats.maxActive, 2, 'at most 2 at once, and 2 did run together');
    assert.equal(f.runStats.runs, 3);
    await r.close();
  });

  it('refuses apps that have no workflow (chat, completion, agent): no copy is made', async () => {
    await setup();
    const chat = f.addApp({ name: 'Plain chat', mode: 'chat' });
    assert.throws(() => createDifyRunner({ client, dsl: chat.dsl }), (e: unknown) => e instanceof DifyError && e.code === 'DIFY_UNSUPPORTED');
    assert.equal(tmpApps().length, 0);
  });
});
