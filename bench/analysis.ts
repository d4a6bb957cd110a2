/**
 * Analysis benchmark: `node out/bench/analysis.js` (or `npm run bench:analysis`).
 *
 * Analysis must be linear in the prompt's length (the file limit is 20 MB). For prompts of 1, 4
 * and 16 MB, as one single line (the case that was quadratic) and as many short lines, prints
 * the median throughput of `analyzePrompt` in MB/s, with as baseline the throughput of a plain
 * linear pass over the same text measured in the same run (`toLowerCase` + a regex count), and
 * `linearity`: MB/s at 16 MB over MB/s at 1 MB (1 = perfectly linear; quadratic would be 1/16).
 */
import { analyzePrompt } from '../src/core/analysis/index';
import { median, time } from './timing';

function emit(f: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const SENTENCE = 'Please summarize the report in three bullet points and keep every number exact. ';

function prompt(mb: number, singleLine: boolean): string {
  const n = Math.ceil((mb * 1024 * 1024) / SENTENCE.length);
  return singleLine ? SENTENCE.repeat(n) : `${SENTENCE.trimEnd()}\n`.repeat(n);
}

function main(): void {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  for (const singleLine of [true, false]) {
    const shape = singleLine ? 'single-line' : 'multi-line';
    const rates: Record<number, number> = {};
    for (const mb of [1, 4, 16]) {
      const text = prompt(mb, singleLine);
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < runs; i++) {
        base.push(time(() => (text.toLowerCase().match(/\./g) ?? []).length));
        ours.push(time(() => analyzePrompt({ text })));
      }
      const rate = mb / (median(ours) / 1000);
      rates[mb] = rate;
      emit({ name: `analysis.throughput:${shape}-${mb}MB`, value: round(rate), unit: 'MB/s', baseline: round(mb / (median(base) / 1000)), ms: round(median(ours)) });
    }
    emit({ name: `analysis.linearity:${shape}`, value: round(rates[16] / rates[1]), unit: 'ratio (MB/s at 16 MB / MB/s at 1 MB)' });
  }
}

main();
