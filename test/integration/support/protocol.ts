/**
 * What the in-host test runner and the harness exchange: environment variables going in, and
 * JSON lines written to the results file coming out (one event per line, appended as tests run,
 * so the harness can print progress and name a test that hangs).
 */

/** Env var: absolute path of the JSON-lines results file the in-host runner appends to. */
export const ENV_RESULTS_FILE = 'PROMPTOPT_IT_RESULTS';
/** Env var: the trust mode the harness set up ('trusted' | 'restricted'); the runner checks it. */
export const ENV_EXPECTED_MODE = 'PROMPTOPT_IT_MODE';
/** Env var: optional mocha grep pattern. */
export const ENV_GREP = 'PROMPTOPT_IT_GREP';
/**
 * Env var: absolute path of a JSON-lines file where suites declare the error log lines they
 * provoke on purpose (one {@link ExpectedLogError} per line); the harness's "no error in the
 * logs" check excuses exactly those lines.
 */
export const ENV_EXPECTED_LOG_ERRORS = 'PROMPTOPT_IT_EXPECTED_LOG_ERRORS';

/** An error log line a test provokes on purpose: a regular expression (source and flags) and why. */
export interface ExpectedLogError {
  source: string;
  flags: string;
  why: string;
}

/** A failure as reported by mocha. */
export interface ReportedError {
  message: string;
  stack?: string;
}

/** One line of the results file. */
export type ResultEvent =
  | { event: 'start'; vscodeVersion: string; appName: string; trusted: boolean; files: string[] }
  | { event: 'test'; fullTitle: string }
  | { event: 'pass' | 'pending'; fullTitle: string; file?: string; durationMs?: number }
  | { event: 'fail'; fullTitle: string; file?: string; durationMs?: number; error: ReportedError }
  | { event: 'end'; passes: number; failures: number; pending: number; durationMs: number }
  | { event: 'fatal'; error: ReportedError };

/**
 * Every API key the integration suites store starts with this (they are fake keys for the
 * loopback test server). After a run the harness scans all log files of the session for it:
 * no key may ever reach a log on disk.
 */
export const TEST_KEY_PREFIX = 'sk-test-PROMPTOPT-';
