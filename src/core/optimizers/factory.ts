import { UsageError } from '../errors';
import { CoproOptimizer, type CoproOptions } from './copro';
import { EnsembleOptimizer, type EnsembleOptions } from './ensemble';
import { KnnOptimizer, type KnnOptions } from './knn';
import type { OptimizerName, PromptOptimizer } from './types';

/** Options of `createOptimizer`, per optimizer. */
export interface OptimizerDeps {
  copro?: CoproOptions;
  knn?: KnnOptions;
  ensemble?: EnsembleOptions & { members?: Array<'copro' | 'knn'> };
}

/** Builds an optimizer by name ('copro', 'knn', 'ensemble' = copro + knn by default). Throws UsageError on an unknown name. */
export function createOptimizer(name: string, deps: OptimizerDeps = {}): PromptOptimizer {
  switch (name as OptimizerName) {
    case 'copro':
      return new CoproOptimizer(deps.copro);
    case 'knn':
      return new KnnOptimizer(deps.knn);
    case 'ensemble': {
      const members = (deps.ensemble?.members ?? ['copro', 'knn']).map((m) => createOptimizer(m, deps));
      return new EnsembleOptimizer(members, deps.ensemble);
    }
    default:
      throw new UsageError('USAGE', `unknown optimizer "${name}": use copro, knn or ensemble.`);
  }
}
