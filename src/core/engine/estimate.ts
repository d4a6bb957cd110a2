/**
 * The up-front estimate of an `optimize` run that calls a model: how many calls, tokens and
 * what cost, before anything is sent.
 *
 * It replays the run over the response cache: the real engine runs with a probe client that
 * answers from the cache only (`LlmClient.peek`) and counts every distinct request the cache
 * does not hold. Where the run's path depends on an answer not yet known, the rest is counted
 * as its upper bound:
 *  - a strategy's step not in the cache stops that strategy there; its remaining iterations
 *    are counted, and, when it had no step yet, the gate's runs for its candidate;
 *  - test cases not yet written (and not in the cache) leave the gate's runs unknown: the
 *    current prompt's runs once per prompt, and per candidate its runs and both judge orders;
 *  - a checklist, task run or judge call not in the cache gets a stand-in answer so the replay
 *    goes on and counts the calls after it (a stand-in is never shown or stored: the replay
 *    writes nothing).
 * So the figure is "at most": a run sends fewer calls when a strategy stops early (no gain,
 * low confidence, a variable lost), a candidate fails the pre-filter, or two are identical.
 * Retries of failed calls are not counted. Tokens are estimates (a quarter of the characters,
 * one per CJK character; answers by kind).
 */
import type { AnalysisInput, Analysis } from '../analysis/types';
import type { PromptRecord } from '../dsl/types';
import { CancelledError, LlmError } from '../errors';
import { costOf, estimateMessagesTokens, estimateTokens, knownPrice, type CostTable } from '../llm/cost';
import type { ChatRequest, ChatResponse, LlmClient, LlmUsageTotals } from '../llm/types';
import type { Strategy, StrategyName } from '../strategies/types';
import { isLlmStrategy, type EngineConfig } from './config';
import { OptimizationEngine } from './engine';
import type { EvidenceGate } from './gate';
import type { EvidencePlan } from '../evidence/gather';
import { lookSizes } from '../evidence/sequence';

export type CallKind = 'strategy' | 'cases' | 'checklist' | 'task' | 'judge';
export const CALL_KINDS: readonly CallKind[] = ['strategy', 'cases', 'checklist', 'task', 'judge'];

export interface EstimatePart {
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

export interface RunEstimate {
  /** Calls the run sends at most (answers the cache holds are not counted). */
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** USD, when every model the calls go to has a known price; otherwise undefined (unknown). */
  costUsd?: number;
  /** Models without a known price (their cost is unknown). */
  unpricedModels: string[];
  /** Answers the replay found in the cache (they cost nothing). */
  cachedCalls: number;
  /** By kind of call: the strategies' rewrites, and the gate's cases, checklist, task runs and judge calls. */
  byKind: Record<CallKind, EstimatePart>;
  /** Per prompt (in run order), prompts that make no call left out. */
  prompts: Array<{ promptId: string; nodeTitle: string } & EstimatePart>;
  /** Prompts that run, and the LLM strategies among the run's strategies. */
  promptCount: number;
  llmStrategies: StrategyName[];
  /** Whether LLM proposals go through the evidence gate. */
  gate: boolean;
  notes: string[];
}

/** The message of the probe's refusal: a step the cache does not hold. */
export const NOT_IN_CACHE = 'estimate: this answer is not in the cache yet';

const zero = (): EstimatePart => ({ calls: 0, promptTokens: 0, completionTokens: 0 });

function kindOf(tag: string | undefined): CallKind | undefined {
  if (!tag) return undefined;
  if (tag.startsWith('strategy:')) return 'strategy';
  if (tag === 'evidence:cases') return 'cases';
  if (tag === 'evidence:checklist') return 'checklist';
  if (tag === 'evidence:task') return 'task';
  if (tag === 'evidence:judge') return 'judge';
  return undefined;
}

/** Answer tokens a call of each kind is counted with (what the scripted and real answers are near). */
function completionGuess(kind: CallKind | undefined, req: ChatRequest): number {
  switch (kind) {
    case 'strategy': {
      const user = req.messages[req.messages.length - 1]?.content ?? '';
      return Math.ceil(estimateTokens(user) * 0.6) + 80;
    }
    case 'task':
      return Math.min(req.maxTokens ?? 400, 400);
    case 'judge':
      return 80;
    case 'checklist':
      return 200;
    case 'cases':
      return Math.ceil((req.maxTokens ?? 1024) / 2);
    default:
      return Math.min(req.maxTokens ?? 300, 300);
  }
}

/**
 * The stand-in answer of a probed call the cache does not hold, where the replay can go on.
 * Task answers are distinct (`n` numbers them), as real ones are: two identical stand-ins would
 * make a case's two judge orders one request and count one call too few.
 */
function standIn(kind: CallKind, n: number): string | undefined {
  if (kind === 'task') return `estimate ${n}`;
  if (kind === 'judge') return '{"winner": "tie", "reason": "estimate", "a_meets": [], "b_meets": []}';
  if (kind === 'checklist') return '{"requirements": [{"text": "estimate", "kind": "other"}]}';
  return undefined; // strategies and cases: the path after them is unknown
}

interface Miss extends EstimatePart {
  kind: CallKind;
  model: string;
  promptId?: string;
}

/**
 * The replay's client: cached answers as they are, every other request counted once (by its
 * content, as the real client's cache and in-flight sharing would send it once).
 */
class ProbeClient implements LlmClient {
  readonly misses = new Map<string, Miss>();
  cached = 0;
  /** The prompt the replay is on (prompts are replayed one at a time). */
  current?: string;
  constructor(
    private readonly real: LlmClient,
    private readonly defaultModel: string,
  ) {}

