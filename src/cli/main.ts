import { isOptimizerError, CancelledError, fsErrorOf } from '../core/errors';
import { commands } from './commands/index';
import type { CliIo } from './io';
import { escapeControls } from './terminal';

export const VERSION = '0.1.0';

function help(io: CliIo): void {
  const width = Math.max(8, ...commands.map((c) => c.name.length));
  io.stdout(
    [
      `promptopt ${VERSION} — find, score and improve the prompts in Dify app exports`,
      '',
      'Usage: promptopt <command> [options]',
      '',
      'Commands:',
      ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      `  ${'help'.padEnd(width)}  Show this help, or a command's: promptopt help <command>`,
      '',
    ].join('\n'),
  );
}

/** Runs one CLI invocation; never throws. Exit codes: 0 ok, 1 job failed, 2 bad input, 130 cancelled. */
export async function runCli(argv: string[], rawIo: CliIo): Promise<number> {
  // Everything printed goes through escapeControls: an export's text never drives the terminal.
  const io: CliIo = { ...rawIo, stdout: (s) => rawIo.stdout(escapeControls(s)), stderr: (s) => rawIo.stderr(escapeControls(s)) };
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const target = rest[0] && commands.find((c) => c.name === rest[0]);
    if (target) io.stdout(`${target.usage}\n`);
    else help(io);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`promptopt: unknown command '${name}'. Run 'promptopt help' for the list.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof CancelledError) {
      io.stderr('promptopt: cancelled\n');
      return 130;
    }
    if (isOptimizerError(e)) {
      io.stderr(`promptopt ${cmd.name}: ${e.message} [${e.code}]\n`);
      return e.family === 'usage' || e.family === 'dsl' || e.family === 'config' || e.family === 'dataset' ? 2 : 1;
    }
    const io2 = fsErrorOf(e);
    if (io2) {
      // A file-system failure no writer typed (a system error is not a bug).
      io.stderr(`promptopt ${cmd.name}: ${io2.message} [${io2.code}]\n`);
      return 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`promptopt ${cmd.name}: internal error: ${msg}\n`);
    if (io.env.PROMPTOPT_DEBUG && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return 1;
  }
}

/**
 * A reader that closes early (`promptopt versions | head -1`) makes the next write fail with
 * EPIPE. Like Unix tools, the CLI then stops quietly: no message, no stack trace, exit status
 * 141 (128 + SIGPIPE, what a shell shows for a tool a closed pipe stopped). For stdout and
 * stderr alike; any other stream error is still reported.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (c) => process.exit(c)): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
      exit(141);
      return;
    }
    try {
      process.stderr.write(`promptopt: cannot write output: ${e.message}\n`);
    } finally {
      exit(1);
    }
  });
}

if (require.main === module) {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const ac = new AbortController();
  process.on('SIGINT', () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  });
  runCli(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    signal: ac.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`promptopt: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
