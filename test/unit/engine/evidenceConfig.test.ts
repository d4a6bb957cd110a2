import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG, PRESETS, parseConfigFile, resolveConfig } from '../../../src/core/engine/config';
import { ConfigError } from '../../../src/core/errors';

describe('engine config: evidence', () => {
  it('defaults to auto with 12 cases growing to at most 48, a judge trusted from 60% position consistency, in the default and in every preset', () => {
    assert.deepEqual(resolveConfig(DEFAULT_CONFIG).evidence, { mode: 'auto', cases: 12, maxCases: 48, minConsistency: 0.6 });
    for (const p of Object.values(PRESETS)) assert.equal(resolveConfig(p).evidence.mode, 'auto');
  });

  it('reads `evidence: off` and the mapping form; a flag overrides the file, key by key', () => {
    assert.equal(resolveConfig(DEFAULT_CONFIG, parseConfigFile('evidence: off\n')).evidence.mode, 'off');
    const o = parseConfigFile('preset: balanced\nevidence:\n  mode: required\n  cases: 8\n  judge_model: judge-1\n  task_model: task-1\n');
    const cfg = resolveConfig(DEFAULT_CONFIG, o, { evidence: { cases: 20, mode: undefined } });
    assert.deepEqual(cfg.evidence, { mode: 'required', cases: 20, maxCases: 48, minConsistency: 0.6, judgeModel: 'judge-1', taskModel: 'task-1' });
    const seq = resolveConfig(DEFAULT_CONFIG, parseConfigFile('evidence:\n  max_cases: 24\n  min_consistency: 0.75\n'), { evidence: { maxCases: 36 } });
    assert.equal(seq.evidence.maxCases, 36);
    assert.equal(seq.evidence.minConsistency, 0.75);
  });

  it('refuses bad values naming the setting', () => {
    assert.throws(() => resolveConfig(DEFAULT_CONFIG, parseConfigFile('evidence: sometimes\n', 'c.yaml')), (e: unknown) => e instanceof ConfigError);
    assert.throws(() => parseConfigFile('evidence:\n  cases: 1\n', 'c.yaml'), /c\.yaml: evidence/);
    assert.throws(() => parseConfigFile('evidence:\n  max_cases: 1\n', 'c.yaml'), /c\.yaml: evidence/);
    assert.throws(() => parseConfigFile('evidence:\n  min_consistency: 1.5\n', 'c.yaml'), /c\.yaml: evidence/);
  });
});
