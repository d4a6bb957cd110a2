/**
 * The request a dataset run sends for one example: the node's whole request as Dify builds it
 * (runtime/request.ts buildNodeCall, the same builder the evidence gate uses) with the
 * candidate's text — and its few-shot demos — in place. A prompt the builder does not cover
 * (no node spec, or a node kind it has no template for: agent nodes, follow-up and ReAct
 * prompts) is rendered with renderPrompt, as before.
 *
 * Demos:
 * - 'block' goes into the candidate's own text, as `candidatePromptText` writes it back (the
 *   instruction followed by an "## Examples" section). So what is measured is what Dify sends
 *   once the candidate is accepted: for an llm system prompt the block ends the system message;
 *   for a classifier instruction it sits where Dify puts the instruction (its
 *   classification_instructions in the last user message); for an extractor instruction, in the
 *   system prompt's <instructions>. Putting it anywhere else (e.g. after the classifier's system
 *   text) would score a request Dify never sends. The block is put in after the template is
 *   filled, so a demo holding `{{…}}` or `{%…%}` is sent as written, not rendered (a class name
 *   or parameter description, sent inside JSON, gets the block before, escaped with it).
 * - 'pairs' (user/assistant turns before the last user turn) only where Dify can send them: an
 *   llm node's (or expert-mode app's) own chat messages, where a user can add the pairs to the
 *   prompt_template. The classifier's and extractor's templates carry their own two fixed
 *   example pairs in their JSON format and a simple-mode app has no messages: there a pair
 *   would read as an answer in another format and could never be deployed, so `demoModesFor`
 *   offers the block only.
 */
import { createHash } from 'node:crypto';
import type { PromptRecord } from '../dsl/types';
import { buildNodeCall, paramsOf, type NodeCall } from './request';
import type { NodeSpec } from './workflow';
import type { ChatMessage } from '../llm/types';
import { demoBlock, exampleInput, renderPrompt, runtimeInput, type NodeMessage } from './render';
import type { Demo, DemoMode, Example } from './types';

/** A prompt to run: its record, the node's messages (renderPrompt's fallback) and the node's spec. */
export interface PromptTarget {
  record: PromptRecord;
  /** The node's chat messages (renderPrompt, when `spec` is absent or not covered). */
  messages?: NodeMessage[];
  /** The node as Dify builds its request (runtime/workflow nodeSpecOf). */
  spec?: NodeSpec;
}

/** `spec` when the request builder covers it (an llm node's messages or template, or one of Dify's own templates). */
export function coveredSpec(spec: NodeSpec | undefined): NodeSpec | undefined {
  return spec && (spec.wrapper || spec.messages || spec.completion) ? spec : undefined;
}

/** The demo placements a prompt can be measured (and deployed) with: see the header. */
export function demoModesFor(spec: NodeSpec | undefined): DemoMode[] {
  const s = coveredSpec(spec);
  return !s || (s.messages && !s.wrapper) ? ['block', 'pairs'] : ['block'];
}

/** Plain letters: no template syntax fills, escapes or drops it. */
const DEMO_SLOT = 'PROMPTOPTDEMOSLOT7F3A9C';

function insertPairs(out: ChatMessage[], demos: Demo[]): void {
  let at = out.length;
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]!.role === 'user') {
      at = i;
      break;
    }
  }
  out.splice(at, 0, ...demos.flatMap((d): ChatMessage[] => [{ role: 'user', content: d.input }, { role: 'assistant', content: d.output }]));
}

/**
 * The task call for `example`: the messages (demos placed) and the node's completion params
 * (temperature, max tokens, JSON answers). Without a covered spec: renderPrompt's messages and
 * no params. The model is the run's choice (training chooses the node's own model by default).
 */
export function buildTaskCall(target: PromptTarget & { text?: string; demos?: Demo[]; demoMode?: DemoMode }, example: Example): NodeCall {
  const spec = coveredSpec(target.spec);
  const text = target.text ?? target.record.text;
  const demos = target.demos ?? [];
  if (!spec) return { messages: renderPrompt(target.record, target.messages, example, { text, demos, demoMode: target.demoMode }) };
  const blockMode = demos.length > 0 && (target.demoMode ?? 'block') === 'block';
  // A class name or parameter description is sent inside JSON (escaped): the block goes in as written back, escaped with it.
  const inJson = target.record.kind === 'classifier-class' || target.record.kind === 'extractor-parameter';
  const block = blockMode && !inJson;
  const call = buildNodeCall(spec, target.record, example, block ? `${text}\n\n${DEMO_SLOT}` : blockMode ? `${text}\n\n${demoBlock(demos)}` : text);
  const place = (c: NodeCall): NodeCall => {
    let messages = c.messages;
    if (block) {
      const filled = demoBlock(demos);
      let placed = false;
      messages = messages.map((m) => {
        if (!m.content.includes(DEMO_SLOT)) return m;
        placed = true;
        return { ...m, content: m.content.split(DEMO_SLOT).join(filled) };
      });
      // The text is always in the request; should a template ever drop it, the block still reaches the model.
      if (!placed) {
        const sys = messages.find((m) => m.role === 'system');
        if (sys) messages = messages.map((m) => (m === sys ? { ...m, content: `${m.content}\n\n${filled}` } : m));
        else messages = [{ role: 'system', content: filled }, ...messages];
      }
    } else if (!blockMode) {
      messages = [...messages];
      if (demos.length) insertPairs(messages, demos);
    }
    return { ...c, messages, ...(c.withoutTools ? { withoutTools: place(c.withoutTools) } : {}) };
  };
  return place(call);
}

