import * as vscode from 'vscode';
import { Commands } from '../constants';
import { includeLabels } from '../services/settings';
import type { CommandDef, Services } from '../services/types';
import { describeRun, estimateAnswerOf, presentRun } from './optimizePrompt';
import { targetDocument } from './target';

/**
 * Optimize Prompts in File: every prompt below the score threshold; proposals form a review
 * queue. Labels (class names, parameter and output descriptions) only with promptOptimizer.includeLabels.
 * Options: `{estimateAnswer: 'Run' | 'Cancel'}` answers the estimate's question without the modal.
 */
export const optimizeAllPrompts: CommandDef = {
  id: Commands.optimizeAllPrompts,
  async run(s: Services, uri?: unknown, opts?: unknown) {
    const doc = await targetDocument(s, uri);
    if (!doc) return undefined;
    const summary = await s.runner.run({ document: doc, includeLabels: includeLabels(doc.uri), estimateAnswer: estimateAnswerOf(opts) });
    await presentRun(s, summary, `the prompts of ${vscode.workspace.asRelativePath(doc.uri, false)}`);
    return describeRun(summary);
  },
};
