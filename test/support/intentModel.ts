/**
 * TEST DOUBLE — a second scripted "task model", independent of taskModel.ts, for an intent
 * task laid out as Dify lays out most llm nodes: a system prompt plus a user message
 * `{{#1711111111111.query#}}`. It is not a model: its answers are fixed rules over the request,
 * built so that textual feedback on failures helps. Scores obtained with it are mechanics,
 * never real-model results.
 *
 * Task rules (labels billing / technical / shipping / account; the input is the last user message):
 *   - the system prompt holds a rule `about "<word>" are <label>` and the input has <word> → <label>;
 *   - else a demo (examples block or user/assistant pair) sharing a word of 4+ letters with the
 *     input → that demo's output, verbatim (copies the nearest demo);
 *   - else a keyword guess, right for most words but wrong for two cues (refund → shipping,
 *     login → technical);
 *   - the label alone when the system prompt says "label only", else "The intent is <label>."
 *     (which exact match rejects). A copied demo answer is verbatim.
 *
 * COPRO proposer (system prompt says "instruction optimizer"): round 1, proposal j → the
 * instruction + PHRASES[j-1]; later rounds → the best attempt + a phrase another attempt has.
 *
 * Reflection (system prompt says "reflective instruction editor", GEPA): reads each example
 * whose feedback says it was wrong; when the answer is not a bare label it adds the format
 * phrase; when the expected label differs from the answer's and the input holds a cue word, it
 * adds the rule for that cue (a reflection model naming what the feedback points at).
 */
import type { ParsedChatRequest, ScriptedReply } from './fakeOpenAI';
import { demosIn } from './taskModel';

export const INTENT_NODE = '1711111111111';
export const INTENT_VAR = `${INTENT_NODE}.query`;
export const INTENT_BASE = 'Classify the intent of the customer message as billing, technical, shipping or account.';
export const INTENT_USER = `{{#${INTENT_NODE}.query#}}`;
export const LABELS = ['billing', 'technical', 'shipping', 'account'];
export const FORMAT_PHRASE = 'Answer with the label only.';
/** The words the keyword guess gets wrong, with their right label. */
export const CUES: Record<string, string> = { refund: 'billing', login: 'account' };
export const ruleFor = (cue: string): string => `Messages about "${cue}" are ${CUES[cue]}.`;
export const INTENT_PHRASES = [FORMAT_PHRASE, ruleFor('refund'), ruleFor('login'), 'Be concise.', 'Think about what the customer wants.'];
/** An instruction with every phrase the task needs: validation 100%. */
export const isIntentBest = (t: string): boolean => [FORMAT_PHRASE, ruleFor('refund'), ruleFor('login')].every((p) => t.includes(p));

const GUESS: Array<[RegExp, string]> = [
  [/invoice|charge|card|price/, 'billing'],
  [/refund|package|delivery|tracking|parcel/, 'shipping'],
  [/login|crash|error|freez|bug/, 'technical'],
  [/password|profile|email|username/, 'account'],
];

const STOP = new Set(['with', 'that', 'this', 'have', 'from', 'input', 'output', 'example', 'please', 'does', 'want', 'about']);
function words(s: string): Set<string> {
  return new Set((s.toLowerCase().match(/[a-z]{4,}/g) ?? []).filter((w) => !STOP.has(w)));
}

export function intentTruth(input: string): string {
  const t = input.toLowerCase();
  for (const [cue, label] of Object.entries(CUES)) if (t.includes(cue)) return label;
  return GUESS.find(([re]) => re.test(t))?.[1] ?? 'technical';
}

