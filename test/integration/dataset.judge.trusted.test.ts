import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult, DatasetRunOptions } from '../../src/extension/commands/optimizeWithDataset';
import { casesToJsonl } from '../../src/core/evidence/cases';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { QUALITY_PHRASES } from '../support/evidenceModel';
import { judgedGepaHandler } from '../support/judgedGepaModel';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll, workCopy } from './support/ext';
import { workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}dataset-judge-7e2a`;
/** The system prompt of the fixture's llm node; its user message is `{{#start_node.query#}}`. */
const PROMPT = 'llm_node/prompt_template/0';

/**
 * "Optimize Prompt with Dataset…" on a generated cases file (inputs only, `source: generated`):
 * GEPA scored by the evidence judge against the current prompt's answers, against the scripted
 * evidence model (a TEST DOUBLE on 127.0.0.1; its numbers are mechanics, not real-model quality).
 */
describe('Optimize Prompt with Dataset: an unlabelled cases file is scored by the evidence judge (trusted)', function () {
  this.timeout(90000);
  let srv: FakeOpenAIServer;
  let dataset: string;
  const model = judgedGepaHandler();
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');
  const run = (uri: vscode.Uri, opts: DatasetRunOptions) => vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', uri, PROMPT, { dataset, confirmed: true, ...opts });

  before(async () => {
    srv = await startFakeOpenAI({ handler: model.handler });
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    const dir = path.join(workspaceDir(), '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    dataset = path.join(dir, 'chat-cases.jsonl');
    const cases = Array.from({ length: 10 }, (_, i) => ({ id: `case-${i + 1}`, kind: 'typical' as const, note: `scripted case ${i + 1}`, vars: { 'start_node.query': `How do I do task ${i + 1}?` } }));
    fs.writeFileSync(dataset, casesToJsonl(cases, PROMPT));
    fs.rmSync(path.join(dir, 'chat-cases.checklist.json'), { force: true });
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await config().update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  it('GEPA improves on the judge\'s feedback; the estimate says it counts the judge; the checklist lands beside the dataset', async () => {
    await api();
    srv.reset();
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'judge-gepa'));
    const res = await run(editor.document.uri, { optimizer: 'gepa', auto: 'light' });
    assert.equal(res.ran, true, res.message);
    assert.equal(res.report!.optimizer, 'gepa');
    assert.equal(res.report!.baselineValidation, 0.5);
    assert.equal(res.report!.bestValidation, 1);
    assert.ok(res.report!.bestText.includes(QUALITY_PHRASES[0]!), res.report!.bestText);
    assert.ok(srv.chatRequests().length <= (res.estimateCalls ?? 0), `${srv.chatRequests().length} calls, estimate ${res.estimateCalls}`);
    assert.match(res.reportText ?? '', /case-\d+: Requirements not met: R2 "Cites the context"/);
    assert.ok(model.reflections.some((r) => /The judge said: scripted: quality 0 vs 0/.test(r)));
    assert.ok(fs.existsSync(path.join(path.dirname(dataset), 'chat-cases.checklist.json')));
    if (res.proposal) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', res.proposal);
  });

  it('KNN on the unlabelled cases is refused in plain words before any call', async () => {
    await api();
    srv.reset();
    const editor = await open(workCopy('basic_llm_chat_workflow.yml', 'judge-knn'));
    const res = await run(editor.document.uri, { optimizer: 'knn' });
    assert.equal(res.ran, false);
    assert.match(res.message ?? '', /KNN's demonstrations are the examples' expected answers/);
    assert.equal(srv.chatRequests().length, 0);
  });
});
