import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judgePair } from '../../../src/core/evidence/judge';
import { createLlmClient } from '../../../src/core/llm/client';
import { evidenceHandler } from '../../support/evidenceModel';
import { startFakeOpenAI } from '../../support/fakeOpenAI';
import { ORIGINAL_SYSTEM, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER, cli, workspace } from './helpers';

const KEY = { OPENAI_API_KEY: 'sk-evidence-modes-0001' };

describe('evidence: auto and required when the cases cannot be run; labelled datasets; judgePair', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  beforeEach(() => (w = workspace()));
  afterEach(() => w.cleanup());

  it('auto keeps a heuristic gain and says the cases could not be run; required keeps nothing and says why', async () => {
    // The default server rewrites well (a heuristic gain) but cannot write test cases (it echoes).
    const srv = await startFakeOpenAI();
    try {
      const base = ['optimize', 'support.yml', '--json', '--strategy', 'llm_guided', '--prompt', w.promptId, '--base-url', srv.url, '--no-cache'];
      const auto = (JSON.parse((await cli(base, w.ws, KEY)).out) as { accepted: boolean; evidence?: unknown; evidenceNote?: string }[])[0]!;
      assert.equal(auto.accepted, true);
      assert.equal(auto.evidence, undefined);
      assert.match(auto.evidenceNote ?? '', /kept on the heuristic score alone \(the test cases could not be run: .*no usable test case/);
      const req = await cli([...base, '--evidence', 'required'], w.ws, KEY);
      assert.equal(req.code, 0, req.err);
      const r = (JSON.parse(req.out) as { accepted: boolean; causes: string[]; skippedReason: string }[])[0]!;
      assert.equal(r.accepted, false);
      assert.ok(r.causes.includes('evidence-failed'));
      assert.match(r.skippedReason, /llm_guided: the test cases could not be run/);
    } finally {
      await srv.close();
    }
  });

  it('a labelled dataset is compared with its metrics, not the judge', async () => {
    const model = evidenceHandler();
    const srv = await startFakeOpenAI({ handler: model.handler });
    try {
      const ds = path.join(w.ws, 'labelled.jsonl');
      const rows = [1, 2, 3].map((i) => JSON.stringify({ id: `l${i}`, 'sys.query': `question ${i}`, context: 'C', '1700000000001.product': 'Cloud', histories: '[]', expected: `Answer [q=2] to: question ${i}` }));
      fs.writeFileSync(ds, `${rows.join('\n')}\n`);
      fs.writeFileSync(path.join(w.ws, 'cand.txt'), HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
      const r = await cli(['eval', 'support.yml', '--prompt', w.promptId, '--dataset', 'labelled.jsonl', '--candidate-file', 'cand.txt', '--metric', 'contains', '--json', '--base-url', srv.url], w.ws, KEY);
      assert.equal(r.code, 0, r.err);
      const v = JSON.parse(r.out) as { wins: number; report: { method: string } };
      assert.equal(v.report.method, 'metrics');
      assert.equal(v.wins, 3);
      assert.equal(model.counts.judge, 0);
    } finally {
      await srv.close();
    }
  });

  it('eval --version compares a recorded version with the text in the file; the same text is refused', async () => {
    const model = evidenceHandler({ rewrite: HEURISTIC_BETTER_LOSER });
    const srv = await startFakeOpenAI({ handler: model.handler });
    try {
      // The heuristic alone writes the loser and records the original as version 1.0.0.
      const opt = await cli(['optimize', 'support.yml', '--json', '--write', '--strategy', 'llm_guided', '--prompt', w.promptId, '--base-url', srv.url, '--evidence', 'off'], w.ws, KEY);
      assert.equal(opt.code, 0, opt.err);
      assert.equal((JSON.parse(opt.out) as { accepted: boolean }[])[0]!.accepted, true);
      const c = await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url], w.ws, KEY);
      assert.equal(c.code, 0, c.err);
      const ds = fs.readdirSync(path.join(w.ws, '.optimizer', 'datasets')).find((f) => f.endsWith('.jsonl'))!;
      const e = await cli(['eval', 'support.yml', '--prompt', w.promptId, '--dataset', ds, '--version', '1.0.0', '--json', '--base-url', srv.url], w.ws, KEY);
      assert.equal(e.code, 0, e.err);
      assert.equal((JSON.parse(e.out) as { verdict: string }).verdict, 'better', 'the original beats the rewrite now in the file');
      fs.writeFileSync(path.join(w.ws, 'same.txt'), fs.readFileSync(w.file, 'utf8').includes('## Task') ? HEURISTIC_BETTER_LOSER(ORIGINAL_SYSTEM) : ORIGINAL_SYSTEM);
      const same = await cli(['eval', 'support.yml', '--prompt', w.promptId, '--dataset', ds, '--candidate-file', 'same.txt', '--json', '--base-url', srv.url], w.ws, KEY);
      assert.equal(same.code, 2);
      assert.match(same.err, /nothing to compare/);
    } finally {
      await srv.close();
    }
  });

  it('judgePair gives a winner and a reason per pair (the metric-with-feedback piece)', async () => {
    const model = evidenceHandler();
    const srv = await startFakeOpenAI({ handler: model.handler });
    try {
      const client = createLlmClient({ baseUrl: srv.url, apiKey: 'k', model: 'judge' });
      const j = await judgePair(client, { task: 'Answer.', input: 'q', a: 'Answer [q=1] to: q', b: 'Answer [q=3] to: q' });
      assert.equal(j.winner, 'B');
      assert.match(j.reason, /quality 1 vs 3/);
      assert.equal(j.usage.calls, 1);
    } finally {
      await srv.close();
    }
  });
});
