import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Set API Key: stores the key in SecretStorage (never in a setting). A key argument skips the input box. */
export const setApiKey: CommandDef = {
  id: Commands.setApiKey,
  async run(s: Services, key?: unknown) {
    const value =
      typeof key === 'string'
        ? key
        : await vscode.window.showInputBox({
            title: 'Prompt Optimizer: API key',
            prompt: 'The key of your OpenAI-compatible endpoint. It is kept in VS Code SecretStorage, never in settings.',
            password: true,
            ignoreFocusOut: true,
            validateInput: (v) => (v.trim() ? undefined : 'Enter a key. A local server on this machine needs none: choose it with Prompt Optimizer: Select Model instead.'),
          });
    if (!value?.trim()) return false;
    await s.keys.set(value.trim());
    s.log.info('API key stored in SecretStorage');
    void vscode.window.showInformationMessage('API key stored in SecretStorage.');
    return true;
  },
};
