import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { EXISTING_CLOSE, EXISTING_OPEN, casesFileFor } from '../../../src/core/evidence/cases';
import { chooseJudgeModel } from '../../../src/core/service/gateFactory';
import { gatherEvidence, promptContext, type EvidenceEnv } from '../../../src/core/evidence/gather';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { ALPHA } from '../../../src/core/evidence/sequence';
import { decide, type EvidenceGate } from '../../../src/core/engine/gate';
import { createLlmClient } from '../../../src/core/llm/client';
import { evidenceHandler, SUPPORT_CHATFLOW } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { HEURISTIC_NEUTRAL_WINNER, ORIGINAL_SYSTEM, workspace } from './helpers';

/** Same quality as the original for the scripted task model (no quality phrase added): ties every case. */
const TIES = (p: string) => `${p}\nBe friendly.`;

describe('evidence: the sequential gate against the scripted server', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer | undefined;
  let model: ReturnType<typeof evidenceHandler>;
  const doc = parseDify(SUPPORT_CHATFLOW);
  const ctx = promptContext(doc, doc.prompts[0]!);
  beforeEach(() => {
    w = workspace();
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w.cleanup();
  });
  const start = async (opts: Parameters<typeof evidenceHandler>[0] = {}) => {
    model = evidenceHandler(opts);
    srv = await startFakeOpenAI({ handler: model.handler });
  };
  const env = (signal?: AbortSignal, extra: Partial<EvidenceEnv> = {}): EvidenceEnv => ({
    root: w.ws,
    workflowFile: w.file,
    client: createLlmClient({ baseUrl: srv!.url, apiKey: 'sk-seq-0001', model: 'm' }, { cacheDir: path.join(w.ws, '.optimizer', 'cache', 'llm') }),
    count: 12,
    maxCases: 48,
    signal,
    ...extra,
  });
  const answered = () => srv!.chatRequests().filter((r) => r.outcome === 'answered').map((r) => JSON.stringify(r.body));
  const userOf = (body: string) => (JSON.parse(body) as { messages: { role: string; content: string }[] }).messages.at(-1)!.content;

  it('a clear winner stops at the first look (12 cases, no case written past them)', async () => {
    await start();
    const g = await gatherEvidence(env(), ctx, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    assert.equal(g.report.verdict, 'better');
    assert.deepEqual(g.report.looks!.map((l) => l.cases), [12]);
    assert.equal(model.counts.cases, 2);
    assert.equal(g.report.stats.lower, g.report.looks![0]!.lower);
    assert.equal(g.report.positionConsistency, 1);
    assert.equal(g.record.cases, 12);
  });

  it('inconclusive: more cases, written unlike the earlier ones, look by look; "no evidence" once 48 could not reach "better"', async () => {
    await start();
    const g = await gatherEvidence(env(), ctx, TIES(ORIGINAL_SYSTEM));
    assert.equal(g.report.verdict, 'no evidence');
    // All ties: after 40 cases even 8 straight wins (each at most ×1.45) could not reach 1/α = 20, so it stops there.
    assert.deepEqual(g.report.looks!.map((l) => l.cases), [12, 16, 20, 24, 28, 32, 36, 40]);
    assert.equal(g.report.stats.cases, 40);
    // 2 batches for the first 12, then one request per look for 4 more; each lists the inputs that exist.
    assert.equal(model.counts.cases, 2 + 7);
    const more = answered().map(userOf).filter((u) => u.includes(EXISTING_OPEN));
    assert.equal(more.length, 7);
    const firstMore = more.find((u) => /starting at case 13\)/.test(u))!;
    const listed = firstMore.slice(firstMore.indexOf(EXISTING_OPEN), firstMore.indexOf(EXISTING_CLOSE)).split('\n').slice(1).filter(Boolean);
    assert.equal(listed.length, 12);
    assert.match(firstMore, /unlike every existing one/);
    // The cases file grew to 40 distinct cases, numbered on.
    const lines = fs.readFileSync(casesFileFor(w.ws, w.file, ctx.record.id), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; inputs: Record<string, string> });
    assert.equal(lines.length, 40);
    assert.equal(lines[39]!.id, 'case-40');
    assert.equal(new Set(lines.map((l) => JSON.stringify(l.inputs))).size, 40);
    // Usage counts every call once: 9 case requests, 1 checklist, 80 task runs, and 40 judge calls — the scripted
    // answers of both prompts are the same text, so a case's two orders are one request (sent once).
    assert.equal(g.record.usage.calls, 9 + 1 + 80 + 40);
    // The next candidate reuses the 40 cases and the current prompt's answers.
    const before = answered().length;
    const g2 = await gatherEvidence(env(), ctx, `${TIES(ORIGINAL_SYSTEM)} Thanks.`);
    assert.equal(g2.report.stats.cases, 40);
    // Only the new candidate's 40 runs: its answers are the same texts, so the judge's requests are in the cache.
    assert.equal(answered().length - before, 40, 'only the new candidate runs');
  });

  it('the judge sees the task, the input and answers labelled A and B only — never which is the candidate', async () => {
    await start();
    const candidate = HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM);
    await gatherEvidence(env(), ctx, candidate);
    const judge = answered().map((b) => JSON.parse(b) as { messages: { role: string; content: string }[] }).filter((b) => b.messages[0]!.content.startsWith(JUDGE_MARK));
    assert.equal(judge.length, 24);
    for (const j of judge) {
      const all = j.messages.map((m) => m.content).join('\n');
      assert.doesNotMatch(all, /candidate|current prompt|new version|old version|rewrite/i);
      assert.ok(!all.includes('Ask one clarifying question when the request is unclear. Keep the answer short.'), 'the candidate prompt is not shown');
      assert.match(j.messages[1]!.content, /^<instruction>\n[\s\S]*<input>\n[\s\S]*<answer_A>\n[\s\S]*<answer_B>\n/);
    }
    // Each case is judged in both orders: the same two answers, swapped.
    const pairs = judge.map((j) => {
      const u = j.messages[1]!.content;
      const get = (t: string) => new RegExp(`<${t}>\\n([\\s\\S]*?)\\n</${t}>`).exec(u)![1];
      return { input: get('input'), a: get('answer_A'), b: get('answer_B') };
    });
    for (const p of pairs) assert.ok(pairs.some((q) => q.input === p.input && q.a === p.b && q.b === p.a));
  });

  it('a cancelled sequence resumes where it stopped: no received answer asked again, the same verdict', async () => {
    await start({ latencyMs: 5 });
    // The whole sequence once, uninterrupted, in another workspace: the verdict and the calls it needs.
    const ref = await gatherEvidence(env(), ctx, TIES(ORIGINAL_SYSTEM));
    const needed = new Set(answered());
    fs.rmSync(path.join(w.ws, '.optimizer'), { recursive: true, force: true });
    srv!.reset();
    const ac = new AbortController();
    model.counts.cases = 0;
    // Cancel once the sequence is past its second extension.
    const timer = setInterval(() => model.counts.cases >= 4 && ac.abort(), 1);
    await assert.rejects(gatherEvidence(env(ac.signal), ctx, TIES(ORIGINAL_SYSTEM)), (e: Error) => e.name === 'CancelledError' || /cancel/i.test(e.message));
    clearInterval(timer);
    await new Promise((r) => setTimeout(r, 50));
    const first = answered();
    assert.ok(first.length > 30 && first.length < needed.size, `cut short: ${first.length} of ${needed.size}`);
    const grown = fs.readFileSync(casesFileFor(w.ws, w.file, ctx.record.id), 'utf8').trim().split('\n').length;
    assert.ok(grown > 12, `the cases written before the cancel are in the file (${grown})`);
    srv!.reset();
    const again = await gatherEvidence(env(), ctx, TIES(ORIGINAL_SYSTEM));
    const second = answered();
    assert.equal(again.report.verdict, ref.report.verdict);
    assert.deepEqual(again.report.looks, ref.report.looks);
    const firstSet = new Set(first);
    // At most the requests in flight at the cancel (answered by the server, never received) come again.
    const repeated = second.filter((b) => firstSet.has(b));
    assert.ok(repeated.length <= 8, `${repeated.length} requests asked again`);
    assert.deepEqual(new Set([...first, ...second]), needed, 'together the two runs made the calls of one uninterrupted run');
  });

  it('several candidates: the keep test splits α among the distinct texts; identical texts run once', async () => {
    const seen: Array<{ text: string; candidates?: number }> = [];
    const gate: EvidenceGate = {
      gather: async (_p, text, _s, o) => {
        seen.push({ text, candidates: o?.candidates });
        return { verdict: 'no evidence', winRate: 0.5, lowerBound: 0.3, wins: 0, ties: 12, losses: 0, cases: 12, casesFile: 'c', casesSha256: 'x', checklistFile: 'k', checklistSha256: 'y', reportFile: 'r', dropped: [], usage: { calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 } };
      },
    };
    const prompt = doc.prompts[0]!;
    const d = await decide(gate, prompt, [
      { strategy: 'llm_guided', text: 'A', gain: 0 },
      { strategy: 'hybrid', text: 'A', gain: 0 },
      { strategy: 'llm_clarity', text: 'B', gain: 0 },
    ], { mode: 'auto', minImprovement: 1 });
    assert.deepEqual(seen, [{ text: 'A', candidates: 2 }, { text: 'B', candidates: 2 }]);
    assert.equal(d.length, 3);
    // And the evaluation uses α / candidates.
    await start();
    const g = await gatherEvidence(env(), ctx, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM), { candidates: 3 });
    assert.equal(g.report.alphaKeep, ALPHA / 3);
  });

  it('the judge model: judge_model when set, else a configured model other than the task model; the report says when they are the same', async () => {
    assert.equal(chooseJudgeModel({ judgeModel: 'j', taskModel: 't', models: ['x'] }), 'j');
    assert.equal(chooseJudgeModel({ taskModel: 'm', defaultModel: 'm', models: ['m', 'other'] }), 'other');
    assert.equal(chooseJudgeModel({ taskModel: 't', defaultModel: 'm', models: ['x'] }), undefined, 'the endpoint model already differs from the task model');
    assert.equal(chooseJudgeModel({ taskModel: 'm', defaultModel: 'm', models: ['m'] }), undefined);
    await start();
    const same = await gatherEvidence(env(undefined, { taskModel: 'm', defaultModel: 'm' }), ctx, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    assert.equal(same.report.sameJudgeAsTask, true);
    assert.equal(same.record.sameJudgeAsTask, true);
    const other = await gatherEvidence(env(undefined, { taskModel: 'm', defaultModel: 'm', judgeModel: 'judge-2' }), ctx, HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    assert.equal(other.report.sameJudgeAsTask, false);
  });
});
