import * as z from 'zod';
import { isLabel, parseDify, replacePrompts } from '../dsl';
import type { PromptRecord } from '../dsl/types';
import { diffVariables } from '../dsl/variables';
import { DslError } from '../errors';
import { describeZodError } from './config';
import type { OptimizationResult } from './result';

/**
 * PromptPatch: a portable, reviewable description of prompt edits (dify_autoopt's format,
 * made precise). A selector picks prompts by
 * - `id`    the prompt id (exactly one prompt),
 * - `label` the node title (every prompt of those nodes; narrow with `role`),
 * - `type`  a node type (`llm`, `question-classifier` …) or a prompt kind (`llm-message` …),
 * - `path`  the YAML path, dotted with [i] for indexes: `workflow.graph.nodes[2].data.prompt_template[0].text`.
 * Modes: `replace` the text, `prepend` / `append` content (joined with a newline), or
 * `template`: content in which `{{$original}}` stands for the current text.
 */
export const PromptSelectorSchema = z.discriminatedUnion('by', [
  z.object({ by: z.literal('id'), value: z.string().min(1) }).strict(),
  z.object({ by: z.literal('label'), value: z.string().min(1), role: z.enum(['system', 'user', 'assistant']).optional() }).strict(),
  z.object({ by: z.literal('type'), value: z.string().min(1) }).strict(),
  z.object({ by: z.literal('path'), value: z.string().min(1) }).strict(),
]);

export const PromptPatchSchema = z
  .object({
    selector: PromptSelectorSchema,
    mode: z.enum(['replace', 'prepend', 'append', 'template']),
    content: z.string(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const PatchFileSchema = z
  .object({
    schemaVersion: z.literal(1),
    workflow: z.string().optional(),
    patches: z.array(PromptPatchSchema),
  })
  .strict();

export type PromptSelector = z.infer<typeof PromptSelectorSchema>;
export type PromptPatch = z.infer<typeof PromptPatchSchema>;
export type PatchFile = z.infer<typeof PatchFileSchema>;

export const TEMPLATE_TOKEN = '{{$original}}';

/** Results worth applying (accepted ones) as a patch file. */
export function resultsToPatchFile(results: OptimizationResult[], workflow?: string): PatchFile {
  return {
    schemaVersion: 1,
    workflow,
    patches: results
      .filter((r) => r.accepted)
      .map((r) => ({
        selector: { by: 'id' as const, value: r.promptId },
        mode: 'replace' as const,
        content: r.optimized,
        metadata: {
          strategy: r.strategy,
          scoreBefore: r.before.overall,
          scoreAfter: r.after.overall,
          improvement: r.improvement,
          confidence: r.confidence,
        },
      })),
  };
}

export function parsePatchFile(text: string, file: string): PatchFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DslError('DSL_PATCH_INVALID', `not valid JSON: ${(e as Error).message}`, { file });
  }
  // A bare array of patches is accepted too.
  if (Array.isArray(raw)) raw = { schemaVersion: 1, patches: raw };
  const r = PatchFileSchema.safeParse(raw);
  if (!r.success) throw new DslError('DSL_PATCH_INVALID', describeZodError(r.error), { file });
  return r.data;
}

function pathString(p: (string | number)[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  return s;
}

export function selectPrompts(prompts: PromptRecord[], sel: PromptSelector): PromptRecord[] {
  switch (sel.by) {
    case 'id':
      return prompts.filter((p) => p.id === sel.value);
    // A node title or node type selects the node's prompts, not its labels (class names,
    // parameter and output descriptions): those only by id, path or their own kind.
    case 'label':
      return prompts.filter((p) => p.nodeTitle === sel.value && !isLabel(p) && (!sel.role || p.role === sel.role));
    case 'type':
      return prompts.filter((p) => p.kind === sel.value || (p.nodeType === sel.value && !isLabel(p)));
    case 'path':
      return prompts.filter((p) => pathString(p.yamlPath) === sel.value);
  }
}

export interface AppliedPatch {
  index: number;
  promptIds: string[];
  /** Variables the patch removed or added (allowed, but worth a warning). */
  variableWarnings: string[];
}

/**
 * Applies patches in order through the format-preserving write-back. A selector that matches
 * nothing is an error naming the patch: nothing is written unless every patch applies.
 */
export function applyPatches(fileText: string, patches: PromptPatch[], file?: string): { text: string; applied: AppliedPatch[] } {
  const doc = parseDify(fileText, { file });
  const current = new Map(doc.prompts.map((p) => [p.id, p.text]));
  const applied: AppliedPatch[] = [];
  patches.forEach((patch, index) => {
    const targets = selectPrompts(doc.prompts, patch.selector);
    if (!targets.length) {
      throw new DslError(
        'DSL_PATCH_INVALID',
        `patch ${index + 1}: no prompt matches ${patch.selector.by} '${patch.selector.value}'`,
        { file },
      );
    }
    const warnings: string[] = [];
    for (const t of targets) {
      const before = current.get(t.id) ?? t.text;
      let after: string;
      switch (patch.mode) {
        case 'replace':
          after = patch.content;
          break;
        case 'prepend':
          after = before ? `${patch.content}\n${before}` : patch.content;
          break;
        case 'append':
          after = before ? `${before}\n${patch.content}` : patch.content;
          break;
        case 'template':
          if (!patch.content.includes(TEMPLATE_TOKEN)) {
            throw new DslError('DSL_PATCH_INVALID', `patch ${index + 1}: a template must contain ${TEMPLATE_TOKEN}`, { file });
          }
          after = patch.content.split(TEMPLATE_TOKEN).join(before);
          break;
      }
      const vd = diffVariables(before, after);
      if (vd.missing.length) warnings.push(`${t.id}: removes ${vd.missing.join(', ')}`);
      if (vd.added.length) warnings.push(`${t.id}: adds ${vd.added.join(', ')}`);
      current.set(t.id, after);
    }
    applied.push({ index, promptIds: targets.map((t) => t.id), variableWarnings: warnings });
  });
  const edits = [...current.entries()]
    .filter(([id, text]) => doc.prompts.find((p) => p.id === id)?.text !== text)
    .map(([id, text]) => ({ id, text }));
  const text = edits.length ? replacePrompts(fileText, edits, { file }) : fileText;
  return { text, applied };
}
