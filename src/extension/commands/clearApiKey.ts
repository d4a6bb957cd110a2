import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Clear API Key: removes the key from SecretStorage. */
export const clearApiKey: CommandDef = {
  id: Commands.clearApiKey,
  async run(s: Services) {
    await s.keys.clear();
    s.log.info('API key removed from SecretStorage');
    const env = process.env.PROMPTOPT_API_KEY || process.env.OPENAI_API_KEY;
    void vscode.window.showInformationMessage(`API key removed from SecretStorage.${env ? ' A key is still set in the environment (OPENAI_API_KEY / PROMPTOPT_API_KEY).' : ''}`);
    return true;
  },
};
