/**
 * DSL engine benchmark: `node out/bench/dsl.js` (or `npm run bench:dsl`).
 *
 * Prints one JSON object per line: {name, value, unit, baseline?, ratio?}. For each corpus file
 * and for a synthetic 10 MB workflow with 2,000 llm nodes: the median time of `parseDify`
 * (parse + shape check + every prompt with its range) and, as the baseline measured in the same
 * run on the same text, the median time of js-yaml's plain `load`. Then the median time of one
 * write-back (`replacePrompts` on the already parsed 10 MB document).
 *
 * Summary figures: `dsl.extract.corpus` (median and max over the corpus files of the ratio to
 * js-yaml `load`; the target is at most 3x), and `dsl.lenient` for the file js-yaml refuses
 * (quoted scalars with under-indented continuation lines, read as PyYAML reads them): the time
 * of `parseDify` on it against, as baseline, `parseDify` on the same file with those lines
 * indented (what the strict path costs on the same content). Files the strict parse accepts
 * never take the lenient path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load, parseEvents } from 'js-yaml';
import { parseDify, replacePrompts } from '../src/core/dsl/index';
import { syntheticWorkflow } from './syntheticDify';
import { median, time } from './timing';

interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  [more: string]: unknown;
}

function emit(f: Figure): void {
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

/** Alternates the two measurements so both see the same machine noise; returns the ratio. */
function compare(name: string, text: string, runs: number, baselineText = text, baselineFn: (t: string) => unknown = load): number {
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < 2; i++) {
    parseDify(text);
    baselineFn(baselineText);
  }
  for (let i = 0; i < runs; i++) {
    base.push(time(() => baselineFn(baselineText)));
    ours.push(time(() => parseDify(text)));
  }
  const value = round(median(ours));
  const baseline = round(median(base));
  const ratio = round(value / baseline);
  emit({ name, value, unit: 'ms', baseline, ratio });
  return ratio;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function main(): void {
  const fixtures = path.resolve(__dirname, '../../test/fixtures/dify');
  const runs = Number(process.env.BENCH_RUNS ?? 15);
  const ratios: number[] = [];
  for (const f of fs.readdirSync(fixtures).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const text = fs.readFileSync(path.join(fixtures, f), 'utf8');
    if (text.trimStart().startsWith('{')) continue; // the JSON wrapper: js-yaml load is not the same job
    const doc = parseDify(text);
    if (doc.lenient) {
      // js-yaml load refuses this file: compare with the strict path on the same content.
      const mended = mendedCopy(text);
      compare(`dsl.lenient:${f}`, text, runs, mended, (t) => parseDify(t));
      continue;
    }
    ratios.push(compare(`dsl.extract:${f}`, text, runs));
  }
  emit({ name: 'dsl.extract.corpus.median-ratio', value: round(median(ratios)), unit: 'x js-yaml load', files: ratios.length, max: round(Math.max(...ratios)), target: 3 });
  const big = syntheticWorkflow(2000, 10 * 1024 * 1024);
  emit({ name: 'dsl.synthetic.size', value: Buffer.byteLength(big, 'utf8'), unit: 'bytes' });
  compare('dsl.extract:synthetic-10MB-2000-llm', big, Number(process.env.BENCH_RUNS_BIG ?? 5));
  const doc = parseDify(big);
  emit({ name: 'dsl.synthetic.prompts', value: doc.prompts.length, unit: 'count' });
  const target = doc.prompts[Math.floor(doc.prompts.length / 2)];
  const wb: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = `Rewritten prompt ${i}\n  with indentation, "quotes", {{#sys.query#}} and 中文.`;
    wb.push(time(() => replacePrompts(doc, [{ id: target.id, text: t }])));
  }
  emit({ name: 'dsl.writeback:synthetic-10MB', value: round(median(wb)), unit: 'ms' });
}

/** The file with each under-indented continuation line of a quoted scalar indented enough (same values). */
function mendedCopy(text: string): string {
  let t = text;
  for (let i = 0; i < 500; i++) {
    try {
      parseEvents(t, {});
      return t;
    } catch (e) {
      const pos = (e as { mark?: { position: number } }).mark?.position;
      if (pos === undefined) return t;
      let ls = pos;
      while (ls > 0 && t[ls - 1] !== '\n') ls--;
      t = `${t.slice(0, ls)}${' '.repeat(40)}${t.slice(ls)}`;
    }
  }
  return t;
}

main();
