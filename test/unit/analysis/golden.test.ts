/**
 * Golden regression test of the analysis: for every prompt of every export under test/fixtures
 * (the Dify corpus, dify-source, messy) and for a fixed set of seeded synthetic prompts, the
 * complete output as it was when the golden file was written must come out again:
 * - `explainPrompt` (scores, every issue with kind, severity, message, range, suggestion and
 *   fixedBy, language, characters, tokens, variableCount, the score stats and penalties), with
 *   the input the editor and the CLI give it (`analysisInput`: kind, role, sibling classes);
 * - the text model the rule strategies edit with (`buildModel`: ranges, fences, every line
 *   record, the masked text; `sentenceSpans`, `wordUnits`, `detectLanguage`, `estimateTokens`);
 * - for the corpus prompts, the output of the four rule strategies.
 * Stored as a short hash of the canonical JSON per prompt (plus a few full outputs, readable,
 * to see what a failure changed). A speed-up must not change one of them.
 *
 * To rewrite the golden file after an intended change of results (and only then):
 * `ANALYSIS_GOLDEN_WRITE=1 npx mocha --config .mocharc.unit.json --grep 'analysis golden'`.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { explainPrompt } from '../../../src/core/analysis/analyze';
import { analysisInput } from '../../../src/core/analysis/labels';
import { buildModel, detectLanguage, estimateTokens, sentenceSpans, wordUnits } from '../../../src/core/analysis/text';
import type { AnalysisInput } from '../../../src/core/analysis/types';
import { parseDify } from '../../../src/core/dsl/parse';
import { findVariables } from '../../../src/core/dsl/variables';
import { createRuleStrategy, RULE_STRATEGIES } from '../../../src/core/strategies/rules';
import { syntheticPrompts } from '../../support/analysisSamples';
import { corpusDir } from '../../support/corpusPrompts';

interface Golden {
  note: string;
  /** key → `<sha1 of the input text, 8 hex> <sha1 of the canonical output, 16 hex>` */
  hashes: Record<string, string>;
  /** A few complete analyses (explainPrompt), readable. */
  full: Record<string, unknown>;
}

const FIXTURES = path.dirname(corpusDir());
const GOLDEN_FILE = path.join(FIXTURES, 'analysis', 'golden.json');
const FULL_KEYS = 6;

/** JSON with object keys sorted, so that the hash depends on values only. */
function canonical(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

const sha = (s: string, n: number): string => createHash('sha1').update(s, 'utf8').digest('hex').slice(0, n);

function textModel(text: string): unknown {
  const m = buildModel(text);
  return {
    ranges: m.ranges,
    fences: m.fences,
    lines: m.lines,
    masked: m.masked,
    variableCount: m.variableCount,
    sentences: sentenceSpans(m),
    units: wordUnits(m.masked),
    language: detectLanguage(m.masked),
    tokens: estimateTokens(text, findVariables(text)),
  };
}

async function outputOf(input: AnalysisInput, withStrategies: boolean): Promise<unknown> {
  const explained = explainPrompt(input);
  const out: Record<string, unknown> = { explained, model: textModel(input.text) };
  if (withStrategies) {
    const rules: Record<string, unknown> = {};
    for (const name of RULE_STRATEGIES) {
      rules[name] = await createRuleStrategy(name).apply({ text: input.text, analysis: explained.analysis, kind: input.kind, role: input.role, iteration: 1 });
    }
    out.rules = rules;
  }
  return out;
}

interface Case {
  key: string;
  input: AnalysisInput;
  strategies: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const sub of ['dify', 'dify-source', 'messy']) {
    const dir = path.join(FIXTURES, sub);
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      const doc = parseDify(fs.readFileSync(path.join(dir, file), 'utf8'), { file });
      for (const p of doc.prompts) {
        out.push({ key: `${sub}/${file}#${p.id}`, input: analysisInput(p, doc.prompts), strategies: true });
        // The same text with no kind or role (as a bare analyzePrompt call sees it).
        out.push({ key: `${sub}/${file}#${p.id}#bare`, input: { text: p.text }, strategies: false });
      }
    }
  }
  for (const s of syntheticPrompts()) out.push({ key: s.name, input: { text: s.text, kind: s.kind, role: s.role, siblings: s.siblings }, strategies: false });
  return out;
}

