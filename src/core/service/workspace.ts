import * as path from 'node:path';
import { DEFAULT_CONFIG, parseConfigFile, resolveConfig, type ConfigOverrides, type EngineConfig } from '../engine/config';
import { ConfigError } from '../errors';
import type { StrategyName } from '../strategies/types';
import { optimizerDir } from '../storage/workspace';
import { readRegularText } from '../util/safeRead';
import { fsCauseText } from '../util/fsCause';

export const OPTIMIZER_DIR = '.optimizer';
export const CONFIG_FILE = 'config.yaml';

/** `<root>/.optimizer/config.yaml` as overrides, or undefined when there is none. */
export async function readWorkspaceConfig(root: string): Promise<ConfigOverrides | undefined> {
  const file = path.join(optimizerDir(root), CONFIG_FILE);
  let text: string;
  try {
    text = await readRegularText(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('CONFIG_INVALID', `cannot read: ${fsCauseText(e)}`, { file });
  }
  return parseConfigFile(text, path.relative(root, file) || file);
}

/** The strategies that run when a model is available and nobody chose any: the rules plus two LLM strategies. */
export const DEFAULT_LLM_STRATEGIES: readonly StrategyName[] = ['auto', 'llm_guided', 'hybrid'];

export interface LoadConfigOptions {
  /**
   * A model can be called (a key is set and, in the editor, the workspace is trusted). When no
   * preset, config file or flag chose the strategies, {@link DEFAULT_LLM_STRATEGIES} run instead
   * of the rule-only default.
   */
  modelAvailable?: boolean;
}

/** Defaults ← workspace file ← caller's overrides (settings, CLI flags), validated. */
export async function loadEngineConfig(
  root: string,
  overrides: readonly (ConfigOverrides | undefined)[] = [],
  opts: LoadConfigOptions = {},
): Promise<EngineConfig> {
  const file = await readWorkspaceConfig(root);
  const chosen = [file, ...overrides].some((o) => o?.strategies && o.strategies.length > 0);
  const base = opts.modelAvailable && !chosen ? { ...DEFAULT_CONFIG, strategies: [...DEFAULT_LLM_STRATEGIES] } : DEFAULT_CONFIG;
  return resolveConfig(base, file, ...overrides);
}

export function runsDir(root: string): string {
  return path.join(optimizerDir(root), 'runs');
}

export function llmCacheDir(root: string): string {
  return path.join(optimizerDir(root), 'cache', 'llm');
}
