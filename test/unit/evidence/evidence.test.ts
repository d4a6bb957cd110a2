import { strict as assert } from 'node:assert';
import { confidenceSequence } from '../../../src/core/evidence/sequence';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePrompt } from '../../../src/core/analysis';
import { parseDataset } from '../../../src/core/evaluation/dataset';
import { DiskCache, hashKey } from '../../../src/core/llm/cache';
import { endpointLabel } from '../../../src/core/llm/redact';
import { VersionStore } from '../../../src/core/storage';
import { evidenceHandler, QUALITY_PHRASES } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER, ORIGINAL_SYSTEM, cli, workspace } from './helpers';

const KEY = { OPENAI_API_KEY: 'sk-evidence-test-0001' };

function answered(srv: FakeOpenAIServer): string[] {
  return srv
    .chatRequests()
    .filter((r) => r.outcome === 'answered')
    .map((r) => JSON.stringify(r.body));
}

/** The key the client caches a chat answer under, from the request body the server received (see llm/client chatKey). */
function cacheKeyOf(body: Record<string, unknown>, baseUrl: string): string {
  const rf = body.response_format as { type?: string } | undefined;
  return hashKey({
    kind: 'chat',
    endpoint: endpointLabel(baseUrl),
    model: body.model,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    responseFormat: rf?.type === 'json_object' ? 'json' : 'text',
    messages: (body.messages as { role: string; content: string }[]).map((m) => ({ role: m.role, content: m.content })),
  });
}