describe('analysis golden (every corpus prompt and synthetic prompt, output unchanged)', function () {
  this.timeout(300_000);

  it('gives, for every prompt, exactly the output recorded in test/fixtures/analysis/golden.json', async () => {
    const all = cases();
    assert.ok(all.length > 1000, `only ${all.length} cases`);
    const hashes: Golden['hashes'] = {};
    const full: Golden['full'] = {};
    const outputs = new Map<string, unknown>();
    for (const c of all) {
      assert.ok(!(c.key in hashes), `duplicate key ${c.key}`);
      const o = await outputOf(c.input, c.strategies);
      outputs.set(c.key, o);
      hashes[c.key] = `${sha(c.input.text, 8)} ${sha(canonical(o), 16)}`;
    }
    // Readable full outputs: the longest corpus prompts (CJK and English) and a synthetic one.
    const fullKeys = all
      .filter((c) => !c.key.endsWith('#bare') && !c.key.startsWith('synthetic'))
      .sort((a, b) => b.input.text.length - a.input.text.length || (a.key < b.key ? -1 : 1))
      .slice(0, FULL_KEYS - 1)
      .map((c) => c.key)
      .concat(['synthetic-50']);
    for (const k of fullKeys) full[k] = JSON.parse(canonical((outputs.get(k) as { explained: unknown }).explained));

    if (process.env.ANALYSIS_GOLDEN_WRITE === '1') {
      const golden: Golden = {
        note: 'Written by test/unit/analysis/golden.test.ts (ANALYSIS_GOLDEN_WRITE=1). Do not edit by hand.',
        hashes,
        full,
      };
      fs.mkdirSync(path.dirname(GOLDEN_FILE), { recursive: true });
      fs.writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 1)}\n`);
      return;
    }
    const golden = JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as Golden;
    assert.deepEqual(Object.keys(hashes).sort(), Object.keys(golden.hashes).sort(), 'the set of prompts changed (an export was added or removed?)');
    const inputChanged: string[] = [];
    const outputChanged: string[] = [];
    for (const [k, h] of Object.entries(hashes)) {
      const [inHash, outHash] = h.split(' ');
      const [gIn, gOut] = golden.hashes[k].split(' ');
      if (inHash !== gIn) inputChanged.push(k);
      else if (outHash !== gOut) outputChanged.push(k);
    }
    assert.deepEqual(inputChanged, [], `the text of these prompts changed (the DSL reader, not the analysis): ${inputChanged.slice(0, 5).join(', ')}`);
    for (const k of Object.keys(golden.full)) {
      if (outputChanged.includes(k)) assert.deepEqual(JSON.parse(canonical((outputs.get(k) as { explained: unknown }).explained)), golden.full[k], `analysis of ${k}`);
    }
    assert.deepEqual(outputChanged, [], `${outputChanged.length} prompts give another output, e.g. ${outputChanged.slice(0, 5).join(', ')}`);
  });

  it('its hash covers what it claims: one changed issue message or line flag changes it', async () => {
    const input = { text: 'You are a helpful assistant. Try to answer some questions.\n\n\n- a\n- b  ', role: 'system' as const };
    const o = (await outputOf(input, true)) as { explained: { analysis: { issues: { message: string }[] } }; model: { lines: { blank: boolean }[] } };
    const h = sha(canonical(o), 16);
    const msg = JSON.parse(JSON.stringify(o)) as typeof o;
    msg.explained.analysis.issues[0].message += ' ';
    assert.notEqual(sha(canonical(msg), 16), h);
    const flag = JSON.parse(JSON.stringify(o)) as typeof o;
    flag.model.lines[1].blank = !flag.model.lines[1].blank;
    assert.notEqual(sha(canonical(flag), 16), h);
  });
});
