import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG, PRESETS, parseConfigFile, resolveConfig } from '../../../src/core/engine/config';
import { ConfigError } from '../../../src/core/errors';

describe('engine config', () => {
  it('reads snake_case settings and applies a preset under them', () => {
    const o = parseConfigFile('preset: conservative\nmax_iterations: 2\nbudget:\n  max_calls: 40\n');
    const cfg = resolveConfig(DEFAULT_CONFIG, o);
    assert.deepEqual(cfg.strategies, PRESETS.conservative.strategies);
    assert.equal(cfg.minConfidence, 0.8);
    assert.equal(cfg.maxIterations, 2);
    assert.equal(cfg.budget.maxCalls, 40);
  });

  for (const key of ['base_url', 'api_key', 'baseUrl', 'apiKey', 'headers']) {
    it(`refuses '${key}' anywhere in the file`, () => {
      for (const text of [`${key}: http://evil.example\n`, `model:\n  ${key}: x\n`]) {
        assert.throws(
          () => parseConfigFile(text, 'ws/.optimizer/config.yaml'),
          (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_FORBIDDEN_KEY' && e.message.includes('ws/.optimizer/config.yaml'),
        );
      }
    });
  }

  it('names the setting and the file on bad values, and line:column on bad YAML', () => {
    assert.throws(() => parseConfigFile('max_iterations: 99\n', 'c.yaml'), /c\.yaml: max_iterations: .*10/);
    assert.throws(() => parseConfigFile('strategies: [nope]\n', 'c.yaml'), /strategies\.0/);
    assert.throws(() => parseConfigFile('a: [\n', 'c.yaml'), (e: unknown) => e instanceof ConfigError && /c\.yaml:\d+:\d+/.test(e.message));
    assert.throws(() => parseConfigFile('unknown_thing: 1\n', 'c.yaml'), /unknown_thing|Unrecognized/);
  });

  it('pricing: model → USD per million tokens, mapped to the cost table form and merged model by model', () => {
    const o = parseConfigFile('pricing:\n  my-local-llm:\n    input_per_million: 0\n    output_per_million: 0\n  acme-large:\n    input_per_million: 3\n    output_per_million: 15.5\n');
    assert.deepEqual(o.pricing, { 'my-local-llm': { inputPerM: 0, outputPerM: 0 }, 'acme-large': { inputPerM: 3, outputPerM: 15.5 } });
    const cfg = resolveConfig(DEFAULT_CONFIG, o, { pricing: { 'acme-large': { inputPerM: 4, outputPerM: 16 } } });
    assert.deepEqual(cfg.pricing, { 'my-local-llm': { inputPerM: 0, outputPerM: 0 }, 'acme-large': { inputPerM: 4, outputPerM: 16 } });
    assert.deepEqual(resolveConfig(DEFAULT_CONFIG).pricing, {});
  });

  it('pricing: bad entries are refused naming the model and the field', () => {
    assert.throws(() => parseConfigFile('pricing:\n  m1:\n    input_per_million: -1\n    output_per_million: 2\n', 'c.yaml'), /c\.yaml: pricing\.m1\.input_per_million/);
    assert.throws(() => parseConfigFile('pricing:\n  m1:\n    input_per_million: 1\n', 'c.yaml'), /pricing\.m1\.output_per_million/);
    assert.throws(() => parseConfigFile('pricing:\n  m1:\n    input_per_million: "1"\n    output_per_million: 2\n', 'c.yaml'), /pricing\.m1\.input_per_million/);
    assert.throws(() => parseConfigFile('pricing:\n  m1:\n    input: 1\n    output_per_million: 2\n', 'c.yaml'), (e: unknown) => e instanceof ConfigError && /pricing\.m1/.test(e.message));
  });

  it('undefined overrides do not erase values', () => {
    const cfg = resolveConfig(DEFAULT_CONFIG, { maxIterations: undefined, budget: { maxCalls: undefined } });
    assert.equal(cfg.maxIterations, DEFAULT_CONFIG.maxIterations);
  });
});
