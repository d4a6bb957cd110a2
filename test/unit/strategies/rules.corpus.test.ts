import { strict as assert } from 'node:assert';
import { analyzePrompt } from '../../../src/core/analysis/analyze';
import { createRuleStrategy, RULE_STRATEGIES } from '../../../src/core/strategies/rules';
import type { PromptRole } from '../../../src/core/dsl/types';
import { loadCorpusPrompts } from '../../support/corpusPrompts';
import { assertInvariants } from './invariants';

async function run(name: string, text: string, role: PromptRole): Promise<{ text: string; confidence: number; rationale: string; changes: string[] }> {
  return createRuleStrategy(name).apply({ text, analysis: analyzePrompt({ text, role }), role, iteration: 1 });
}

describe('rule strategies over every corpus prompt', () => {
  const prompts = loadCorpusPrompts();
  for (const name of RULE_STRATEGIES) {
    it(`${name}: keeps variables, blocks, headers, lists and lines; idempotent; never lowers the score`, async () => {
      let changed = 0;
      for (const p of prompts) {
        const role = p.role as PromptRole;
        const where = `${name} on ${p.file} ${p.nodeId} ${p.role}`;
        const once = await run(name, p.text, role);
        assertInvariants(p.text, once.text, where);
        const twice = await run(name, once.text, role);
        assert.equal(twice.text, once.text, `${where}: not idempotent`);
        const a0 = analyzePrompt({ text: p.text, role });
        const a1 = analyzePrompt({ text: once.text, role });
        assert.ok(a1.overall >= a0.overall, `${where}: score went down ${a0.overall} → ${a1.overall}`);
        assert.ok(once.rationale.length > 0);
        if (once.text !== p.text) {
          changed++;
          assert.ok(once.confidence > 0 && once.confidence <= 1, where);
          assert.ok(once.changes.length > 0, where);
        } else assert.equal(once.confidence, 0, where);
      }
      assert.ok(changed > 0, `${name} changed nothing in the corpus`);
    });
  }
});