function intentAnswer(req: ParsedChatRequest): string {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  const input = ([...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '').toLowerCase();
  const rules = [...system.matchAll(/about "([a-z]+)" are ([a-z]+)/gi)].map((m) => ({ word: m[1]!.toLowerCase(), label: m[2]!.toLowerCase() }));
  const rule = rules.find((r) => input.includes(r.word));
  let label = rule?.label;
  if (!label) {
    const w = words(input);
    let best: { output: string; shared: number } | undefined;
    for (const d of demosIn(req)) {
      const shared = [...words(d.input)].filter((x) => w.has(x)).length;
      if (shared > 0 && (!best || shared > best.shared)) best = { output: d.output, shared };
    }
    if (best) return best.output;
    label = GUESS.find(([re]) => re.test(input))?.[1] ?? 'technical';
  }
  return system.toLowerCase().includes('label only') ? label : `The intent is ${label}.`;
}

function coproProposal(user: string): string {
  const j = Number(/Proposal (\d+) of/.exec(user)?.[1] ?? '1');
  if (user.includes('Current instruction:')) {
    const base = /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(user)?.[1] ?? '';
    return `${base} ${INTENT_PHRASES[(j - 1) % INTENT_PHRASES.length]}`;
  }
  const attempts = [...user.matchAll(/<instruction>\n([\s\S]*?)\n<\/instruction>\nScore #\d+: ([\d.]+)/g)].map((m) => m[1]!);
  const best = attempts[attempts.length - 1]!;
  const missing = INTENT_PHRASES.filter((p) => !best.includes(p) && attempts.some((a) => a !== best && a.includes(p)));
  const extra = [...missing, ...INTENT_PHRASES.filter((p) => !best.includes(p) && !missing.includes(p))];
  return `${best} ${extra[(j - 1) % Math.max(1, extra.length)] ?? 'Be precise.'}`;
}

/** Parses the reflection request GEPA sends (see src/core/optimizers/gepa.ts) and answers with the fixes its feedback points at. */
function reflection(user: string): string {
  const current = /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(user)?.[1] ?? '';
  const add: string[] = [];
  const blocks = [...user.matchAll(/<input>\n([\s\S]*?)\n<\/input>[\s\S]*?<answer>\n([\s\S]*?)\n<\/answer>[\s\S]*?<feedback>\n([\s\S]*?)\n<\/feedback>/g)];
  for (const [, input, answer, feedback] of blocks) {
    if (!/^wrong/i.test(feedback!.trim())) continue;
    const expected = /expected "([^"]*)"/i.exec(feedback!)?.[1]?.toLowerCase();
    const bare = LABELS.includes(answer!.trim().toLowerCase());
    if (!bare && !current.includes(FORMAT_PHRASE) && !add.includes(FORMAT_PHRASE)) add.push(FORMAT_PHRASE);
    const given = LABELS.find((l) => answer!.toLowerCase().includes(l));
    if (expected && given !== expected) {
      const cue = Object.keys(CUES).find((c) => input!.toLowerCase().includes(c) && CUES[c] === expected);
      if (cue && !current.includes(ruleFor(cue)) && !add.includes(ruleFor(cue))) add.push(ruleFor(cue));
    }
  }
  return add.length ? `${current} ${add.join(' ')}` : `${current} Be precise.`;
}

/** The fake server handler for the intent task: reflection, COPRO proposer or task model by the request's system prompt. */
export function intentHandler(req: ParsedChatRequest): ScriptedReply {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
  if (system.includes('reflective instruction editor')) return { content: JSON.stringify({ instruction: reflection(user) }) };
  if (system.includes('instruction optimizer')) return { content: JSON.stringify({ instruction: coproProposal(user) }) };
  return { content: intentAnswer(req) };
}

const rows: Array<[string, 'train' | 'validation']> = [
  ['my invoice shows the wrong price', 'train'],
  ['the app shows an error on start', 'train'],
  ['my package is lost somewhere', 'train'],
  ['I forgot my password again', 'train'],
  ['I want a refund for the blender', 'train'],
  ['still waiting for my refund money', 'train'],
  ['login page rejects my details', 'train'],
  ['cannot login since yesterday', 'train'],
  ['why is my card charged twice', 'validation'],
  ['the program will crash when saving', 'validation'],
  ['delivery of the parcel is late', 'validation'],
  ['change the email on my profile', 'validation'],
  ['refund for my broken blender please', 'validation'],
  ['where is my refund money', 'validation'],
  ['login fails with my details', 'validation'],
  ['login since yesterday is impossible', 'validation'],
];

/** The intent dataset as JSONL (explicit splits: 8 train, 8 validation; 4 of each hold a cue word). */
export const INTENT_JSONL = rows.map(([q, split], i) => JSON.stringify({ id: `intent-${i + 1}`, [INTENT_VAR]: q, expected: intentTruth(q), split })).join('\n');
