import * as z from 'zod';
import { loadAll, YAMLException } from 'js-yaml';
import { ConfigError } from '../errors';
import type { StrategyName } from '../strategies/types';

export const RULE_STRATEGY_NAMES = ['clarity_focus', 'efficiency_focus', 'structure_focus', 'auto'] as const;
export const LLM_STRATEGY_NAMES = ['llm_guided', 'llm_clarity', 'llm_efficiency', 'hybrid'] as const;
export const STRATEGY_NAMES = [...RULE_STRATEGY_NAMES, ...LLM_STRATEGY_NAMES] as const;

export const StrategyNameSchema = z.enum(STRATEGY_NAMES);

export function isLlmStrategy(name: StrategyName): boolean {
  return (LLM_STRATEGY_NAMES as readonly string[]).includes(name);
}

/** Where a budget limit was set: `.optimizer/config.yaml`, a VS Code setting, or a CLI flag. */
export const BudgetSourceSchema = z.enum(['file', 'setting', 'flag']);
export type BudgetSource = z.infer<typeof BudgetSourceSchema>;

export const BudgetSchema = z
  .object({
    maxCalls: z.number().int().positive().optional(),
    maxTokens: z.number().int().positive().optional(),
    maxCostUsd: z.number().positive().optional(),
    /** Where each limit in force was set (absent: not known), so a budget error names that place. */
    origin: z
      .object({ calls: BudgetSourceSchema.optional(), tokens: BudgetSourceSchema.optional(), cost: BudgetSourceSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();

/** Model choice only: never the endpoint or the key (those come from the user's own settings, SecretStorage or env). */
export const ModelSchema = z
  .object({
    name: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    embeddingModel: z.string().min(1).optional(),
    /** Deadline of one LLM request, the whole answer included (default 60). */
    timeoutSeconds: z.number().positive().max(3600).optional(),
    /** Retries after a failed LLM request: timeouts, network errors, 408/409/429, 5xx (default 3). */
    maxRetries: z.number().int().min(0).max(10).optional(),
    /** Most MB of one LLM answer; a larger one is cut off (default 8). */
    maxResponseMb: z.number().positive().max(1024).optional(),
  })
  .strict();

/** USD per one million tokens of one model (the cost table's form). */
export const ModelPriceSchema = z
  .object({
    inputPerM: z.number().min(0),
    outputPerM: z.number().min(0),
  })
  .strict();

export const EVIDENCE_MODES = ['auto', 'off', 'required'] as const;
export type EvidenceMode = (typeof EVIDENCE_MODES)[number];

/**
 * The evidence gate for LLM proposals. `auto`: with a model, a proposal is kept only when its
 * runs on the prompt's test cases say it is better (when the cases cannot be run, the heuristic
 * decides and the result says so); `required`: kept only with that evidence; `off`: the
 * heuristic alone decides.
 */
export const EvidenceSchema = z
  .object({
    mode: z.enum(EVIDENCE_MODES).default('auto'),
    /** Test cases generated per prompt (once; reused after). */
    cases: z.number().int().min(2).max(100).default(12),
    /** Cases the sequence may grow to while the result is inconclusive (new ones generated unlike the earlier). */
    maxCases: z.number().int().min(2).max(200).default(48),
    /** Below this share of judged cases whose two orders agree, the verdict is "judge unreliable". */
    minConsistency: z.number().min(0).max(1).default(0.6),
    /** Model of the judge and of the case and checklist generators (default: the configured model). */
    judgeModel: z.string().min(1).optional(),
    /** Model that runs the prompt on the cases (default: the node's own model). */
    taskModel: z.string().min(1).optional(),
  })
  .strict();

export const DEFAULT_EVIDENCE = { mode: 'auto', cases: 12, maxCases: 48, minConsistency: 0.6 } as const satisfies z.input<typeof EvidenceSchema>;

export const EngineConfigSchema = z
  .object({
    strategies: z.array(StrategyNameSchema).min(1),
    /** Prompts whose overall score is at or above this are left alone (unless forced). */
    scoreThreshold: z.number().min(0).max(100),
    /** A step whose confidence is below this is not kept, and that strategy stops. */
    minConfidence: z.number().min(0).max(1),
    maxIterations: z.number().int().min(1).max(10),
    /** Prompts optimized at once (LLM requests are further limited by the client). */
    concurrency: z.number().int().min(1).max(32),
    /** Smallest overall-score gain that counts as an improvement. */
    minImprovement: z.number().min(0).max(100),
    budget: BudgetSchema.default({}),
    model: ModelSchema.default({}),
    /** Prices by model name (or name prefix), added to the built-in list prices for cost accounting and cost budgets. */
    pricing: z.record(z.string().min(1), ModelPriceSchema).default({}),
    evidence: EvidenceSchema.default({ ...DEFAULT_EVIDENCE }),
  })
  .strict();

export type EngineConfig = z.infer<typeof EngineConfigSchema>;

export const PRESET_NAMES = ['conservative', 'balanced', 'aggressive'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** dify_autoopt's presets; LLM strategies fall back to their rule counterparts when no key is set. */
export const PRESETS: Record<PresetName, EngineConfig> = {
  conservative: {
    strategies: ['clarity_focus'],
    scoreThreshold: 85,
    minConfidence: 0.8,
    maxIterations: 1,
    concurrency: 4,
    minImprovement: 1,
    budget: {},
    model: {},
    pricing: {},
    evidence: { ...DEFAULT_EVIDENCE },
  },
  balanced: {
    strategies: ['llm_guided', 'hybrid'],
    scoreThreshold: 80,
    minConfidence: 0.7,
    maxIterations: 3,
    concurrency: 4,
    minImprovement: 1,
    budget: {},
    model: {},
    pricing: {},
    evidence: { ...DEFAULT_EVIDENCE },
  },
  aggressive: {
    strategies: ['llm_guided', 'llm_clarity', 'hybrid'],
    scoreThreshold: 90,
    minConfidence: 0.6,
    maxIterations: 5,
    concurrency: 4,
    minImprovement: 0.5,
    budget: {},
    model: {},
    pricing: {},
    evidence: { ...DEFAULT_EVIDENCE },
  },
};

/** The default when nothing is configured: the embedded rule engine, no key needed. */
export const DEFAULT_CONFIG: EngineConfig = {
  strategies: ['auto', 'clarity_focus', 'efficiency_focus', 'structure_focus'],
  scoreThreshold: 80,
  minConfidence: 0.6,
  maxIterations: 3,
  concurrency: 4,
  minImprovement: 1,
  budget: {},
  model: {},
  pricing: {},
  evidence: { ...DEFAULT_EVIDENCE },
};

/** Keys that would let a cloned repository redirect requests or read a key: refused in config files. */
const FORBIDDEN_KEYS = /^(base_?url|api_?key|endpoint|url|headers?|key|secret|token|organization|proxy)$/i;

/** The file form: snake_case keys, an optional preset the rest overrides. */
const FileSchema = z
  .object({
    preset: z.enum(PRESET_NAMES).optional(),
    strategies: z.array(StrategyNameSchema).min(1).optional(),
    score_threshold: z.number().min(0).max(100).optional(),
    min_confidence: z.number().min(0).max(1).optional(),
    max_iterations: z.number().int().min(1).max(10).optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    min_improvement: z.number().min(0).max(100).optional(),
    budget: z
      .object({
        max_calls: z.number().int().positive().optional(),
        max_tokens: z.number().int().positive().optional(),
        max_cost_usd: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    model: z
      .object({
        name: z.string().min(1).optional(),
        temperature: z.number().min(0).max(2).optional(),
        embedding_model: z.string().min(1).optional(),
        timeout_seconds: z.number().positive().max(3600).optional(),
        max_retries: z.number().int().min(0).max(10).optional(),
        max_response_mb: z.number().positive().max(1024).optional(),
      })
      .strict()
      .optional(),
    /** `evidence: off`, or `evidence: {mode, cases, max_cases, min_consistency, judge_model, task_model}`. */
    evidence: z
      .union([
        z.enum(EVIDENCE_MODES),
        z
          .object({
            mode: z.enum(EVIDENCE_MODES).optional(),
            cases: z.number().int().min(2).max(100).optional(),
            max_cases: z.number().int().min(2).max(200).optional(),
            min_consistency: z.number().min(0).max(1).optional(),
            judge_model: z.string().min(1).optional(),
            task_model: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Model name (or name prefix) → USD per million tokens. */
    pricing: z
      .record(
        z.string().min(1),
        z
          .object({
            input_per_million: z.number().min(0),
            output_per_million: z.number().min(0),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type ConfigOverrides = Partial<Omit<EngineConfig, 'budget' | 'model' | 'pricing' | 'evidence'>> & {
  budget?: Partial<Omit<EngineConfig['budget'], 'origin'>>;
  /** Where this override's budget limits come from (named by a budget error). */
  budgetSource?: BudgetSource;
  evidence?: Partial<EngineConfig['evidence']>;
  model?: Partial<EngineConfig['model']>;
  /** Merged model by model onto the prices already configured. */
  pricing?: EngineConfig['pricing'];
};

/** Merges overrides onto a base config (undefined values do not override) and validates the result. */
export function resolveConfig(base: EngineConfig, ...overrides: (ConfigOverrides | undefined)[]): EngineConfig {
  let cfg: EngineConfig = { ...base, budget: { ...base.budget }, model: { ...base.model }, pricing: { ...base.pricing }, evidence: { ...DEFAULT_EVIDENCE, ...base.evidence } };
  for (const o of overrides) {
    if (!o) continue;
    const { budget, budgetSource, model, pricing, evidence, ...rest } = o;
    if (evidence) cfg.evidence = { ...cfg.evidence, ...definedOnly(evidence) };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (cfg as Record<string, unknown>)[k] = v;
    if (budget) cfg.budget = mergeBudget(cfg.budget, budget, budgetSource);
    if (model) cfg.model = { ...cfg.model, ...definedOnly(model) };
    if (pricing) cfg.pricing = { ...cfg.pricing, ...pricing };
  }
  const r = EngineConfigSchema.safeParse(cfg);
  if (!r.success) throw new ConfigError('CONFIG_INVALID', describeZodError(r.error));
  cfg = r.data;
  return cfg;
}

const BUDGET_KINDS = [
  ['maxCalls', 'calls'],
  ['maxTokens', 'tokens'],
  ['maxCostUsd', 'cost'],
] as const;

/** The limits of `over` replace those of `base`; each one it sets takes `source` as its origin (or none, when unknown). */
function mergeBudget(base: EngineConfig['budget'], over: NonNullable<ConfigOverrides['budget']>, source: BudgetSource | undefined): EngineConfig['budget'] {
  const out: EngineConfig['budget'] = { ...base, origin: { ...base.origin } };
  for (const [key, kind] of BUDGET_KINDS) {
    const v = over[key];
    if (v === undefined) continue;
    out[key] = v;
    if (source) out.origin![kind] = source;
    else delete out.origin![kind];
  }
  if (Object.keys(out.origin!).length === 0) delete out.origin;
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Reads `.optimizer/config.yaml` text. Endpoint, key and header settings are refused with
 * CONFIG_FORBIDDEN_KEY: a cloned repository must not be able to redirect requests.
 */
export function parseConfigFile(text: string, file = '.optimizer/config.yaml'): ConfigOverrides {
  let raw: unknown;
  try {
    // js-yaml (the DSL reader's parser, already loaded): duplicate keys are errors; few aliases.
    const docs = loadAll(text, { filename: file, maxAliases: 50, maxDepth: 20 });
    if (docs.length > 1) throw new ConfigError('CONFIG_INVALID', 'expected one YAML document, found several', { file });
    raw = docs[0] ?? {};
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof YAMLException) {
      throw new ConfigError('CONFIG_INVALID', `not valid YAML: ${e.reason || e.message.split('\n')[0]}`, {
        file,
        line: e.mark ? e.mark.line + 1 : undefined,
        column: e.mark ? e.mark.column + 1 : undefined,
      });
    }
    throw new ConfigError('CONFIG_INVALID', `cannot read: ${String(e)}`, { file });
  }
  if (raw === null) raw = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('CONFIG_INVALID', 'expected a mapping of settings at the top level', { file });
  }
  const forbidden = findForbidden(raw as Record<string, unknown>, []);
  if (forbidden) {
    throw new ConfigError(
      'CONFIG_FORBIDDEN_KEY',
      `'${forbidden}' is not allowed here: the endpoint, key and headers are taken only from your own settings or environment, never from a workspace file`,
      { file },
    );
  }
  const r = FileSchema.safeParse(raw);
  if (!r.success) throw new ConfigError('CONFIG_INVALID', describeZodError(r.error), { file });
  const f = r.data;
  const preset = f.preset ? PRESETS[f.preset] : undefined;
  return {
    ...(preset ? { ...preset } : {}),
    strategies: f.strategies ?? preset?.strategies,
    scoreThreshold: f.score_threshold ?? preset?.scoreThreshold,
    minConfidence: f.min_confidence ?? preset?.minConfidence,
    maxIterations: f.max_iterations ?? preset?.maxIterations,
    concurrency: f.concurrency ?? preset?.concurrency,
    minImprovement: f.min_improvement ?? preset?.minImprovement,
    budget: f.budget
      ? { maxCalls: f.budget.max_calls, maxTokens: f.budget.max_tokens, maxCostUsd: f.budget.max_cost_usd }
      : undefined,
    budgetSource: f.budget ? 'file' : undefined,
    model: f.model
      ? {
          name: f.model.name,
          temperature: f.model.temperature,
          embeddingModel: f.model.embedding_model,
          timeoutSeconds: f.model.timeout_seconds,
          maxRetries: f.model.max_retries,
          maxResponseMb: f.model.max_response_mb,
        }
      : undefined,
    evidence:
      typeof f.evidence === 'string'
        ? { mode: f.evidence }
        : f.evidence
          ? { mode: f.evidence.mode, cases: f.evidence.cases, maxCases: f.evidence.max_cases, minConsistency: f.evidence.min_consistency, judgeModel: f.evidence.judge_model, taskModel: f.evidence.task_model }
          : undefined,
    pricing: f.pricing
      ? Object.fromEntries(Object.entries(f.pricing).map(([m, p]) => [m, { inputPerM: p.input_per_million, outputPerM: p.output_per_million }]))
      : undefined,
  };
}

function findForbidden(o: Record<string, unknown>, path: string[]): string | undefined {
  for (const [k, v] of Object.entries(o)) {
    if (FORBIDDEN_KEYS.test(k)) return [...path, k].join('.');
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = findForbidden(v as Record<string, unknown>, [...path, k]);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** One line per problem, naming the setting: "max_iterations: Too big: expected number to be <=10". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const at = i.path.length ? i.path.join('.') : 'settings';
      return `${at}: ${i.message}`;
    })
    .join('; ');
}
