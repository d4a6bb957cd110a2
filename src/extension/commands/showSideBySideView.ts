import { Commands } from '../constants';
import { setInlineView } from '../review/viewMode';
import type { CommandDef } from '../services/types';

/** Show Side by Side View (proposal diff title bar): back to two columns, remembered. Returns true when inline. */
export const showSideBySideView: CommandDef = {
  id: Commands.showSideBySideView,
  run: () => setInlineView(false),
};
