import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Cancel Optimization: aborts the running optimization (requests in flight included). */
export const cancelOptimization: CommandDef = {
  id: Commands.cancelOptimization,
  run: (s: Services) => s.runner.cancel(),
};
