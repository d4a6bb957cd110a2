import * as path from 'node:path';
import { CancelledError, UsageError } from '../../core/errors';
import { loadDataset } from '../../core/evaluation/dataset';
import { createMetric, parseMetricArg } from '../../core/evaluation/metrics';
import { checklistFileFor, readChecklist, sha256 } from '../../core/evidence/checklist';
import { estimateEvalCalls } from '../../core/evidence/evaluate';
import { gatherEvidence, promptContext } from '../../core/evidence/gather';
import { evidenceTable, termCell } from '../../core/evidence/report';
import { VersionStore, workflowKey } from '../../core/storage';
import { parseCommandArgs } from '../args';
import { LLM_LIMIT_FLAGS, LLM_LIMIT_USAGE } from './llmFlags';
import type { CliCommand } from '../io';
import { confirmOnTty, resolveDatasetFile, setupEvidence, type Confirm } from './evidenceArgs';
import { readTextFile } from './fileInput';
import { RUNTIME_OPTIONS, RUNTIME_USAGE, cliDifyRuntime, runtimeOf } from './runtimeArg';

const usage = `promptopt eval <file> --prompt <id> --dataset <path> [--candidate-file f | --version v]
               [--judge-model m] [--task-model m] [--metric m]... [--yes] [--json]
               [--base-url url] [--model m] [--workspace dir] [--no-cache]
               [--runtime model|dify] [--dify-server url]

Runs the current prompt and a candidate on the same cases, each as the node sends it (every
message, context, memory, the node's model and parameters), and says which is better:
  - a requirement checklist drawn once from the current prompt, stored beside the dataset
    (<dataset>.checklist.json: read and edit it), checked on every answer — in code where the
    rule is mechanical (JSON, the node's schema, a length limit, the language), else by the judge;
  - a pairwise judge on the configured model (--judge-model), each pair judged in both orders
    (disagreement counts as a tie), a short reason per case; cases with "expected" or "labels"
    use the metrics instead (--metric, default exact);
  - wins / ties / losses, the lower bound of the 90% Wilson interval on the win rate,
    per-requirement pass rates, calls / tokens / cost, and the verdict: better (lower bound
    above 0.5, no requirement dropping), worse, or no evidence.
The report is written to .optimizer/evidence/ (JSON and markdown). Answers go through the cache:
running again costs nothing, and a cancelled run picks up where it stopped.
  --dataset        a file, or a name inside .optimizer/datasets/ (see 'promptopt cases')
  --candidate-file the candidate text; --version v: a version recorded under .optimizer/
  --task-model     the model that runs the prompt (default: the node's own model in the export)
${LLM_LIMIT_USAGE}
${RUNTIME_USAGE}`;

