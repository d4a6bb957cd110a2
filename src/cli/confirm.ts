import * as readline from 'node:readline';
import type { CliIo } from './io';

/** Asks a yes/no question before money is spent (tests inject their own). */
export type Confirm = (question: string, io: CliIo) => Promise<boolean>;

/** y/N on a terminal; without one, refuses and says to pass --yes. */
export async function confirmOnTty(cmd: string, question: string, io: CliIo): Promise<boolean> {
  if (!process.stdin.isTTY) {
    io.stderr(`promptopt ${cmd}: not a terminal; pass --yes to run without confirmation.\n`);
    return false;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
