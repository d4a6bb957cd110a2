import * as path from 'node:path';
import { confirmOnTty } from '../confirm';
import type { CliCommand, CliIo } from '../io';
import { parseCommandArgs } from '../args';
import { CancelledError, UsageError, isOptimizerError } from '../../core/errors';
import { parseDify } from '../../core/dsl';
import { readTextFile } from './fileInput';
import type { PromptRecord } from '../../core/dsl/types';
import { loadDataset } from '../../core/evaluation/dataset';
import { resolveDatasetArg } from './datasetArg';
import { createMetric, parseMetricArg } from '../../core/evaluation/metrics';
import { nodeMessagesOf } from '../../core/runtime/render';
import { createLlmClient } from '../../core/llm/client';
import { costTableWith } from '../../core/llm/cost';
import { endpointFromEnv } from '../../core/service/endpoint';
import { llmLimitsOf } from '../../core/llm/limits';
import { LLM_LIMIT_FLAGS, LLM_LIMIT_USAGE, llmLimitFlags } from './llmFlags';
import { llmCacheDir, loadEngineConfig } from '../../core/service/workspace';
import { findWorkspaceRoot } from '../../core/storage';
import { chooseMetrics, nodeSpecFor, prepareTraining } from '../../core/optimizers/training';
import type { NodeSpec } from '../../core/runtime/workflow';
import { stripResults } from '../../core/optimizers/session';
import { formatEstimate as estimateText, formatReport as reportText, taskModelText } from '../../core/optimizers/report';
import type { OptimizerReport } from '../../core/optimizers/types';

const usage = [
  'promptopt train <file> --prompt <id> --dataset <path> --optimizer copro|knn|gepa|ensemble',
  '       [--budget-calls n] [--budget-cost usd] [--budget-tokens n] [--json] [--yes]',
  '       [--base-url url] [--model m] [--task-model m] [--metric m]... [--seed n] [--run-id id]',
  '       [--breadth n] [--depth n] [--temperature t] [--k n] [--concurrency n] [--remember]',
  '       [--auto light|medium|heavy] [--max-metric-calls n] [--members copro,knn,gepa]',
  '',
  'Searches for a better version of one prompt of a Dify app using a dataset of examples',
  '(JSONL, YAML or CSV; a bare name is looked up in .optimizer/datasets/). Candidates are',
  'scored on the train split and chosen on the validation split; prints train and validation',
  'scores per candidate and the best candidate against the baseline. Each example is sent as the',
  'node\'s full request as Dify builds it (its other messages, memory, classifier or extractor template,',
  'temperature and max tokens), the candidate and its demos in place.',
  '',
  '  --optimizer     copro (instruction search), knn (few-shot demos), gepa (reflective instruction',
  '                  evolution from the metric\'s feedback, Pareto front) or ensemble (all three, or --members)',
  '  --auto          gepa: preset budget, light (6 proposals), medium (12) or heavy (18); default light, or',
  '                  with --budget-calls alone, as many steps as that budget allows',
  '  --max-metric-calls  gepa: example evaluations the search may make (instead of --auto)',
  '  --members       ensemble: the members, comma-separated (default copro,knn,gepa); each gets a share of --budget-calls',
  '  --metric        exact (default), contains, regex=<pattern>, json, json_schema=<json>,',
  '                  numeric=<tolerance>, llm_judge=<rubric>, embedding[=threshold], judge[=model]; add @w for a weight',
  '                  judge: the evidence judge compares each answer with the current prompt\'s answer (both orders)',
  '                  and checks the requirement checklist; the default for a dataset without expected/labels',
  '                  (e.g. the cases promptopt cases writes); for gepa and copro, not knn',
  '  --budget-*      hard caps on calls, cost (USD) and tokens; the search stops early to stay within them',
  '                  (default: budget: in .optimizer/config.yaml); a resumed run counts what earlier attempts spent',
  '  --model         the configured model: proposals and judges (default PROMPTOPT_MODEL, then model.name in',
  '                  .optimizer/config.yaml, then gpt-4o-mini)',
  '  --task-model    the model that runs the prompt on the examples (default: the node\'s own model in the',
  '                  export, else the configured model)',
  '  --run-id        resume an interrupted run: recorded results are reused, no call repeated (refused when',
  '                  the prompt, the dataset or the node\'s request has changed since the run started)',
  '  --remember      record the best candidate (when it beats the baseline) in .optimizer/embeddings/',
  '  --yes           run without asking to confirm the estimate (implied by --json)',
  '',
  'The key is read from PROMPTOPT_API_KEY or OPENAI_API_KEY; the endpoint from --base-url (default',
  'OPENAI_BASE_URL or https://api.openai.com/v1). Every optimizer needs a task model to score',
  'examples: a key, or --base-url on a local server of this machine (which needs none). Prices for cost budgets:',
  'the built-in list prices plus pricing: in .optimizer/config.yaml.',
  LLM_LIMIT_USAGE,
].join('\n');

