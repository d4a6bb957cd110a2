import { UsageError } from '../errors';
import { CoproOptimizer, type CoproOptions } from './copro';
import { EnsembleOptimizer, type EnsembleOptions } from './ensemble';
import { GepaOptimizer, type GepaOptions } from './gepa';
import { KnnOptimizer, type KnnOptions } from './knn';
import type { OptimizerName, PromptOptimizer } from './types';

/** Options of `createOptimizer`, per optimizer. */
export interface OptimizerDeps {
  copro?: CoproOptions;
  knn?: KnnOptions;
  gepa?: GepaOptions;
  ensemble?: EnsembleOptions & { members?: Array<'copro' | 'knn' | 'gepa'> };
}

/** Builds an optimizer by name ('copro', 'knn', 'gepa', 'ensemble' = copro + knn + gepa by default). Throws UsageError on an unknown name. */
export function createOptimizer(name: string, deps: OptimizerDeps = {}): PromptOptimizer {
  switch (name as OptimizerName) {
    case 'copro':
      return new CoproOptimizer(deps.copro);
    case 'knn':
      return new KnnOptimizer(deps.knn);
    case 'gepa':
      return new GepaOptimizer(deps.gepa);
    case 'ensemble': {
      const members = (deps.ensemble?.members ?? ['copro', 'knn', 'gepa']).map((m) => {
        if (!['copro', 'knn', 'gepa'].includes(m)) throw new UsageError('USAGE', `unknown Ensemble member "${m}": use copro, knn or gepa.`);
        return createOptimizer(m, deps);
      });
      return new EnsembleOptimizer(members, deps.ensemble);
    }
    default:
      throw new UsageError('USAGE', `unknown optimizer "${name}": use copro, knn, gepa or ensemble.`);
  }
}