describe('evidence: cases, eval and the gate against the scripted server', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer;
  let model: ReturnType<typeof evidenceHandler>;
  const start = async (opts: Parameters<typeof evidenceHandler>[0] = {}) => {
    model = evidenceHandler(opts);
    srv = await startFakeOpenAI({ handler: model.handler });
  };
  beforeEach(() => {
    w = workspace();
  });
  afterEach(async () => {
    await srv?.close();
    w.cleanup();
  });

  it('the rewrites of these tests are what they claim: one scores higher on the heuristic, the other the same', () => {
    const score = (t: string) => analyzePrompt({ text: t, kind: 'llm-message', role: 'system' }).overall;
    assert.ok(score(HEURISTIC_BETTER_LOSER(ORIGINAL_SYSTEM)) > score(ORIGINAL_SYSTEM) + 5);
    assert.equal(score(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM)), score(ORIGINAL_SYSTEM));
  });

  it('cases: writes a generated dataset with a value for every input, reused on the next run', async () => {
    await start();
    const r = await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url, '--model', 'judge'], w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /1700000000001\.product: user input "Product": one of the options \[options: Cloud, Desktop\]/);
    assert.match(r.out, /12 case\(s\) written to \.optimizer\/datasets\/support--1700000000003-msg-5c1e2c1a/);
    const file = fs.readdirSync(path.join(w.ws, '.optimizer', 'datasets')).find((f) => f.endsWith('.jsonl'))!;
    const text = fs.readFileSync(path.join(w.ws, '.optimizer', 'datasets', file), 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { source: string; metadata: { kind: string } });
    assert.equal(lines.length, 12);
    assert.ok(lines.every((l) => l.source === 'generated'));
    assert.deepEqual([...new Set(lines.map((l) => l.metadata.kind))].sort(), ['adversarial', 'edge', 'typical']);
    // An ordinary dataset: the reader train uses takes it (inputs only, no expected answer).
    const ds = parseDataset(text, { file });
    assert.deepEqual(Object.keys(ds.examples[0]!.vars).sort(), ['1700000000001.product', 'context', 'histories', 'sys.query']);
    assert.equal(model.counts.cases, 2, 'two batches of six');
    const again = await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url], w.ws, KEY);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already exists; it is reused/);
    assert.equal(model.counts.cases, 2);
  });

  async function evalWith(candidate: string, extra: string[] = [], signal?: AbortSignal) {
    fs.writeFileSync(path.join(w.ws, 'cand.txt'), candidate);
    const ds = `support--${w.promptId.replace(/[^\p{L}\p{N}_-]+/gu, '-')}`;
    if (!fs.existsSync(path.join(w.ws, '.optimizer', 'datasets', `${ds}.jsonl`))) {
      const c = await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url], w.ws, KEY);
      assert.equal(c.code, 0, c.err);
    }
    return cli(['eval', 'support.yml', '--prompt', w.promptId, '--dataset', ds, '--candidate-file', 'cand.txt', '--json', '--base-url', srv.url, ...extra], w.ws, KEY, signal);
  }

  it('eval: a heuristic-better rewrite that loses every case is "worse"; a heuristic-neutral one that wins is "better"', async () => {
    await start();
    const lose = await evalWith(HEURISTIC_BETTER_LOSER(ORIGINAL_SYSTEM));
    assert.equal(lose.code, 0, lose.err);
    const l = JSON.parse(lose.out) as { verdict: string; losses: number; dropped: string[]; report: { requirements: { id: string; current: number; candidate: number }[]; cases: { reason: string }[] } };
    assert.equal(l.verdict, 'worse');
    assert.equal(l.losses, 12);
    assert.deepEqual(l.dropped, ['R2'], 'the loser stops citing the context');
    assert.match(l.report.cases[0]!.reason, /scripted: quality/);
    const win = await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    const v = JSON.parse(win.out) as { verdict: string; wins: number; lowerBound: number; checklistFile: string; reportFile: string; casesSha256: string };
    assert.equal(v.verdict, 'better');
    assert.equal(v.wins, 12);
    // The anytime-valid bound after 12 wins (sequence.ts), wider than the fixed-n Wilson bound (0.816) it replaced.
    assert.ok(Math.abs(v.lowerBound - confidenceSequence(Array(12).fill(1)).lower[11]!) < 1e-9, String(v.lowerBound));
    assert.ok(v.lowerBound > 0.64 && v.lowerBound < 0.66, String(v.lowerBound));
    assert.ok(fs.existsSync(path.join(w.ws, v.checklistFile)));
    assert.match(fs.readFileSync(path.join(w.ws, v.reportFile), 'utf8'), /## Cases[\s\S]*case-01 · typical · candidate wins[\s\S]*Current answer:[\s\S]*Candidate answer:/);
    assert.equal(model.counts.checklist, 1, 'the checklist is drawn once and reused');
    // The same eval again costs nothing.
    const n = srv.chatRequests().length;
    const again = await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    assert.equal(again.code, 0);
    assert.equal(srv.chatRequests().length, n);
  });

  it('position bias is cancelled and seen: a judge that always says "A" gives ties, not wins, and the verdict "judge unreliable"', async () => {
    await start({ bias: 'first' });
    const r = await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    const v = JSON.parse(r.out) as { verdict: string; wins: number; ties: number; report: { positionConsistency: number; unreliable: string; cases: { orders: { winner: string }[]; reason: string }[] } };
    assert.equal(v.ties, 12);
    // The two orders never agree: consistency 0 < 0.6, so not "no evidence" but a judge not to trust, saying what to change.
    assert.equal(v.verdict, 'judge unreliable');
    assert.equal(v.report.positionConsistency, 0);
    assert.match(v.report.unreliable, /both orders .* only 0% of the cases \(at least 60% needed\).*stronger or different judge model/);
    // Judged in one order only, the same judge would have given the candidate (B in the first order) 0 wins, and 12 in the other.
    assert.ok(v.report.cases.every((c) => c.orders[0]!.winner === 'A' && c.orders[1]!.winner === 'A'));
    assert.match(v.report.cases[0]!.reason, /two orders disagree/);
  });

  it('a cancelled eval resumes without repeating a call whose answer it had received', async () => {
    await start({ latencyMs: 20 });
    // Cases and checklist first, so the cancel falls in the comparison.
    await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM), ['--no-cache']);
    const marks = /^(You write test inputs|List the requirements)/;
    const needed = new Set(srv.chatRequests().filter((r) => !marks.test(((r.body as { messages: { content: string }[] }).messages[0]!.content))).map((r) => JSON.stringify(r.body)));
    fs.rmSync(path.join(w.ws, '.optimizer', 'cache'), { recursive: true, force: true });
    srv.reset();
    const ac = new AbortController();
    model.counts.judge = 0;
    const timer = setInterval(() => {
      if (model.counts.judge >= 8) ac.abort();
    }, 2);
    const first = await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM), [], ac.signal);
    clearInterval(timer);
    assert.equal(first.code, 130, first.err);
    const firstRun = srv.chatRequests().filter((r) => r.outcome === 'answered');
    assert.ok(firstRun.length > 0 && firstRun.length < 48, `cut short: ${firstRun.length} answered`);
    // What the client received is what it cached (the client's own key of each request).
    const cache = new DiskCache<unknown>(path.join(w.ws, '.optimizer', 'cache', 'llm'));
    const received: string[] = [];
    for (const r of firstRun) if (await cache.get(cacheKeyOf(r.body as Record<string, unknown>, srv.url))) received.push(JSON.stringify(r.body));
    assert.ok(received.length >= firstRun.length - 4, 'at most the requests in flight at the cancel were lost');
    srv.reset();
    const second = await evalWith(HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    assert.equal(second.code, 0, second.err);
    assert.equal(JSON.parse(second.out).verdict, 'better');
    const again = new Set(answered(srv));
    assert.deepEqual(received.filter((b) => again.has(b)), [], 'a received answer was asked for again');
    assert.deepEqual(new Set([...received, ...again]), needed, 'together the two runs made each call of an uninterrupted run once');
    assert.equal(again.size + received.length, needed.size);
  });

  it('optimize: the gate rejects a heuristic-better rewrite that loses, and keeps a heuristic-neutral one that wins (recording the evidence)', async () => {
    await start({ rewrite: HEURISTIC_BETTER_LOSER });
    const base = ['optimize', 'support.yml', '--json', '--strategy', 'llm_guided', '--prompt', w.promptId, '--base-url', srv.url, '--model', 'm'];
    const off = await cli([...base, '--evidence', 'off'], w.ws, KEY);
    assert.equal((JSON.parse(off.out) as { accepted: boolean }[])[0]!.accepted, true, 'the heuristic alone keeps the loser');
    const gated = await cli(base, w.ws, KEY);
    assert.equal(gated.code, 0, gated.err);
    const g = (JSON.parse(gated.out) as { accepted: boolean; causes: string[]; skippedReason: string }[])[0]!;
    assert.equal(g.accepted, false);
    assert.ok(g.causes.includes('evidence-worse'), g.causes.join());
    assert.match(g.skippedReason, /llm_guided: worse on the test cases \(worse on 12 test cases: 0 wins, 0 ties, 12 losses/);
    await srv.close();

    await start({ rewrite: HEURISTIC_NEUTRAL_WINNER });
    const winBase = [...base.slice(0, -4), '--base-url', srv.url, '--model', 'm'];
    const offWin = await cli([...winBase, '--evidence', 'off'], w.ws, KEY);
    assert.equal((JSON.parse(offWin.out) as { accepted: boolean }[])[0]!.accepted, false, 'the heuristic alone sees no gain');
    const kept = await cli([...winBase, '--write'], w.ws, KEY);
    assert.equal(kept.code, 0, kept.err);
    const k = (JSON.parse(kept.out) as { accepted: boolean; optimized: string; evidence: { verdict: string; wins: number; casesFile: string; casesSha256: string } }[])[0]!;
    assert.equal(k.accepted, true);
    assert.ok(k.optimized.includes(QUALITY_PHRASES[1]!));
    assert.equal(k.evidence.verdict, 'better');
    assert.equal(k.evidence.wins, 12);
    assert.ok(fs.readFileSync(w.file, 'utf8').includes(QUALITY_PHRASES[1]!));
    const store = await VersionStore.open(w.ws, { readOnly: true });
    try {
      const v = (await store.list('support.yml', w.promptId)).find((x) => x.status === 'accepted')!;
      const ev = v.metadata.evidence as { verdict: string; winRate: number; casesFile: string; casesSha256: string };
      assert.equal(ev.verdict, 'better');
      assert.equal(ev.winRate, 1);
      assert.match(ev.casesFile, /^\.optimizer\/datasets\/support--/);
      assert.match(ev.casesSha256, /^[0-9a-f]{64}$/);
    } finally {
      await store.close();
    }
  });
});
