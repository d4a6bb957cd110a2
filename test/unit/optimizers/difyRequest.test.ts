/**
 * Dataset runs (`promptopt train`) send each example as the node's request as Dify builds it —
 * the evidence gate's builder — with the candidate's text and demos in place: asserted on the
 * requests the loopback server received through the real `openai` client. The scripted answers
 * are mechanics (a TEST DOUBLE on 127.0.0.1), never model quality.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { nodeSpecFor, prepareTraining } from '../../../src/core/optimizers/training';
import { parseDataset } from '../../../src/core/evaluation';
import { buildTaskCall, nodeInput, requestParts } from '../../../src/core/runtime/nodeRequest';
import { corpusDir } from '../../support/corpusPrompts';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../../support/fakeOpenAI';
import { cli, workspace } from '../evidence/helpers';
import { client } from './helpers';
import { JudgeMetric } from '../../../src/core/optimizers/judgeMetric';
import { taskCallTokens } from '../../../src/core/optimizers/estimate';
import { estimateMessagesTokens } from '../../../src/core/llm/cost';

const KEY = { OPENAI_API_KEY: 'sk-dataset-request-0001' };
type Body = { model: string; temperature?: number; max_tokens?: number; messages: Array<{ role: string; content: string }> };
const bodies = (srv: FakeOpenAIServer) => srv.chatRequests().map((r) => r.body as Body);

const CLASSIFIER_FILE = 'recommended__Question_Classifier_Knowledge_Chatbot__d9f6b733.yml';
const AFTER_SALES = '1711528736036';
const HOW_TO = '1711528736549';
const CATEGORIES =
  '[{"category_id": "1711528736036", "category_name": "Question related to after sales"}, {"category_id": "1711528736549", "category_name": "Questions about how to use products"}, {"category_id": "1711528737066", "category_name": "Other questions"}]';
const USER_TURN = (q: string, instruction: string, categories = CATEGORIES) =>
  `\n    {"input_text": ["${q}"],\n    "categories": ${categories},\n    "classification_instructions": ["${instruction}"]}\n`;

/** Scripted classifier: the after-sales id for a query about refunds or breakage, the how-to id otherwise. */
function classifierHandler(req: ParsedChatRequest): ScriptedReply {
  const q = /"input_text": \["([^"]*)"\]/.exec(req.messages[req.messages.length - 1]!.content)?.[1] ?? '';
  const id = /refund|broken|return/i.test(q) ? AFTER_SALES : HOW_TO;
  return { content: `{"category_id": "${id}"}` };
}

const QUERIES: Array<[string, string]> = [
  ['My parcel arrived broken', AFTER_SALES],
  ['How do I pair the remote?', HOW_TO],
  ['I want a refund for the lamp', AFTER_SALES],
  ['Where is the reset button?', HOW_TO],
  ['Can I return shoes after a week?', AFTER_SALES],
  ['How to charge the headset', HOW_TO],
];

