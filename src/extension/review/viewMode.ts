import * as vscode from 'vscode';

/**
 * The proposal diff's layout is VS Code's own diff editor setting `diffEditor.renderSideBySide`
 * (the same one its "Inline View" toggle changes), written to the user settings: the choice is
 * remembered across proposals and windows, and every diff follows it.
 */
export async function setInlineView(inline: boolean): Promise<boolean> {
  const config = vscode.workspace.getConfiguration('diffEditor');
  await config.update('renderSideBySide', !inline, vscode.ConfigurationTarget.Global);
  return inlineView();
}

/** True when diffs (proposals included) show inline. */
export function inlineView(): boolean {
  return vscode.workspace.getConfiguration('diffEditor').get<boolean>('renderSideBySide', true) === false;
}
