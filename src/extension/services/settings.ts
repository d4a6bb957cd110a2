import * as vscode from 'vscode';
import { PRESETS, type ConfigOverrides, type PresetName } from '../../core/engine/config';
import { DEFAULT_BASE_URL, DEFAULT_MODEL } from '../../core/service/endpoint';
import type { StrategyName } from '../../core/strategies/types';
import { DEFAULT_CONFIRM_ABOVE_CALLS, Settings } from '../constants';
import { limitSettings } from '../llm/limitSettings';

function cfg(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(Settings.section, scope);
}

function num(c: vscode.WorkspaceConfiguration, key: string): number | undefined {
  const v = c.get<unknown>(key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The engine settings as overrides over `.optimizer/config.yaml` (unset settings — null or an
 * empty list — leave the workspace file or the built-in default in charge).
 */
export function engineOverrides(scope?: vscode.Uri): ConfigOverrides {
  const c = cfg(scope);
  const preset = c.get<string>(Settings.preset);
  const base: ConfigOverrides = preset && preset in PRESETS ? { ...PRESETS[preset as PresetName] } : {};
  const strategies = c.get<string[]>(Settings.strategies);
  return {
    ...base,
    strategies: strategies && strategies.length > 0 ? (strategies as StrategyName[]) : base.strategies,
    maxIterations: num(c, Settings.maxIterations) ?? base.maxIterations,
    scoreThreshold: num(c, Settings.scoreThreshold) ?? base.scoreThreshold,
    minConfidence: num(c, Settings.minConfidence) ?? base.minConfidence,
    minImprovement: num(c, Settings.minImprovement) ?? base.minImprovement,
    concurrency: num(c, Settings.concurrency) ?? base.concurrency,
    budgetSource: 'setting',
    budget: {
      maxCalls: num(c, Settings.budgetMaxCalls),
      maxTokens: num(c, Settings.budgetMaxTokens),
      maxCostUsd: num(c, Settings.budgetMaxCostUsd),
    },
    model: { name: c.get<string>(Settings.model) || undefined, ...limitSettings((k) => c.get<unknown>(k)) },
    evidence: {
      mode: ((m) => (m === 'auto' || m === 'off' || m === 'required' ? m : undefined))(c.get<string>(Settings.evidenceMode)),
      cases: num(c, Settings.evidenceCases),
      maxCases: num(c, Settings.evidenceMaxCases),
      judgeModel: c.get<string>(Settings.evidenceJudgeModel) || undefined,
    },
  };
}

/** Endpoint settings (the key is not a setting: see ApiKeyStore). */
export function endpointSettings(): { baseUrl: string; model: string; concurrency?: number } {
  const c = cfg();
  return {
    baseUrl: c.get<string>(Settings.baseUrl) || DEFAULT_BASE_URL,
    model: c.get<string>(Settings.model) || DEFAULT_MODEL,
    concurrency: num(c, Settings.llmConcurrency),
  };
}

export function diagnosticsEnabled(): boolean {
  return cfg().get<boolean>(Settings.diagnosticsEnabled, true);
}

export function codeLensEnabled(): boolean {
  return cfg().get<boolean>(Settings.codeLensEnabled, true);
}

/** Whether "Optimize Prompts in File" also rewrites labels (class names, parameter and output descriptions). */
export function includeLabels(scope?: vscode.Uri): boolean {
  return cfg(scope).get<boolean>(Settings.includeLabels) === true;
}

/** Optimize runs estimated above this many calls ask first (0: every run that sends a call). Machine scope. */
export function confirmAboveCalls(): number {
  const v = cfg().get<number>(Settings.confirmAboveCalls);
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : DEFAULT_CONFIRM_ABOVE_CALLS;
}
