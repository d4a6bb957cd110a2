/** Command ids, context keys, view ids and setting keys: one place, so package.json and code agree. */
export const EXTENSION_ID = 'promptopt.prompt-optimizer-dify';

export const Commands = {
  analyzePrompts: 'promptOptimizer.analyzePrompts',
  showLog: 'promptOptimizer.showLog',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

export const ContextKeys = {
  /** true when the active editor holds a Dify app export (by content). */
  isDifyExport: 'promptOptimizer.isDifyExport',
} as const;

export const OUTPUT_CHANNEL_NAME = 'Prompt Optimizer';
