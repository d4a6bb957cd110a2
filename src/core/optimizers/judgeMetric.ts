/**
 * The `judge` metric: how a dataset without expected answers (the cases `promptopt cases`
 * writes, `"source": "generated"`) is scored in a training run. Each answer is compared by the
 * evidence judge (src/core/evidence/judge.ts) with the answer of the current (baseline) prompt
 * on the same example, in both orders (disagreement is a tie), and checked against the
 * requirement checklist drawn once from the current prompt (checklist.ts, stored beside the
 * dataset). The judge's reason and the requirements not met are the textual feedback GEPA's
 * reflection learns from.
 *
 * Score: the pairwise outcome (win 1, tie 0.5, loss 0), averaged with the share of requirements
 * met when the checklist has any. The baseline's own answer is a tie by definition (no pairwise
 * call); its requirements are checked with one judge call when some need the judge.
 *
 * Every call goes through the run's client (cache, budget); results land in the run log with the
 * session's results, and the baseline answers a comparison needs are kept as memos (`reference`)
 * so a resumed run repeats no call.
 */
import type { PromptRecord } from '../dsl/types';
import type { Metric, MetricContext } from '../evaluation/metrics';
import type { NodeMessage } from '../runtime/render';
import { requestParts } from '../runtime/nodeRequest';
import { runExample } from '../evaluation/run';
import type { Example } from '../evaluation/types';
import { checkMechanically, checklistSha256, loadOrDrawChecklist, readChecklist, sha256, type Checklist, type Requirement } from '../evidence/checklist';
import { describeInput } from '../evidence/evaluate';
import { judgeBothOrders, judgePair } from '../evidence/judge';
import type { NodeSpec } from '../runtime/workflow';
import type { LlmClient } from '../llm/types';
import { hashOf, type RunStore } from './runStore';

export interface JudgeMetricOptions {
  client: LlmClient;
  /** The prompt being optimized: its text is the baseline every answer is compared with. */
  record: PromptRecord;
  messages?: NodeMessage[];
  /** The node as Dify builds its request: the baseline answers are run with it, as the candidates' are. */
  spec?: NodeSpec;
  /** The task model (the baseline answers are run on it, as the candidates' are). */
  taskModel?: string;
  /** The judge's model (default: the client's configured model). */
  judgeModel?: string;
  /** Where the checklist is read from or written to (checklistFileFor(dataset)). */
  checklistFile: string;
  /** The node's structured output schema, a mechanical requirement when set. */
  structuredOutput?: Record<string, unknown>;
  /** The run log: baseline answers are kept there as memos for a resumed run; the checklist's hash is recorded there. */
  store?: RunStore;
  /** Content hash of the checklist file as it stands (currentChecklistSha), when it will be used as is. */
  checklistSha256?: string;
  weight?: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The baseline answer the judge compares with, or the failure of its call. */
interface Reference {
  output: string;
  error?: string;
}

/** Calls the metric may make once per run, before any score: drawing the checklist (0 when the file beside the dataset fits the prompt). */
export async function judgeSetupCalls(checklistFile: string, record: Pick<PromptRecord, 'id' | 'text'>): Promise<number> {
  return (await currentChecklistSha(checklistFile, record)) ? 0 : 1;
}

/** Content hash of the checklist beside the dataset when it fits the prompt (it is used as is); undefined when one will be drawn. */
export async function currentChecklistSha(checklistFile: string, record: Pick<PromptRecord, 'id' | 'text'>): Promise<string | undefined> {
  const existing = await readChecklist(checklistFile).catch(() => undefined);
  return existing && existing.promptId === record.id && existing.promptSha256 === sha256(record.text) ? checklistSha256(existing) : undefined;
}

export class JudgeMetric implements Metric {
  readonly name = 'judge';
  /** Both orders of the pairwise judge. */
  readonly calls = 2;
  readonly weight: number;
  private list?: Promise<Checklist>;
  /** Content hash of the checklist in use (once loaded or drawn; before that, the file's as it stands). */
  private listSha?: string;
  private readonly refs = new Map<string, Promise<Reference>>();

  constructor(private readonly opts: JudgeMetricOptions) {
    this.weight = opts.weight ?? 1;
    this.listSha = opts.checklistSha256;
  }

  /**
   * What a recorded score depends on besides candidate and example: the judge's model and the
   * checklist's content, so results judged by another model or with another checklist are not reused.
   */
  get settings(): string {
    return `judge model ${this.opts.judgeModel ?? ''}${this.listSha ? `; checklist ${this.listSha}` : ''}`;
  }

  /** The requirement checklist (drawn once, on the first score; a failed draw is retried next time). */
  checklist(signal?: AbortSignal): Promise<Checklist> {
    if (!this.list) {
      const o = this.opts;
      this.list = loadOrDrawChecklist(o.client, { file: o.checklistFile, promptId: o.record.id, prompt: o.record.text, structuredOutput: o.structuredOutput, answer: o.spec?.answer, model: o.judgeModel, signal }).then((r) => {
        this.listSha = checklistSha256(r.checklist);
        o.store?.recordChecklist(this.listSha);
        return r.checklist;
      });
      this.list.catch(() => {
        this.list = undefined;
      });
    }
    return this.list;
  }

  private refKey(ex: Example): string {
    const o = this.opts;
    const request = requestParts(o.spec);
    const base = [o.record.text, ex.id, o.taskModel ?? '', o.messages?.map((m) => [m.role, m.text]) ?? []];
    return request ? hashOf(...base, request) : hashOf(...base);
  }