export function createEvalCommand(deps: { confirm?: Confirm } = {}): CliCommand {
  return {
    name: 'eval',
    summary: 'Compare a candidate with the current prompt on test cases (judged, with a verdict)',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseCommandArgs(
        argv,
        {
          prompt: { type: 'string' },
          dataset: { type: 'string' },
          'candidate-file': { type: 'string' },
          version: { type: 'string' },
          'judge-model': { type: 'string' },
          'task-model': { type: 'string' },
          metric: { type: 'string', multiple: true },
          yes: { type: 'boolean', short: 'y' },
          json: { type: 'boolean' },
          'base-url': { type: 'string' },
          model: { type: 'string' },
          workspace: { type: 'string' },
          'no-cache': { type: 'boolean' },
          ...LLM_LIMIT_FLAGS,
          ...RUNTIME_OPTIONS,
        },
        usage,
      );
      if (positionals.length !== 1 || !values.prompt || !values.dataset) throw new UsageError('USAGE', `<file>, --prompt and --dataset are required. Usage: ${usage.split('\n')[0]}`);
      if (!!values['candidate-file'] === !!values.version) throw new UsageError('USAGE', 'give the candidate with exactly one of --candidate-file or --version.');
      const metrics = (values.metric ?? []).map((m) => createMetric(parseMetricArg(m)));
      const s = await setupEvidence(io, 'eval', { ...values, file: positionals[0]!, prompt: values.prompt });
      const onDify = runtimeOf(values.runtime, s.config) === 'dify';
      const openRunner = onDify ? cliDifyRuntime(io, { root: s.root, abs: s.abs, doc: s.doc, llm: s.client, config: s.config, server: values['dify-server'], noCache: values['no-cache'] }) : undefined;
      let candidate: string;
      if (values['candidate-file']) candidate = (await readTextFile(io.cwd, values['candidate-file'], 'candidate file')).text;
      else {
        const store = await VersionStore.open(s.root, { readOnly: true });
        try {
          candidate = (await store.get(workflowKey(s.root, s.abs), s.record.id, values.version!)).text;
        } finally {
          await store.close();
        }
      }
      if (candidate === s.record.text) throw new UsageError('USAGE', `the candidate is the prompt's current text; there is nothing to compare.`);
      const datasetFile = await resolveDatasetFile(io, s.root, values.dataset);
      const dataset = await loadDataset(datasetFile);
      const ctx = promptContext(s.doc, s.record);
      const judgeModel = values['judge-model'] ?? s.config.evidence.judgeModel;
      const taskModel = values['task-model'] ?? s.config.evidence.taskModel;
      // Opened before the question: a missing sign-in or an app Dify cannot run is said before anything is spent.
      const runner = openRunner ? await openRunner() : undefined;
      if (!values.json) {
        const cl = await readChecklist(checklistFileFor(datasetFile));
        const draw = !cl || cl.promptSha256 !== sha256(s.record.text) ? 1 : 0;
        const labelled = dataset.examples.every((e) => e.expected !== undefined || e.labels?.length);
        io.stdout(
          `Prompt ${termCell(s.record.id, 200)} (${termCell(s.record.nodeTitle, 120)}) on ${dataset.examples.length} case(s) of ${path.relative(io.cwd, datasetFile) || datasetFile}; ` +
            `${runner ? `answers from Dify at ${runner.describe().server} (temporary copies of the app, deleted afterwards)` : `task model ${taskModel ?? ctx.spec?.model ?? s.model}`}, ${labelled ? 'compared by the metrics' : `judge ${judgeModel ?? s.model}`}.\n` +
            `At most ${estimateEvalCalls(dataset.examples.length, labelled ? 'metrics' : 'judge') + draw} call(s) (answers already in the cache cost nothing).\n`,
        );
        if (!values.yes && !(await (deps.confirm ?? ((q, o) => confirmOnTty('eval', q, o)))('Run it? [y/N] ', io))) {
          await runner?.close();
          io.stdout('Not run.\n');
          return 1;
        }
      }
      let last = 0;
      try {
        const g = await gatherEvidence(
          {
            root: s.root,
            workflowFile: s.abs,
            client: s.client,
            judgeModel,
            taskModel,
            metrics,
            runner,
            signal: io.signal,
            onProgress: values.json
              ? undefined
              : (phase, done, total) => {
                  const now = Date.now();
                  if (phase !== 'eval' || (now - last < 1000 && done < total)) return;
                  last = now;
                  io.stderr(`  ${done}/${total} case(s) compared\n`);
                },
          },
          ctx,
          candidate,
          { datasetFile },
        );
        if (values.json) {
          io.stdout(`${JSON.stringify({ ...g.record, report: g.report, checklist: g.checklist, files: g.files }, null, 2)}\n`);
        } else {
          io.stdout(evidenceTable(g.report));
          io.stdout(`Checklist: ${path.relative(io.cwd, g.files.checklist)} · report: ${path.relative(io.cwd, g.files.reportMarkdown)}\n`);
        }
        return 0;
      } catch (e) {
        if (e instanceof CancelledError) io.stderr('promptopt eval: cancelled. Run the same command again: every answer already received comes from the cache.\n');
        throw e;
      } finally {
        // The app copies on Dify go whatever happened (done, cancelled, failed).
        if (runner) {
          const c = await runner.close();
          if (!values.json && c.deleted.length) io.stderr(`Deleted the ${c.deleted.length} temporary app(s) on ${runner.describe().server}.\n`);
        }
      }
    },
  };
}

export const evalCommand = createEvalCommand();
