import { Commands } from '../constants';
import { setInlineView } from '../review/viewMode';
import type { CommandDef } from '../services/types';

/** Show Inline View (proposal diff title bar): one column, remembered for the next proposals. Returns true when inline. */
export const showInlineView: CommandDef = {
  id: Commands.showInlineView,
  run: () => setInlineView(true),
};
