/**
 * Follows the in-host runner's JSON-lines results file, prints each test as it finishes, and
 * decides the outcome: passed, failed, host never started, or hung.
 */
import * as fs from 'node:fs';
import type { ReportedError, ResultEvent } from '../integration/support/protocol';

/** Time limits for one in-host run. */
export interface WatchLimits {
  /** No 'start' line within this time: the extension host (or the runner) did not start. */
  startMs: number;
  /** No new line within this time while a test runs: the test (or the host) hangs. */
  idleMs: number;
  /** Whole run. */
  totalMs: number;
}

export const DEFAULT_LIMITS: WatchLimits = { startMs: 120_000, idleMs: 90_000, totalMs: 15 * 60_000 };

/** Outcome of one in-host run. */
export interface RunOutcome {
  ok: boolean;
  passes: number;
  failures: Array<{ fullTitle: string; error: ReportedError }>;
  pending: number;
  /** Harness-level problem (no start, hang, fatal error, early exit); undefined when the run completed. */
  problem?: string;
  vscodeVersion?: string;
  trusted?: boolean;
}

/**
 * Tails `file` until an 'end' or 'fatal' line, a time limit, or `aborted()` returns a reason
 * (e.g. VS Code exited). Prints one line per test to `out`.
 */
export async function watchResults(
  file: string,
  options: { limits?: WatchLimits; label: string; aborted?: () => string | undefined; out?: (s: string) => void },
): Promise<RunOutcome> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const out = options.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const outcome: RunOutcome = { ok: false, passes: 0, failures: [], pending: 0 };
  const t0 = Date.now();
  let lastEventAt = t0;
  let started = false;
  let current: string | undefined;
  let consumed = 0;
  let partial = '';

  const handle = (e: ResultEvent): 'done' | undefined => {
    lastEventAt = Date.now();
    switch (e.event) {
      case 'start':
        started = true;
        outcome.vscodeVersion = e.vscodeVersion;
        outcome.trusted = e.trusted;
        out(`[${options.label}] ${e.appName} ${e.vscodeVersion}, workspace trusted: ${e.trusted}, suites: ${e.files.join(', ')}`);
        return undefined;
      case 'test':
        current = e.fullTitle;
        return undefined;
      case 'pass':
        outcome.passes++;
        current = undefined;
        out(`  ✓ ${e.fullTitle}${e.durationMs !== undefined ? ` (${e.durationMs} ms)` : ''}`);
        return undefined;
      case 'pending':
        outcome.pending++;
        out(`  - ${e.fullTitle} (pending)`);
        return undefined;
      case 'fail':
        current = undefined;
        outcome.failures.push({ fullTitle: e.fullTitle, error: e.error });
        out(`  ✗ ${e.fullTitle}: ${e.error.message.split('\n')[0]}`);
        return undefined;
      case 'end':
        outcome.ok = e.failures === 0 && outcome.failures.length === 0;
        out(`[${options.label}] ${e.passes} passing, ${e.failures} failing, ${e.pending} pending (${e.durationMs} ms)`);
        return 'done';
      case 'fatal':
        outcome.problem = `the in-host runner failed: ${e.error.stack ?? e.error.message}`;
        return 'done';
    }
  };

  for (;;) {
    if (fs.existsSync(file)) {
      const buf = fs.readFileSync(file);
      if (buf.length > consumed) {
        partial += buf.subarray(consumed).toString('utf8');
        consumed = buf.length;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          let e: ResultEvent;
          try {
            e = JSON.parse(line) as ResultEvent;
          } catch {
            continue;
          }
          if (handle(e) === 'done') return outcome;
        }
      }
    }
    const now = Date.now();
    const reason = options.aborted?.();
    if (reason) {
      outcome.problem = started ? `${reason} before the tests finished${current ? ` (running: ${current})` : ''}` : `${reason}; the extension host never started the tests`;
      return outcome;
    }
    if (!started && now - t0 > limits.startMs) {
      outcome.problem = `the extension host did not start the tests within ${limits.startMs / 1000} s`;
      return outcome;
    }
    if (started && now - lastEventAt > limits.idleMs) {
      outcome.problem = `no progress for ${limits.idleMs / 1000} s: ${current ? `test "${current}" hangs` : 'the extension host hangs between tests'}`;
      return outcome;
    }
    if (now - t0 > limits.totalMs) {
      outcome.problem = `the run exceeded ${limits.totalMs / 1000} s`;
      return outcome;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Prints the failures of `outcome` with their stacks. */
export function printFailures(label: string, outcome: RunOutcome, out: (s: string) => void = (s) => process.stdout.write(s + '\n')): void {
  if (outcome.problem) out(`\n[${label}] HARNESS FAILURE: ${outcome.problem}`);
  outcome.failures.forEach((f, i) => {
    out(`\n[${label}] ${i + 1}) ${f.fullTitle}`);
    out(indent(f.error.stack ?? f.error.message));
  });
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
