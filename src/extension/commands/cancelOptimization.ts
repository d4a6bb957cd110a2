import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Cancel Optimization: aborts the running optimizations, dataset ones included (requests in flight too). */
export const cancelOptimization: CommandDef = {
  id: Commands.cancelOptimization,
  run: (s: Services) => s.runner.cancel(),
};
