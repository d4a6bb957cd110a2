import Ajv from 'ajv';
import * as z from 'zod';
import { DatasetError, isOptimizerError } from '../errors';
import { chatJson } from '../llm/json';
import type { LlmClient } from '../llm/types';
import type { Example, ExampleResult, MetricScore } from './types';

/** What a metric may use besides the output and the example. */
export interface MetricContext {
  /** Needed by llm_judge and embedding. */
  client?: LlmClient;
  /** Model for llm_judge (default: the client's). */
  judgeModel?: string;
  signal?: AbortSignal;
  /** The candidate whose output is scored (set by runExample): a relative metric (the pairwise judge) compares it with the baseline's. */
  candidate?: { text: string; demos: boolean };
}

/** A scoring function: 0..1 for one output. */
export interface Metric {
  readonly name: string;
  readonly weight: number;
  /** LLM calls one score makes at most (llm_judge 1, the pairwise judge 2); none when absent. Budgets and estimates count them. */
  readonly calls?: number;
  /** Settings a recorded score depends on besides name and weight (e.g. the judge's model): part of a run's result keys. */
  readonly settings?: string;
  /** `feedback`: words on what was right or wrong (default: expected vs. answer, see defaultFeedback). */
  score(output: string, example: Example, ctx: MetricContext): Promise<{ score: number; reason?: string; feedback?: string }>;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The feedback of a metric that gives none: "Correct: …" at full score, else "Wrong: expected
 * "<expected>"; the answer was "<output>"" plus the metric's reason when it has one (a judge's
 * reason is its feedback).
 */
export function defaultFeedback(score: number, output: string, example: Example, reason?: string): string {
  const want = example.expected ?? example.labels?.join('" or "');
  const why = reason ? ` (${reason})` : '';
  if (score >= 1) return `Correct: the answer${want !== undefined ? ` matches "${clip(want, 200)}"` : ' passes'}${why}.`;
  const head = score > 0 ? `Partly right (score ${score.toFixed(2)})` : 'Wrong';
  return `${head}: ${want !== undefined ? `expected "${clip(want, 200)}"; ` : ''}the answer was "${clip(output.trim(), 300)}"${why}.`;
}

/** The feedback of a result: the one recorded with it, else built from its metrics (results logged before feedback existed). */
export function feedbackOf(result: ExampleResult, example: Example): string {
  if (result.feedback) return result.feedback;
  if (result.error) return `Wrong: the call failed (${result.error.code}: ${result.error.message}).`;
  return defaultFeedback(result.score, result.output, example, result.metrics.map((m) => m.reason).filter(Boolean).join('; ') || undefined);
}

/** Metric configuration (CLI `--metric`, or the `metrics` of an optimization). */
export const metricSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('exact'), weight: z.number().positive().optional() }),
  z.object({ type: z.literal('contains'), weight: z.number().positive().optional(), all: z.boolean().optional() }),
  z.object({ type: z.literal('regex'), weight: z.number().positive().optional(), pattern: z.string().optional(), flags: z.string().optional() }),
  z.object({ type: z.literal('json'), weight: z.number().positive().optional() }),
  z.object({ type: z.literal('json_schema'), weight: z.number().positive().optional(), schema: z.record(z.string(), z.unknown()) }),
  z.object({
    type: z.literal('numeric'),
    weight: z.number().positive().optional(),
    tolerance: z.number().nonnegative().optional(),
    relative: z.boolean().optional(),
  }),
  z.object({ type: z.literal('llm_judge'), weight: z.number().positive().optional(), rubric: z.string().min(1), model: z.string().optional() }),
  z.object({ type: z.literal('embedding'), weight: z.number().positive().optional(), threshold: z.number().min(-1).max(1).optional() }),
  /** The evidence judge against the baseline's answer (pairwise, both orders, plus the checklist): for unlabelled datasets; built by a training run. */
  z.object({ type: z.literal('judge'), weight: z.number().positive().optional(), model: z.string().optional() }),
]);
export type MetricSpec = z.infer<typeof metricSpecSchema>;
export type MetricType = MetricSpec['type'];

