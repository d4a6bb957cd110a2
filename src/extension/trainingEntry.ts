/**
 * Entry of the lazily loaded bundle `dist/training.js`: datasets, metrics and the dataset
 * optimizers (COPRO, KNN, Ensemble), loaded only when "Optimize Prompt with Dataset…" runs.
 */
export { loadDataset } from '../core/evaluation/dataset';
export { nodeMessagesOf } from '../core/runtime/render';
export { nodeSpecFor, prepareTraining } from '../core/optimizers/training';
export { formatEstimate, formatReport, candidatePromptText } from '../core/optimizers/report';
