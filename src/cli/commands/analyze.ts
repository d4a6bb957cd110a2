import { analysisInput, analyzePrompt } from '../../core/analysis';
import { parseDify } from '../../core/dsl';
import { UsageError } from '../../core/errors';
import { parseCommandArgs } from '../args';
import type { CliCommand } from '../io';
import { readTextFile } from './fileInput';

const usage = `promptopt analyze <file> [--json]

Score every prompt of a Dify export (0-100: overall, clarity, efficiency, structure) and list
its issues with their place in the prompt.
  --json   print a JSON array: id, nodeTitle, kind, role, scores, issues (with file line:column)`;

export const analyzeCommand: CliCommand = {
  name: 'analyze',
  summary: 'Score the prompts of a Dify export and list their issues',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, usage);
    if (positionals.length !== 1) throw new UsageError('USAGE', `analyze takes exactly one file. Usage: ${usage.split('\n')[0]}`);
    const file = positionals[0];
    const { text, source } = await readTextFile(io.cwd, file, 'file', undefined, (m) => io.stderr(`warning: ${m}\n`));
    const doc = parseDify(text, { file: source });
    const rows = doc.prompts.map((p) => ({ prompt: p, analysis: analyzePrompt(analysisInput(p, doc.prompts)) }));
    if (values.json) {
      io.stdout(
        `${JSON.stringify(
          rows.map(({ prompt: p, analysis: a }) => ({
            id: p.id,
            nodeId: p.nodeId,
            nodeTitle: p.nodeTitle,
            kind: p.kind,
            role: p.role,
            line: p.range?.start.line,
            scores: { overall: a.overall, clarity: a.clarity, efficiency: a.efficiency, structure: a.structure },
            language: a.language,
            tokens: a.tokens,
            issues: a.issues,
          })),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    const out: string[] = [`${doc.app.name || file}: ${doc.prompts.length} prompt${doc.prompts.length === 1 ? '' : 's'}`];
    for (const { prompt: p, analysis: a } of rows) {
      const where = p.range ? `${source}:${p.range.start.line}:${p.range.start.column}` : source;
      out.push(
        '',
        `${p.nodeTitle || p.nodeId} · ${p.kind}${p.role ? ` (${p.role})` : ''} · ${where}`,
        `  score ${a.overall}  clarity ${a.clarity}  efficiency ${a.efficiency}  structure ${a.structure}  · ${a.tokens} tokens, ${a.language}`,
      );
      for (const i of a.issues) out.push(`  ${i.severity.padEnd(7)} ${i.kind}: ${i.message}${i.suggestion ? ` — ${i.suggestion}` : ''}`);
    }
    io.stdout(`${out.join('\n')}\n`);
    return 0;
  },
};
