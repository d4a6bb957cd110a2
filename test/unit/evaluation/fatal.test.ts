/**
 * A dataset run stops at once, with the backend's own plain message, on the errors no other
 * example can escape (the editor model's codes among them) instead of scoring every example 0.
 * The client is the real shared pipeline over a scripted in-process transport (the seam the
 * vscode.lm backend plugs into), which fails every request with the code under test.
 */
import * as assert from 'node:assert/strict';
import { CancelledError, LlmError, type LlmErrorCode } from '../../../src/core/errors';
import { createMetric, isFatal, runExample, type Example } from '../../../src/core/evaluation';
import { createPipelineClient, type LlmTransport } from '../../../src/core/llm/pipeline';
import { createOptimizer } from '../../../src/core/optimizers';
import { intentCtx, record } from '../optimizers/helpers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';

function failing(code: LlmErrorCode, message: string): LlmTransport & { calls: number } {
  const t = {
    label: 'scripted/editor',
    defaultModel: 'vscode:scripted/model',
    fixedModel: true,
    calls: 0,
    async chat(): Promise<never> {
      t.calls += 1;
      throw new LlmError(code, message);
    },
    classify(raw: unknown) {
      if (raw instanceof LlmError || raw instanceof CancelledError) return { error: raw, retryable: false };
      return { error: new LlmError('LLM_BAD_RESPONSE', String(raw)), retryable: false };
    },
  };
  return t;
}

const example: Example = { id: 'e1', vars: { 'sys.query': 'hello' }, expected: 'greeting', source: { file: 'd.jsonl', line: 1 } };

const CASES: Array<[LlmErrorCode, string]> = [
  ['LLM_NO_MODEL', 'The editor model Scripted is no longer available (the extension that provides it was disabled, removed or signed out).'],
  ['LLM_NO_PERMISSION', 'Prompt Optimizer may not use the editor model Scripted: permission was refused.'],
  ['LLM_BLOCKED', 'The editor model Scripted refused the request: its quota is used up or the request was blocked.'],
  ['LLM_NO_EMBEDDINGS', 'Editor models offer no embeddings.'],
  ['LLM_UNSUPPORTED', 'Editor models exist only inside VS Code.'],
];

describe('evaluation: errors that stop a run', () => {
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI();
  });
  after(async () => {
    await srv.close();
  });

  for (const [code, message] of CASES) {
    it(`${code} stops the run with its message instead of scoring examples 0`, async () => {
      assert.equal(isFatal(new LlmError(code, message)), true);
      const t = failing(code, message);
      const client = createPipelineClient(t);
      await assert.rejects(
        runExample({ record: record('Answer.') }, example, { client, metrics: [createMetric({ type: 'exact' })] }),
        (e: unknown) => e instanceof LlmError && e.code === code && e.message.includes(message),
      );
      // A whole optimizer run: it ends with the error, after a handful of calls, not one per example.
      const t2 = failing(code, message);
      const ctx = intentCtx(srv, { client: createPipelineClient(t2), concurrency: 1 });
      const examples = ctx.train.length + ctx.validation.length;
      await assert.rejects(
        createOptimizer('copro', { copro: { breadth: 2, depth: 1 } }).optimize(ctx),
        (e: unknown) => e instanceof LlmError && e.code === code && e.message.includes(message),
      );
      assert.ok(t2.calls < examples, `${t2.calls} calls for ${examples} examples: the run went on after ${code}`);
    });
  }

  it('a failure one example can have (a timeout) still scores that example 0 and the run goes on', async () => {
    assert.equal(isFatal(new LlmError('LLM_TIMEOUT', 'timed out')), false);
    const client = createPipelineClient(failing('LLM_TIMEOUT', 'The request timed out.'));
    const r = await runExample({ record: record('Answer.') }, example, { client, metrics: [createMetric({ type: 'exact' })] });
    assert.equal(r.score, 0);
    assert.equal(r.error?.code, 'LLM_TIMEOUT');
  });
});
