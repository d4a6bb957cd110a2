import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { EVIDENCE_MODES, STRATEGY_NAMES, PRESETS, PRESET_NAMES, isLlmStrategy, type ConfigOverrides, type EvidenceMode, type PresetName } from '../../core/engine/config';
import { UNUSABLE_CAUSES } from '../../core/engine/reasons';
import { unprovenLabel, withUnproven } from '../../core/engine/unproven';
import type { EngineEvent } from '../../core/engine/events';
import { parseDify, replacePrompts } from '../../core/dsl';
import { UsageError } from '../../core/errors';
import { costTableWith, createLlmClient, unpricedNotes } from '../../core/llm';
import { endpointFromEnv } from '../../core/service/endpoint';
import { createEvidenceGate } from '../../core/service/gateFactory';
import { optimizeDocument } from '../../core/service/optimize';
import { DEFAULT_LLM_STRATEGIES, llmCacheDir, loadEngineConfig } from '../../core/service/workspace';
import { resultsToPatchFile } from '../../core/engine/patch';
import { VersionStore, findWorkspaceRoot, workflowKey } from '../../core/storage';
import type { OptimizationResult } from '../../core/engine/result';
import type { RecordedVersions } from '../../core/service/optimize';
import { conflictError, updateWorkflowFile } from '../../core/service/fileWriter';
import type { StrategyName } from '../../core/strategies/types';
import { atomicWriteFile } from '../../core/util/atomicWrite';
import { assertWritableEncoding, decodeFileText } from '../../core/util/encoding';
import { formatRunEstimate, type RunEstimate } from '../../core/engine/estimate';
import { estimateOptimizeDocument } from '../../core/service/estimate';
import { parseCommandArgs } from '../args';
import { confirmOnTty, type Confirm } from '../confirm';
import type { CliCommand } from '../io';
import { readTextFile } from './fileInput';
import { RUNTIME_OPTIONS, RUNTIME_USAGE, cliDifyRuntime, runtimeOf } from './runtimeArg';
import type { EvidenceGateFactory } from '../../core/service/gateFactory';
import type { DifyDocument } from '../../core/dsl/parse';
import type { LlmClient } from '../../core/llm/types';
import { isPackagePath } from '../../core/package/index';
import { LLM_LIMIT_FLAGS, LLM_LIMIT_USAGE, llmLimitFlags } from './llmFlags';
import { llmLimitsOf } from '../../core/llm/limits';

const usage = `promptopt optimize <file> [--prompt <id>]... [--strategy <s>]... [--iterations n]
                   [--min-confidence x] [--preset p] [--include-labels] [--write] [--json]
                   [--patches out.json] [--base-url url] [--model m] [--workspace dir] [--no-cache]
                   [--evidence auto|off|required] [--cases n] [--max-cases n] [--judge-model m]
                   [--task-model m] [--accept-unproven] [--yes]
                   [--llm-timeout s] [--llm-retries n] [--llm-max-response-mb n]
                   [--runtime model|dify] [--dify-server url]

Improve the prompts of a Dify export. Without --write, prints a unified diff per improved
prompt and changes nothing. With --write, applies the kept results to the file (only those
prompts' bytes change) and records baselines and accepted versions under .optimizer/.
  --prompt <id>        only this prompt (repeatable; ids from 'promptopt extract'); forces it even if it already scores well
  --include-labels     also rewrite labels (class names, parameter descriptions, structured-output
                       descriptions); without it they are skipped, as a rewrite changes routing or extraction
  --strategy <s>       ${STRATEGY_NAMES.join(', ')} (repeatable)
  --iterations n       refinements per strategy (1-10)
  --min-confidence x   keep a step only at or above this confidence (0-1)
  --preset p           ${PRESET_NAMES.join(', ')}
  --json               print an array of results (id, original, optimized, strategy, improvement, confidence, …)
  --patches out.json   also write the kept results as PromptPatch JSON, for review or 'promptopt apply'
Evidence (with a key): an LLM proposal is kept only when it beats the current prompt on the
prompt's test cases (generated once into .optimizer/datasets/, then reused), judged pairwise in
both orders: 90% Wilson lower bound of the win rate above 0.5 and no requirement dropping.
  --evidence m         auto (default: evidence when a model is set; the heuristic decides, and says
                       so, when the cases cannot be run), required (no evidence, no proposal), off
  --cases n            test cases per prompt (default 12); --max-cases n: the most a sequence grows to
                       while inconclusive (default 48); --judge-model / --task-model pick models
  --accept-unproven    also take proposals the cases neither proved better nor worse ("no evidence",
                       shown as unproven): printed, and with --write written and recorded as unproven.
                       Without it they are listed with their reports and recorded as proposed versions
                       (with --write), nothing spent on them is lost; "worse" ones are only listed
${RUNTIME_USAGE}
With a model, the run first prints an estimate (at most so many calls, about so many tokens,
the cost where prices are known; answers already in the cache are not counted) and asks
before spending; without a terminal it is not run unless --yes is given.
  --yes                run without asking to confirm the estimate (implied by --json)
With no key the rule strategies run (the embedded default) and the output says so. With
OPENAI_API_KEY (or PROMPTOPT_API_KEY) in the environment and no strategy chosen (flag, preset
or .optimizer/config.yaml), ${DEFAULT_LLM_STRATEGIES.join(', ')} run; --base-url (or
OPENAI_BASE_URL) points at any OpenAI-compatible endpoint; --model (or PROMPTOPT_MODEL).
A local server on this machine (--base-url http://127.0.0.1:11434/v1 for Ollama, :1234 LM
Studio, :8080 llama.cpp, :8000 vLLM) needs no key. Editor models (VS Code's, e.g. Copilot)
exist only inside VS Code.
${LLM_LIMIT_USAGE}`;