/**
 * What the node receives from the user for `example` (the input a demo shows, that KNN embeds
 * and GEPA's reflection reads): a classifier's or extractor's query; a chat node's last user
 * turn (with memory, the query through the query template); for a one-text (completion)
 * prompt, the example's input. Without a covered spec: renderPrompt's user turn (runtimeInput).
 */
export function nodeInput(target: PromptTarget, example: Example): string {
  const spec = coveredSpec(target.spec);
  if (!spec) return runtimeInput(target.record, target.messages, example);
  const w = spec.wrapper;
  if (w?.kind === 'classifier' || w?.kind === 'extractor') return example.vars[w.queryKey] ?? exampleInput(example);
  if (spec.mode === 'completion' || spec.completion || (w?.kind === 'simple-app' && w.appMode === 'completion')) return exampleInput(example);
  const built = buildTaskCall(target, example).messages;
  for (let i = built.length - 1; i >= 0; i--) {
    if (built[i]!.role === 'user') return built[i]!.content.trim() ? built[i]!.content : exampleInput(example);
  }
  // Only a system message (the prompt holds its variables): the input renderPrompt would add.
  return runtimeInput(target.record, spec.messages, example);
}

/** The texts whose variables the examples must give: every text of the node, and a wrapped node's query. */
export function requestTexts(target: PromptTarget): string[] {
  const spec = coveredSpec(target.spec);
  const texts = [target.record.text, ...(target.messages ?? []).map((m) => m.text)];
  if (!spec) return texts;
  const w = spec.wrapper;
  if (w?.kind === 'classifier') texts.push(w.instruction, ...w.classes.map((c) => c.name), `{{#${w.queryKey}#}}`);
  else if (w?.kind === 'extractor') texts.push(w.instruction, `{{#${w.queryKey}#}}`);
  else if (w?.kind === 'simple-app') texts.push(w.prePrompt);
  texts.push(...(spec.messages ?? []).map((m) => m.text), ...(spec.completion ? [spec.completion.text] : []), ...(spec.memory?.queryTemplate ? [spec.memory.queryTemplate] : []));
  return texts;
}

const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v ?? null)).digest('hex').slice(0, 16);

/** What each part of a request is, in the words a resume refusal uses. */
export const REQUEST_PARTS: Readonly<Record<string, string>> = {
  mode: "the node's model mode (chat or completion)",
  messages: "the node's messages",
  instruction: "the node's instruction",
  classes: "the classifier's classes",
  parameters: "the extractor's parameters",
  memory: "the node's memory settings",
  variables: "the node's jinja2 variables",
  params: "the node's model parameters (temperature, top_p, penalties, max tokens, response format)",
  app: "the app's prompt settings (form, datasets, mode)",
  tools: "the agent's tools",
};

/**
 * Hashes of the parts of the node's request besides the example (undefined without a covered
 * spec): what a recorded result depends on. The model's name is left out (the run's task
 * model is recorded on its own) and so is what does not reach the request (the node's title,
 * where its context comes from, params the request does not carry, e.g. stop words).
 */
export function requestParts(spec: NodeSpec | undefined): Record<string, string> | undefined {
  const s = coveredSpec(spec);
  if (!s) return undefined;
  const w = s.wrapper;
  const { model: _model, ...params } = paramsOf(s);
  const parts: Record<string, unknown> = {
    mode: s.mode,
    messages: [s.messages ?? null, s.completion ?? null],
    memory: s.memory ?? null,
    variables: s.jinja2Variables,
    params,
  };
  if (w?.kind === 'classifier') Object.assign(parts, { instruction: w.instruction, classes: w.classes, memory: [s.memory ?? null, w.historyLimit ?? null, w.queryKey] });
  if (w?.kind === 'extractor') Object.assign(parts, { instruction: w.instruction, parameters: [w.parameters, w.reasoningMode], memory: [s.memory ?? null, w.historyLimit ?? null, w.queryKey] });
  if (w?.kind === 'simple-app') {
    Object.assign(parts, { instruction: w.prePrompt, app: [w.appMode, w.hasContext, w.formKeys, w.agentStrategy ?? null, s.provider ?? null] });
    if (w.agentTools?.length || w.firstPrompt) Object.assign(parts, { tools: [w.agentTools ?? [], w.firstPrompt ?? null] });
  }
  if (w?.kind === 'agent-node') Object.assign(parts, { instruction: [w.instruction, w.query], tools: [w.strategy, w.tools] });
  if (s.appForm) parts.app = s.appForm;
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, sha(v)]));
}

/** The parts of the request that differ between two recorded `requestParts`, in plain words. */
export function changedRequestParts(then: Record<string, string> | undefined, now: Record<string, string> | undefined): string[] {
  const keys = new Set([...Object.keys(then ?? {}), ...Object.keys(now ?? {})]);
  return [...keys].filter((k) => then?.[k] !== now?.[k]).map((k) => REQUEST_PARTS[k] ?? k);
}