  /** Calls still in flight: a sibling's refusal can settle the run before they are counted. */
  private readonly inFlight = new Set<Promise<unknown>>();

  chat(req: ChatRequest): Promise<ChatResponse> {
    const p = this.probe(req, this.current);
    const settled = p.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return p;
  }

  /** Resolves once every call made so far has been counted (batches sent side by side). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private async probe(req: ChatRequest, promptId: string | undefined): Promise<ChatResponse> {
    if (req.signal?.aborted) throw new CancelledError('The estimate was cancelled.');
    const hit = req.noCache ? undefined : await this.real.peek?.(req);
    if (hit) {
      this.cached += 1;
      return hit;
    }
    const kind = kindOf(req.tag) ?? 'task';
    const key = JSON.stringify([req.model ?? '', req.temperature, req.maxTokens, req.responseFormat ?? 'text', req.messages.map((m) => [m.role, m.content])]);
    const promptTokens = estimateMessagesTokens(req.messages);
    const completionTokens = completionGuess(kind, req);
    // A request sent without the cache (sampling) is sent every time.
    const id = req.noCache ? `${key}#${this.misses.size}` : key;
    if (!this.misses.has(id)) this.misses.set(id, { kind, model: req.model ?? this.defaultModel, calls: 1, promptTokens, completionTokens, promptId });
    const text = standIn(kind, this.misses.size);
    if (text === undefined) throw new LlmError('LLM_BUDGET_EXCEEDED', NOT_IN_CACHE);
    return { text, finishReason: 'stop', usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }, model: req.model ?? this.defaultModel, cached: false, costUsd: 0 };
  }

  async embed(): Promise<number[][]> {
    throw new LlmError('LLM_BUDGET_EXCEEDED', NOT_IN_CACHE);
  }

  usage(): LlmUsageTotals {
    return { calls: 0, cachedCalls: this.cached, retries: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  }
}

export interface EstimateRunOptions {
  prompts: PromptRecord[];
  /** The run's config, with the strategies that will run (after planStrategies). */
  config: EngineConfig;
  /** The run's real client: only its cache is read (`peek`); nothing is sent. */
  client: LlmClient;
  /** The model requests without a model of their own go to (the endpoint's). */
  model: string;
  costTable?: CostTable;
  force?: boolean;
  analyze: (input: AnalysisInput) => Analysis;
  /** Resolves a strategy over the given client (planStrategies(…, probe).resolve). */
  strategies: (probe: LlmClient) => (name: StrategyName) => Strategy;
  /** The evidence gate over the given client, writing nothing (absent: no gate). */
  gate?: (probe: LlmClient) => EvidenceGate;
  signal?: AbortSignal;
}

/** Replays the run over the cache and counts what it would send (see the module comment). */
export async function estimateRun(o: EstimateRunOptions): Promise<RunEstimate> {
  const probe = new ProbeClient(o.client, o.model);
  const resolve = o.strategies(probe);
  const llmStrategies = o.config.strategies.filter(isLlmStrategy);
  const inner = llmStrategies.length && o.config.evidence.mode !== 'off' ? o.gate?.(probe) : undefined;
  // Per prompt: gathers run, gathers without cases, and per gather that reached a look it could not
  // walk (more cases not in the cache) the cases it had run.
  const gathers = new Map<string, { calls: number; unknownCases: number; partial: number[] }>();
  const gate: EvidenceGate | undefined = inner && {
    gather: async (prompt, candidate, signal, gopts) => {
      const g = gathers.get(prompt.id) ?? { calls: 0, unknownCases: 0, partial: [] };
      gathers.set(prompt.id, g);
      g.calls += 1;
      try {
        const r = await inner.gather(prompt, candidate, signal, gopts);
        if (r.stopped?.includes(NOT_IN_CACHE)) g.partial.push(r.cases);
        return r;
      } catch (e) {
        if (e instanceof LlmError && e.message === NOT_IN_CACHE) g.unknownCases += 1;
        throw e;
      }
    },
  };
  // Strategy steps the cache does not hold: where each strategy of each prompt stopped.
  const stops: Array<{ promptId: string; strategy: StrategyName; iteration: number }> = [];
  const engine = new OptimizationEngine({
    analyze: o.analyze,
    strategy: resolve,
    evidence: gate,
    events: (e) => {
      if (e.type === 'candidate_evaluated' && !e.kept && e.reason === NOT_IN_CACHE) stops.push({ promptId: e.promptId, strategy: e.strategy as StrategyName, iteration: e.iteration });
    },
  });
  // One prompt at a time, so every request is counted for the prompt that makes it.
  const config = { ...o.config, budget: {} };
  for (const prompt of o.prompts) {
    probe.current = prompt.id;
    try {
      await engine.optimizePrompt(prompt, config, { runId: 'estimate', signal: o.signal, force: o.force });
    } catch (e) {
      if (e instanceof CancelledError || o.signal?.aborted) throw new CancelledError('The estimate was cancelled.');
      // A prompt the replay cannot finish (no step in the cache) is counted below like the others.
    }
    // Side-by-side requests (the case batches) still in flight when a sibling's refusal ended the replay.
    await probe.idle();
  }

  const byKind = Object.fromEntries(CALL_KINDS.map((k) => [k, zero()])) as Record<CallKind, EstimatePart>;
  const perPrompt = new Map<string, EstimatePart>();
  const models = new Set<string>();
  let costUsd = 0;
  const add = (promptId: string | undefined, kind: CallKind, model: string, n: number, p: number, c: number) => {
    if (n <= 0) return;
    const k = byKind[kind];
    k.calls += n;
    k.promptTokens += n * p;
    k.completionTokens += n * c;
    models.add(model);
    costUsd += costOf(model, n * p, n * c, o.costTable);
    if (promptId) {
      const pp = perPrompt.get(promptId) ?? zero();
      pp.calls += n;
      pp.promptTokens += n * p;
      pp.completionTokens += n * c;
      perPrompt.set(promptId, pp);
    }
  };
  for (const m of probe.misses.values()) add(m.promptId, m.kind, m.model, 1, m.promptTokens, m.completionTokens);

  // The upper bound of what the replay could not walk.
  const ev = o.config.evidence;
  const strategyModel = o.config.model.name ?? o.model;
  const judgeModel = ev.judgeModel ?? o.model;
  for (const prompt of o.prompts) {
    const own = stops.filter((s) => s.promptId === prompt.id);
    const g = gathers.get(prompt.id) ?? { calls: 0, unknownCases: 0, partial: [] };
    if (!own.length && !g.unknownCases && !g.partial.length) continue;
    const len = estimateTokens(prompt.text);
    // The step that missed is counted above (the probe saw it); the iterations after it are not.
    for (const s of own) add(prompt.id, 'strategy', strategyModel, o.config.maxIterations - s.iteration, len + 700, Math.ceil(len * 1.2) + 120);
    if (!inner) continue;
    // Candidates the gate will see but the replay could not: a strategy with no step yet, or a gather without cases.
    const blind = own.filter((s) => s.iteration === 1 && isLlmStrategy(s.strategy)).length + g.unknownCases;
    if (!blind && !g.partial.length) continue;
    const plan: EvidencePlan = (await inner.plan?.(prompt)) ?? { casesCalls: 0, casesTokens: { prompt: 0, completion: 0 }, checklistCalls: 0, cases: ev.cases, method: 'judge', maxCases: Math.max(ev.cases, ev.maxCases), extendCalls: 0 };
    const taskModel = ev.taskModel ?? prompt.model?.name ?? o.model;
    const taskP = len + 150;
    const taskC = 300;
    const judgeP = len + 2 * taskC + 350;
    // Calls to write more cases: about one batch of LOOK_STEP per look (tokens like the first batch).
    const extendP = plan.casesCalls ? Math.ceil(plan.casesTokens.prompt / plan.casesCalls) + 40 * plan.maxCases : len + 600 + 40 * plan.maxCases;
    const extendC = 4 * 220;
    // The sequence may run up to maxCases: an "at most" figure (most runs stop sooner).
    const max = plan.maxCases;
    if (blind) {
      if (g.calls === 0) {
        // The gate never ran on this prompt in the replay: its cases and checklist are still to come.
        if (plan.casesCalls) add(prompt.id, 'cases', judgeModel, plan.casesCalls, Math.ceil(plan.casesTokens.prompt / plan.casesCalls), Math.ceil(plan.casesTokens.completion / plan.casesCalls));
        add(prompt.id, 'checklist', judgeModel, plan.checklistCalls, len + 250, 200);
      }
      // The current prompt's runs and the cases written past the first (once per prompt) unless the replay made them.
      if (g.calls === 0 || g.unknownCases > 0) {
        add(prompt.id, 'task', taskModel, max, taskP, taskC);
        add(prompt.id, 'cases', judgeModel, plan.extendCalls, extendP, extendC);
      }
      add(prompt.id, 'task', taskModel, blind * max, taskP, taskC);
      if (plan.method === 'judge') add(prompt.id, 'judge', judgeModel, blind * max * 2, judgeP, 80);
    }
    if (g.partial.length && !(blind && (g.calls === 0 || g.unknownCases > 0))) {
      // Sequences the replay walked up to a look whose cases are not written yet: the rest up to maxCases.
      const reached = Math.min(...g.partial);
      const sizes = lookSizes(plan.cases, max);
      add(prompt.id, 'cases', judgeModel, sizes.filter((n) => n > reached).length, extendP, extendC);
      add(prompt.id, 'task', taskModel, max - reached, taskP, taskC);
    }
    for (const reached of g.partial) {
      add(prompt.id, 'task', taskModel, max - reached, taskP, taskC);
      add(prompt.id, 'judge', judgeModel, 2 * (max - reached), judgeP, 80);
    }
  }

  const unpricedModels = [...models].filter((m) => !knownPrice(m, o.costTable));
  const calls = CALL_KINDS.reduce((n, k) => n + byKind[k].calls, 0);
  const prompts = o.prompts.filter((p) => perPrompt.has(p.id)).map((p) => ({ promptId: p.id, nodeTitle: p.nodeTitle, ...perPrompt.get(p.id)! }));
  const notes: string[] = [];
  const max = o.config.budget.maxCalls;
  if (max !== undefined && calls > max) notes.push(`The budget of ${max} calls stops the run before that (it is the hard limit).`);
  return {
    calls,
    promptTokens: CALL_KINDS.reduce((n, k) => n + byKind[k].promptTokens, 0),
    completionTokens: CALL_KINDS.reduce((n, k) => n + byKind[k].completionTokens, 0),
    ...(unpricedModels.length ? {} : { costUsd }),
    unpricedModels,
    cachedCalls: probe.cached,
    byKind,
    prompts,
    promptCount: o.prompts.length,
    llmStrategies,
    gate: !!inner,
    notes,
  };
}

const KIND_WORDS: Record<CallKind, [string, string]> = {
  strategy: ['rewrite by a strategy', 'rewrites by the strategies'],
  cases: ['to write test cases', 'to write test cases'],
  checklist: ['to draw the checklist', 'to draw checklists'],
  task: ['test-case run', 'test-case runs'],
  judge: ['judge call', 'judge calls'],
};

/**
 * "Estimate: at most 153 calls to the model (9 rewrites by the strategies, 2 to write test
 * cases, …), about 210k tokens, cost $0.12. …" — in plain words, saying it is an estimate.
 */
export function formatRunEstimate(e: RunEstimate): string {
  const parts = CALL_KINDS.filter((k) => e.byKind[k].calls > 0).map((k) => `${e.byKind[k].calls} ${KIND_WORDS[k][e.byKind[k].calls === 1 ? 0 : 1]}`);
  const tokens = e.promptTokens + e.completionTokens;
  const cost =
    e.costUsd !== undefined ? `cost about $${e.costUsd.toFixed(e.costUsd < 0.1 ? 4 : 2)}` : `cost unknown (no price known for ${e.unpricedModels.join(', ')})`;
  const cached = e.cachedCalls ? ` ${e.cachedCalls} answer(s) are already in the cache and cost nothing.` : '';
  return (
    `Estimate: at most ${e.calls} call(s) to the model for ${e.promptCount} prompt(s)${parts.length ? ` (${parts.join(', ')})` : ''}, about ${tokens.toLocaleString('en-US')} tokens, ${cost}.` +
    `${cached} This is an estimate, an upper bound: a run sends fewer calls when a strategy stops early or a candidate is refused before its test cases; retries are not counted.` +
    (e.notes.length ? ` ${e.notes.join(' ')}` : '')
  );
}
