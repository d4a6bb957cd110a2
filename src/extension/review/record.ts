import * as vscode from 'vscode';
import { analyzePrompt } from '../../core/analysis';
import { toOptimizerError } from '../../core/errors';
import type { Logger } from '../services/logger';
import { RestrictedModeError, type StoreManager } from '../services/stores';
import type { Proposal } from './proposals';

/** Strategy name of a version the user wrote by editing a proposal in the diff. */
export const MANUAL_EDIT_STRATEGY = 'manual-edit';

/** What recording an accepted proposal did. */
export interface RecordResult {
  /** e.g. 'accepted', 'accepted 1.2.0 (restored 1.0.0)', 'accepted 1.2.0 (manual-edit on 1.1.0)'. */
  recorded?: string;
  /** The new version written, for a restore or a manual edit. */
  version?: string;
  /** A sentence for the user when nothing could be recorded (Restricted Mode, store error). */
  note: string;
}

const scores = (text: string, p: Proposal) => {
  const a = analyzePrompt({ text, kind: p.kind, role: p.role });
  return { overall: a.overall, clarity: a.clarity, efficiency: a.efficiency, structure: a.structure };
};

/**
 * Records an accepted proposal in the workspace's `.optimizer/`: the proposal's version marked
 * accepted; a restore as a rollback; the user's edit of a proposal as a version of its own
 * (strategy `manual-edit`, parent: the proposal's version, which stays 'proposed' since it was
 * not taken as it was). Failures become a note: the edit in the document stays applied.
 */
export async function recordAccepted(stores: StoreManager, log: Logger, p: Proposal, text: string): Promise<RecordResult> {
  if (!vscode.workspace.isTrusted) return { note: ' Restricted Mode: the version was not recorded in .optimizer/.' };
  try {
    const store = await stores.writer(p.root, 'Recording the accepted version');
    let result: RecordResult = { note: '' };
    if (text !== p.proposed) {
      const parent = p.version ?? p.restoreOf ?? null;
      const before = scores(p.original, p);
      const after = scores(text, p);
      const v = await store.save({
        workflow: p.workflow,
        promptId: p.promptId,
        text,
        analysis: after,
        parentVersion: parent,
        status: 'accepted',
        ...(p.unproven ? { unproven: true } : {}),
        optimization: {
          strategy: MANUAL_EDIT_STRATEGY,
          before,
          after,
          improvement: after.overall - before.overall,
          confidence: 1,
          rationale: `Edited by hand in the review of the ${p.strategy} proposal${parent ? ` ${parent}` : ''}, then accepted.`,
        },
        metadata: { editedFrom: { version: parent, strategy: p.strategy } },
      });
      result = { recorded: `accepted ${v.version} (${MANUAL_EDIT_STRATEGY} on ${parent ?? 'no stored version'})${p.unproven ? ', unproven' : ''}`, version: v.version, note: '' };
    } else if (p.restoreOf) {
      const v = await store.rollback(p.workflow, p.promptId, p.restoreOf);
      result = { recorded: `accepted ${v.version} (restored ${p.restoreOf})`, version: v.version, note: '' };
    } else if (p.version) {
      // An unproven proposal's version carries `unproven` from when it was recorded; accepting keeps it.
      const v = await store.setStatus(p.workflow, p.promptId, p.version, 'accepted');
      result = { recorded: v.unproven ? 'accepted (unproven)' : 'accepted', note: '' };
    }
    stores.invalidate();
    return result;
  } catch (e) {
    const note = ` The edit was applied, but the version could not be recorded: ${e instanceof RestrictedModeError ? e.message : toOptimizerError(e).message}`;
    log.warn(note.trim());
    return { note };
  }
}
