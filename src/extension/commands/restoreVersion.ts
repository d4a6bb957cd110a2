import * as vscode from 'vscode';
import { Commands } from '../constants';
import { restrictedWriteMessage } from '../services/stores';
import type { CommandDef, Services } from '../services/types';
import { currentPromptText, targetVersion } from './target';

/**
 * Restore Version: proposes a stored version's text for the prompt, through the same review
 * (diff, Accept/Reject). Accepting records it as a new accepted version (a rollback).
 */
export const restoreVersion: CommandDef = {
  id: Commands.restoreVersion,
  async run(s: Services, arg?: unknown) {
    if (!vscode.workspace.isTrusted) {
      const msg = restrictedWriteMessage('Restore Version');
      void vscode.window.showWarningMessage(msg);
      return { ok: false, message: msg };
    }
    const node = await targetVersion(s, arg, 'Restore which version?');
    if (!node) return undefined;
    const cur = currentPromptText(node.root, node.workflow, node.promptId);
    if (!cur) {
      const msg = `The prompt "${node.title}" (${node.promptId}) is no longer in ${node.workflow}; nothing to restore into.`;
      void vscode.window.showWarningMessage(msg);
      return { ok: false, message: msg };
    }
    if (cur.text === node.version.text) {
      const msg = `v${node.version.version} is already the current text of "${node.title}".`;
      void vscode.window.showInformationMessage(msg);
      return { ok: false, message: msg };
    }
    const before = s.cache.analysis(cur.rec).overall;
    const v = node.version;
    const p = {
      id: s.queue.nextId(),
      uri: cur.uri,
      root: node.root,
      workflow: node.workflow,
      promptId: node.promptId,
      nodeTitle: cur.rec.nodeTitle,
      kind: cur.rec.kind,
      role: cur.rec.role,
      original: cur.text,
      proposed: v.text,
      strategy: `restore v${v.version}`,
      scoreBefore: before,
      scoreAfter: v.analysis?.overall ?? before,
      confidence: 1,
      rationale: `Restore version ${v.version}`,
      restoreOf: v.version,
    };
    s.queue.add([p]);
    await s.review.open(p);
    return { ok: true, proposalId: p.id };
  },
};
