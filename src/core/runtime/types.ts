/** What a node runs on: one example (a case: values for the prompt's variables, what a good answer is) and few-shot demos. */

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

/** A few-shot demonstration: an input as the user would send it and the expected answer. */
export interface Demo {
  /** Id of the example it was taken from. */
  exampleId: string;
  input: string;
  output: string;
}

/** How demos are placed in the prompt. */
export type DemoMode = 'block' | 'pairs';