/**
 * `--write`: puts the kept results into the file (on its current text, under its lock: see
 * updateWorkflowFile), then marks their versions accepted. If the file changed meanwhile, the
 * results are re-applied by prompt id as long as each of those prompts still holds the text it
 * was optimized from; otherwise (or when the write is refused) nothing is written, the versions
 * stay `proposed`, and the message says so.
 */
async function writeKept(
  abs: string,
  file: string,
  text: string,
  kept: OptimizationResult[],
  versions: Map<string, RecordedVersions>,
  store: VersionStore,
  workflow: string,
  io: { stderr: (s: string) => void },
): Promise<void> {
  const edits = kept.map((r) => ({ id: r.promptId, text: r.optimized }));
  try {
    await updateWorkflowFile(
      abs,
      (cur) => {
        if (cur === text) return replacePrompts(text, edits, { file });
        const doc = parseDify(cur, { file });
        for (const r of kept) {
          const now = doc.prompts.find((p) => p.id === r.promptId);
          if (!now) throw conflictError(file, 'optimizing it', `prompt ${r.promptId} is gone`);
          if (now.text !== r.original) throw conflictError(file, 'optimizing it', `prompt ${r.promptId} was edited meanwhile`);
        }
        return replacePrompts(doc, edits, { file });
      },
      { displayName: file, what: 'optimizing it' },
    );
  } catch (e) {
    const n = kept.filter((r) => versions.get(r.promptId)?.proposal).length;
    io.stderr(`note: ${file} was not written; the ${n} improved prompt(s) are recorded under .optimizer/ as proposed versions, not accepted.\n`);
    throw e;
  }
  for (const r of kept) {
    const v = versions.get(r.promptId)?.proposal;
    if (v) versions.set(r.promptId, { ...versions.get(r.promptId)!, proposal: await store.setStatus(workflow, r.promptId, v.version, 'accepted') });
  }
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError('USAGE', `--${name} takes a number, got '${v}'.`);
  return n;
}

