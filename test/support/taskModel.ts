/**
 * TEST DOUBLE — a scripted "task model" and "proposer" served by the loopback fake OpenAI
 * server. It is not a model: its answers are fixed rules over the prompt it receives, chosen
 * so that dataset optimizers have something to find. Scores obtained with it must never be
 * presented as real-model results.
 *
 * Task rules (sentiment of a review, labels positive / negative / neutral; "mixed" reviews
 * contain " but "):
 *   - system prompt says "one word" AND "neutral for mixed" → the right label;
 *   - else, a demo (examples block or user/assistant pair) sharing a word of 4+ letters with
 *     the input → that demo's output (a "copy the nearest demo" behaviour);
 *   - else "one word" alone → a label, but mixed reviews get the first sentiment word found;
 *   - else a sentence ("I think the sentiment is positive."), which exact match rejects.
 *
 * Proposer rules (requests whose system prompt says "instruction optimizer"):
 *   - first round ("Current instruction:"), proposal j → the instruction + PHRASES[j-1];
 *   - later rounds → the best-scored attempt + a phrase seen in another attempt (j-th choice).
 *
 * Reflection rules (requests whose system prompt says "reflective instruction editor", GEPA):
 *   a wrong answer that is a sentence → adds "Answer with one word."; a wrong label where
 *   "neutral" was expected → adds "Use the label neutral for mixed reviews.".
 */
import type { HandlerContext, ParsedChatRequest, ScriptedReply } from './fakeOpenAI';

export const PHRASES = ['Answer with one word.', 'Use the label neutral for mixed reviews.', 'Be concise.', 'Think about the tone.'];
export const BEST_MARKERS = ['one word', 'neutral for mixed'];

function words(s: string): Set<string> {
  return new Set((s.toLowerCase().match(/[a-z]{4,}/g) ?? []).filter((w) => !['with', 'that', 'this', 'have', 'from', 'input', 'output', 'example'].includes(w)));
}

export function truth(review: string): string {
  const t = review.toLowerCase();
  if (t.includes(' but ')) return 'neutral';
  if (/bad|terrible|awful|hate|broken/.test(t)) return 'negative';
  return 'positive';
}

function firstSentimentWord(review: string): string {
  const t = review.toLowerCase();
  const pos = t.search(/great|good|love|excellent|nice/);
  const neg = t.search(/bad|terrible|awful|hate|broken/);
  if (pos >= 0 && (neg < 0 || pos < neg)) return 'positive';
  if (neg >= 0) return 'negative';
  return 'positive';
}

/** Demos visible in a request: `Input:/Output:` pairs in system text and user/assistant pairs before the last user message. */
export function demosIn(req: ParsedChatRequest): Array<{ input: string; output: string }> {
  const out: Array<{ input: string; output: string }> = [];
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  for (const m of system.matchAll(/Input: (.*)\nOutput: (.*)/g)) out.push({ input: m[1]!, output: m[2]!.trim() });
  const msgs = req.messages;
  for (let i = 0; i + 1 < msgs.length - 1; i++) {
    if (msgs[i]!.role === 'user' && msgs[i + 1]!.role === 'assistant') out.push({ input: msgs[i]!.content, output: msgs[i + 1]!.content });
  }
  return out;
}

function taskAnswer(req: ParsedChatRequest): string {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n').toLowerCase();
  const input = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  if (BEST_MARKERS.every((k) => system.includes(k))) return truth(input);
  const w = words(input);
  let best: { output: string; shared: number } | undefined;
  for (const d of demosIn(req)) {
    const shared = [...words(d.input)].filter((x) => w.has(x)).length;
    if (shared > 0 && (!best || shared > best.shared)) best = { output: d.output, shared };
  }
  if (best) return best.output;
  if (system.includes('one word')) return input.toLowerCase().includes(' but ') ? firstSentimentWord(input) : truth(input);
  if (/ticket|department/.test(system)) return 'unknown';
  return `I think the sentiment is ${truth(input)}.`;
}

