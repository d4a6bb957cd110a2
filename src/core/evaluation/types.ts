/** Datasets, examples and evaluation results shared by `evaluation/` and `optimizers/`. */

/** Which split an example belongs to. */
export type SplitName = 'train' | 'validation';

/** Where an example came from (1-based line of its first line in the file). */
export interface ExampleSource {
  file: string;
  line: number;
}

/**
 * One dataset example: values for the prompt's variables and what a good answer is.
 *
 * `vars` keys are Dify selectors without the braces (`sys.query`, `1718246807593.text`,
 * `context`, `llm.context` for `{{@llm.context@}}`) or plain names (`query` for `{{query}}`,
 * jinja2 variable names).
 */
export interface Example {
  /** Unique within the dataset: the `id` field, or `<file name>:<line>`. */
  id: string;
  vars: Record<string, string>;
  /** Expected output (JSON values are kept as their JSON text). */
  expected?: string;
  /** Acceptable labels (any one counts as correct for label-aware metrics). */
  labels?: string[];
  /** Split forced by the user (`split` column/field); otherwise chosen by `splitDataset`. */
  split?: SplitName;
  source: ExampleSource;
}

export interface Dataset {
  /** The file it was read from (as given). */
  file: string;
  format: 'jsonl' | 'yaml' | 'csv';
  examples: Example[];
}

export interface DatasetSplit {
  train: Example[];
  validation: Example[];
  seed: number;
}

/** A few-shot demonstration: an input as the user would send it and the expected answer. */
export interface Demo {
  /** Id of the example it was taken from. */
  exampleId: string;
  input: string;
  output: string;
}

/** How demos are placed in the prompt. */
export type DemoMode = 'block' | 'pairs';

/** One metric's verdict on one output. */
export interface MetricScore {
  metric: string;
  /** 0..1 */
  score: number;
  weight: number;
  reason?: string;
  /** What went right or wrong, in words a reflection step can act on (see Feedback). */
  feedback?: string;
}

/**
 * A score with textual feedback on one example: what reflective optimizers (GEPA) learn from.
 * Every metric gives one: the built-in metrics say what was expected and what came back (and
 * why it failed, when they know); a judge (llm_judge, or a pairwise judge) gives its reason.
 * A metric returns it as `feedback` from `Metric.score`; `scoreOutput` fills in the default.
 */
export interface Feedback {
  exampleId: string;
  /** 0..1 */
  score: number;
  text: string;
}

/** The result of running one candidate on one example. */
export interface ExampleResult {
  exampleId: string;
  /** Weighted mean of `metrics`, 0..1; 0 when the call failed. */
  score: number;
  output: string;
  metrics: MetricScore[];
  /** Textual feedback on the answer (every metric's, one line each); absent in results logged before feedback existed. */
  feedback?: string;
  /** Set when the task call or a metric failed (code and message). */
  error?: { code: string; message: string };
  latencyMs: number;
  /** true when taken from the run log of an earlier, interrupted run (no call made). */
  reused?: boolean;
}