/** Lowercase, NFKC, collapsed whitespace, trimmed surrounding quotes and trailing punctuation. */
export function normalizeAnswer(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”‘’`]+|["'“”‘’`]+$/g, '')
    .replace(/[.!?。！？,，;；:：]+$/u, '')
    .trim();
}

/** Accepted answers of an example: `expected` and every label. */
function targets(example: Example): string[] {
  return [...(example.expected !== undefined ? [example.expected] : []), ...(example.labels ?? [])];
}

function needTargets(metric: string, example: Example): string[] {
  const t = targets(example);
  if (t.length === 0) {
    throw new DatasetError('DATASET_METRIC', `metric ${metric} needs "expected" or "labels" in example ${example.id}.`, example.source);
  }
  return t;
}

/** Strips a Markdown code fence around a JSON answer. */
function unfence(s: string): string {
  const m = /^\s*```[A-Za-z0-9_-]*\s*\n?([\s\S]*?)```\s*$/.exec(s);
  return (m ? m[1]! : s).trim();
}

function firstNumber(s: string): number | undefined {
  const m = /[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?/i.exec(s);
  return m ? Number(m[0].replace(/,/g, '')) : undefined;
}

/** Cosine similarity of two vectors (0 when either is zero). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

const judgeSchema = z.object({ score: z.number().min(0).max(1), reason: z.string() });

type Factory = (spec: MetricSpec) => Metric;

const ajv = new Ajv({ allErrors: false, strict: false });

/**
 * The metrics registry: type → factory. Extend with `registerMetric`.
 * - exact: normalized exact match against `expected` or any label
 * - contains: the output contains `expected`/a label (`all`: every label)
 * - regex: `pattern` (default: `expected` as a pattern) matches the output
 * - json: the output (optionally fenced) is valid JSON
 * - json_schema: valid JSON that matches `schema` (ajv)
 * - numeric: the first number in the output is within `tolerance` of `expected` (`relative`: a fraction of it)
 * - llm_judge: a model grades the output against `rubric`, answering {score 0..1, reason}
 * - embedding: cosine similarity of output and expected embeddings (`threshold`: 1/0 above/below)
 * - judge: the evidence judge against the baseline's answer, for unlabelled data (optimizers/judgeMetric.ts)
 */
export const metricRegistry = new Map<string, Factory>([
  [
    'exact',
    (spec) => ({
      name: 'exact',
      weight: spec.weight ?? 1,
      async score(output, ex) {
        const out = normalizeAnswer(output);
        const ok = needTargets('exact', ex).some((t) => normalizeAnswer(t) === out);
        return { score: ok ? 1 : 0 };
      },
    }),
  ],
  [
    'contains',
    (spec) => ({
      name: 'contains',
      weight: spec.weight ?? 1,
      async score(output, ex) {
        const out = normalizeAnswer(output);
        const t = needTargets('contains', ex).map(normalizeAnswer);
        const all = spec.type === 'contains' && spec.all === true;
        const ok = all ? t.every((x) => out.includes(x)) : t.some((x) => out.includes(x));
        return { score: ok ? 1 : 0 };
      },
    }),
  ],
  [
    'regex',
    (spec) => {
      const s = spec.type === 'regex' ? spec : undefined;
      let fixed: RegExp | undefined;
      if (s?.pattern) {
        try {
          fixed = new RegExp(s.pattern, s.flags);
        } catch (e) {
          throw new DatasetError('DATASET_METRIC', `metric regex: invalid pattern /${s.pattern}/ (${e instanceof Error ? e.message : String(e)}).`);
        }
      }
      return {
        name: 'regex',
        weight: spec.weight ?? 1,
        async score(output, ex) {
          let re = fixed;
          if (!re) {
            const p = needTargets('regex', ex)[0]!;
            try {
              re = new RegExp(p, s?.flags);
            } catch {
              throw new DatasetError('DATASET_METRIC', `metric regex: the expected value of example ${ex.id} is not a valid pattern.`, ex.source);
            }
          }
          return { score: re.test(output) ? 1 : 0 };
        },
      };
    },
  ],
  [
    'json',
    (spec) => ({
      name: 'json',
      weight: spec.weight ?? 1,
      async score(output) {
        try {
          JSON.parse(unfence(output));
          return { score: 1 };
        } catch (e) {
          return { score: 0, reason: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
        }
      },
    }),
  ],
  [
    'json_schema',
    (spec) => {
      if (spec.type !== 'json_schema') throw new RangeError('json_schema spec expected');
      let validate: ReturnType<typeof ajv.compile>;
      try {
        validate = ajv.compile(spec.schema);
      } catch (e) {
        throw new DatasetError('DATASET_METRIC', `metric json_schema: invalid JSON schema (${e instanceof Error ? e.message : String(e)}).`);
      }
      return {
        name: 'json_schema',
        weight: spec.weight ?? 1,
        async score(output) {
          let v: unknown;
          try {
            v = JSON.parse(unfence(output));
          } catch {
            return { score: 0, reason: 'not valid JSON' };
          }
          if (validate(v)) return { score: 1 };
          return { score: 0, reason: ajv.errorsText(validate.errors) };
        },
      };
    },
  ],
  [
    'numeric',
    (spec) => {
      const tol = spec.type === 'numeric' ? (spec.tolerance ?? 0) : 0;
      const rel = spec.type === 'numeric' && spec.relative === true;
      return {
        name: 'numeric',
        weight: spec.weight ?? 1,
        async score(output, ex) {
          const want = firstNumber(needTargets('numeric', ex)[0]!);
          if (want === undefined) throw new DatasetError('DATASET_METRIC', `metric numeric: the expected value of example ${ex.id} is not a number.`, ex.source);
          const got = firstNumber(output);
          if (got === undefined) return { score: 0, reason: 'no number in the output' };
          const limit = rel ? Math.abs(want) * tol : tol;
          return Math.abs(got - want) <= limit + 1e-12 ? { score: 1 } : { score: 0, reason: `${got} is not within ${limit} of ${want}` };
        },
      };
    },
  ],
  [
    'llm_judge',
    (spec) => {
      if (spec.type !== 'llm_judge') throw new RangeError('llm_judge spec expected');
      return {
        name: 'llm_judge',
        weight: spec.weight ?? 1,
        calls: 1,
        async score(output, ex, ctx) {
          if (!ctx.client) throw new DatasetError('DATASET_METRIC', 'metric llm_judge needs an LLM endpoint.');
          const ref = targets(ex);
          const { value } = await chatJson(
            ctx.client,
            {
              model: spec.model ?? ctx.judgeModel,
              temperature: 0,
              signal: ctx.signal,
              tag: 'metric:llm_judge',
              messages: [
                {
                  role: 'system',
                  content:
                    'You grade an answer against a rubric. Reply with a JSON object {"score": number between 0 and 1, "reason": short string}.',
                },
                {
                  role: 'user',
                  content: `Rubric:\n${spec.rubric}\n\nInput:\n${JSON.stringify(ex.vars)}\n\n${ref.length ? `Reference answer:\n${ref[0]}\n\n` : ''}Answer to grade:\n${output}`,
                },
              ],
            },
            judgeSchema,
          );
          const reason = value.reason.trim();
          const feedback = `The judge gave ${value.score.toFixed(2)} against the rubric${reason ? `: ${reason}` : ' (no reason given)'}${ref.length ? ` (reference answer: "${clip(ref[0]!, 200)}")` : ''}.`;
          return { score: value.score, reason, feedback };
        },
      };
    },
  ],
  [
    'judge',
    (spec) => ({
      name: 'judge',
      weight: spec.weight ?? 1,
      calls: 2,
      async score() {
        throw new DatasetError('DATASET_METRIC', 'metric judge compares each answer with the current prompt\'s answer and is built by a training run (promptopt train), not on its own.');
      },
    }),
  ],
  [
    'embedding',
    (spec) => ({
      name: 'embedding',
      weight: spec.weight ?? 1,
      async score(output, ex, ctx) {
        if (!ctx.client) throw new DatasetError('DATASET_METRIC', 'metric embedding needs an LLM endpoint.');
        const ref = needTargets('embedding', ex)[0]!;
        const [a, b] = await ctx.client.embed({ input: [output, ref], signal: ctx.signal });
        const sim = cosine(a ?? [], b ?? []);
        const th = spec.type === 'embedding' ? spec.threshold : undefined;
        return { score: th === undefined ? Math.max(0, sim) : sim >= th ? 1 : 0, reason: `cosine ${sim.toFixed(3)}` };
      },
    }),
  ],
]);

/** Adds (or replaces) a metric type in the registry. */
export function registerMetric(type: string, factory: Factory): void {
  metricRegistry.set(type, factory);
}

/** Builds a metric from its spec (validated with zod). Throws DATASET_METRIC on a bad spec. */
export function createMetric(spec: unknown): Metric {
  const parsed = metricSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new DatasetError('DATASET_METRIC', `invalid metric: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ')}.`);
  }
  const f = metricRegistry.get(parsed.data.type);
  if (!f) throw new DatasetError('DATASET_METRIC', `unknown metric "${parsed.data.type}".`);
  return f(parsed.data);
}

/**
 * Parses a CLI metric: `exact`, `contains:2` (weight 2), `regex=^\d+$`, `numeric=0.5` (tolerance),
 * `llm_judge=<rubric>`, `judge[=model]`, `embedding=0.8` (threshold), optionally `@weight` at the end (`exact@2`).
 */
export function parseMetricArg(arg: string): MetricSpec {
  let body = arg;
  let weight: number | undefined;
  const w = /@(\d+(?:\.\d+)?)$/.exec(body);
  if (w) {
    weight = Number(w[1]);
    body = body.slice(0, w.index);
  }
  const eq = body.indexOf('=');
  const type = (eq >= 0 ? body.slice(0, eq) : body).trim();
  const val = eq >= 0 ? body.slice(eq + 1) : undefined;
  const base: Record<string, unknown> = { type, ...(weight !== undefined ? { weight } : {}) };
  if (val !== undefined) {
    if (type === 'regex') base.pattern = val;
    else if (type === 'numeric') base.tolerance = Number(val);
    else if (type === 'llm_judge') base.rubric = val;
    else if (type === 'judge') base.model = val;
    else if (type === 'embedding') base.threshold = Number(val);
    else if (type === 'json_schema') {
      try {
        base.schema = JSON.parse(val) as unknown;
      } catch {
        throw new DatasetError('DATASET_METRIC', `metric json_schema: the schema is not valid JSON.`);
      }
    }
  }
  const parsed = metricSpecSchema.safeParse(base);
  if (!parsed.success) throw new DatasetError('DATASET_METRIC', `invalid metric "${arg}": ${parsed.error.issues.map((i) => `${i.path.join('.') || 'type'}: ${i.message}`).join('; ')}.`);
  return parsed.data;
}

/**
 * Scores one output with every metric; the total is the weighted mean. A metric that fails
 * with an LLM error scores 0 with the reason; dataset/metric configuration errors are thrown.
 */
export async function scoreOutput(metrics: Metric[], output: string, example: Example, ctx: MetricContext): Promise<{ score: number; metrics: MetricScore[]; feedback: string }> {
  const scores: MetricScore[] = [];
  for (const m of metrics) {
    try {
      const r = await m.score(output, example, ctx);
      const score = Math.min(1, Math.max(0, r.score));
      scores.push({ metric: m.name, score, weight: m.weight, ...(r.reason ? { reason: r.reason } : {}), feedback: r.feedback ?? defaultFeedback(score, output, example, r.reason) });
    } catch (e) {
      if (e instanceof DatasetError || (isOptimizerError(e) && e.family === 'cancelled')) throw e;
      if (isOptimizerError(e) && e.code === 'LLM_BUDGET_EXCEEDED') throw e;
      const reason = `metric failed: ${e instanceof Error ? e.message : String(e)}`;
      scores.push({ metric: m.name, score: 0, weight: m.weight, reason, feedback: `Not scored: ${reason}.` });
    }
  }
  const tw = scores.reduce((s, x) => s + x.weight, 0);
  const feedback = scores.length === 1 ? scores[0]!.feedback! : scores.map((x) => `${x.metric}: ${x.feedback}`).join('\n');
  return { score: tw ? scores.reduce((s, x) => s + x.score * x.weight, 0) / tw : 0, metrics: scores, feedback };
}
