import * as readline from 'node:readline';
import { UsageError } from '../../core/errors';
import type { CliIo } from '../io';

/** Reads all of stdin (for --password-stdin); the one trailing newline is dropped. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; `secret` echoes nothing. No terminal: a UsageError naming the alternatives. */
export async function askTty(question: string, io: CliIo, opts: { secret?: boolean; alternative: string }): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError('USAGE', `not a terminal, so "${question.trim()}" cannot be asked; ${opts.alternative}`);
  if (!opts.secret) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await new Promise<string>((resolve) => rl.question(question, resolve));
    } finally {
      rl.close();
    }
  }
  io.stderr(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('USAGE', 'cancelled at the password prompt'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
