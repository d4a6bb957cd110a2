import type { CommandDef } from '../services/types';
import { acceptProposal } from './acceptProposal';
import { analyzePrompts } from './analyzePrompts';
import { cancelOptimization } from './cancelOptimization';
import { clearApiKey } from './clearApiKey';
import { compareWithCurrent } from './compareWithCurrent';
import { connectToDify } from './connectToDify';
import { disconnectFromDify } from './disconnectFromDify';
import { compareWithParent } from './compareWithParent';
import { copyVersionText } from './copyVersionText';
import { deleteVersion } from './deleteVersion';
import { generateTestCases } from './generateTestCases';
import { nextProposal } from './nextProposal';
import { optimizeAllPrompts } from './optimizeAllPrompts';
import { optimizePrompt } from './optimizePrompt';
import { optimizeWithDataset } from './optimizeWithDataset';
import { previousProposal } from './previousProposal';
import { pullFromDify } from './pullFromDify';
import { pushToDify } from './pushToDify';
import { refreshVersions } from './refreshVersions';
import { rejectProposal } from './rejectProposal';
import { restoreVersion } from './restoreVersion';
import { selectModel } from './selectModel';
import { setApiKey } from './setApiKey';
import { showInlineView } from './showInlineView';
import { exportEvidenceReport, showEvidenceReport } from './showEvidenceReport';
import { showLog } from './showLog';
import { showSideBySideView } from './showSideBySideView';
import { showVersions } from './showVersions';

/** Every command of the extension (each declared in package.json; a test checks both ways). */
export const ALL_COMMANDS: readonly CommandDef[] = [
  optimizePrompt,
  optimizeAllPrompts,
  optimizeWithDataset,
  analyzePrompts,
  acceptProposal,
  rejectProposal,
  nextProposal,
  previousProposal,
  showInlineView,
  showSideBySideView,
  cancelOptimization,
  showVersions,
  refreshVersions,
  compareWithCurrent,
  compareWithParent,
  restoreVersion,
  copyVersionText,
  deleteVersion,
  setApiKey,
  clearApiKey,
  selectModel,
  showLog,
  generateTestCases,
  showEvidenceReport,
  connectToDify,
  disconnectFromDify,
  pullFromDify,
  pushToDify,
  exportEvidenceReport,
];