  private keep(ex: Example, output: string): void {
    const key = this.refKey(ex);
    this.refs.set(ex.id, Promise.resolve({ output }));
    if (this.opts.store && !this.opts.store.hasMemo('reference', key)) this.opts.store.putMemo('reference', key, output);
  }

  /** The baseline's answer on `ex`: seen when the baseline was scored, recorded by an earlier attempt, or one task call. */
  reference(ex: Example, signal?: AbortSignal): Promise<Reference> {
    const known = this.refs.get(ex.id);
    if (known) return known;
    const key = this.refKey(ex);
    const memo = this.opts.store?.getMemo<string>('reference', key);
    if (memo !== undefined) {
      const r = Promise.resolve({ output: memo });
      this.refs.set(ex.id, r);
      return r;
    }
    const o = this.opts;
    const p = runExample({ record: o.record, messages: o.messages, spec: o.spec, model: o.taskModel }, ex, { client: o.client, metrics: [], signal }).then((r): Reference => {
      if (r.error) {
        this.refs.delete(ex.id); // a failed call is not kept: the next score tries again
        return { output: '', error: `${r.error.code}: ${r.error.message}` };
      }
      this.keep(ex, r.output);
      return { output: r.output };
    });
    this.refs.set(ex.id, p);
    p.catch(() => this.refs.delete(ex.id));
    return p;
  }

  async score(output: string, ex: Example, ctx: MetricContext): Promise<{ score: number; reason: string; feedback: string }> {
    const o = this.opts;
    const client = o.client;
    const reqs = (await this.checklist(ctx.signal)).requirements;
    const judged = reqs.filter((r) => r.check.type === 'judge');
    const mechanical = (answer: string) => reqs.filter((r) => r.check.type !== 'judge' && checkMechanically(r, answer) === true).map((r) => r.id);
    const task = o.record.text;
    const input = describeInput(ex.vars);
    const isBaseline = ctx.candidate !== undefined && ctx.candidate.text === task && !ctx.candidate.demos;
    const lines: string[] = [];
    let pairwise: number;
    let met: string[];
    let refMet: string[] | undefined;
    let outcome: string;
    if (isBaseline) {
      this.keep(ex, output);
      pairwise = 0.5;
      outcome = 'tie (the current prompt)';
      met = mechanical(output);
      if (judged.length) {
        const j = await judgePair(client, { task, input, a: output, b: output, requirements: judged }, { model: o.judgeModel, signal: ctx.signal });
        met.push(...j.meets.A.filter((id) => j.meets.B.includes(id)));
        if (j.reason) lines.push(`The judge said: ${j.reason}`);
        else if (j.error) lines.push(`The judge's answer could not be read (${j.error}).`);
      }
    } else {
      const ref = await this.reference(ex, ctx.signal);
      if (ref.error) {
        pairwise = 1;
        outcome = 'win (the current prompt failed)';
        met = mechanical(output);
        lines.push(`The current prompt's call failed on this input (${ref.error}), so this answer wins by default.`);
      } else {
        const j = await judgeBothOrders(client, { task, input, current: ref.output, candidate: output, requirements: judged }, { model: o.judgeModel, signal: ctx.signal });
        pairwise = j.winner === 'candidate' ? 1 : j.winner === 'tie' ? 0.5 : 0;
        outcome = j.winner === 'candidate' ? 'win' : j.winner === 'tie' ? 'tie' : 'loss';
        met = [...mechanical(output), ...j.meetsCandidate];
        refMet = [...mechanical(ref.output), ...j.meetsCurrent];
        const verdict = j.winner === 'candidate' ? 'better than' : j.winner === 'tie' ? 'no better than' : 'worse than';
        lines.push(`The judge compared this answer with the current prompt's answer in both orders: ${verdict} it.${j.reason ? ` Reason: ${j.reason}` : ''}`);
        lines.push(`The current prompt's answer was: "${clip(ref.output.trim(), 300)}".`);
      }
    }
    const missed = reqs.filter((r) => !met.includes(r.id));
    const lost = refMet ? missed.filter((r) => refMet!.includes(r.id)) : [];
    if (reqs.length) lines.push(missed.length ? `Requirements not met: ${missed.map(req).join('; ')}.` : 'It meets every requirement of the checklist.');
    if (lost.length) lines.push(`The current prompt's answer meets ${lost.map((r) => r.id).join(', ')} and this one does not.`);
    // What to fix first (a report shows the first line); for the baseline, what it is last.
    if (isBaseline) {
      if (reqs.length) lines.unshift(lines.pop()!);
      lines.push("(This is the current prompt's own answer: the reference the judge compares other instructions' answers with.)");
    }
    const share = reqs.length ? (reqs.length - missed.length) / reqs.length : undefined;
    const score = share === undefined ? pairwise : (pairwise + share) / 2;
    const reason = `${outcome} against the current prompt${reqs.length ? `; ${reqs.length - missed.length}/${reqs.length} requirements met` : ''}`;
    return { score, reason, feedback: lines.join('\n') };
  }
}

const req = (r: Requirement) => `${r.id} "${clip(r.text, 120)}"`;

/** Whether an example has what label-based metrics need. */
export const isLabelled = (e: Example): boolean => e.expected !== undefined || (e.labels?.length ?? 0) > 0;
