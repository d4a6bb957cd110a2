import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Refresh (Prompt Versions view title). */
export const refreshVersions: CommandDef = {
  id: Commands.refreshVersions,
  run: (s: Services) => {
    s.stores.invalidate();
    s.versions.refresh();
  },
};