function writeDataset(ws: string, name: string, rows: Array<Record<string, unknown>>): void {
  fs.mkdirSync(path.join(ws, '.optimizer', 'datasets'), { recursive: true });
  fs.writeFileSync(path.join(ws, '.optimizer', 'datasets', `${name}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

describe("dataset runs send the node's request as Dify builds it", function () {
  this.timeout(60000);
  let srv: FakeOpenAIServer | undefined;
  let w: ReturnType<typeof workspace> | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w?.cleanup();
    w = undefined;
  });

  it("a classifier instruction runs in Dify's classifier template, with the node's model and params; KNN demos go into the instruction, never as extra pairs", async () => {
    const text = fs.readFileSync(path.join(corpusDir(), CLASSIFIER_FILE), 'utf8');
    w = workspace(text);
    const rec = parseDify(text).prompts.find((p) => p.kind === 'classifier-instruction')!;
    srv = await startFakeOpenAI({ handler: classifierHandler });
    writeDataset(w.ws, 'qc', QUERIES.map(([q, id], i) => ({ id: `q${i + 1}`, inputs: { 'sys.query': q }, expected: id })));
    // The CLI's KNN tries both placements by default: the classifier can only take the block.
    const r = await cli(['train', 'support.yml', '--prompt', rec.id, '--dataset', 'qc', '--optimizer', 'knn', '--k', '2', '--metric', 'contains', '--json', '--base-url', srv.url], w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    const tasks = bodies(srv);
    assert.ok(tasks.length > 0);
    const queries = new Set(QUERIES.map(([q]) => q));
    let withDemos = 0;
    for (const t of tasks) {
      assert.deepEqual(t.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'assistant', 'user'], 'no demo pair is added to the template');
      assert.ok(t.messages[0]!.content.startsWith("\n### Job Description',\nYou are a text classification engine"));
      assert.equal(t.model, 'gpt-3.5-turbo', "the node's model");
      assert.equal(t.temperature, 0.7, "the node's temperature");
      assert.equal(t.max_tokens, 512, "the node's max_tokens");
      const last = t.messages[5]!.content;
      const q = /"input_text": \["([^"]*)"\]/.exec(last)?.[1];
      assert.ok(q && queries.has(q), last);
      if (last.includes('## Examples')) {
        withDemos += 1;
        // The block is where the accepted instruction would be: Dify's classification_instructions.
        assert.match(last, /"classification_instructions": \["\n\n## Examples\n\nExample 1\nInput: [^\n]+\nOutput: \d+\n\nExample 2\nInput: [^\n]+\nOutput: \d+"\]\}\n$/);
        const inputs = [...last.matchAll(/Input: ([^\n]+)/g)].map((m) => m[1]!);
        for (const i of inputs) assert.ok(queries.has(i), `a demo shows the query the node classifies, not ${JSON.stringify(i)}`);
      } else assert.equal(last, USER_TURN(q, ''), 'the baseline: the empty instruction of the export');
    }
    assert.ok(withDemos > 0, 'demo candidates ran');
    const out = JSON.parse(r.out) as { report: { candidates: Array<{ demoMode?: string; demos?: unknown[] }> } };
    const modes = new Set(out.report.candidates.filter((c) => c.demos?.length).map((c) => c.demoMode));
    assert.deepEqual([...modes], ['block']);
  });

  it('an llm node with memory sends the earlier turns (its window) and the query through the query template, with its params; pairs go before the query, the block ends the system prompt', async () => {
    w = workspace(MEMORY_CHATFLOW);
    const rec = parseDify(MEMORY_CHATFLOW).prompts.find((p) => p.kind === 'llm-message')!;
    srv = await startFakeOpenAI({ handler: (req) => ({ content: /lamp/i.test(req.messages[req.messages.length - 1]!.content) ? 'Lamp' : 'Kettle' }) });
    const history = (i: number) => JSON.stringify([1, 2, 3].flatMap((n) => [{ role: 'user', content: `u${i}.${n}` }, { role: 'assistant', content: `a${i}.${n}` }]));
    const rows = ['my lamp flickers', 'the kettle leaks', 'lamp is too dim', 'kettle will not boil', 'new lamp shade?', 'kettle lid broke'].map((q, i) => ({ id: `m${i + 1}`, inputs: { 'sys.query': q, histories: history(i + 1) }, expected: /lamp/.test(q) ? 'Lamp' : 'Kettle' }));
    writeDataset(w.ws, 'mem', rows);
    const r = await cli(['train', 'support.yml', '--prompt', rec.id, '--dataset', 'mem', '--optimizer', 'knn', '--k', '2', '--json', '--base-url', srv.url], w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    const byQuery = new Map(rows.map((x, i) => [`Customer asks: ${x.inputs['sys.query']}`, i + 1]));
    const seen = { plain: 0, pairs: 0, block: 0 };
    for (const t of bodies(srv)) {
      assert.equal(t.model, 'gpt-4o-mini');
      assert.equal(t.temperature, 0.2);
      assert.equal(t.max_tokens, 300);
      const last = t.messages[t.messages.length - 1]!;
      assert.equal(last.role, 'user');
      const i = byQuery.get(last.content);
      assert.ok(i, `the last turn is the query through the template: ${JSON.stringify(last.content)}`);
      // window.size 2: the last two exchanges of the three, right after the system prompt.
      assert.deepEqual(t.messages.slice(1, 5), [
        { role: 'user', content: `u${i}.2` },
        { role: 'assistant', content: `a${i}.2` },
        { role: 'user', content: `u${i}.3` },
        { role: 'assistant', content: `a${i}.3` },
      ]);
      const sys = t.messages[0]!;
      assert.equal(sys.role, 'system');
      if (t.messages.length === 10) {
        seen.pairs += 1;
        assert.equal(sys.content, rec.text);
        const pairs = t.messages.slice(5, 9);
        assert.deepEqual(pairs.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
        for (const u of [pairs[0]!, pairs[2]!]) assert.ok(byQuery.has(u.content), `a demo shows a train query as the node receives it: ${u.content}`);
        for (const a of [pairs[1]!, pairs[3]!]) assert.ok(['Lamp', 'Kettle'].includes(a.content));
      } else {
        assert.equal(t.messages.length, 6);
        if (sys.content === rec.text) seen.plain += 1;
        else {
          seen.block += 1;
          assert.ok(sys.content.startsWith(`${rec.text}\n\n## Examples\n\nExample 1\nInput: Customer asks: `), sys.content);
        }
      }
    }
    assert.ok(seen.plain > 0 && seen.pairs > 0 && seen.block > 0, JSON.stringify(seen));
  });

  it("resuming is refused when the classifier's classes or the node's temperature changed, and not when only its title or top_p did", async () => {
    const text = fs.readFileSync(path.join(corpusDir(), CLASSIFIER_FILE), 'utf8');
    w = workspace(text);
    srv = await startFakeOpenAI({ handler: classifierHandler });
    const dataset = parseDataset(QUERIES.map(([q, id], i) => JSON.stringify({ id: `q${i + 1}`, inputs: { 'sys.query': q }, expected: id })).join('\n'), { file: path.join(w.ws, 'qc.jsonl') });
    const prepare = async (yaml: string, resume = true) => {
      const doc = parseDify(yaml);
      const record = doc.prompts.find((p) => p.kind === 'classifier-instruction')!;
      return prepareTraining({ root: w!.ws, record, spec: nodeSpecFor(doc, record), dataset, metrics: [{ type: 'contains' }], optimizer: 'knn', client: client(srv!.url), runId: 'qc-run', resume, useIndex: false });
    };
    const refused = (re: RegExp) => (e: unknown) => (e as { code?: string }).code === 'RESUME_CHANGED' && re.test((e as Error).message);
    // The first attempt writes the run's header.
    await (await prepare(text, false)).close();
    const renamed = text.replace('name: Questions about how to use products', 'name: How to use our products');
    await assert.rejects(prepare(renamed), refused(/run qc-run cannot be resumed: the classifier's classes changed since the run started\. Its recorded results would not hold/));
    const warmer = text.replace('temperature: 0.7', 'temperature: 0.9');
    await assert.rejects(prepare(warmer), refused(/the node's model parameters \(temperature, top_p, penalties, max tokens, response format\) changed since the run started/));
    // top_p is sent now, as Dify sends it: a change refuses the resume too.
    await assert.rejects(prepare(text.replace(/top_p: 1\n/, 'top_p: 0.9\n')), refused(/the node's model parameters/));
    const cosmetic = text.replace('title: Question Classifier', 'title: Route the question');
    assert.notEqual(cosmetic, text);
    const ok = await prepare(cosmetic);
    await ok.close();
    // A run recorded before dataset runs had the node's spec (renderPrompt's request) does not resume with it.
    const doc = parseDify(text);
    const record = doc.prompts.find((p) => p.kind === 'classifier-instruction')!;
    await (await prepareTraining({ root: w.ws, record, dataset, metrics: [{ type: 'contains' }], optimizer: 'knn', client: client(srv.url), runId: 'qc-old', useIndex: false })).close();
    await assert.rejects(
      prepareTraining({ root: w.ws, record, spec: nodeSpecFor(doc, record), dataset, metrics: [{ type: 'contains' }], optimizer: 'knn', client: client(srv.url), runId: 'qc-old', resume: true, useIndex: false }),
      refused(/run qc-old cannot be resumed: the run was recorded with a request other than the node's own/),
    );
    assert.equal(srv.requests.length, 0, 'nothing was called');
  });

  it("the judge metric runs the current prompt's reference answers with the same built request", async () => {
    const text = fs.readFileSync(path.join(corpusDir(), CLASSIFIER_FILE), 'utf8');
    const doc = parseDify(text);
    const record = doc.prompts.find((p) => p.kind === 'classifier-instruction')!;
    srv = await startFakeOpenAI({ handler: classifierHandler });
    w = workspace(text);
    const w0 = () => w!.ws;
    const judge = new JudgeMetric({ client: client(srv.url), record, spec: nodeSpecFor(doc, record), taskModel: 'gpt-3.5-turbo', checklistFile: path.join(w0(), 'qc.checklist.json') });
    const ref = await judge.reference({ id: 'r1', vars: { 'sys.query': 'My parcel arrived broken' }, source: { file: 'x', line: 1 } });
    assert.equal(ref.output, `{"category_id": "${AFTER_SALES}"}`);
    const [t] = bodies(srv);
    assert.equal(t!.messages.length, 6);
    assert.equal(t!.messages[5]!.content, USER_TURN('My parcel arrived broken', ''));
    assert.equal(t!.temperature, 0.7);
  });

  it("the estimate says where the request differs from Dify's: nothing for a prompt-mode or function_call extractor (its tool is sent)", async () => {
    const text = fs.readFileSync(path.join(corpusDir(), 'llm2o1.cn.yml'), 'utf8');
    w = workspace(text);
    srv = await startFakeOpenAI();
    const dataset = parseDataset(['a', 'b', 'c', 'd'].map((q, i) => JSON.stringify({ id: `e${i}`, inputs: { 'llm.text': `step ${q}` }, expected: '{}' })).join('\n'), { file: path.join(w.ws, 'ex.jsonl') });
    const notes = async (yaml: string) => {
      const doc = parseDify(yaml);
      const record = doc.prompts.find((p) => p.kind === 'extractor-instruction')!;
      const prepared = await prepareTraining({ root: w!.ws, record, spec: nodeSpecFor(doc, record), dataset, optimizer: 'copro', client: client(srv!.url), useIndex: false });
      await prepared.close();
      return prepared.estimate.notes.join('\n');
    };
    assert.doesNotMatch(await notes(text), /differs from Dify's/, 'prompt mode is sent as Dify sends it');
    assert.doesNotMatch(await notes(text.replace('reasoning_mode: prompt', 'reasoning_mode: function_call')), /differs from Dify's/, 'the function-call form and its tool are sent as Dify sends them');
    assert.equal(srv.requests.length, 0);
  });

  it('the estimate counts the built request; a prompt the builder does not cover falls back to renderPrompt', () => {
    const text = fs.readFileSync(path.join(corpusDir(), CLASSIFIER_FILE), 'utf8');
    const doc = parseDify(text);
    const record = doc.prompts.find((p) => p.kind === 'classifier-instruction')!;
    const spec = nodeSpecFor(doc, record)!;
    const ex = { id: 'x', vars: { 'sys.query': 'It broke' }, source: { file: 'x', line: 1 } };
    const call = buildTaskCall({ record, spec, text: 'Be strict.' }, ex);
    assert.equal(call.messages[5]!.content, USER_TURN('It broke', 'Be strict.'));
    assert.equal(nodeInput({ record, spec }, ex), 'It broke');
    // A class name is sent inside the categories JSON: its demo block is escaped with it.
    const cls = doc.prompts.find((p) => p.kind === 'classifier-class')!;
    const demo = [{ exampleId: 'd', input: 'q', output: 'o' }];
    const withBlock = buildTaskCall({ record: cls, spec: nodeSpecFor(doc, cls), demos: demo, demoMode: 'block' }, ex).messages[5]!.content;
    assert.ok(withBlock.includes('"category_name": "Question related to after sales\\n\\n## Examples\\n\\nExample 1\\nInput: q\\nOutput: o"'), withBlock);
    assert.ok(requestParts(spec));
    const base = { runId: 'e', record, train: [ex], validation: [], metrics: [], client: client('http://127.0.0.1:9/v1') };
    assert.equal(taskCallTokens({ ...base, spec }).prompt, estimateMessagesTokens(buildTaskCall({ record, spec }, ex).messages));
    assert.ok(taskCallTokens({ ...base, spec }).prompt > taskCallTokens(base).prompt + 300, "the classifier's template is in the estimate");
    // A workflow app's node with a memory setting: there is no conversation, so no memory, no earlier turns and no query turn.
    const wf = parseDify(fs.readFileSync(path.join(corpusDir(), 'basic_llm_chat_workflow.yml'), 'utf8'));
    const sys = wf.prompts.find((p) => p.kind === 'llm-message' && p.role === 'system')!;
    const wfSpec = nodeSpecFor(wf, sys)!;
    assert.equal(wfSpec.memory, undefined, 'a workflow has no conversation memory (the export has a memory setting)');
    assert.ok(/\n\s+memory:/.test(fs.readFileSync(path.join(corpusDir(), 'basic_llm_chat_workflow.yml'), 'utf8')));
    assert.deepEqual(buildTaskCall({ record: sys, spec: wfSpec }, { id: 'y', vars: { 'start_node.query': 'Hi' }, source: { file: 'y', line: 1 } }).messages, [
      { role: 'system', content: sys.text },
      { role: 'user', content: 'Hi' },
    ]);
    const agentLike = { ...spec, wrapper: undefined, messages: undefined, completion: undefined };
    assert.equal(requestParts(agentLike), undefined);
    assert.deepEqual(buildTaskCall({ record, spec: agentLike, text: 'Be strict.' }, ex).messages, [
      { role: 'system', content: 'Be strict.' },
      { role: 'user', content: 'It broke' },
    ]);
  });
});

/** A chatflow whose llm node has memory (window 2) and a query template; the node's model and params. */
const MEMORY_CHATFLOW = `app:
  mode: advanced-chat
  name: memory-bot
kind: app
version: 0.1.5
workflow:
  graph:
    edges:
    - source: '1718000000001'
      target: '1718000000002'
    nodes:
    - data:
        title: Start
        type: start
        variables: []
      id: '1718000000001'
    - data:
        title: Support LLM
        type: llm
        model:
          provider: openai
          name: gpt-4o-mini
          mode: chat
          completion_params:
            temperature: 0.2
            max_tokens: 300
        prompt_template:
        - role: system
          text: You are a support agent. Answer with the product name only.
        memory:
          query_prompt_template: 'Customer asks: {{#sys.query#}}'
          window:
            enabled: true
            size: 2
        context:
          enabled: false
          variable_selector: []
      id: '1718000000002'
`;