export function createOptimizeCommand(deps: { confirm?: Confirm } = {}): CliCommand {
  return {
  name: 'optimize',
  summary: 'Improve the prompts of a Dify export (diff, --json or --write)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        prompt: { type: 'string', multiple: true },
        strategy: { type: 'string', multiple: true },
        iterations: { type: 'string' },
        'min-confidence': { type: 'string' },
        preset: { type: 'string' },
        write: { type: 'boolean' },
        json: { type: 'boolean' },
        'base-url': { type: 'string' },
        model: { type: 'string' },
        workspace: { type: 'string' },
        'no-cache': { type: 'boolean' },
        patches: { type: 'string' },
        evidence: { type: 'string' },
        cases: { type: 'string' },
        'max-cases': { type: 'string' },
        'judge-model': { type: 'string' },
        'task-model': { type: 'string' },
        'include-labels': { type: 'boolean' },
        'accept-unproven': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        ...LLM_LIMIT_FLAGS,
        ...RUNTIME_OPTIONS,
      },
      usage,
    );
    const limitFlags = llmLimitFlags(values);
    if (positionals.length !== 1) throw new UsageError('USAGE', `optimize takes exactly one file. Usage: ${usage.split('\n')[0]}`);
    const file = positionals[0];
    const { abs, text, bytes } = await readTextFile(io.cwd, file, 'file', undefined, (m) => io.stderr(`warning: ${m}\n`));
    // --write on a file that is not UTF-8 would fail at the end: refuse before any work.
    if (values.write && !isPackagePath(abs)) assertWritableEncoding(decodeFileText(bytes, file), file);
    for (const s of values.strategy ?? []) {
      if (!(STRATEGY_NAMES as readonly string[]).includes(s)) {
        throw new UsageError('USAGE', `unknown strategy '${s}'. Known: ${STRATEGY_NAMES.join(', ')}.`);
      }
    }
    if (values.preset && !(PRESET_NAMES as readonly string[]).includes(values.preset)) {
      throw new UsageError('USAGE', `unknown preset '${values.preset}'. Known: ${PRESET_NAMES.join(', ')}.`);
    }
    if (values.evidence && !(EVIDENCE_MODES as readonly string[]).includes(values.evidence)) {
      throw new UsageError('USAGE', `--evidence must be ${EVIDENCE_MODES.join(', ')}, not '${values.evidence}'.`);
    }
    const root = values.workspace ? path.resolve(io.cwd, values.workspace) : findWorkspaceRoot(abs);
    const preset: ConfigOverrides | undefined = values.preset ? PRESETS[values.preset as PresetName] : undefined;
    const config = await loadEngineConfig(
      root,
      [
        preset,
        {
          strategies: values.strategy?.length ? (values.strategy as StrategyName[]) : undefined,
          maxIterations: num(values.iterations, 'iterations'),
          minConfidence: num(values['min-confidence'], 'min-confidence'),
          evidence: {
            mode: values.evidence as EvidenceMode | undefined,
            cases: num(values.cases, 'cases'),
            maxCases: num(values['max-cases'], 'max-cases'),
            judgeModel: values['judge-model'],
            taskModel: values['task-model'],
          },
          model: limitFlags,
        },
      ],
      { modelAvailable: endpointFromEnv(io.env, { baseUrl: values['base-url'], model: values.model }) !== undefined },
    );
    const endpoint = endpointFromEnv(io.env, { baseUrl: values['base-url'], model: values.model, configModel: config.model.name });
    const costTable = costTableWith(config.pricing);
    const llm = endpoint
      ? createLlmClient(
          { ...endpoint, ...llmLimitsOf(config.model), concurrency: Math.max(1, config.concurrency) },
          { cacheDir: values['no-cache'] ? undefined : llmCacheDir(root), budget: config.budget, costTable },
        )
      : undefined;
    // A cost budget cannot limit a model without a price: say so instead of counting it as $0 silently.
    if (endpoint) for (const n of unpricedNotes([endpoint.model], config.budget.maxCostUsd, costTable)) io.stderr(`warning: ${n}\n`);

    // Before anything is spent: what the run sends at most, and the user's go (--yes / --json skip the question).
    // What both the estimate and the run are given: the same document, prompts and model.
    const run = {
      file: abs,
      text,
      workspaceRoot: root,
      config,
      promptIds: values.prompt,
      force: !!values.prompt?.length,
      includeLabels: !!values['include-labels'],
      llm,
      evidenceGate: createEvidenceGate as EvidenceGateFactory,
      ...(endpoint ? { defaultModel: endpoint.model } : {}),
    };
    if (llm && runtimeOf(values.runtime, config) === 'dify' && config.evidence.mode !== 'off') {
      const opener = (doc: DifyDocument, client: LlmClient) => cliDifyRuntime(io, { root, abs, doc, llm: client, config, server: values['dify-server'], noCache: values['no-cache'] });
      // A missing sign-in, or an app Dify cannot run, is said before the estimate (opening calls no Dify).
      await (await opener(parseDify(text, { file }), llm)()).close();
      run.evidenceGate = (p) => createEvidenceGate({ ...p, runtime: opener(p.doc, p.client) });
    }
    let estimate: RunEstimate | undefined;
    if (llm && endpoint) {
      estimate = await estimateOptimizeDocument({
        ...run,
        model: endpoint.model,
        costTable,
        signal: io.signal,
      });
      if (estimate && estimate.calls > 0 && !values.json) {
        io.stderr(`${formatRunEstimate(estimate)}\n`);
        if (!values.yes && !(await (deps.confirm ?? ((q, o) => confirmOnTty('optimize', q, o)))('Run it? [y/N] ', io))) {
          io.stderr('Not run.\n');
          return 1;
        }
      }
    }

    const store = values.write ? await VersionStore.open(root, { onWarning: (m) => io.stderr(`warning: ${m}\n`) }) : undefined;
    const progress = (e: EngineEvent) => {
      if (values.json) return;
      if (e.type === 'optimization_complete') {
        io.stderr(
          `  ${e.accepted ? '✓' : '·'} ${e.promptId}: ${e.accepted ? `${e.scoreBefore} → ${e.scoreAfter} (${e.strategy}, confidence ${e.confidence.toFixed(2)}${e.evidence ? `; evidence ${e.evidence.verdict}, win rate ${e.evidence.winRate.toFixed(2)}, lower bound ${e.evidence.lowerBound.toFixed(2)}` : ''})` : (e.skippedReason ?? 'no change')}\n`,
        );
      } else if (e.type === 'candidate_evidence') {
        io.stderr(`    ${e.strategy}: ${e.verdict ? `evidence ${e.verdict}${e.winRate !== undefined ? ` (win rate ${e.winRate.toFixed(2)}, lower bound ${e.lowerBound!.toFixed(2)}, ${e.cases} cases in ${e.casesFile})` : ''}` : (e.reason ?? '')}\n`);
      } else if (e.type === 'optimization_error') io.stderr(`  ✗ ${e.promptId}: ${e.message}\n`);
    };
    try {
      const out = await optimizeDocument({
        ...run,
        store,
        // Recorded as proposed; made accepted only once the file on disk holds the text (writeKept).
        recordAs: 'proposed',
        runLog: !!values.write,
        events: progress,
        signal: io.signal,
      });
      if (!values.json) for (const n of out.notes) io.stderr(`note: ${n}\n`);
      if (!values.json && !llm) io.stderr('note: running the embedded rule strategies (no API key).\n');
      if (out.cancelled) {
        io.stderr('promptopt optimize: cancelled; nothing was written.\n');
        return 130;
      }
      // Better ones always; unproven ones ("no evidence") only when asked for.
      const kept = out.results.filter((r) => r.accepted || (values['accept-unproven'] && r.unproven)).map(withUnproven);
      if (values.write && kept.length) await writeKept(abs, file, text, kept, out.versions, store!, workflowKey(root, abs), io);
      if (values.patches) {
        const workflow = path.relative(root, abs).split(path.sep).join('/');
        const dest = path.resolve(io.cwd, values.patches);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await atomicWriteFile(dest, `${JSON.stringify(resultsToPatchFile(kept, workflow), null, 2)}\n`);
        if (!values.json) io.stderr(`${kept.length} patch(es) written to ${values.patches}.\n`);
      }
      if (values.json) {
        io.stdout(
          `${JSON.stringify(
            out.results.map((r) => ({
              id: r.promptId,
              nodeTitle: r.nodeTitle,
              kind: r.kind,
              role: r.role,
              original: r.original,
              optimized: r.optimized,
              accepted: r.accepted,
              strategy: r.strategy,
              iterations: r.iterations,
              scoreBefore: r.before.overall,
              scoreAfter: r.after.overall,
              improvement: r.improvement,
              confidence: r.confidence,
              rationale: r.rationale,
              skippedReason: r.skippedReason,
              causes: r.causes,
              candidates: r.candidates.map((c) => ({ strategy: c.strategy, iteration: c.iteration, kept: c.kept, score: c.score, confidence: c.confidence, cause: c.cause, reason: c.reason, evidence: c.evidence })),
              evidence: r.evidence,
              evidenceNote: r.evidenceNote,
              ...(r.unproven ? { unproven: { strategy: r.unproven.strategy, text: r.unproven.text, label: unprovenLabel(r.unproven.evidence), evidence: r.unproven.evidence, written: !!(values.write && values['accept-unproven']) } } : {}),
              ...(r.refused?.length ? { refused: r.refused.map((x) => ({ strategy: x.strategy, verdict: x.verdict, reportFile: x.evidence.reportFile })) } : {}),
              cost: r.cost,
              ...(estimate ? { estimate: estimateOf(estimate, r.promptId) } : {}),
              version: out.versions.get(r.promptId)?.proposal?.version,
            })),
            null,
            2,
          )}\n`,
        );
      } else {
        for (const r of kept) {
          const unproven = !out.results.find((x) => x.promptId === r.promptId)?.accepted;
          io.stdout(
            createTwoFilesPatch(
              `a/${r.promptId}`,
              `b/${r.promptId}`,
              r.original.endsWith('\n') ? r.original : `${r.original}\n`,
              r.optimized.endsWith('\n') ? r.optimized : `${r.optimized}\n`,
              `${r.nodeTitle} · score ${r.before.overall}`,
              `${r.strategy} · score ${r.after.overall} (+${r.improvement}, confidence ${r.confidence.toFixed(2)})${unproven && r.evidence ? ` · ${unprovenLabel(r.evidence)}` : ''}`,
            ),
          );
        }
        // What the cases refused is listed with its report: nothing spent on it is hidden.
        for (const r of out.results) {
          if (r.unproven && !values['accept-unproven']) io.stderr(`note: ${r.promptId}: ${r.unproven.strategy} is ${unprovenLabel(r.unproven.evidence)}; not taken (--accept-unproven takes it). Report: ${r.unproven.evidence.reportFile}\n`);
          for (const x of r.refused ?? []) io.stderr(`note: ${r.promptId}: ${x.strategy} was ${x.verdict} on ${x.evidence.cases} test cases (win rate ${x.evidence.winRate.toFixed(2)}). Report: ${x.evidence.reportFile}\n`);
        }
        const failed = out.failures.length ? `, ${out.failures.length} failed` : '';
        const nUnproven = kept.filter((r) => !out.results.find((x) => x.promptId === r.promptId)?.accepted).length;
        io.stderr(
          `${kept.length} of ${out.results.length + out.failures.length} prompt(s) improved${nUnproven ? ` (${nUnproven} of them unproven)` : ''}${failed}` +
            `${values.write ? (kept.length ? `; written to ${file} and recorded under .optimizer/` : '; nothing to write') : kept.length ? '; run with --write to apply' : ''}.` +
            `${out.cost.calls ? ` LLM calls: ${out.cost.calls}, cost $${out.cost.costUsd.toFixed(4)}.` : ''}\n`,
        );
        for (const f of out.failures) io.stderr(`error: ${f.error.message} [${f.error.code}]\n`);
      }
      // Every answer the model gave was unusable (dropped a variable, unreadable, cut off, empty): the job failed.
      const llmTries = out.results.flatMap((r) => r.candidates).filter((c) => isLlmStrategy(c.strategy));
      const allUnusable = llmTries.length > 0 && llmTries.every((c) => !c.kept && c.cause && UNUSABLE_CAUSES.has(c.cause));
      if (allUnusable && !values.json) io.stderr('error: every answer of the model was unusable (see the reasons above); nothing was improved by it.\n');
      if (!values.json) for (const r of kept) if (r.evidenceNote) io.stderr(`note: ${r.promptId}: ${r.evidenceNote}\n`);
      // Any failed prompt fails the run (exit 1), whatever the others did.
      return out.failures.length || allUnusable ? 1 : 0;
    } finally {
      await store?.close();
    }
  },
  };
}

export const optimizeCommand = createOptimizeCommand();

/** A prompt's share of the run's estimate (0 calls when the cache holds all it needs). */
function estimateOf(e: RunEstimate, promptId: string) {
  const p = e.prompts.find((x) => x.promptId === promptId);
  return { calls: p?.calls ?? 0, promptTokens: p?.promptTokens ?? 0, completionTokens: p?.completionTokens ?? 0 };
}
