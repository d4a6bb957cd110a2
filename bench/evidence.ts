/**
 * Benchmark: calls and wall time of `cases` + `eval` for one prompt with 12 test cases, through
 * the real LLM client (openai SDK over HTTP) against the loopback scripted evidence model with a
 * fixed 100 ms latency, at concurrency 4. Floor = calls × latency ÷ concurrency. Prints one JSON
 * line per figure: {name, value, unit, baseline, ratio}. No cache: every run makes every call.
 *
 * The server runs in a worker thread, as a remote endpoint would. Numbers come from a test
 * double, not a model: they are the mechanics' cost, never a model's quality.
 * Run: `npm run bench -- evidence` (or `node out/bench/evidence.js` after `npx tsc -p .`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { parseDify } from '../src/core/dsl';
import { gatherEvidence, promptContext } from '../src/core/evidence/gather';
import { createLlmClient } from '../src/core/llm/client';
import { HEURISTIC_NEUTRAL_WINNER, ORIGINAL_SYSTEM, SUPPORT_CHATFLOW, evidenceHandler } from '../test/support/evidenceModel';
import { startFakeOpenAI } from '../test/support/fakeOpenAI';

const CASES = 12;
const LATENCY_MS = 100;
const CONCURRENCY = 4;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function serveInWorker(): Promise<void> {
  const { handler } = evidenceHandler({ latencyMs: LATENCY_MS });
  const srv = await startFakeOpenAI({ handler });
  parentPort!.on('message', (m: string) => {
    if (m === 'stats') parentPort!.postMessage({ calls: srv.chatRequests().length });
    if (m === 'reset') {
      srv.reset();
      parentPort!.postMessage('ok');
    }
    if (m === 'close') void srv.close().then(() => parentPort!.postMessage('closed'));
  });
  parentPort!.postMessage({ url: srv.url });
}

async function main(): Promise<void> {
  const w = new Worker(__filename);
  const next = <T>() => new Promise<T>((resolve) => w.once('message', resolve));
  const ask = <T>(m: string) => {
    const p = next<T>();
    w.postMessage(m);
    return p;
  };
  const { url } = await next<{ url: string }>();
  const doc = parseDify(SUPPORT_CHATFLOW);
  const ctx = promptContext(doc, doc.prompts[0]!);
  const candidate = HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM);
  const rows: Array<{ wallMs: number; calls: number; casesMs: number; verdict: string }> = [];
  for (let run = 0; run < RUNS; run++) {
    await ask('reset');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-bench-evidence-'));
    try {
      const client = createLlmClient({ baseUrl: url, apiKey: 'bench', model: 'bench', concurrency: CONCURRENCY });
      const env = { root, workflowFile: path.join(root, 'support.yml'), client, count: CASES };
      const t0 = performance.now();
      // Cases are generated inside (the checklist is drawn meanwhile); timed apart as well.
      let casesMs = 0;
      const g = await gatherEvidence({ ...env, onProgress: (phase, done) => phase === 'cases' && done === 1 && (casesMs = performance.now() - t0) }, ctx, candidate);
      const wallMs = performance.now() - t0;
      const { calls } = await ask<{ calls: number }>('stats');
      rows.push({ wallMs, calls, casesMs, verdict: g.report.verdict });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  await ask('close');
  await w.terminate();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const calls = median(rows.map((r) => r.calls));
  const floor = (calls * LATENCY_MS) / CONCURRENCY;
  const wall = median(rows.map((r) => r.wallMs));
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ name: 'evidence cases+eval calls (12 cases)', value: calls, unit: 'calls', note: '2 case batches + 1 checklist + 24 task + 24 judge' });
  out({ name: 'evidence cases+eval wall time (12 cases, 100 ms latency, concurrency 4)', value: Math.round(wall), unit: 'ms', baseline: floor, ratio: Number((wall / floor).toFixed(3)), runs: RUNS, verdicts: [...new Set(rows.map((r) => r.verdict))] });
  out({ name: 'evidence cases generation wall time', value: Math.round(median(rows.map((r) => r.casesMs))), unit: 'ms', baseline: LATENCY_MS, ratio: Number((median(rows.map((r) => r.casesMs)) / LATENCY_MS).toFixed(3)) });
}

if (isMainThread) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
} else void serveInWorker();
