import { VERSION_RE } from './schema';

/** Parsed `major.minor.patch`. */
export type Triple = readonly [number, number, number];

export const FIRST_VERSION = '1.0.0';

export function isVersion(v: string): boolean {
  return VERSION_RE.test(v);
}

export function parseVersion(v: string): Triple | undefined {
  const m = VERSION_RE.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Numeric order of two version strings (negative when a < b). Invalid strings sort first. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [-1, -1, -1];
  const y = parseVersion(b) ?? [-1, -1, -1];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** dify_autoopt's rule: improvement >= 15 points → major, >= 5 → minor, else patch. */
export type Bump = 'major' | 'minor' | 'patch';

export function bumpFor(improvement: number | undefined): Bump {
  const i = improvement ?? 0;
  if (i >= 15) return 'major';
  if (i >= 5) return 'minor';
  return 'patch';
}

/** The next number after `highest` (the highest number the prompt has ever shown); 1.0.0 when none. */
export function nextVersion(highest: string | undefined, bump: Bump): string {
  const t = highest ? parseVersion(highest) : undefined;
  if (!t) return FIRST_VERSION;
  const [ma, mi, pa] = t;
  if (bump === 'major') return `${ma + 1}.0.0`;
  if (bump === 'minor') return `${ma}.${mi + 1}.0`;
  return `${ma}.${mi}.${pa + 1}`;
}
