/**
 * Process bookkeeping for the test harness: every process group or async resource the harness
 * starts is registered here, so it is ended on normal exit, on failure and on SIGINT/SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';

type Closer = () => Promise<void> | void;

const groups = new Set<ChildProcess>();
const closers = new Set<Closer>();
let handlersInstalled = false;

/** Sends `signal` to the whole process group led by `child` (it must be spawned with `detached: true`). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Registers a detached child whose group is killed (SIGKILL) if the harness exits without closing it. */
export function trackGroup(child: ChildProcess): () => void {
  installHandlers();
  groups.add(child);
  child.once('exit', () => groups.delete(child));
  return () => groups.delete(child);
}

/** Registers an async cleanup (e.g. closing a browser) run on SIGINT/SIGTERM. Returns an unregister function. */
export function trackCloser(close: Closer): () => void {
  installHandlers();
  closers.add(close);
  return () => closers.delete(close);
}

function killAllGroupsNow(): void {
  for (const child of groups) killGroup(child, 'SIGKILL');
  groups.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllGroupsNow);
  const onSignal = (signal: NodeJS.Signals) => {
    process.stdout.write(`\n[harness] ${signal}: stopping code-server and chromium\n`);
    const pending = [...closers].map(async (c) => {
      try {
        await c();
      } catch {
        /* best effort */
      }
    });
    const done = Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 3000))]);
    void done.finally(() => {
      killAllGroupsNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
