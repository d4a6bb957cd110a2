import { formatWarning, isLabel, parseDify, type PromptRecord } from '../../core/dsl/index';
import { UsageError } from '../../core/errors';
import { parseCommandArgs } from '../args';
import type { CliCommand } from '../io';
import { readTextFile } from './fileInput';

const usage = `promptopt extract <file> [--json]

List every prompt in a Dify app export (.yml, or the export API's JSON wrapper).
  --json   print a JSON array of prompt records (id, nodeId, nodeType, kind, label, role,
           text, variables, range, …) instead of a table
Labels (class names, parameter descriptions, structured-output descriptions) are listed with
"label: true" (LABEL in the table). Each odd field that was skipped (a list where text belongs,
a message without a role, an unknown node type…) is a warning on stderr, naming file:line:col.`;

/** `promptopt extract`: a table of the prompts, or their records as JSON. */
export const extractCommand: CliCommand = {
  name: 'extract',
  summary: 'List the prompts of a Dify export (table or --json)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, usage);
    if (positionals.length !== 1) {
      throw new UsageError('USAGE', `extract takes exactly one file. Usage: ${usage.split('\n')[0]}`);
    }
    const file = positionals[0];
    const { text, source } = await readTextFile(io.cwd, file, 'file', undefined, (m) => io.stderr(`warning: ${m}\n`));
    const doc = parseDify(text, { file: source });
    for (const w of doc.warnings) io.stderr(`warning: ${escapeControls(formatWarning(w))} [${w.code}]\n`);
    if (values.json) {
      io.stdout(`${JSON.stringify(doc.prompts.map((p) => ({ ...p, label: isLabel(p) })), null, 2)}\n`);
      return 0;
    }
    io.stdout(renderTable(doc.prompts, `${doc.app.name || file} (${doc.app.mode}${doc.app.version ? `, DSL ${doc.app.version}` : ''})`));
    return 0;
  },
};

/** A plain-text table: node title, kind, role, characters, variables, id. */
export function renderTable(prompts: PromptRecord[], title: string): string {
  const rows = prompts.map((p) => [
    p.nodeTitle || p.nodeId,
    isLabel(p) ? `${p.kind} LABEL` : p.kind,
    p.role ?? '-',
    String([...p.text].length),
    p.variables.length ? unique(p.variables.map((v) => v.raw)).join(' ') : '-',
    p.id,
  ]);
  const head = ['NODE', 'KIND', 'ROLE', 'CHARS', 'VARIABLES', 'ID'];
  const all = [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : clip(c.replace(/\s+/g, ' '), 40))));
  const widths = head.map((_, i) => Math.max(...all.map((r) => displayWidth(r[i]))));
  const lines = all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - displayWidth(c)))).join('  ').trimEnd());
  const summary = `${prompts.length} prompt${prompts.length === 1 ? '' : 's'}`;
  return `${title}: ${summary}\n${prompts.length ? `${lines.join('\n')}\n` : ''}`;
}

/** Control characters of a file (ESC sequences…) never reach the terminal raw. */
function escapeControls(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function clip(s: string, n: number): string {
  const cps = [...s];
  return cps.length > n ? `${cps.slice(0, n - 1).join('')}…` : s;
}

/** Columns a string takes in a terminal (East Asian wide characters and emoji count twice). */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3fffd) ? 2 : 1;
  }
  return w;
}
