/** Command ids, context keys, view ids and setting keys: one place, so package.json and code agree. */
export const EXTENSION_ID = 'promptopt.prompt-optimizer-dify';

export const Commands = {
  optimizePrompt: 'promptOptimizer.optimizePrompt',
  optimizeAllPrompts: 'promptOptimizer.optimizeAllPrompts',
  optimizeWithDataset: 'promptOptimizer.optimizeWithDataset',
  analyzePrompts: 'promptOptimizer.analyzePrompts',
  acceptProposal: 'promptOptimizer.acceptProposal',
  rejectProposal: 'promptOptimizer.rejectProposal',
  nextProposal: 'promptOptimizer.nextProposal',
  previousProposal: 'promptOptimizer.previousProposal',
  showInlineView: 'promptOptimizer.showInlineView',
  showSideBySideView: 'promptOptimizer.showSideBySideView',
  cancelOptimization: 'promptOptimizer.cancelOptimization',
  showVersions: 'promptOptimizer.showVersions',
  refreshVersions: 'promptOptimizer.refreshVersions',
  compareWithCurrent: 'promptOptimizer.compareWithCurrent',
  compareWithParent: 'promptOptimizer.compareWithParent',
  restoreVersion: 'promptOptimizer.restoreVersion',
  copyVersionText: 'promptOptimizer.copyVersionText',
  deleteVersion: 'promptOptimizer.deleteVersion',
  setApiKey: 'promptOptimizer.setApiKey',
  clearApiKey: 'promptOptimizer.clearApiKey',
  selectModel: 'promptOptimizer.selectModel',
  showLog: 'promptOptimizer.showLog',
  generateTestCases: 'promptOptimizer.generateTestCases',
  showEvidenceReport: 'promptOptimizer.showEvidenceReport',
  connectToDify: 'promptOptimizer.connectToDify',
  disconnectFromDify: 'promptOptimizer.disconnectFromDify',
  pullFromDify: 'promptOptimizer.pullFromDify',
  pushToDify: 'promptOptimizer.pushToDify',
  exportEvidenceReport: 'promptOptimizer.exportEvidenceReport',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

export const ContextKeys = {
  /** true when the active editor holds a Dify app export (by content). */
  isDifyExport: 'promptOptimizer.isDifyExport',
  /** true when the active editor is the proposed side of a proposal diff. */
  proposalActive: 'promptOptimizer.proposalActive',
  /** true when the active proposal diff's proposal has an evidence report. */
  proposalHasEvidence: 'promptOptimizer.proposalHasEvidence',
  /** true while proposals wait for review. */
  hasPendingProposals: 'promptOptimizer.hasPendingProposals',
  /** true while an optimization run is going on. */
  running: 'promptOptimizer.running',
  /** true when an API key is stored in SecretStorage (or set in the environment). */
  hasApiKey: 'promptOptimizer.hasApiKey',
} as const;

export const Views = {
  container: 'promptOptimizer',
  versions: 'promptOptimizer.versions',
} as const;

/** Setting keys (section `promptOptimizer`). */
export const Settings = {
  section: 'promptOptimizer',
  preset: 'preset',
  strategies: 'strategies',
  maxIterations: 'maxIterations',
  scoreThreshold: 'scoreThreshold',
  minConfidence: 'minConfidence',
  minImprovement: 'minImprovement',
  concurrency: 'concurrency',
  budgetMaxCalls: 'budget.maxCalls',
  budgetMaxTokens: 'budget.maxTokens',
  budgetMaxCostUsd: 'budget.maxCostUsd',
  baseUrl: 'llm.baseUrl',
  model: 'llm.model',
  llmConcurrency: 'llm.concurrency',
  llmTimeoutSeconds: 'llm.timeoutSeconds',
  llmMaxRetries: 'llm.maxRetries',
  llmMaxResponseMb: 'llm.maxResponseMb',
  /** Which model backend the LLM strategies use: auto | endpoint | editor (machine scope). */
  llmBackend: 'llm.backend',
  /** The editor model chosen in Select Model, `vscode:<vendor>/<id>` (machine scope). */
  editorModel: 'llm.editorModel',
  /** Extra loopback ports Select Model probes for local servers (machine scope). */
  localServerPorts: 'llm.localServerPorts',
  diagnosticsEnabled: 'diagnostics.enabled',
  codeLensEnabled: 'codeLens.enabled',
  evidenceMode: 'evidence.mode',
  evidenceCases: 'evidence.cases',
  evidenceMaxCases: 'evidence.maxCases',
  evidenceJudgeModel: 'evidence.judgeModel',
  evidenceRuntime: 'evidence.runtime',
  evidenceDifyConcurrency: 'evidence.difyConcurrency',
  includeLabels: 'includeLabels',
  /** Optimize runs whose estimate is above this many calls ask first (machine scope; 0: always). */
  confirmAboveCalls: 'confirmAboveCalls',
} as const;

/** Default of promptOptimizer.confirmAboveCalls: about two candidates through the sequential evidence gate at its upper bound (48 cases, ~205 calls each). */
export const DEFAULT_CONFIRM_ABOVE_CALLS = 450;

/** SecretStorage key of the API key. */
export const SECRET_API_KEY = 'promptOptimizer.llm.apiKey';

/** SecretStorage key of the Dify sign-ins (tokens per server; never a password). */
export const SECRET_DIFY_SESSIONS = 'promptOptimizer.dify.sessions';

/** URI scheme of the read-only prompt texts shown in diffs. */
export const PROMPT_SCHEME = 'promptopt';

/** URI scheme of a Dify package's app.yaml (`ifpkg:/abs/app.ifpkg`), and the view type of the editor that opens it. */
export const PACKAGE_SCHEME = 'ifpkg';
export const PACKAGE_EDITOR = 'promptOptimizer.package';

/** Source name of our diagnostics. */
export const DIAGNOSTIC_SOURCE = 'Prompt Optimizer';

export const OUTPUT_CHANNEL_NAME = 'Prompt Optimizer';
