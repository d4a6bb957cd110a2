import type { Demo, DemoMode } from '../evaluation/types';
import { hashOf } from './runStore';
import type { Candidate, ScoredCandidate } from './types';

/** Text compared for duplicates: NFKC, lowercase, whitespace collapsed, trailing punctuation dropped. */
export function normalizeText(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim().replace(/[.。!！]+$/u, '');
}

/** Content id of a candidate (exact text, demos, demo mode). */
export function candidateId(text: string, demos?: Demo[], demoMode?: DemoMode): string {
  return hashOf(text, demos?.map((d) => [d.input, d.output]) ?? [], demos?.length ? (demoMode ?? 'block') : '');
}

export function makeCandidate(c: Omit<Candidate, 'id'>): Candidate {
  return { ...c, id: candidateId(c.text, c.demos, c.demoMode) };
}

function dedupeKey(c: Pick<Candidate, 'text' | 'demos' | 'demoMode'>): string {
  return hashOf(normalizeText(c.text), c.demos?.map((d) => d.exampleId) ?? [], c.demos?.length ? (c.demoMode ?? 'block') : '');
}

/**
 * Candidates of one optimization: the history in arrival order, duplicates (same normalized
 * text and demos) folded into the first, and the top n by a split's score.
 */
export class CandidateManager {
  private readonly byKey = new Map<string, ScoredCandidate>();
  private readonly list: ScoredCandidate[] = [];

  /** Adds a candidate; returns `{candidate, added}` where `candidate` is the earlier one when it is a duplicate. */
  add(c: Candidate): { candidate: ScoredCandidate; added: boolean } {
    const key = dedupeKey(c);
    const prev = this.byKey.get(key);
    if (prev) return { candidate: prev, added: false };
    const sc: ScoredCandidate = { ...c };
    this.byKey.set(key, sc);
    this.list.push(sc);
    return { candidate: sc, added: true };
  }

  has(c: Pick<Candidate, 'text' | 'demos' | 'demoMode'>): boolean {
    return this.byKey.has(dedupeKey(c));
  }

  /** Every candidate in arrival order. */
  history(): ScoredCandidate[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }

  /**
   * Top `n` by the split's score (candidates without that score are left out); ties go to the
   * other split's score, then to the earlier candidate.
   */
  top(n: number, by: 'train' | 'validation'): ScoredCandidate[] {
    const key = by === 'train' ? 'trainScore' : 'validationScore';
    const other = by === 'train' ? 'validationScore' : 'trainScore';
    return this.list
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c[key] !== undefined && !c.rejectedReason)
      .sort((a, b) => b.c[key]! - a.c[key]! || (b.c[other] ?? -1) - (a.c[other] ?? -1) || a.i - b.i)
      .slice(0, n)
      .map(({ c }) => c);
  }
}
