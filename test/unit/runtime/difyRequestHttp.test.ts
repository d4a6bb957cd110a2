/**
 * What reaches the endpoint, over real HTTP (the loopback fake server), for requests Dify sends
 * with tools and sampling parameters: the function-call extractor's tool and few-shot tool turns,
 * a refused tool falling back to Dify's prompt mode, an agent node's tool schemas, top_p and the
 * penalties, response_format json_schema.
 */
import * as assert from 'node:assert/strict';
import { parseDify } from '../../../src/core/dsl';
import { hashKey } from '../../../src/core/llm/cache';
import { createLlmClient } from '../../../src/core/llm/client';
import { buildNodeCall, modelNodeRunner, nodeSpecOf, paramsOf, readWorkflow, type Example } from '../../../src/core/runtime';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, tempDir } from '../llm/helpers';

const WORKFLOW = `app:
  mode: advanced-chat
  name: Refunds
kind: app
version: 0.3.0
workflow:
  graph:
    nodes:
    - id: start
      data: {type: start, title: Start, variables: []}
    - id: extract
      data:
        type: parameter-extractor
        title: Extract
        instruction: Amounts are in euros.
        model: {provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {temperature: 0.1, top_p: 0.8, presence_penalty: 0.5, frequency_penalty: 0.25}}
        query: [sys, query]
        reasoning_mode: function_call
        parameters:
        - {name: amount, type: number, description: The refund amount, required: true}
    - id: agent
      data:
        type: agent
        title: Agent
        agent_strategy_name: function_calling
        agent_parameters:
          model: {type: constant, value: {provider: openai, model: gpt-4o, model_type: llm, mode: chat, completion_params: {temperature: 0.3}}}
          instruction: {type: constant, value: 'You look up the time.'}
          query: {type: constant, value: '{{#sys.query#}}'}
          tools:
            type: constant
            value:
            - enabled: true
              provider_name: time
              tool_name: current_time
              extra: {description: Current time in a timezone}
              parameters: {timezone: {auto: 1, value: null}}
              schemas:
              - {name: timezone, form: llm, type: string, required: true, llm_description: 'Timezone, such as Asia/Shanghai', human_description: {en_US: Timezone}, options: []}
              - {name: format, form: form, type: string, required: false, human_description: {en_US: Format}, options: []}
    - id: llm
      data:
        type: llm
        title: LLM
        model: {provider: openai, name: gpt-4o, mode: chat, completion_params: {response_format: json_schema, json_schema: '{"name": "answer", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}, "strict": true}'}}
        prompt_template:
        - {role: system, text: 'Answer as JSON. {{#sys.query#}}'}
`;

const ex = (q: string): Example => ({ id: 'c1', vars: { 'sys.query': q }, source: { file: 't', line: 1 } });

