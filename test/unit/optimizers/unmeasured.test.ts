/**
 * A dataset run never claims "no candidate beat the baseline" when the real cause was the calls:
 * every task call of the current prompt failing is an error (DATASET_UNMEASURED, the calls'
 * own code in its words), failed proposals and failed example runs are counted in the report.
 * The task model is the intent TEST DOUBLE (test/support/intentModel.ts) on 127.0.0.1.
 */
import * as assert from 'node:assert/strict';
import { DatasetError } from '../../../src/core/errors';
import { createOptimizer, formatReport, tfidfEmbedder } from '../../../src/core/optimizers';
import type { EngineEvent } from '../../../src/core/engine/events';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { intentHandler } from '../../support/intentModel';
import { intentCtx } from './helpers';

const isReflection = (system: string) => system.includes('reflective instruction editor') || system.includes('instruction optimizer');

describe('dataset runs whose calls fail say so', function () {
  this.timeout(30000);
  let srv: FakeOpenAIServer | undefined;
  afterEach(async () => srv?.close());

  for (const name of ['gepa', 'copro', 'knn'] as const) {
    it(`${name}: every task call failing is DATASET_UNMEASURED with the calls' reason, not "no improvement"`, async () => {
      srv = await startFakeOpenAI({
        handler: (req) => (req.messages.find((m) => m.role === 'system')?.content ?? '').includes('reflective') ? intentHandler(req) : { status: 503, body: { error: { message: 'upstream busy' } } },
      });
      await assert.rejects(createOptimizer(name).optimize(intentCtx(srv, { embedder: tfidfEmbedder() })), (e: unknown) => {
        assert.ok(e instanceof DatasetError, String(e));
        assert.equal(e.code, 'DATASET_UNMEASURED');
        assert.match(e.message, /failed on all 8 validation example\(s\).*could not be measured.*LLM_HTTP.*upstream busy/);
        return true;
      });
    });
  }

  it('gepa: every proposal call failing ends as "no candidate was measured" with the reason, in the report and its event', async () => {
    srv = await startFakeOpenAI({
      handler: (req) => (isReflection(req.messages.find((m) => m.role === 'system')?.content ?? '') ? { content: 'not json at all' } : intentHandler(req)),
    });
    const events: EngineEvent[] = [];
    const report = await createOptimizer('gepa').optimize(intentCtx(srv, { events: (e) => events.push(e) }));
    assert.equal(report.accepted, false);
    assert.ok(report.failedProposals && report.failedProposals.count >= 1, JSON.stringify(report.failedProposals));
    const text = formatReport(report, 'run.jsonl');
    assert.match(text, /No candidate was measured: \d+ proposal call\(s\) failed and were skipped/);
    assert.doesNotMatch(text, /No candidate beat the baseline/);
    const done = events.find((e) => e.type === 'optimization_complete') as { skippedReason?: string } | undefined;
    assert.match(done?.skippedReason ?? '', /no candidate was measured: \d+ proposal call\(s\) failed/);
  });

  it('some task calls failing: the report counts them with the first reason, and the run still decides on the rest', async () => {
    let n = 0;
    srv = await startFakeOpenAI({
      handler: (req) => {
        if (isReflection(req.messages.find((m) => m.role === 'system')?.content ?? '')) return intentHandler(req);
        n += 1;
        return n % 5 === 0 ? { status: 500, body: { error: { message: 'flaky' } } } : intentHandler(req);
      },
    });
    const report = await createOptimizer('gepa').optimize(intentCtx(srv, { concurrency: 1 }));
    assert.ok(report.failedRuns, 'failed runs are counted');
    assert.ok(report.failedRuns.count >= 1 && report.failedRuns.count < report.failedRuns.of);
    assert.equal(report.failedRuns.code, 'LLM_HTTP');
    assert.match(formatReport(report, 'run.jsonl'), new RegExp(`${report.failedRuns.count} of ${report.failedRuns.of} example run\\(s\\) failed and scored 0 \\(LLM_HTTP: .*flaky`));
  });
});
