import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONFIG, parseConfigFile, resolveConfig, type ConfigOverrides, type EngineConfig } from '../engine/config';
import { ConfigError } from '../errors';

export const OPTIMIZER_DIR = '.optimizer';
export const CONFIG_FILE = 'config.yaml';

/** `<root>/.optimizer/config.yaml` as overrides, or undefined when there is none. */
export async function readWorkspaceConfig(root: string): Promise<ConfigOverrides | undefined> {
  const file = path.join(root, OPTIMIZER_DIR, CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('CONFIG_INVALID', `cannot read: ${(e as Error).message}`, { file });
  }
  return parseConfigFile(text, path.relative(root, file) || file);
}

/** Defaults ← workspace file ← caller's overrides (settings, CLI flags), validated. */
export async function loadEngineConfig(root: string, ...overrides: (ConfigOverrides | undefined)[]): Promise<EngineConfig> {
  return resolveConfig(DEFAULT_CONFIG, await readWorkspaceConfig(root), ...overrides);
}

export function runsDir(root: string): string {
  return path.join(root, OPTIMIZER_DIR, 'runs');
}

export function llmCacheDir(root: string): string {
  return path.join(root, OPTIMIZER_DIR, 'cache', 'llm');
}
