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

export const ORIGINAL_SYSTEM = parseDify(SUPPORT_CHATFLOW).prompts[0]!.text;
/** Scores higher on the heuristic (headings, steps, output section) but drops "Cite the context you used.": loses on every case. */
export const HEURISTIC_BETTER_LOSER = (p: string) =>
  p.includes('## Task')
    ? p
    : `## Task\nYou are the support assistant for ${/\[\[VAR_\d+\]\]|\{\{#[^#]+#\}\}/.exec(p)![0]}.\n\n## Steps\n1. Read the documentation below.\n2. Answer the user's question about the product.\n\n## Documentation\n${[...p.matchAll(/\[\[VAR_\d+\]\]|\{\{#[^#]+#\}\}/g)][1]![0]}\n\n## Output\nA short, specific answer in plain words.`;
/** Same heuristic score, one more thing the task model rewards: wins on every case. */
export const HEURISTIC_NEUTRAL_WINNER = (p: string) => p.replace('Keep the answer short.', 'Ask one clarifying question when the request is unclear. Keep the answer short.');
