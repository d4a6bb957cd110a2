/**
 * Benchmark: calls to reach a target validation score, for COPRO, GEPA and the Ensemble (COPRO +
 * KNN + GEPA), on the intent task of test/support/intentModel.ts in Dify's standard layout
 * (system prompt + user message with the start node's query), exact match, no budget.
 *
 * The task model is a TEST DOUBLE built so that feedback on failures helps (a reflection that
 * reads "expected billing; the answer was …" can name the rule; COPRO's proposer only adds
 * phrases it knows). The figures are scripted mechanics: how many calls each search needs on
 * this task, never real-model quality.
 *
 * Each seed draws a new train/validation split (8/8) and GEPA's minibatch order; the figure is
 * the median over seeds of the calls the run had made (task, proposal, reflection, embedding)
 * when a candidate first scored the target on validation. Baseline: COPRO's median in the
 * same run; ratio < 1 means fewer calls than COPRO. Seeds where the target was never reached
 * count as the run's total calls and are reported in `missed`.
 *
 * Run: `npm run bench -- optimizers` (after a build). BENCH_SEEDS (default 5), BENCH_TARGET (default 1).
 */
import { createMetric, parseDataset, splitDataset } from '../src/core/evaluation';
import type { NodeMessage } from '../src/core/runtime';
import { createLlmClient } from '../src/core/llm/client';
import { createOptimizer, tfidfEmbedder, type OptimizerReport } from '../src/core/optimizers';
import { startFakeOpenAI } from '../test/support/fakeOpenAI';
import { INTENT_BASE, INTENT_JSONL, INTENT_USER, intentHandler } from '../test/support/intentModel';
import { record } from '../test/unit/optimizers/helpers';

const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
const TARGET = Number(process.env.BENCH_TARGET ?? 1);
const MESSAGES: NodeMessage[] = [
  { role: 'system', text: INTENT_BASE },
  { role: 'user', text: INTENT_USER },
];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function callsToTarget(r: OptimizerReport): number | undefined {
  const all = [...r.candidates, ...(r.members ?? []).flatMap((m) => m.candidates)];
  const hits = all.filter((c) => (c.validationScore ?? -1) >= TARGET && c.validatedAtCalls !== undefined).map((c) => c.validatedAtCalls!);
  return hits.length ? Math.min(...hits) : undefined;
}

async function main(): Promise<void> {
  const srv = await startFakeOpenAI({ handler: intentHandler });
  const unsplit = parseDataset(INTENT_JSONL.replace(/,"split":"(train|validation)"/g, ''), { file: 'intent.jsonl' });
  const figures: Record<string, { calls: number[]; missed: number; totals: number[] }> = {};
  try {
    for (let seed = 0; seed < SEEDS; seed++) {
      const split = splitDataset(unsplit, { seed: 100 + seed, validationRatio: 0.5 });
      for (const name of ['copro', 'gepa', 'ensemble']) {
        srv.reset();
        const client = createLlmClient({ baseUrl: srv.url, apiKey: 'bench-key', model: 'fake-model', concurrency: 4, maxRetries: 0, timeoutMs: 10_000 });
        const opt = createOptimizer(name, { gepa: { seed } });
        const report = await opt.optimize({
          runId: `bench-${name}-${seed}`,
          record: record(INTENT_BASE),
          messages: MESSAGES,
          train: split.train,
          validation: split.validation,
          metrics: [createMetric({ type: 'exact' })],
          client,
          embedder: tfidfEmbedder(),
          concurrency: 4,
        });
        const total = srv.requests.length;
        const hit = callsToTarget(report);
        const f = (figures[name] ??= { calls: [], missed: 0, totals: [] });
        f.calls.push(hit ?? total);
        f.totals.push(total);
        if (hit === undefined) f.missed++;
      }
    }
  } finally {
    await srv.close();
  }
  const base = median(figures.copro!.calls);
  for (const [name, f] of Object.entries(figures)) {
    const value = median(f.calls);
    console.log(
      JSON.stringify({
        name: `calls_to_validation_${TARGET}_${name}_intent_task_median_of_${SEEDS}_seeds`,
        value,
        unit: 'calls',
        baseline: base,
        baselineName: 'copro',
        ratio: Math.round((value / base) * 1000) / 1000,
        missed: f.missed,
        totalCallsMedian: median(f.totals),
        note: 'scripted task model (test double): search mechanics, not real-model quality',
      }),
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
