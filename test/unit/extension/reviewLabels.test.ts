import * as assert from 'node:assert/strict';
import { checkAccept, ReviewCodes } from '../../../src/extension/review/checks';
import { fmtScore, pendingLensTitle, pendingLensTooltip, proposalTitle } from '../../../src/extension/review/labels';

const fields = { nodeTitle: 'Answer Writer', kind: 'llm-message', role: 'system', strategy: 'clarity_focus', scoreBefore: 72.04, scoreAfter: 86.25 };

describe('extension/review labels', () => {
  it('rounds scores to one decimal without a trailing .0', () => {
    assert.equal(fmtScore(72.04), '72');
    assert.equal(fmtScore(86.25), '86.3');
  });

  it('titles the diff with node, kind, role, strategy and score change', () => {
    assert.equal(proposalTitle(fields), 'Answer Writer · llm-message (system) · clarity_focus · 72 → 86.3');
    assert.equal(proposalTitle({ ...fields, role: null }), 'Answer Writer · llm-message · clarity_focus · 72 → 86.3');
    assert.equal(proposalTitle({ ...fields, editedScore: 80 }), 'Answer Writer · llm-message (system) · clarity_focus · 72 → 80 (edited)');
    assert.equal(proposalTitle({ ...fields, stale: true }), 'Answer Writer · llm-message (system) · clarity_focus · 72 → 86.3 · stale');
  });

  it('the pending CodeLens reads "Proposal 72 → 86", edited and stale states included', () => {
    assert.equal(pendingLensTitle(fields), 'Proposal 72 → 86.3');
    assert.equal(pendingLensTitle({ ...fields, editedScore: 79.96 }), 'Proposal 72 → 80 (edited)');
    assert.equal(pendingLensTitle({ ...fields, stale: true }), 'Proposal 72 → 86.3 · stale: the prompt changed');
  });

  it('an unproven proposal is marked with its win rate, 90% interval and cases; a better one with its verdict', () => {
    const evidence = { verdict: 'no evidence', winRate: 0.62, lowerBound: 0.41, upperBound: 0.8, cases: 24 };
    assert.equal(proposalTitle({ ...fields, evidence, unproven: true }), 'Answer Writer · llm-message (system) · clarity_focus · 72 → 86.3 · unproven: 0.62 (90% interval 0.41–0.80) on 24 cases');
    assert.equal(pendingLensTitle({ ...fields, evidence, unproven: true }), 'Proposal 72 → 86.3 · unproven: 0.62 (90% interval 0.41–0.80) on 24 cases');
    assert.equal(pendingLensTitle({ ...fields, evidence: { ...evidence, verdict: 'better', winRate: 0.92 } }), 'Proposal 72 → 86.3 · better, win rate 0.92 on 24 cases');
    assert.match(pendingLensTooltip({ ...fields, evidence, unproven: true }), /accepting it records the version as unproven/);
  });
});

describe('extension/review checkAccept', () => {
  const base = { nodeTitle: 'Answer Writer', promptId: 'n1/msg:1', file: 'bot.yml', edited: true };
  const current = 'Answer {{#sys.query#}} using {{#context#}}.';

  it('passes an edit that keeps every variable', () => {
    assert.equal(checkAccept({ ...base, current, text: 'Answer {{#sys.query#}} briefly, using {{#context#}}.\nBe kind.' }), undefined);
  });

  it('refuses an edit that drops a variable, naming it, the prompt and the file, and says the edit is kept', () => {
    const r = checkAccept({ ...base, current, text: 'Answer the question using {{#context#}}.' });
    assert.equal(r?.code, ReviewCodes.variablesChanged);
    assert.match(r!.message, /edited proposal for "Answer Writer" \(n1\/msg:1\) in bot\.yml drops the variable \{\{#sys\.query#\}\}/);
    assert.match(r!.message, /your edit is kept/);
  });

  it('refuses an edit that adds a variable the prompt does not have, or changes one', () => {
    const added = checkAccept({ ...base, current, text: `${current} {{#1718.text#}}` });
    assert.equal(added?.code, ReviewCodes.variablesChanged);
    assert.match(added!.message, /adds the variable \{\{#1718\.text#\}\}/);
    const altered = checkAccept({ ...base, current, text: 'Answer {{#sys.query2#}} using {{#context#}}.' });
    assert.match(altered!.message, /drops the variable \{\{#sys\.query#\}\} and adds the variable \{\{#sys\.query2#\}\}/);
  });

  it('refuses an empty text and a text equal to the current prompt (every change reverted)', () => {
    assert.equal(checkAccept({ ...base, current, text: '  \n' })?.code, ReviewCodes.empty);
    assert.equal(checkAccept({ ...base, current, text: current })?.code, ReviewCodes.nothingLeft);
  });

  it('an unedited proposal gets the same checks, without the words about an edit', () => {
    const r = checkAccept({ ...base, edited: false, current, text: 'Answer the question.' });
    assert.equal(r?.code, ReviewCodes.variablesChanged);
    assert.doesNotMatch(r!.message, /edit/);
  });
});
