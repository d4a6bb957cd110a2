import * as vscode from 'vscode';
import { Commands, Settings } from '../constants';
import { endpointSettings } from '../services/settings';
import type { CommandDef, Services } from '../services/types';

const KNOWN_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'gpt-4.1', 'o4-mini', 'deepseek-chat', 'qwen-plus'];

/** Select Model: writes `promptOptimizer.llm.model` (user settings). A model argument skips the pick. */
export const selectModel: CommandDef = {
  id: Commands.selectModel,
  async run(s: Services, model?: unknown) {
    let chosen = typeof model === 'string' ? model : undefined;
    if (!chosen) {
      const current = endpointSettings().model;
      const items: Array<vscode.QuickPickItem & { value?: string }> = [...new Set([current, ...KNOWN_MODELS])].map((m) => ({
        label: m,
        description: m === current ? 'current' : undefined,
        value: m,
      }));
      items.push({ label: 'Other…', description: 'type a model name' });
      const pick = await vscode.window.showQuickPick(items, { title: 'Model for the LLM strategies' });
      if (!pick) return undefined;
      chosen = pick.value ?? (await vscode.window.showInputBox({ title: 'Model name', value: current }))?.trim();
    }
    if (!chosen) return undefined;
    await vscode.workspace.getConfiguration(Settings.section).update(Settings.model, chosen, vscode.ConfigurationTarget.Global);
    s.log.info(`model set to ${chosen}`);
    return chosen;
  },
};
