/**
 * Prompts Dify wraps in its own templates, checked by hand against Dify's source: the expected
 * strings below were written out from the templates and the node code (question classifier:
 * langgenius/graphon question_classifier_node.py and template_prompts.py; parameter extractor:
 * graphon parameter_extractor_node.py, prompts.py, entities.py; simple-mode apps:
 * langgenius/dify api/core/prompt/simple_prompt_transform.py and prompt_templates/*.json),
 * character by character, not produced by our code.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { checkMechanically, nodeRequirements } from '../../../src/core/evidence/checklist';
import { promptContext } from '../../../src/core/evidence/gather';
import { buildNodeCall } from '../../../src/core/runtime/request';
import { nodeSpecOf, readWorkflow } from '../../../src/core/runtime/workflow';
import { formatTemplate, pyJson } from '../../../src/core/runtime/wrappers/difyText';
import type { Example } from '../../../src/core/evaluation/types';

const ex = (vars: Record<string, string>): Example => ({ id: 'c1', vars, source: { file: 't.jsonl', line: 1 } });

function load(text: string) {
  const doc = parseDify(text);
  const view = readWorkflow(doc);
  return { doc, view, prompt: (kind: string, i = 0) => doc.prompts.filter((p) => p.kind === kind)[i]! };
}

const CHATFLOW = `app:
  mode: advanced-chat
  name: Routing
kind: app
version: 0.3.0
workflow:
  graph:
    edges: []
    nodes:
    - data: {type: start, title: Start, variables: []}
      id: start
    - data:
        type: question-classifier
        title: Route
        instruction: 'Decide what the customer wants. Shop: {{#start.shop#}}'
        classes:
        - {id: '1', name: Refund request}
        - {id: '2', name: Shipping}
        model: {provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {temperature: 0.2}}
        query_variable_selector: [start, sys.query]
        memory:
          window: {enabled: false, size: 1}
      id: route
    - data:
        type: parameter-extractor
        title: Extract
        instruction: Amounts are in euros.
        model: {provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {}}
        query: [route, class_name]
        reasoning_mode: prompt
        parameters:
        - {name: amount, type: number, description: The refund amount, required: true}
        - {name: reason, type: select, description: 理由, required: false, options: [broken, late]}
      id: extract
`;

const SYSTEM_WITH_HISTORY =
  "\n### Job Description',\n" +
  'You are a text classification engine that analyzes text data and assigns categories based on user input or automatically determined categories.\n' +
  '### Task\n' +
  'Your task is to assign one categories ONLY to the input text and only one category may be assigned returned in the output.\n' +
  'Additionally, you need to extract the key words from the text that are related to the classification.\n' +
  '### Format\n' +
  'The input text is in the variable input_text. Categories are specified as a category list with two filed category_id and category_name in the variable categories. Classification instructions may be included to improve the classification accuracy.\n' +
  '### Constraint\n' +
  'DO NOT include anything other than the JSON array in your response.\n' +
  '### Memory\n' +
  'Here are the chat histories between human and assistant, inside <histories></histories> XML tags.\n' +
  '<histories>\n' +
  'Human: I ordered shoes\nAssistant: Which order?\n' +
  '</histories>\n';

describe('evidence: prompts Dify wraps in its own templates', () => {
  it('question classifier: the system text with the memory, two few-shot pairs, then the query, the classes and the instruction', () => {
    const { view, prompt } = load(CHATFLOW);
    const r = prompt('classifier-instruction');
    const spec = nodeSpecOf(view, r)!;
    const histories = JSON.stringify([
      { role: 'user', content: 'old' },
      { role: 'assistant', content: 'older answer' },
      { role: 'user', content: 'I ordered shoes' },
      { role: 'assistant', content: 'Which order?' },
    ]);
    const call = buildNodeCall(spec, r, ex({ 'sys.query': 'They are broken, I want my money', 'start.shop': 'Shoes & Co', histories }), 'NEW: refunds first. {{#start.shop#}}');
    assert.deepEqual(
      call.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'user', 'assistant', 'user'],
    );
    assert.equal(call.messages[0]!.content, SYSTEM_WITH_HISTORY, 'window size 1: the last question and answer only');
    assert.equal(
      call.messages[5]!.content,
      '\n    {"input_text": ["They are broken, I want my money"],\n    "categories": [{"category_id": "1", "category_name": "Refund request"}, {"category_id": "2", "category_name": "Shipping"}],\n    "classification_instructions": ["NEW: refunds first. Shoes & Co"]}\n',
    );
    assert.equal(
      call.messages[2]!.content,
      '\n```json\n    {"keywords": ["recently", "great experience", "company", "service", "prompt", "staff", "friendly"],\n    "category_id": "f5660049-284f-41a7-b301-fd24176a711c",\n    "category_name": "Customer Service"}\n```\n',
    );
    assert.equal(call.messages[3]!.content.includes('"classification_instructions": []}'), true);
    assert.equal(call.model, 'gpt-4o-mini');
    assert.equal(call.temperature, 0.2);
    assert.equal(call.responseFormat, 'text', 'Dify asks the classifier for no response format');
  });

  it('question classifier: a class name candidate replaces that class only; ids stay', () => {
    const { view, prompt } = load(CHATFLOW);
    const r = prompt('classifier-class', 1);
    assert.equal(r.text, 'Shipping');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ 'sys.query': 'where is it' }), 'Shipping or delivery question');
    assert.match(call.messages[5]!.content, /"categories": \[\{"category_id": "1", "category_name": "Refund request"\}, \{"category_id": "2", "category_name": "Shipping or delivery question"\}\],\n    "classification_instructions": \["Decide what the customer wants\. Shop: start\.shop"\]\}\n$/, 'a selector the case lacks is written as its text (convert_template)');
    assert.equal(call.messages[0]!.content.endsWith('<histories>\n\n</histories>\n'), true, 'no turns: empty histories');
  });

  it('question classifier, completion model: one text with the examples, the memory and the user input', () => {
    const { view, prompt } = load(CHATFLOW.replace('mode: chat, completion_params: {temperature: 0.2}', 'mode: completion, completion_params: {}'));
    const r = prompt('classifier-instruction');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ 'sys.query': 'hi' }), 'Route it.');
    assert.equal(call.messages.length, 1);
    assert.equal(call.messages[0]!.role, 'user');
    const t = call.messages[0]!.content;
    assert.ok(t.startsWith('\n### Job Description\n'));
    assert.ok(t.includes('category list  with two filed'), 'the completion template has a double space there');
    assert.ok(
      t.endsWith(
        '<histories>\n\n</histories>\n### User Input\n{"input_text" : ["hi"], "categories" : [{"category_id": "1", "category_name": "Refund request"}, {"category_id": "2", "category_name": "Shipping"}],"classification_instruction" : ["Route it."]}\n### Assistant Output\n',
      ),
    );
    assert.ok(t.includes('\nAssistant:{"keywords": ["bad service", "slow", "food", "tip", "terrible", "waitresses"],"category_id": "f6ff5bc3-aca0-4e4a-8627-e760d0aca78f","category_name": "Experience"}\n</example>\n'));
  });

  it('parameter extractor, prompt mode: system with the instruction, two examples, then the schema (json.dumps, ASCII-escaped) and the query', () => {
    const { view, prompt } = load(CHATFLOW);
    const r = prompt('extractor-instruction');
    const spec = nodeSpecOf(view, r)!;
    const call = buildNodeCall(spec, r, ex({ 'route.class_name': 'Refund of 30 EUR, it came broken' }), 'Amounts in EUR.');
    assert.deepEqual(
      call.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'user', 'assistant', 'user'],
    );
    assert.equal(
      call.messages[0]!.content,
      'You should always follow the instructions and output a valid JSON object.\nThe structure of the JSON object you can found in the instructions.\n\n### Memory\nHere are the chat histories between human and assistant, inside <histories></histories> XML tags.\n<histories>\n\n</histories>\n\n### Instructions:\nSome extra information are provided below, you should always follow the instructions as possible as I can.\n<instructions>\nAmounts in EUR.\n</instructions>',
    );
    assert.equal(
      call.messages[1]!.content,
      '### Structure\nHere is the structure of the JSON object, you should always follow the structure.\n<structure>\n{"type": "object", "properties": {"location": {"type": "string", "description": "The location to get the weather information", "required": true}}, "required": ["location"]}\n</structure>\n\n### Text to be converted to JSON\nInside <text></text> XML tags, there is a text that you should convert to a JSON object.\n<text>\nWhat is the weather today in SF?\n</text>',
    );
    assert.equal(call.messages[2]!.content, '{"location": "San Francisco"}');
    assert.equal(call.messages[4]!.content, '{"food": "apple pie"}');
    assert.equal(
      call.messages[5]!.content,
      '### Structure\nHere is the structure of the JSON object, you should always follow the structure.\n<structure>\n{"type": "object", "properties": {"amount": {"description": "The refund amount", "type": "number"}, "reason": {"description": "\\u7406\\u7531", "type": "string", "enum": ["broken", "late"]}}, "required": ["amount"]}\n</structure>\n\n### Text to be converted to JSON\nInside <text></text> XML tags, there is a text that you should convert to a JSON object.\n<text>\nRefund of 30 EUR, it came broken\n</text>',
    );
    assert.equal(call.note, undefined, 'prompt mode is what Dify sends');
  });

  it('parameter extractor, function_call mode: the tool extract_parameters, Dify\'s system prompt, two few-shot tool exchanges before the query; prompt mode kept for an endpoint without tools', () => {
    const { view, prompt } = load(CHATFLOW.replace('reasoning_mode: prompt', 'reasoning_mode: function_call'));
    const r = prompt('extractor-parameter', 0);
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ 'route.class_name': 'x' }), 'The amount, a number');
    assert.equal(call.note, undefined, 'nothing differs from Dify: the tool is sent');
    assert.equal(call.toolAnswer, 'arguments');
    assert.equal(call.tools?.length, 1);
    assert.equal(call.tools![0]!.name, 'extract_parameters');
    assert.equal(call.tools![0]!.description, 'Extract parameters from the natural language text');
    assert.deepEqual((call.tools![0]!.parameters as { properties: Record<string, unknown> }).properties.amount, { description: 'The amount, a number', type: 'number' });
    assert.deepEqual(call.messages.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'user']);
    assert.ok(call.messages[0]!.content.startsWith('You are a helpful assistant tasked with extracting structured information based on specific criteria provided.'));
    assert.ok(call.messages[0]!.content.includes('<instruction>\nAmounts are in euros.\n</instruction>\nSteps:\n1. Review the chat history'));
    assert.equal(call.messages[1]!.content, 'What is the weather today in SF?');
    assert.deepEqual(call.messages[2]!.toolCalls?.map((c) => [c.name, c.arguments]), [['extract_parameters', '{"location": "San Francisco"}']]);
    assert.equal(call.messages[3]!.toolCallId, call.messages[2]!.toolCalls![0]!.id);
    assert.equal(call.messages[3]!.content, 'Great! You have called the function with the correct parameters.');
    assert.equal(call.messages[4]!.content, "I have extracted the parameters, let's move on.");
    const last = call.messages[9]!.content;
    assert.ok(last.startsWith('extract structured information from context inside <context></context> XML tags by calling the function extract_parameters with the correct parameters with structure inside <structure></structure> XML tags.\n<context>\nx\n</context>\n\n<structure>\n{"type": "object", "properties": {"amount": {"description": "The amount, a number", "type": "number"}'));
    // An endpoint that refuses tools gets Dify's prompt mode, and the run says so.
    assert.match(call.withoutTools!.messages[5]!.content, /"amount": \{"description": "The amount, a number", "type": "number"\}/);
    assert.match(call.withoutTools!.note ?? '', /refused tools.*prompt mode/);
    // A completion model has no function calling in Dify: prompt mode.
    const { view: v2, prompt: p2 } = load(CHATFLOW.replace('reasoning_mode: prompt', 'reasoning_mode: function_call').replace(/name: gpt-4o-mini, mode: chat, completion_params: \{\}/, 'name: text-davinci, mode: completion, completion_params: {}'));
    const r2 = p2('extractor-instruction');
    assert.equal(buildNodeCall(nodeSpecOf(v2, r2)!, r2, ex({ 'route.class_name': 'T' }), 'I').tools, undefined);
  });

  it('parameter extractor, completion model: instruction, schema, memory and text in one prompt', () => {
    const { view, prompt } = load(CHATFLOW.replace(/name: gpt-4o-mini, mode: chat, completion_params: \{\}/, 'name: text-davinci, mode: completion, completion_params: {}'));
    const r = prompt('extractor-instruction');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ 'route.class_name': 'T' }), 'I');
    assert.equal(call.messages.length, 1);
    const t = call.messages[0]!.content;
    assert.ok(t.startsWith('### Instructions:\nSome extra information are provided below, I should always follow the instructions as possible as I can.\n<instructions>\nI\n</instructions>\n\n'));
    assert.ok(t.includes('<information to be extracted>\n{"type": "object", "properties": {"amount": '));
    assert.ok(t.includes("output structure.\n\n  'properties1': 'relevant text extracted from input',\n  'properties2': 'relevant text extracted from input',\n\n\n### Input Text\n"));
    assert.ok(t.endsWith('<text>\nT\n</text>\n\n### Answer\nI should always output a valid JSON object. Output nothing other than the JSON object.\n```JSON'));
  });

  it('the answer shapes Dify needs are node requirements checked in code', () => {
    const { view, prompt } = load(CHATFLOW);
    const qc = nodeSpecOf(view, prompt('classifier-instruction'))!;
    const [req] = nodeRequirements(undefined, qc.answer);
    assert.equal(req!.id, 'N1');
    assert.equal(checkMechanically(req!, '```json\n{"keywords": [], "category_id": "2", "category_name": "Shipping"}\n```'), true);
    assert.equal(checkMechanically(req!, '{"category_id": "3", "category_name": "Other"}'), false, 'an id Dify does not know routes to the first class');
    assert.equal(checkMechanically(req!, '{"category_id": 2, "category_name": "Shipping"}'), false, 'Dify compares ids as strings');
    assert.equal(checkMechanically(req!, 'Shipping'), false);
    const pe = nodeSpecOf(view, prompt('extractor-instruction'))!;
    const [r2] = nodeRequirements({ type: 'object' }, pe.answer).slice(1);
    assert.equal(r2!.id, 'N2');
    assert.equal(checkMechanically(r2!, 'Here: {"amount": 30, "reason": "broken"}'), true);
    assert.equal(checkMechanically(r2!, '{"amount": "30", "reason": "broken"}'), false, 'a number as text');
    assert.equal(checkMechanically(r2!, '{"amount": 30}'), false, 'Dify wants every parameter (its count check)');
    assert.equal(checkMechanically(r2!, '{"amount": 30, "reason": "lost"}'), false, 'a select value outside the options');
  });

  it('promptContext: a classifier case needs its query and the memory, and the case generator sees the classes', () => {
    const { doc, prompt } = load(CHATFLOW);
    const ctx = promptContext(doc, prompt('classifier-instruction'));
    assert.deepEqual(ctx.inputs.map((i) => i.key).sort(), ['histories', 'start.shop', 'sys.query']);
    assert.match(ctx.nodeTexts[0]!, /1: Refund request \| 2: Shipping/);
    const ext = promptContext(doc, prompt('extractor-parameter', 1));
    assert.deepEqual(
      ext.inputs.map((i) => i.key),
      ['route.class_name'],
    );
    assert.match(ext.inputs[0]!.description, /the text the node extracts from/);
  });
});

const CHAT_APP = `app:
  mode: chat
  name: Helper
kind: app
version: 0.1.5
model_config:
  model: {provider: openai, name: gpt-4o, mode: chat, completion_params: {temperature: 0.5}}
  prompt_type: simple
  pre_prompt: 'You help with {{product}}. Unknown: {{nope}}'
  dataset_configs:
    datasets:
      datasets:
      - dataset: {enabled: true, id: ds-1}
  user_input_form:
  - text-input: {variable: product, label: Product, required: true}
`;

const CONTEXT_PROMPT =
  "Use the following context as your learned knowledge, inside <context></context> XML tags.\n\n<context>\nDOCS\n</context>\n\nWhen answer to user:\n- If you don't know, just say that you don't know.\n- If you don't know when you are not sure, ask for clarification.\nAvoid mentioning that you obtained the information from the context.\nAnd answer according to the language of the user's question.\n\n";

describe('evidence: simple-mode and expert-mode apps as Dify sends them', () => {
  const histories = JSON.stringify([
    { role: 'user', content: 'hello' },
    { role: 'assistant', content: 'hi {{product}}' },
  ]);

  it('chat app, chat model: context prompt + pre_prompt as the system message, the turns, then the query', () => {
    const { view, prompt } = load(CHAT_APP);
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', context: 'DOCS', 'sys.query': 'How do I log in?', histories }), 'Help with {{product}} {{#context#}}');
    assert.deepEqual(call.messages, [
      { role: 'system', content: `${CONTEXT_PROMPT}Help with Cloud DOCS\n` },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi {{product}}' },
      { role: 'user', content: 'How do I log in?' },
    ]);
    assert.equal(call.model, 'gpt-4o');
    assert.equal(call.temperature, 0.5);
  });

  it('a variable the app does not define keeps single braces, as PromptTemplateParser leaves it', () => {
    const { view, prompt } = load(CHAT_APP);
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ 'sys.query': 'q', context: '' }));
    assert.equal(call.messages[0]!.content, `${CONTEXT_PROMPT.replace('DOCS', '')}You help with . Unknown: {nope}\n`);
  });

  it('chat app, completion model: one text with context, pre_prompt, the histories block and the query prompt', () => {
    const { view, prompt } = load(CHAT_APP.replace('name: gpt-4o, mode: chat', 'name: gpt-3.5-turbo-instruct, mode: completion'));
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', context: 'DOCS', 'sys.query': 'Why?', histories }), 'Be brief about {{product}}.');
    assert.deepEqual(call.messages, [
      {
        role: 'user',
        content: `${CONTEXT_PROMPT}Be brief about Cloud.\nHere is the chat histories between human and assistant, inside <histories></histories> XML tags.\n\n<histories>\nHuman: hello\nAssistant: hi {product}\n</histories>\n\n\n\nHuman: Why?\n\nAssistant: `,
      },
    ]);
  });

  it('completion app without a query: the prompt is the one user message (no system message)', () => {
    const text = CHAT_APP.replace('mode: chat\n  name', 'mode: completion\n  name').replace(/  dataset_configs:[\s\S]*?ds-1\}\n/, '');
    const { view, prompt } = load(text);
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud' }), 'Write about {{product}}.');
    assert.deepEqual(call.messages, [{ role: 'user', content: 'Write about Cloud.\n' }]);
  });

  it('agent-chat app (function_call): the pre_prompt as written is the system message, the tools as functions with what the export holds; the call says what it cannot carry', () => {
    const text = CHAT_APP.replace('mode: chat\n  name', 'mode: agent-chat\n  name').replace('  prompt_type: simple', '  prompt_type: simple\n  agent_mode: {enabled: true, strategy: function_call, tools: [{enabled: true, provider_id: tavily, provider_type: builtin, tool_name: tavily_search, tool_parameters: {query: \'\', max_results: \'5\'}}, {enabled: false, tool_name: off}]}');
    const { view, prompt } = load(text);
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', 'sys.query': 'go', histories }), 'Agent for {{product}}');
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'Agent for {{product}}' },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi {{product}}' },
      { role: 'user', content: 'go' },
    ]);
    assert.deepEqual(call.tools, [{ name: 'tavily_search', description: '', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: [] } }], 'a parameter the user set is not the model\'s; a disabled tool is left out');
    assert.equal(call.toolAnswer, 'describe');
    assert.match(call.note ?? '', /first step only.*tool providers/);
  });

  it('agent-chat app (ReAct): Dify\'s ReAct template with the instruction (inputs filled), the tools as JSON and their names; the turns, then the query', () => {
    const text = CHAT_APP.replace('mode: chat\n  name', 'mode: agent-chat\n  name').replace('  prompt_type: simple', '  prompt_type: simple\n  agent_mode: {enabled: true, strategy: react, tools: [{enabled: true, tool_name: wiki, tool_parameters: {q: \'\'}}]}');
    const { view, prompt } = load(text);
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', 'sys.query': 'go', histories }), 'Agent for {{product}}');
    assert.deepEqual(call.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
    const sys = call.messages[0]!.content;
    assert.ok(sys.startsWith('Respond to the human as helpfully and accurately as possible.\n\nAgent for Cloud\n\nYou have access to the following tools:\n\n[{"name": "wiki", "description": "", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": []}}]\n\n'));
    assert.ok(sys.includes('Valid "action" values: "Final Answer" or wiki\n'));
    assert.ok(sys.endsWith('Format is Action:```$JSON_BLOB```then Observation:.\n'));
    assert.equal(call.messages[3]!.content, 'go');
    assert.equal(call.tools, undefined, 'ReAct sends its tools in the prompt, not as functions');
    // A completion model: one text, the history as Question/answer lines, the query as "Question: …".
    const comp = load(text.replace('name: gpt-4o, mode: chat', 'name: davinci, mode: completion'));
    const rc = comp.prompt('app-pre-prompt');
    const one = buildNodeCall(nodeSpecOf(comp.view, rc)!, rc, ex({ product: 'Cloud', 'sys.query': 'go', histories }), 'A').messages;
    assert.equal(one.length, 1);
    assert.ok(one[0]!.content.endsWith('then Observation:.\nQuestion: hello\n\nhi {{product}}\n\n\nQuestion: Question: go\n\nThought:'));
  });

  it('expert-mode chat app: every chat_prompt_config message, the candidate in place, then the conversation and the query', () => {
    const text = CHAT_APP.replace("  prompt_type: simple\n  pre_prompt: 'You help with {{product}}. Unknown: {{nope}}'\n", "  prompt_type: advanced\n  pre_prompt: ''\n  chat_prompt_config:\n    prompt:\n    - {role: system, text: 'Docs: {{#context#}}'}\n    - {role: user, text: 'Product {{product}}'}\n    - {role: assistant, text: OK}\n");
    const { view, prompt } = load(text);
    const r = prompt('app-chat-message', 1);
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', context: 'DOCS', 'sys.query': 'q?', histories }), 'About {{product}}');
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'Docs: DOCS' },
      { role: 'user', content: 'About Cloud' },
      { role: 'assistant', content: 'OK' },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi {{product}}' },
      { role: 'user', content: 'q?' },
    ]);
  });

  it('expert-mode completion prompt of a chat app: {{#histories#}} with the app\'s role prefixes, {{#query#}} the user\'s message', () => {
    const text = CHAT_APP.replace("  prompt_type: simple\n  pre_prompt: 'You help with {{product}}. Unknown: {{nope}}'\n", "  prompt_type: advanced\n  pre_prompt: ''\n  completion_prompt_config:\n    conversation_histories_role: {user_prefix: User, assistant_prefix: Bot}\n    prompt: {text: 'x {{#histories#}} {{#query#}}'}\n").replace('name: gpt-4o, mode: chat', 'name: davinci, mode: completion');
    const { view, prompt } = load(text);
    const r = prompt('app-completion-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', 'sys.query': 'q?', histories }), '{{product}}: {{#histories#}}\nUser: {{#query#}}\nBot:');
    assert.deepEqual(call.messages, [{ role: 'user', content: 'Cloud: User: hello\nBot: hi {product}\nUser: q?\nBot:' }], "a value's own {{x}} loses a brace (remove_template_variables)");
  });

  it('an expert-mode variable the app\'s form does not define is not asked for and stays single-braced (test/fixtures/dify-source)', () => {
    const text = fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'dify-source', 'expert_completion_app.yml'), 'utf8');
    const { doc, prompt } = load(text);
    const r = prompt('app-completion-prompt');
    const ctx = promptContext(doc, r);
    assert.deepEqual(
      ctx.inputs.map((i) => i.key),
      ['context'],
    );
    assert.deepEqual(buildNodeCall(ctx.spec, r, ex({ context: 'C' })).messages, [{ role: 'user', content: 'Write a product description for {product} in {tone} tone.\nFacts: C' }]);
  });

  it('baichuan models get the baichuan templates (provider baichuan, or a baichuan model on xinference)', () => {
    const { view, prompt } = load(CHAT_APP.replace('provider: openai, name: gpt-4o, mode: chat', 'provider: xinference, name: Baichuan2-13B, mode: completion'));
    const r = prompt('app-pre-prompt');
    const call = buildNodeCall(nodeSpecOf(view, r)!, r, ex({ product: 'Cloud', context: 'DOCS', 'sys.query': '你好', histories: '[]' }), '帮助 {{product}}');
    assert.equal(call.messages[0]!.content, '用户在与一个客观的助手对话。助手会尊重找到的材料，给出全面专业的解释，但不会过度演绎。同时回答中不会暴露引用的材料：\n\n```\nDOCS\n```\n\n帮助 Cloud\n用户和助手的历史对话内容如下：\n```\n\n```\n\n\n\n用户：你好');
  });

  it('promptContext: a chat app prompt needs its form input, the context, the query and the turns', () => {
    const { doc, prompt } = load(CHAT_APP);
    const ctx = promptContext(doc, prompt('app-pre-prompt'));
    assert.deepEqual(ctx.inputs.map((i) => i.key).sort(), ['context', 'histories', 'product', 'sys.query'], '{{nope}} is not a form variable: Dify leaves it as text');
  });
});

describe('evidence: Dify text helpers', () => {
  it("formatTemplate is PromptTemplateParser.format: values' own {{x}} lose a brace, <|…|> goes, unknown keys stay single-braced", () => {
    assert.equal(formatTemplate('{{a}} {{#query#}} {{b}} <|x|>end {{too_long_variable_name_over_thirty_chars}}', { a: 'A {{c}}', '#query#': 'Q' }), 'A {c} Q {b} end {{too_long_variable_name_over_thirty_chars}}');
  });

  it("pyJson is Python's json.dumps: spaced separators, ensure_ascii escapes", () => {
    assert.equal(pyJson({ a: [1, true, null], 'ü': '日本\n' }), '{"a": [1, true, null], "\\u00fc": "\\u65e5\\u672c\\n"}');
    assert.equal(pyJson({ a: '日本' }, false), '{"a": "日本"}');
    assert.equal(pyJson({}), '{}');
  });
});
