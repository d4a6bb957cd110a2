/**
 * TEST DOUBLE — the scripted evidence model (evidenceModel.ts: task model, checklist writer and
 * judge) plus a scripted GEPA reflection step and COPRO proposer, for dataset optimizers scored
 * by the evidence judge on unlabelled cases. Fixed rules, not a model: numbers obtained with it
 * are mechanics, never real-model quality.
 *
 * Reflection rule: it adds the phrase each feedback block points at — the citation rule when
 * requirement R2 ("Cites the context") is not met, and one more quality phrase when the judge's
 * reason ("scripted: quality N vs M") says the quality did not go up. Without the judge's words
 * in the feedback it adds nothing.
 */
import { QUALITY_PHRASES, evidenceHandler, type EvidenceModelOptions } from './evidenceModel';
import type { HandlerContext, ParsedChatRequest, ScriptedReply } from './fakeOpenAI';

const instructionIn = (user: string) => /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(user)?.[1] ?? '';

/** The scripted reflection's new instruction for a GEPA reflection request's user message. */
export function reflectOnJudgeFeedback(user: string): string {
  const current = instructionIn(user);
  const add: string[] = [];
  const push = (p: string | undefined) => {
    if (p && !current.includes(p) && !add.includes(p)) add.push(p);
  };
  for (const [, f] of user.matchAll(/<feedback>\n([\s\S]*?)\n<\/feedback>/g)) {
    if (/Requirements not met:[^\n]*R2 "Cites the context"/.test(f!)) push(QUALITY_PHRASES[0]);
    const q = /scripted: quality (\d+) vs (\d+)/.exec(f!);
    if (q && Number(q[1]) <= Number(q[2])) push(QUALITY_PHRASES.slice(1).find((p) => !current.includes(p)));
  }
  return `${current}${add.length ? `\n${add.join(' ')}` : ''}`;
}

/** A handler for startFakeOpenAI: reflection and COPRO proposals here, every other role from evidenceHandler. */
export function judgedGepaHandler(opts: EvidenceModelOptions & { onJudge?: (user: string) => ScriptedReply | undefined } = {}) {
  const { handler, counts } = evidenceHandler(opts);
  const reflections: string[] = [];
  const state = { onJudge: opts.onJudge };
  const handle = (req: ParsedChatRequest, ctx: HandlerContext): ScriptedReply => {
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
    if (system.includes('reflective instruction editor')) {
      reflections.push(user);
      return { content: JSON.stringify({ instruction: reflectOnJudgeFeedback(user) }) };
    }
    if (system.includes('instruction optimizer')) {
      // COPRO: the first instruction shown plus the n-th quality phrase it lacks
      const current = instructionIn(user);
      const j = Number(/Proposal (\d+) of/.exec(user)?.[1] ?? '1');
      const missing = QUALITY_PHRASES.filter((p) => !current.includes(p));
      return { content: JSON.stringify({ instruction: `${current}\n${missing[(j - 1) % Math.max(1, missing.length)] ?? 'Be precise.'}` }) };
    }
    if (system.startsWith('You compare two answers')) {
      const r = state.onJudge?.(req.messages[1]?.content ?? '');
      if (r) return r;
    }
    return handler(req, ctx);
  };
  return { handler: handle, counts, reflections, state };
}
