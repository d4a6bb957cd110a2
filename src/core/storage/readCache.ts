import { LRUCache } from 'lru-cache';
import type { PromptIndex } from './promptIndex';
import type { CacheStats, PromptVersion } from './types';

/**
 * The store's read cache: an LRU of deeply frozen versions with the hit and miss counts behind
 * `VersionStore.stats()`. Keys carry the prompt index's epoch, so an object cached under an
 * older view of the index (before a rebuild) is never served again.
 */
export class ReadCache {
  private readonly lru: LRUCache<string, PromptVersion>;
  private hits = 0;
  private misses = 0;

  constructor(size: number) {
    this.lru = new LRUCache({ max: Math.max(1, size) });
  }

  /** The cached version, counted as a hit; undefined is not counted (the caller says `miss()` when it reads the file). */
  get(idx: PromptIndex, version: string): PromptVersion | undefined {
    const hit = this.lru.get(keyOf(idx, version));
    if (hit !== undefined) this.hits++;
    return hit;
  }

  /** Counts a read that had to go to the version file. */
  miss(): void {
    this.misses++;
  }

  set(idx: PromptIndex, version: string, v: PromptVersion): void {
    this.lru.set(keyOf(idx, version), v);
  }

  delete(idx: PromptIndex, version: string): void {
    this.lru.delete(keyOf(idx, version));
  }

  clear(): void {
    this.lru.clear();
  }

  /** Figures since the store opened. */
  stats(): CacheStats {
    const total = this.hits + this.misses;
    return { hits: this.hits, misses: this.misses, hitRate: total ? this.hits / total : 0, size: this.lru.size };
  }
}

function keyOf(idx: PromptIndex, version: string): string {
  return `${idx.epoch}\0${version}\0${idx.workflow.length}:${idx.workflow}\0${idx.promptId}`;
}
