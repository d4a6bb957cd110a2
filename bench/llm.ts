/**
 * Benchmark: wall time to evaluate 200 candidates through the real LLM client (openai SDK over
 * HTTP) against the loopback test server with a scripted 200 ms latency, at concurrency 8.
 * Floor = calls × latency / concurrency = 5 s. Prints one JSON line per figure:
 * {name, value, unit, baseline, ratio}; target ratio ≤ 1.15.
 *
 * The loopback server runs in a worker thread, as a remote endpoint would run elsewhere, so its
 * CPU time does not queue behind the client's on the same event loop.
 *
 * Run: `npm run bench:llm` (after `npx tsc -p .`). Numbers come from a test double, not a model.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as z from 'zod';
import { createLlmClient } from '../src/core/llm/client';
import { chatJson } from '../src/core/llm/json';
import { startFakeOpenAI } from '../test/support/fakeOpenAI';

const CALLS = 200;
const LATENCY_MS = 200;
const CONCURRENCY = 8;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface ServerHandle {
  url: string;
  stats(): Promise<{ calls: number; maxInFlight: number }>;
  close(): Promise<void>;
}

/** Worker side: serve until told to stop; answer stats requests. */
async function serveInWorker(): Promise<void> {
  const srv = await startFakeOpenAI({
    handler: (req) => ({ content: JSON.stringify({ score: (req.messages.at(-1)!.content.length % 10) / 10 }), latencyMs: LATENCY_MS }),
  });
  parentPort!.on('message', (m: string) => {
    if (m === 'stats') parentPort!.postMessage({ calls: srv.chatRequests().length, maxInFlight: srv.maxInFlight });
    if (m === 'close') void srv.close().then(() => parentPort!.postMessage('closed'));
  });
  parentPort!.postMessage({ url: srv.url });
}

function startServerWorker(): Promise<ServerHandle> {
  const w = new Worker(__filename, { workerData: { role: 'server' } });
  const next = <T>() => new Promise<T>((resolve) => w.once('message', resolve));
  return next<{ url: string }>().then(({ url }) => ({
    url,
    stats: () => {
      const p = next<{ calls: number; maxInFlight: number }>();
      w.postMessage('stats');
      return p;
    },
    close: async () => {
      const p = next<string>();
      w.postMessage('close');
      await p;
      await w.terminate();
    },
  }));
}

async function once(run: number): Promise<{ wallMs: number; maxInFlight: number }> {
  const srv = await startServerWorker();
  try {
    const client = createLlmClient({ baseUrl: srv.url, apiKey: 'bench-key', model: 'fake-model', concurrency: CONCURRENCY, timeoutMs: 10_000 });
    const schema = z.object({ score: z.number() });
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        chatJson(client, { messages: [{ role: 'user', content: `Score candidate ${run}-${i}: ${'x'.repeat(i % 7)}` }], noCache: true }, schema),
      ),
    );
    const wallMs = performance.now() - t0;
    const st = await srv.stats();
    if (st.calls !== CALLS) throw new Error(`expected ${CALLS} calls, got ${st.calls}`);
    return { wallMs, maxInFlight: st.maxInFlight };
  } finally {
    await srv.close();
  }
}

async function main(): Promise<void> {
  const floor = (CALLS * LATENCY_MS) / CONCURRENCY;
  const walls: number[] = [];
  let maxInFlight = 0;
  for (let r = 0; r < RUNS; r++) {
    const { wallMs, maxInFlight: m } = await once(r);
    walls.push(wallMs);
    maxInFlight = Math.max(maxInFlight, m);
  }
  walls.sort((a, b) => a - b);
  const median = walls[Math.floor(walls.length / 2)]!;
  const line = (name: string, value: number, unit: string, baseline: number) =>
    console.log(JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, baseline, ratio: Math.round((value / baseline) * 1000) / 1000 }));
  line(`llm_eval_${CALLS}_candidates_${LATENCY_MS}ms_c${CONCURRENCY}_wall_median_of_${RUNS}`, median, 'ms', floor);
  line('llm_eval_max_in_flight', maxInFlight, 'requests', CONCURRENCY);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else if ((workerData as { role?: string } | undefined)?.role === 'server') {
  void serveInWorker();
}
