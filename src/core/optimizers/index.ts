/** Dataset optimizers (COPRO, KNN few-shot, GEPA, Ensemble) behind one interface. */

export * from './types';
export { CoproOptimizer, type CoproOptions } from './copro';
export { KnnOptimizer, coverDemos, nearestDemos, type KnnOptions } from './knn';
export { EnsembleOptimizer, type EnsembleOptions } from './ensemble';
export { planMemberBudgets, MemberClient, type MemberPlan } from './ensembleBudget';
export { GepaOptimizer, GEPA_AUTO, reflectionMessages, type GepaAuto, type GepaOptions } from './gepa';
export { paretoFront, pickFromFront, dominates, type FrontEntry } from './pareto';
export { CandidateManager, makeCandidate, candidateId, normalizeText } from './candidates';
export { MetricsTracker, type MetricsSummary, type StatSummary, type TrackedValue } from './metricsTracker';
export { RunStore, hashOf, type RunRecord, type RunHeader } from './runStore';
export { EmbeddingIndex, type IndexEntry } from './embeddingIndex';
export { endpointEmbedder, tfidfEmbedder, tfidfVectors, tokenize, type Embedder } from './vectors';
export { OptimizationSession, stripResults, runFingerprint, spentBy } from './session';
export { withBudgetNotes, lessReused, type ReuseCounts } from './estimate';
export { recordAccepted } from './accept';

export { createOptimizer, type OptimizerDeps } from './factory';
export { prepareTraining, chooseMetrics, chooseTaskModel, type MetricChoice, runInputsOf, resumeMismatch, type RunInputs, type TrainingRequest, type PreparedTraining, type TaskModelChoice } from './training';
export { formatEstimate, formatReport, candidatePromptText, taskModelText } from './report';
export { JudgeMetric, judgeSetupCalls, type JudgeMetricOptions } from './judgeMetric';
