import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** The compiled CLI entry (out/src/cli/main.js), for tests that run it as a real process. */
export const CLI_MAIN = path.resolve(__dirname, '../../src/cli/main.js');

export interface CliProcessResult {
  code: number | null;
  out: string;
  err: string;
  /** The process was killed after the timeout (a command that did not end). */
  timedOut: boolean;
}

/**
 * Runs `promptopt <args>` as a process in `cwd`, with no API key in its environment; killed
 * (SIGKILL, `timedOut`) after `timeoutMs`. `nodeArgs` go before the script (e.g. a heap limit).
 */
export function runCliProcess(args: string[], cwd: string, opts: { timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<CliProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI_MAIN, ...args], { cwd, env: { ...process.env, OPENAI_API_KEY: '', PROMPTOPT_API_KEY: '' } });
    let out = '';
    let err = '';
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err, timedOut });
    });
  });
}
