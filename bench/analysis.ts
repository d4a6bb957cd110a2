/**
 * Analysis benchmark: `node out/bench/analysis.js` (or `npm run bench:analysis`).
 *
 * Prints one JSON object per line: {name, value, unit, baseline, ratio, …}; every figure is a
 * median, and its baseline is js-yaml's plain `load` measured in the same run, alternating with
 * ours so that both see the same machine noise.
 *
 * 1. Exports (`analysis.export:<file>`): for the three largest corpus exports, the time to
 *    analyse every prompt of the file as the editor and the CLI do (`analysisInput` +
 *    `analyzePrompt`), against js-yaml `load` of the file; `ratio` = analysis / load (the target
 *    is well under 2). `first` is the first analysis of the largest file in this process, before
 *    the JIT has warmed up (what opening a file costs right after activation).
 *    `analysis.export.corpus` is the median and max of that ratio over every corpus file.
 * 2. Throughput (`analysis.throughput:<shape>-<n>MB`, MB/s of `analyzePrompt`): prompts of 1, 4
 *    and 16 MB, as one single line (the case that once was quadratic), as many short lines, and
 *    as the corpus prompts (Chinese, Japanese and English, variables, code, lists) repeated;
 *    baseline: js-yaml `load` of a YAML document holding the same text as a block scalar, in
 *    MB/s; `ratio` = our time / load time. `analysis.linearity:<shape>` = MB/s at 16 MB over
 *    MB/s at 1 MB (1 = linear; quadratic would be 1/16).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { analysisInput, analyzePrompt } from '../src/core/analysis/index';
import { parseDify } from '../src/core/dsl/index';
import { median, time } from './timing';

function emit(f: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/dify');
const SENTENCE = 'Please summarize the report in three bullet points and keep every number exact. ';

/** Medians of `runs` alternating timings of ours and the baseline, after `warm` untimed rounds of each. */
function pair(ours: () => unknown, base: () => unknown, runs: number, warm: number): { ours: number; base: number } {
  for (let i = 0; i < warm; i++) {
    base();
    ours();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    b.push(time(base));
    a.push(time(ours));
  }
  return { ours: median(a), base: median(b) };
}

function exportFiles(): { file: string; text: string }[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => ({ file, text: fs.readFileSync(path.join(FIXTURES, file), 'utf8') }))
    .filter((f) => !f.text.trimStart().startsWith('{')); // the JSON wrapper: js-yaml load is not the same job
}

function exportFigures(runs: number): void {
  const files = exportFiles();
  const docs = new Map(files.map((f) => [f.file, parseDify(f.text, { file: f.file })]));
  const bytes = (f: { text: string }): number => Buffer.byteLength(f.text, 'utf8');
  const bySize = [...files].sort((a, b) => bytes(b) - bytes(a));
  const analyse = (file: string) => () => {
    const doc = docs.get(file)!;
    for (const p of doc.prompts) analyzePrompt(analysisInput(p, doc.prompts));
  };
  const first = time(analyse(bySize[0].file));
  const ratios: number[] = [];
  for (const f of files) {
    if (docs.get(f.file)!.lenient) continue; // js-yaml load refuses it (PyYAML reads it): no baseline
    const r = pair(analyse(f.file), () => load(f.text), runs, 20);
    ratios.push(r.ours / r.base);
    if (bySize.slice(0, 3).includes(f)) {
      const doc = docs.get(f.file)!;
      emit({
        name: `analysis.export:${f.file}`,
        value: round(r.ours),
        unit: 'ms',
        baseline: round(r.base),
        ratio: round(r.ours / r.base),
        target: 2,
        bytes: bytes(f),
        prompts: doc.prompts.length,
        promptChars: doc.prompts.reduce((n, p) => n + p.text.length, 0),
        ...(f === bySize[0] ? { first: round(first) } : {}),
      });
    }
  }
  emit({ name: 'analysis.export.corpus.median-ratio', value: round(median(ratios)), unit: 'x js-yaml load', files: ratios.length, max: round(Math.max(...ratios)), target: 2 });
}

/** The corpus prompts (every kind), joined by blank lines and repeated to `mb` MB. */
function corpusText(mb: number): string {
  const all = exportFiles()
    .flatMap((f) => parseDify(f.text, { file: f.file }).prompts.map((p) => p.text))
    .filter((t) => t !== '')
    .join('\n\n');
  return all.repeat(Math.ceil((mb * 1024 * 1024) / all.length)).slice(0, mb * 1024 * 1024);
}

function prompt(shape: string, mb: number): string {
  const n = Math.ceil((mb * 1024 * 1024) / SENTENCE.length);
  if (shape === 'single-line') return SENTENCE.repeat(n);
  if (shape === 'multi-line') return `${SENTENCE.trimEnd()}\n`.repeat(n);
  return corpusText(mb);
}

/** A YAML document holding `text` as a block scalar (what js-yaml reads for the baseline). */
function asYaml(text: string): string {
  return `prompt: |2-\n${text
    .split(/\r\n|\r|\n/)
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

function throughput(runs: number): void {
  for (const shape of ['single-line', 'multi-line', 'corpus']) {
    const rates: Record<number, number> = {};
    for (const mb of [1, 4, 16]) {
      const text = prompt(shape, mb);
      const yaml = asYaml(text);
      const r = pair(() => analyzePrompt({ text }), () => load(yaml), runs, 1);
      const rate = mb / (r.ours / 1000);
      rates[mb] = rate;
      emit({ name: `analysis.throughput:${shape}-${mb}MB`, value: round(rate), unit: 'MB/s', baseline: round(mb / (r.base / 1000)), ratio: round(r.ours / r.base), ms: round(r.ours) });
    }
    emit({ name: `analysis.linearity:${shape}`, value: round(rates[16] / rates[1]), unit: 'ratio (MB/s at 16 MB / MB/s at 1 MB)' });
  }
}

function main(): void {
  exportFigures(Number(process.env.BENCH_RUNS_EXPORT ?? 15));
  throughput(Number(process.env.BENCH_RUNS ?? 5));
}

main();
