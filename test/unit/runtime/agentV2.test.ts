/**
 * DSL 0.7.0 prompts as Dify sends them (test/fixtures/dify-07, built from Dify's models):
 * an Agent v2 node's job prompt and its package's soul prompt through the runtime request
 * builder (api/core/workflow/nodes/agent_v2/runtime_request_builder.py, mentions expanded as
 * api/services/agent/prompt_mentions.py does), and a knowledge pipeline's summary prompt
 * (f"{summary_prompt}\n{text}").
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { buildNodeCall, inputsOf, nodeSpecOf, readWorkflow, requestNoteOf, type Example } from '../../../src/core/runtime';
import { expandMentions, soulResolver } from '../../../src/core/runtime/wrappers/agentV2';

const FIX = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'dify-07');
const load = (name: string) => {
  const doc = parseDify(fs.readFileSync(path.join(FIX, name), 'utf8'));
  return { doc, view: readWorkflow(doc) };
};
const ex = (vars: Record<string, string>): Example => ({ id: 'c1', vars, source: { file: 't', line: 1 } });

const SOUL =
  'You are a careful research agent.\n\nSearch the web with all tavily tools and shape JSON with jq.\nAsk Ops reviewer before you publish anything.\nPut the result in report when done.\nCheck the style guide skills%2Fstyle-guide and legacy-thing.';
const JOB =
  'Answer the question in Question for the reader.\n\nWrite the report into report (string) and list sources in sources (array).\nIf a claim is doubtful, ask EMAIL · Ops reviewer; never use langgenius/tavily/tavily_search here.\nOld marker: node_output:.';

describe('runtime: Agent v2 and knowledge pipelines as Dify sends them', () => {
  it('job prompt: the soul and the job prompt (mentions expanded) as the system text, the workflow context as the user message, the declared outputs as the answer schema', () => {
    const { doc, view } = load('agent_v2_workflow.yml');
    const r = doc.prompts.find((p) => p.kind === 'agent-job-prompt')!;
    const spec = nodeSpecOf(view, r)!;
    assert.equal(spec.model, 'gpt-4o', "the soul's model");
    assert.equal(spec.completionParams.temperature, 0.2);
    const inputs = inputsOf(view, r, spec).map((i) => i.key);
    assert.deepEqual(inputs.filter((k) => !k.startsWith('sys.')), ['1718000000001.question'], 'the previous output the job mentions; a workflow has no query');
    const call = buildNodeCall(spec, r, ex({ '1718000000001.question': 'Why is the sky blue?' }));
    assert.deepEqual(call.messages, [
      { role: 'system', content: `${SOUL}\n\n${JOB}` },
      {
        role: 'user',
        content: 'Workflow context loaded for this run:\n- Previous node outputs:\n  - 1718000000001.question: Why is the sky blue?\nThe above workflow context is run-specific. Do not treat it as Agent Soul or persistent memory.',
      },
    ]);
    assert.equal(call.responseFormat, 'json');
    assert.equal(call.jsonSchema?.name, 'output');
    const props = (call.jsonSchema!.schema as { properties: Record<string, { description?: string; type?: string; items?: { type: string; properties?: Record<string, unknown> } }> }).properties;
    assert.deepEqual(Object.keys(props).slice(0, 2), ['report', 'sources']);
    assert.equal(props.report!.description, 'The report, in Markdown, at most 300 words.');
    assert.equal(props.sources!.items!.type, 'object');
    assert.ok(props.sources!.items!.properties!.url);
    assert.deepEqual((call.jsonSchema!.schema as { required: string[] }).required.includes('report'), true);
    assert.match(requestNoteOf(spec) ?? '', /tools, CLI tools run in Dify's agent backend and were not sent/);
  });

  it('a candidate job prompt takes its place; the soul prompt candidate takes the soul\'s', () => {
    const { doc, view } = load('agent_v2_workflow.yml');
    const job = doc.prompts.find((p) => p.kind === 'agent-job-prompt')!;
    const a = buildNodeCall(nodeSpecOf(view, job)!, job, ex({}), 'Be brief about [§node_output:1718000000001.question:Q§].');
    assert.ok(a.messages[0]!.content.endsWith('\n\nBe brief about Question.'), 'the ref name, not the label');
    assert.equal(a.messages[1]!.content.split('\n')[2], '  - 1718000000001.question: ');
    const soul = doc.prompts.find((p) => p.kind === 'agent-soul-prompt')!;
    const b = buildNodeCall(nodeSpecOf(view, soul)!, soul, ex({}), 'Soul v2 with [§cli_tool:jq§].');
    assert.ok(b.messages[0]!.content.startsWith('Soul v2 with jq.\n\nAnswer the question in Question'), "the soul first, then the job of the node that runs the package");
  });

  it('agent app (no graph): the soul prompt, then Dify\'s fallback job text; the user message falls back when there is no context', () => {
    const { doc, view } = load('agent_app.yml');
    const soul = doc.prompts.find((p) => p.kind === 'agent-soul-prompt')!;
    const call = buildNodeCall(nodeSpecOf(view, soul)!, soul, ex({}));
    assert.equal(call.messages[0]!.content, '你是一个客服助手。\n\nLook things up in FAQ first,\nthen hand over to On-call when the user is upset.\nNever quote 1.text.\n\nUse the workflow user prompt for this run.');
    const withQuery = buildNodeCall(nodeSpecOf(view, soul)!, soul, ex({ 'sys.query': 'Where is my order?' }));
    assert.equal(withQuery.messages[1]!.content.split('\n')[1], '- User query: Where is my order?');
  });

  it('summary prompt: f"{summary_prompt}\\n{text}" to the summary model; the case is a chunk of the pipeline\'s source', () => {
    const { doc, view } = load('rag_pipeline.yml');
    const r = doc.prompts.find((p) => p.kind === 'summary-prompt')!;
    const spec = nodeSpecOf(view, r)!;
    assert.equal(spec.model, 'gpt-4o-mini');
    const input = inputsOf(view, r, spec).find((i) => i.key === 'text')!;
    assert.match(input.description, /chunk of a local_file document/);
    const call = buildNodeCall(spec, r, ex({ text: 'Acme Cloud stores files.' }), 'Summarize: ');
    assert.deepEqual(call.messages, [{ role: 'user', content: 'Summarize: \nAcme Cloud stores files.' }]);
  });

  it('mention expansion: unresolved to the label then the id, oversized ids to their fallback, residual markers scrubbed', () => {
    const r = soulResolver({ tools: { dify_tools: [{ provider: 'p', tool_name: 'search', name: 'Web search' }] } });
    assert.equal(expandMentions('[§tool:p/search§] [§tool:search:S§] [§tool:nope:Lbl§] [§tool:nope§] [§odd:x:y§] [§a:§]', r), 'Web search Web search Lbl nope y a:');
    assert.equal(expandMentions(`[§tool:${'x'.repeat(7000)}:short§]`, r), 'short');
  });
});