function proposerAnswer(req: ParsedChatRequest): string {
  const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
  const j = Number(/Proposal (\d+) of/.exec(user)?.[1] ?? '1');
  if (user.includes('Current instruction:')) {
    const base = /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(user)?.[1] ?? '';
    return JSON.stringify({ instruction: `${base} ${PHRASES[(j - 1) % PHRASES.length]}` });
  }
  const attempts = [...user.matchAll(/<instruction>\n([\s\S]*?)\n<\/instruction>\nScore #\d+: ([\d.]+)/g)].map((m) => ({ text: m[1]!, score: Number(m[2]) }));
  const best = attempts[attempts.length - 1]!;
  const missing = PHRASES.filter((p) => !best.text.includes(p) && attempts.some((a) => a !== best && a.text.includes(p)));
  const extra = [...missing, ...PHRASES.filter((p) => !best.text.includes(p))];
  const pick = extra[(j - 1) % Math.max(1, extra.length)] ?? 'Be precise.';
  return JSON.stringify({ instruction: `${best.text} ${pick}` });
}

function reflectionAnswer(req: ParsedChatRequest): string {
  const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
  const current = /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(user)?.[1] ?? '';
  const add: string[] = [];
  for (const [, answer, feedback] of user.matchAll(/<answer>\n([\s\S]*?)\n<\/answer>[\s\S]*?<feedback>\n([\s\S]*?)\n<\/feedback>/g)) {
    if (!/^wrong/i.test(feedback!.trim())) continue;
    const phrase = /\s/.test(answer!.trim()) ? PHRASES[0]! : /expected "neutral"/.test(feedback!) ? PHRASES[1]! : undefined;
    if (phrase && !current.includes(phrase) && !add.includes(phrase)) add.push(phrase);
  }
  return JSON.stringify({ instruction: add.length ? `${current} ${add.join(' ')}` : `${current} Be precise.` });
}

/** The fake server handler: reflection, proposer or task model by the request's system prompt. */
export function scriptedHandler(req: ParsedChatRequest, _ctx?: HandlerContext): ScriptedReply {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  if (system.includes('reflective instruction editor')) return { content: reflectionAnswer(req) };
  if (system.includes('instruction optimizer')) return { content: proposerAnswer(req) };
  return { content: taskAnswer(req) };
}

/** A small sentiment dataset as JSONL text (10 examples; 3 mixed). */
export const SENTIMENT_JSONL = [
  { 'sys.query': 'Great phone, I love the screen', expected: 'positive' },
  { 'sys.query': 'Terrible battery, I hate it', expected: 'negative' },
  { 'sys.query': 'Good camera but awful speaker', expected: 'neutral' },
  { 'sys.query': 'Excellent value and nice design', expected: 'positive' },
  { 'sys.query': 'The case arrived broken and bad', expected: 'negative' },
  { 'sys.query': 'Nice colors but terrible software', expected: 'neutral' },
  { 'sys.query': 'I love this laptop', expected: 'positive' },
  { 'sys.query': 'Awful keyboard', expected: 'negative' },
  { 'sys.query': 'Great sound but bad microphone', expected: 'neutral' },
  { 'sys.query': 'Good charger', expected: 'positive' },
]
  .map((o) => JSON.stringify(o))
  .join('\n');

/** Ticket routing (for KNN): explicit splits; each validation input shares words with train examples of its department. */
export const TICKETS_JSONL = [
  { 'sys.query': 'invoice amount is wrong', expected: 'billing', split: 'train' },
  { 'sys.query': 'charged twice on my card', expected: 'billing', split: 'train' },
  { 'sys.query': 'need refund for my order', expected: 'billing', split: 'train' },
  { 'sys.query': 'application crashes when opening', expected: 'technical', split: 'train' },
  { 'sys.query': 'cannot login to account', expected: 'technical', split: 'train' },
  { 'sys.query': 'error message on checkout page', expected: 'technical', split: 'train' },
  { 'sys.query': 'package has not arrived', expected: 'shipping', split: 'train' },
  { 'sys.query': 'delivery is very late', expected: 'shipping', split: 'train' },
  { 'sys.query': 'tracking number does not work', expected: 'shipping', split: 'train' },
  { 'sys.query': 'the invoice shows a wrong total', expected: 'billing', split: 'validation' },
  { 'sys.query': 'application crashes every time', expected: 'technical', split: 'validation' },
  { 'sys.query': 'my package never arrived', expected: 'shipping', split: 'validation' },
]
  .map((o) => JSON.stringify(o))
  .join('\n');
