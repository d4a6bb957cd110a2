/** Datasets (JSONL/YAML/CSV), metrics, and running one example (through runtime/'s node runner). */
export * from './types';
export { loadDataset, parseDataset, splitDataset, seededRandom, checkDatasetCoversPrompt, type SplitOptions } from './dataset';
export {
  metricRegistry,
  registerMetric,
  createMetric,
  parseMetricArg,
  scoreOutput,
  defaultFeedback,
  feedbackOf,
  normalizeAnswer,
  cosine,
  metricSpecSchema,
  type Metric,
  type MetricContext,
  type MetricSpec,
  type MetricType,
} from './metrics';
export { runExample, meanScore, isFatal, assertMetrics, type RunTarget, type RunContext } from './run';
