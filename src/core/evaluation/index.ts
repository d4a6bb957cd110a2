/** Datasets (JSONL/YAML/CSV), rendering of Dify prompts for an example, metrics, and running one example. */
export * from './types';
export { loadDataset, parseDataset, splitDataset, seededRandom, checkDatasetCoversPrompt, type SplitOptions } from './dataset';
export { renderPrompt, nodeMessagesOf, substituteVariables, renderJinja, exampleInput, runtimeInput, exampleOutput, demoBlock, type NodeMessage, type RenderOptions } from './render';
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
export { buildTaskCall, nodeInput, demoModesFor, coveredSpec, requestParts, requestTexts, changedRequestParts, type PromptTarget } from './nodeRequest';
export { runExample, meanScore, isFatal, assertMetrics, type RunTarget, type RunContext } from './run';
