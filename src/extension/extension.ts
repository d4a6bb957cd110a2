import * as vscode from 'vscode';
import { Commands, OUTPUT_CHANNEL_NAME } from './constants';

export interface ExtensionApi {
  /** Command ids this activation registered (used by tests to compare with package.json). */
  registeredCommands: readonly string[];
}

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const log = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true });
  context.subscriptions.push(log);
  const registered: string[] = [];
  const register = (id: string, fn: (...args: unknown[]) => unknown) => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
    registered.push(id);
  };
  register(Commands.showLog, () => log.show());
  register(Commands.analyzePrompts, () => {
    void vscode.window.showInformationMessage('Prompt analysis is not available yet.');
  });
  log.info('Prompt Optimizer activated');
  return { registeredCommands: registered };
}

export function deactivate(): void {}
