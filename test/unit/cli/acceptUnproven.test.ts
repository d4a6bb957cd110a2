import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { VersionStore } from '../../../src/core/storage';
import { evidenceHandler, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER, ORIGINAL_SYSTEM } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { cli, workspace } from '../evidence/helpers';

const KEY = { OPENAI_API_KEY: 'sk-accept-unproven-0001' };

/**
 * `--write` writes only proposals the cases prove better; `--accept-unproven` also writes those
 * they neither prove better nor worse, recorded as such. The model is the scripted evidence
 * model (a TEST DOUBLE on 127.0.0.1): with `bias: 'first'` its judge always says "A", so judged
 * in both orders every case is a tie: win rate 0.5, "no evidence".
 */
describe('cli: optimize --accept-unproven', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer | undefined;
  beforeEach(() => (w = workspace()));
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w.cleanup();
  });
  const args = (...more: string[]) => ['optimize', 'support.yml', '--strategy', 'llm_guided', '--prompt', w.promptId, '--base-url', srv!.url, '--yes', ...more];

  it('--write leaves an unproven proposal out of the file, lists it with its report and records it as a proposed, unproven version', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER, bias: 'first' }).handler });
    const before = fs.readFileSync(w.file, 'utf8');
    const r = await cli(args('--write'), w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(w.file, 'utf8'), before, 'an unproven proposal was written without --accept-unproven');
    assert.match(r.err, /note: .*: llm_guided is unproven: 0\.50 \(90% interval 0\.\d\d–0\.\d\d\) on 12 cases; not taken \(--accept-unproven takes it\)\. Report: \.optimizer\/evidence\/.*\.md/);
    const store = await VersionStore.open(w.ws);
    try {
      const latest = await store.latest('support.yml', w.promptId);
      assert.equal(latest?.status, 'proposed');
      assert.equal(latest?.unproven, true);
      assert.equal(latest?.text, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    } finally {
      await store.close();
    }
    // Nothing spent is thrown away: the next run reuses the cases, answers and judgements (no new request).
    const n = srv.chatRequests().length;
    const again = await cli(args('--accept-unproven'), w.ws, KEY);
    assert.equal(again.code, 0, again.err);
    assert.equal(srv.chatRequests().length, n, 'the second run asked the model again');
    assert.match(again.out, /unproven: 0\.50/);
  });

  it('--write --accept-unproven writes it and records the accepted version as unproven', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER, bias: 'first' }).handler });
    const r = await cli(args('--write', '--accept-unproven', '--json'), w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    const res = (JSON.parse(r.out) as Array<{ accepted: boolean; unproven?: { label: string; written: boolean }; version?: string }>)[0]!;
    assert.equal(res.accepted, false, 'an unproven result is not "accepted" by the gate');
    assert.equal(res.unproven?.written, true);
    assert.match(res.unproven!.label, /^unproven: 0\.50 \(90% interval/);
    const doc = parseDify(fs.readFileSync(w.file, 'utf8'));
    assert.equal(doc.prompts.find((p) => p.id === w.promptId)!.text, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    const store = await VersionStore.open(w.ws);
    try {
      const v = await store.get('support.yml', w.promptId, res.version!);
      assert.equal(v.status, 'accepted');
      assert.equal(v.unproven, true);
    } finally {
      await store.close();
    }
  });

  it('without --write, --accept-unproven prints the unproven diff marked as such; a worse candidate is only listed with its report', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER, bias: 'first' }).handler });
    const r = await cli(args('--accept-unproven'), w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\+\+\+ b\/.* · unproven: 0\.50 \(90% interval/m);
    assert.match(r.err, /1 of 1 prompt\(s\) improved \(1 of them unproven\)/);
    await srv.close();
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_BETTER_LOSER }).handler });
    const worse = await cli(args('--accept-unproven', '--write'), w.ws, KEY);
    assert.equal(worse.code, 0, worse.err);
    assert.equal(worse.out, '');
    assert.match(worse.err, /note: .*: llm_guided was worse on 12 test cases \(win rate 0\.00\)\. Report: \.optimizer\/evidence\/[^\s]+\.md/);
    const report = /Report: (\S+\.md)/.exec(worse.err)![1]!;
    assert.ok(fs.existsSync(path.join(w.ws, report)));
  });
});
