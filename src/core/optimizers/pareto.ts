/**
 * The Pareto front over per-example validation scores (GEPA): a candidate is on the front when
 * it has the best score on at least one validation example and no other candidate is at least
 * as good everywhere and better somewhere. Parents are drawn from the front with a weight equal
 * to the number of examples they are best on, so a candidate that alone solves one hard
 * example keeps being tried even when its mean is lower.
 */

/** One candidate's scores, one per validation example, in the same example order for all. */
export interface FrontEntry {
  id: string;
  scores: readonly number[];
}

const EPS = 1e-9;

/** true when `a` is at least as good as `b` on every example and better on one. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]! - EPS) return false;
    if (a[i]! > b[i]! + EPS) better = true;
  }
  return better;
}

/**
 * The front: for each candidate kept, the number of examples it is best on (ties count for
 * each). Dominated candidates are left out; of identical score vectors only the first is kept.
 */
export function paretoFront(entries: readonly FrontEntry[]): Array<{ id: string; wins: number }> {
  if (entries.length === 0) return [];
  const n = entries[0]!.scores.length;
  const best = Array.from({ length: n }, (_, j) => Math.max(...entries.map((e) => e.scores[j]!)));
  const out: Array<{ id: string; wins: number }> = [];
  entries.forEach((e, i) => {
    const wins = e.scores.filter((x, j) => x >= best[j]! - EPS).length;
    if (wins === 0 && n > 0) return;
    if (entries.some((o, k) => k !== i && dominates(o.scores, e.scores))) return;
    if (entries.some((o, k) => k < i && o.scores.every((x, j) => Math.abs(x - e.scores[j]!) <= EPS))) return;
    out.push({ id: e.id, wins: Math.max(wins, n === 0 ? 1 : 0) });
  });
  return out;
}

/** Draws a parent from the front, weighted by wins (`random` in [0, 1)). */
export function pickFromFront(front: ReadonlyArray<{ id: string; wins: number }>, random: () => number): string | undefined {
  const total = front.reduce((s, f) => s + f.wins, 0);
  if (total <= 0) return front[0]?.id;
  let r = random() * total;
  for (const f of front) {
    r -= f.wins;
    if (r < 0) return f.id;
  }
  return front[front.length - 1]!.id;
}