/** Reads the prompt records of a Dify file (the DSL extractor). */
export type PromptLoader = (text: string, file: string) => PromptRecord[];

export interface TrainDeps {
  loadPrompts: PromptLoader;
  /**
   * The prompt's node as Dify builds its request (read once per run from the file): examples run
   * with the node's full request, and the judge's checklist gets its structured output. Default
   * none: the prompt runs as renderPrompt renders it.
   */
  nodeSpec?: (text: string, file: string, record: PromptRecord) => NodeSpec | undefined;
  /** Asks the user to confirm; default: a y/N question on a TTY stdin (no TTY: refuse). */
  confirm?: (question: string, io: CliIo) => Promise<boolean>;
}

function intOpt(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError('USAGE', `--${name} must be an integer of at least ${min}, not "${v}".`);
  return n;
}

function numOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError('USAGE', `--${name} must be a positive number, not "${v}".`);
  return n;
}

/** Builds the `train` command around a prompt loader (the DSL extractor). */
export function createTrainCommand(deps: TrainDeps): CliCommand {
  return {
    name: 'train',
    summary: 'Optimize a prompt on a dataset (COPRO, GEPA, KNN few-shot, Ensemble)',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseCommandArgs(
        argv,
        {
          prompt: { type: 'string' },
          dataset: { type: 'string' },
          optimizer: { type: 'string' },
          'budget-calls': { type: 'string' },
          'budget-cost': { type: 'string' },
          'budget-tokens': { type: 'string' },
          json: { type: 'boolean' },
          yes: { type: 'boolean', short: 'y' },
          'base-url': { type: 'string' },
          ...LLM_LIMIT_FLAGS,
          model: { type: 'string' },
          'task-model': { type: 'string' },
          metric: { type: 'string', multiple: true },
          seed: { type: 'string' },
          'run-id': { type: 'string' },
          breadth: { type: 'string' },
          depth: { type: 'string' },
          temperature: { type: 'string' },
          k: { type: 'string' },
          concurrency: { type: 'string' },
          auto: { type: 'string' },
          'max-metric-calls': { type: 'string' },
          members: { type: 'string' },
          remember: { type: 'boolean' },
          workspace: { type: 'string' },
        },
        usage,
      );
      const file = positionals[0];
      if (!file || !values.prompt || !values.dataset || !values.optimizer) {
        throw new UsageError('USAGE', `<file>, --prompt, --dataset and --optimizer are required. Usage: ${usage.split('\n')[0]}`);
      }
      if (!['copro', 'knn', 'gepa', 'ensemble'].includes(values.optimizer)) throw new UsageError('USAGE', `--optimizer must be copro, knn, gepa or ensemble, not "${values.optimizer}".`);
      const auto = values.auto;
      if (auto !== undefined && !['light', 'medium', 'heavy'].includes(auto)) throw new UsageError('USAGE', `--auto must be light, medium or heavy, not "${auto}".`);
      const maxMetricCalls = intOpt(values['max-metric-calls'], 'max-metric-calls');
      if (auto !== undefined && maxMetricCalls !== undefined) throw new UsageError('USAGE', 'give --auto or --max-metric-calls, not both.');
      const members = values.members?.split(',').map((m) => m.trim()).filter(Boolean);
      for (const m of members ?? []) if (!['copro', 'knn', 'gepa'].includes(m)) throw new UsageError('USAGE', `--members: unknown optimizer "${m}" (use copro, knn or gepa).`);
      if (members && !members.length) throw new UsageError('USAGE', '--members needs at least one of copro, knn, gepa.');
      const calls = intOpt(values['budget-calls'], 'budget-calls');
      const cost = numOpt(values['budget-cost'], 'budget-cost');
      const tokens = intOpt(values['budget-tokens'], 'budget-tokens');
      const breadth = intOpt(values.breadth, 'breadth', 2);
      const depth = intOpt(values.depth, 'depth');
      const temperature = numOpt(values.temperature, 'temperature');
      const k = intOpt(values.k, 'k');
      const concurrencyFlag = intOpt(values.concurrency, 'concurrency');
      const seed = intOpt(values.seed, 'seed', 0);
      const metrics = (values.metric ?? []).map(parseMetricArg);

      const abs = path.resolve(io.cwd, file);
      const { text } = await readTextFile(io.cwd, file, 'file', undefined, (m) => io.stderr(`warning: ${m}\n`));
      const prompts = deps.loadPrompts(text, abs);
      const record = prompts.find((p) => p.id === values.prompt);
      if (!record) {
        const known = prompts.slice(0, 6).map((p) => p.id).join(', ');
        throw new UsageError('USAGE', `there is no prompt "${values.prompt}" in ${file}${known ? ` (ids: ${known}${prompts.length > 6 ? ', …' : ''})` : ''}. List them with promptopt extract.`, { file });
      }
      const root = values.workspace ? path.resolve(io.cwd, values.workspace) : findWorkspaceRoot(abs);
      // .optimizer/config.yaml gives budgets, the model and prices; flags override it.
      const config = await loadEngineConfig(root, [{ budget: { maxCalls: calls, maxCostUsd: cost, maxTokens: tokens }, budgetSource: 'flag', model: llmLimitFlags(values) }]);
      const budget = config.budget;
      const concurrency = concurrencyFlag ?? config.concurrency;
      const costTable = costTableWith(config.pricing);
      const dataset = await loadDataset(resolveDatasetArg(values.dataset, io.cwd, root), { cwd: io.cwd }).catch(async (e: unknown) => {
        if (isOptimizerError(e) && e.code === 'DATASET_NOT_FOUND' && root !== io.cwd && !path.isAbsolute(values.dataset!)) return loadDataset(values.dataset!, { cwd: root });
        throw e;
      });

      // Unlabelled datasets (the cases `promptopt cases` writes) are scored by the judge; refused early when a metric needs labels.
      const metricChoice = chooseMetrics(dataset, metrics, values.optimizer, members);
      const callsPerExample = metricChoice.specs.reduce((n, m) => n + (createMetric(m).calls ?? 0), 1);

      const endpoint = endpointFromEnv(io.env, { baseUrl: values['base-url'], model: values.model, configModel: config.model.name });
      if (!endpoint) {
        io.stderr(
          'promptopt train: every optimizer runs the prompt on the examples with a task model, so an LLM endpoint is needed.\n' +
            'Set OPENAI_API_KEY or PROMPTOPT_API_KEY and, for another endpoint, --base-url; a local server on this machine (--base-url http://127.0.0.1:11434/v1 for Ollama) needs no key.\n',
        );
        return 2;
      }
      const model = endpoint.model;
      const client = createLlmClient(
        { ...endpoint, ...llmLimitsOf(config.model), concurrency, ...(config.model.embeddingModel ? { embeddingModel: config.model.embeddingModel } : {}) },
        { budget, cacheDir: llmCacheDir(root), costTable },
      );
      const prepared = await prepareTraining({
        root,
        record,
        messages: nodeMessagesOf(prompts, record),
        spec: deps.nodeSpec?.(text, abs, record),
        dataset,
        split: seed !== undefined ? { seed } : undefined,
        metrics: metricChoice.specs,
        optimizer: values.optimizer,
        deps: {
          copro: { ...(breadth ? { breadth } : {}), ...(depth ? { depth } : {}), ...(temperature ? { temperature } : {}) },
          knn: { ...(k ? { k } : {}) },
          gepa: {
            ...(auto ? { auto: auto as 'light' | 'medium' | 'heavy' } : {}),
            // GEPA budgets metric calls: --max-metric-calls, else --auto, else a calls budget alone sets it.
            // (alone only: in an Ensemble the calls budget is shared, and GEPA plans within its share).
            // Each example evaluation makes callsPerExample calls (the task call and the judges').
            ...(maxMetricCalls
              ? { maxMetricCalls }
              : !auto && values.optimizer === 'gepa' && budget?.maxCalls !== undefined
                ? { maxMetricCalls: Math.max(1, Math.floor(budget.maxCalls / callsPerExample)) }
                : {}),
            ...(seed !== undefined ? { seed } : {}),
          },
          ...(members ? { ensemble: { members: members as Array<'copro' | 'knn' | 'gepa'> } } : {}),
        },
        client,
        budget,
        costTable,
        runId: values['run-id'],
        taskModel: values['task-model'],
        configuredModel: model,
        concurrency,
        onProgress: values.json
          ? undefined
          : (() => {
              let last = 0;
              return (p) => {
                const now = Date.now();
                if (now - last < 1000 && p.done < p.total) return;
                last = now;
                io.stderr(`  ${p.optimizer}: ${p.done}/${p.total} example runs (${p.phase})\n`);
              };
            })(),
      });
      try {
        if (!values.json) {
          io.stdout(
            `Prompt ${record.id} (${record.nodeTitle}), dataset ${path.relative(io.cwd, dataset.file) || dataset.file}: ${prepared.split.train.length} train, ${prepared.split.validation.length} validation; optimizer ${values.optimizer}.\n` +
              `Task model: ${taskModelText(prepared.taskModel)}; proposals and judges: ${model}.\n`,
          );
          if (metricChoice.checklistFile) {
            io.stdout(
              `Scoring: the evidence judge${metricChoice.auto ? ' (no example has "expected" or "labels")' : ''} compares each answer with the current prompt's answer, in both orders, and checks the requirement checklist ${path.relative(io.cwd, metricChoice.checklistFile) || metricChoice.checklistFile}; its reasons are GEPA's feedback.\n`,
            );
          }
          if (prepared.partlyMissing.length) io.stdout(`Note: some examples give no value for ${prepared.partlyMissing.join(', ')} (rendered empty).\n`);
          if (prepared.resumedResults) io.stdout(`Resuming run ${prepared.runId}: ${prepared.resumedResults} recorded result(s) will be reused.\n`);
          io.stdout(estimateText(prepared.estimate, budget));
          if (!values.yes) {
            const ok = await (deps.confirm ?? ((q, o) => confirmOnTty('train', q, o)))('Run it? [y/N] ', io);
            if (!ok) {
              io.stdout('Not run.\n');
              return 1;
            }
          }
        }
        let report: OptimizerReport;
        try {
          report = await prepared.run(io.signal);
        } catch (e) {
          if (e instanceof CancelledError) {
            // One message (the dispatcher would add its own "cancelled" if this were rethrown).
            io.stderr(`promptopt train: cancelled; resume with --run-id ${prepared.runId}\n`);
            return 130;
          }
          if (isOptimizerError(e) && e.code === 'LLM_MODEL_NOT_FOUND' && prepared.taskModel.source === 'node') {
            io.stderr(`promptopt train: the task ran on the node's own model ${prepared.taskModel.name}; pass --task-model <name> to use a model your endpoint serves.\n`);
          }
          throw e;
        }
        const remembered = values.remember && report.accepted ? await prepared.remember(report, io.signal) : false;
        if (values.json) {
          io.stdout(
            `${JSON.stringify(
              {
                runId: report.runId,
                runFile: prepared.runFile,
                taskModel: prepared.taskModel,
                metric: { specs: metricChoice.specs, auto: metricChoice.auto, ...(metricChoice.checklistFile ? { checklistFile: metricChoice.checklistFile } : {}) },
                estimate: prepared.estimate,
                split: { train: prepared.split.train.map((e) => e.id), validation: prepared.split.validation.map((e) => e.id), seed: prepared.split.seed },
                report: { ...report, baseline: stripResults(report.baseline), best: stripResults(report.best), candidates: report.candidates.map(stripResults), members: report.members?.map((m) => ({ ...m, candidates: m.candidates.map(stripResults), baseline: stripResults(m.baseline), best: stripResults(m.best) })) },
                remembered,
              },
              null,
              2,
            )}\n`,
          );
        } else {
          io.stdout(reportText(report, prepared.runFile));
          if (remembered) io.stdout('Recorded the best candidate in .optimizer/embeddings/index.jsonl.\n');
        }
        return 0;
      } finally {
        await prepared.close();
      }
    },
  };
}

/** `promptopt train` with the Dify DSL extractor. */
export const trainCommand: CliCommand = createTrainCommand({
  loadPrompts: (text, file) => parseDify(text, { file }).prompts,
  nodeSpec: (text, file, record) => nodeSpecFor(parseDify(text, { file }), record),
});