describe('runtime: tools and sampling parameters as Dify sends them (real HTTP)', () => {
  let srv: FakeOpenAIServer;
  const doc = parseDify(WORKFLOW);
  const view = readWorkflow(doc);
  const rec = (kind: string) => doc.prompts.find((p) => p.kind === kind)!;
  afterEach(async () => {
    await srv?.close();
  });

  it('function-call extractor: the tool, the few-shot tool turns and the node\'s sampling params are sent; the answer is the tool call\'s arguments', async () => {
    srv = await startFakeOpenAI();
    srv.enqueue({ content: '', toolCalls: [{ name: 'extract_parameters', arguments: '{"amount": 30}' }] });
    const r = rec('extractor-instruction');
    const client = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'configured' });
    const ans = await modelNodeRunner(client).run({ record: r, spec: nodeSpecOf(view, r), example: ex('Refund 30 EUR please') });
    assert.equal(ans.output, '{"amount": 30}');
    assert.equal(ans.note, undefined);
    const body = srv.chatRequests()[0]!.body as Record<string, any>;
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.tools.length, 1);
    assert.equal(body.tools[0].type, 'function');
    assert.equal(body.tools[0].function.name, 'extract_parameters');
    assert.deepEqual(body.tools[0].function.parameters, { type: 'object', properties: { amount: { description: 'The refund amount', type: 'number' } }, required: ['amount'] });
    assert.equal(body.tool_choice, undefined, 'Dify leaves the choice to the model');
    const m = body.messages as Array<Record<string, any>>;
    assert.deepEqual(m.map((x) => x.role), ['system', 'user', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'user']);
    assert.equal(m[2]!.tool_calls[0].type, 'function');
    assert.equal(m[2]!.tool_calls[0].function.arguments, '{"location": "San Francisco"}');
    assert.equal(m[3]!.tool_call_id, m[2]!.tool_calls[0].id);
    assert.equal(body.temperature, 0.1);
    assert.equal(body.top_p, 0.8);
    assert.equal(body.presence_penalty, 0.5);
    assert.equal(body.frequency_penalty, 0.25);
  });

  it('an endpoint that refuses tools: LLM_NO_TOOLS, and the runner sends Dify\'s prompt mode instead, saying so', async () => {
    srv = await startFakeOpenAI();
    srv.enqueue({ status: 400, body: { error: { message: "'tools' is not supported by this model", type: 'invalid_request_error' } } });
    srv.enqueue({ content: '{"amount": 30}' });
    const r = rec('extractor-instruction');
    const client = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'configured' });
    const ans = await modelNodeRunner(client).run({ record: r, spec: nodeSpecOf(view, r), example: ex('Refund 30 EUR') });
    assert.equal(ans.output, '{"amount": 30}');
    assert.match(ans.note ?? '', /refused tools/);
    const [first, second] = srv.chatRequests();
    assert.ok((first!.body as Record<string, unknown>).tools);
    assert.equal((second!.body as Record<string, unknown>).tools, undefined);
    assert.ok(((second!.body as { messages: Array<{ content: string }> }).messages[0]!.content).startsWith('You should always follow the instructions and output a valid JSON object.'), "Dify's prompt-mode system prompt");
    // The next case asks the endpoint once, in prompt mode: the refusal is remembered.
    srv.enqueue({ content: '{"amount": 5}' });
    const next = await modelNodeRunner(client).run({ record: r, spec: nodeSpecOf(view, r), example: ex('Refund 5 EUR') });
    assert.equal(next.output, '{"amount": 5}');
    assert.equal(srv.chatRequests().length, 3);
    assert.equal((srv.chatRequests()[2]!.body as Record<string, unknown>).tools, undefined);
  });

  it('agent node (function_calling): instruction, query and its tools\' schemas (the model\'s parameters only); a tool call is the answer, written out', async () => {
    srv = await startFakeOpenAI();
    srv.enqueue({ content: 'Let me check.', toolCalls: [{ name: 'current_time', arguments: '{"timezone": "UTC"}' }] });
    const r = rec('agent-instruction');
    const spec = nodeSpecOf(view, r)!;
    assert.equal(spec.model, 'gpt-4o', "the strategy's model parameter");
    const client = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'configured' });
    const ans = await modelNodeRunner(client).run({ record: r, spec, text: 'You tell the time.', example: ex('What time is it?') });
    assert.equal(ans.output, 'Let me check.\n[calls tool current_time with {"timezone": "UTC"}]');
    const body = srv.chatRequests()[0]!.body as Record<string, any>;
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You tell the time.' },
      { role: 'user', content: 'What time is it?' },
    ]);
    assert.deepEqual(body.tools, [
      {
        type: 'function',
        function: { name: 'current_time', description: 'Current time in a timezone', parameters: { type: 'object', properties: { timezone: { type: 'string', description: 'Timezone, such as Asia/Shanghai' } }, required: ['timezone'] } },
      },
    ]);
    assert.equal(body.temperature, 0.3);
  });

  it('response_format json_schema with the schema the node\'s completion params give', async () => {
    srv = await startFakeOpenAI();
    srv.enqueue({ content: '{"a": "x"}' });
    const r = rec('llm-message');
    const client = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'configured' });
    await modelNodeRunner(client).run({ record: r, spec: nodeSpecOf(view, r), example: ex('q') });
    const body = srv.chatRequests()[0]!.body as Record<string, any>;
    assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } });
  });

  it('tool answers are cached with their calls; a request without the new fields keeps the cache key it always had', async () => {
    srv = await startFakeOpenAI();
    srv.enqueue({ content: '', toolCalls: [{ name: 'extract_parameters', arguments: '{"amount": 1}' }] });
    const dir = await tempDir();
    const r = rec('extractor-instruction');
    const mk = () => modelNodeRunner(createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'configured' }, { cacheDir: dir }));
    assert.equal((await mk().run({ record: r, spec: nodeSpecOf(view, r), example: ex('1 EUR') })).output, '{"amount": 1}');
    const again = await mk().run({ record: r, spec: nodeSpecOf(view, r), example: ex('1 EUR') });
    assert.equal(again.output, '{"amount": 1}');
    assert.equal(again.response?.cached, true);
    assert.equal(srv.chatRequests().length, 1);
    // The key of a plain request is the hash of the same fields as before tools and penalties existed.
    const plain = { kind: 'chat', endpoint: 'e', model: 'm', temperature: 0, maxTokens: undefined, responseFormat: 'text', messages: [{ role: 'user', content: 'x' }] };
    assert.equal(hashKey({ ...plain, jsonSchema: undefined, topP: undefined, presencePenalty: undefined, frequencyPenalty: undefined, tools: undefined, toolChoice: undefined }), hashKey(plain));
  });

  it('paramsOf leaves out what the node does not set', () => {
    const r = rec('llm-message');
    const p = paramsOf(nodeSpecOf(view, r));
    assert.deepEqual(Object.keys(p).sort(), ['jsonSchema', 'maxTokens', 'model', 'responseFormat', 'temperature']);
    const call = buildNodeCall(nodeSpecOf(view, r), r, ex('q'));
    assert.equal(call.topP, undefined);
  });
});
