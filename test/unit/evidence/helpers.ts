import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify } from '../../../src/core/dsl';
import { SUPPORT_CHATFLOW } from '../../support/evidenceModel';

export async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, signal = new AbortController().signal) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, cwd, signal });
  return { code, out, err };
}

/** A temp workspace (with .git) holding support.yml. */
export function workspace(text = SUPPORT_CHATFLOW): { ws: string; file: string; promptId: string; cleanup: () => void } {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-evidence-'));
  fs.mkdirSync(path.join(ws, '.git'));
  const file = path.join(ws, 'support.yml');
  fs.writeFileSync(file, text);
  const promptId = parseDify(text).prompts[0]!.id;
  return { ws, file, promptId, cleanup: () => fs.rmSync(ws, { recursive: true, force: true }) };
}

export { ORIGINAL_SYSTEM, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER } from '../../support/evidenceModel';
