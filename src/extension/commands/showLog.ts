import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Show Log: the "Prompt Optimizer" output channel (never holds a key). */
export const showLog: CommandDef = {
  id: Commands.showLog,
  run: (s: Services) => s.log.show(),
};
