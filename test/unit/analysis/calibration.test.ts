import { strict as assert } from 'node:assert';
import { analyzePrompt, explainPrompt } from '../../../src/core/analysis/analyze';
import { ISSUE_DIMENSION, judgedAsInstruction, type Dimension } from '../../../src/core/analysis/scorer';
import type { PromptRole } from '../../../src/core/dsl/types';
import { loadCorpusPrompts } from '../../support/corpusPrompts';

const DIMS: Dimension[] = ['clarity', 'efficiency', 'structure'];

function quantile(sorted: number[], f: number): number {
  return sorted[Math.floor(f * (sorted.length - 1))];
}

function describe5(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `n=${s.length} min=${s[0]} p25=${quantile(s, 0.25)} median=${quantile(s, 0.5)} p75=${quantile(s, 0.75)} max=${s[s.length - 1]}`;
}

describe('scoring calibration over the corpus', () => {
  const prompts = loadCorpusPrompts();
  const rows = prompts.map((p) => ({ p, e: explainPrompt({ text: p.text, role: p.role as PromptRole }) }));
  /** Prompts judged as instructions: not user/assistant messages, not variable carriers. */
  const judged = rows.filter((r) => r.e.stats !== null && judgedAsInstruction(r.e.stats) && !r.e.stats.userRequest);

  it('has teeth: a real spread over the instruction prompts, well-written ones still score 90+', () => {
    const all = rows.map((r) => r.e.analysis.overall);
    const js = judged.map((r) => r.e.analysis.overall).sort((a, b) => a - b);
    console.log(`      all prompts:         ${describe5(all)}`);
    console.log(`      instruction prompts: ${describe5(js)} below60=${js.filter((x) => x < 60).length} from90=${js.filter((x) => x >= 90).length}`);
    assert.ok(judged.length >= 40, `only ${judged.length} instruction prompts`);
    const median = quantile(js, 0.5);
    assert.ok(median >= 65 && median <= 88, `median ${median}`);
    assert.ok(quantile(js, 0.75) - quantile(js, 0.25) >= 10, 'interquartile range below 10 points');
    assert.ok(js.filter((x) => x < 60).length >= 3, 'no instruction prompt below 60');
    assert.ok(js.filter((x) => x >= 90).length >= 5, 'fewer than 5 instruction prompts at 90+');
    assert.ok(all.filter((x) => x < 80).length >= 15, 'fewer than 15 prompts below the default threshold 80');
  });

  it('a bare one-line system prompt scores below 60; a variable-only user message is not punished', () => {
    for (const text of ['你是一个小助手', 'You are a helpful assistant.']) {
      const a = analyzePrompt({ text, role: 'system' });
      assert.ok(a.overall < 60, `${text}: ${a.overall}`);
      assert.ok(a.issues.some((i) => i.kind === 'too-short'));
    }
    for (const role of ['user', 'assistant', 'system'] as const) assert.equal(analyzePrompt({ text: '{{#sys.query#}}', role }).overall, 100);
    assert.equal(analyzePrompt({ text: '用户的正文：{{#1721701419863.text#}}', role: 'user' }).overall, 100);
  });

  it('every point lost is reported: per dimension, 100 − Σ penalty points = score, and each penalty has an issue of its kind', () => {
    for (const { p, e } of rows) {
      const where = `${p.file} ${p.nodeId} ${p.role}`;
      const a = e.analysis;
      for (const pen of e.penalties) {
        assert.ok(pen.points > 0, where);
        assert.ok(a.issues.some((i) => pen.kinds.includes(i.kind)), `${where}: ${pen.term} costs ${pen.points} but no issue reports it`);
        for (const k of pen.kinds) assert.equal(ISSUE_DIMENSION[k], pen.dimension, `${k} dimension`);
      }
      for (const d of DIMS) {
        const lost = e.penalties.filter((x) => x.dimension === d).reduce((s, x) => s + x.points, 0);
        assert.ok(Math.abs(Math.max(0, 100 - lost) - a[d]) <= 0.2, `${where}: ${d} ${a[d]} vs 100 − ${lost}`);
        if (a[d] < 100) assert.ok(a.issues.some((i) => ISSUE_DIMENSION[i.kind] === d), `${where}: ${d} < 100 without an issue`);
      }
      const costly = a.issues.filter((i) => ISSUE_DIMENSION[i.kind] !== undefined && !(i.kind === 'unbalanced-code-fence' && i.severity === 'info'));
      if (costly.length === 0) assert.equal(a.overall, 100, `${where}: no issue but ${a.overall}`);
      for (const i of a.issues) assert.ok(i.suggestion && i.suggestion.length > 0, `${where}: ${i.kind} without a suggestion`);
    }
  });

  it('the whole-prompt issues explain themselves (too short, no constraints, no examples, missing parts)', () => {
    const short = analyzePrompt({ text: 'Summarize the text.', role: 'system' });
    assert.ok(short.issues.some((i) => i.kind === 'too-short' && i.end === 'Summarize the text.'.length));
    assert.ok(short.issues.some((i) => i.kind === 'missing-output-format'));
    const vague = analyzePrompt({
      text: 'You are an editor at a travel magazine. Read the draft article the user sends and improve its language and flow so that readers enjoy it, keeping the tone of the magazine and the voice of the author, then send the improved article back in markdown with a short note on what changed.',
      role: 'system',
    });
    const kinds = new Set(vague.issues.map((i) => i.kind));
    assert.ok(kinds.has('no-constraints') && kinds.has('no-examples'), [...kinds].join());
    const specific = analyzePrompt({
      text: 'You are an editor at a travel magazine. Read the draft article the user sends and fix grammar and flow; never change facts or quotes and keep it under 800 words. For example, "very very nice" becomes "delightful". Return the improved article in markdown.',
      role: 'system',
    });
    assert.ok(specific.overall > vague.overall, `${specific.overall} <= ${vague.overall}`);
    assert.ok(!specific.issues.some((i) => i.kind === 'no-constraints' || i.kind === 'no-examples'));
  });
});
