/**
 * The node's request for one case, checked by hand against Dify's AdvancedPromptTransform
 * (api/core/prompt/advanced_prompt_transform.py) and the LLM node: the expected messages below
 * were worked out from that code, not from ours.
 */
import { strict as assert } from 'node:assert';
import { parseDify } from '../../../src/core/dsl';
import { buildNodeCall, historiesOf, taskRequest } from '../../../src/core/runtime/request';
import { inputsOf, nodeSpecOf, readWorkflow, type NodeSpec } from '../../../src/core/runtime/workflow';
import type { Example } from '../../../src/core/evaluation/types';
import { SUPPORT_CHATFLOW } from '../../support/evidenceModel';
import { record } from '../engine/helpers';

const ex = (vars: Record<string, string>): Example => ({ id: 'c1', vars, source: { file: 't.jsonl', line: 1 } });

function spec(over: Partial<NodeSpec>): NodeSpec {
  return { nodeId: '9', nodeType: 'llm', title: 'LLM', mode: 'chat', completionParams: {}, jinja2Variables: [], ...over };
}

describe('evidence: the request a Dify node sends', () => {
  it('chat: every message in order, selectors and {{#context#}} substituted, an empty system message left out, a selector the case lacks written as Dify writes it', () => {
    const s = spec({
      messages: [
        { role: 'system', text: '{{#1.only_if#}}', editionType: 'basic' },
        { role: 'system', text: 'Docs:\n{{#context#}}\nProduct {{#1.product#}}', editionType: 'basic' },
        { role: 'user', text: '{{#sys.query#}}', editionType: 'basic' },
        { role: 'assistant', text: 'OK.', editionType: 'basic' },
        { role: 'user', text: '{{#1.missing#}}', editionType: 'basic' },
      ],
    });
    const r = record('9/prompt_template/1', 'Docs:\n{{#context#}}\nProduct {{#1.product#}}', { messageIndex: 1 });
    const call = buildNodeCall(s, r, ex({ context: 'P1', '1.product': 'Cloud', 'sys.query': 'hi', '1.only_if': '' }), 'NEW {{#context#}} / {{#1.product#}}');
    // VariablePool.convert_template: a selector with no value is written as its text, without the braces.
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'NEW P1 / Cloud' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'OK.' },
      { role: 'user', content: '1.missing' },
    ]);
  });

  it('chat with memory: template messages, then the earlier turns (window size × 2), then the query through query_prompt_template', () => {
    const s = spec({
      messages: [{ role: 'system', text: 'Be brief. {{#context#}}', editionType: 'basic' }],
      memory: { queryTemplate: 'Q: {{#sys.query#}} ({{#context#}})', windowSize: 1 },
    });
    const r = record('9/prompt_template/0', 'Be brief. {{#context#}}');
    const histories = JSON.stringify([
      { role: 'user', content: 'old 1' },
      { role: 'assistant', content: 'old 2' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: 'a' },
    ]);
    const call = buildNodeCall(s, r, ex({ 'sys.query': 'why?', context: 'C', histories }));
    assert.deepEqual(call.messages, [
      { role: 'system', content: 'Be brief. C' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'Q: why? (C)' },
    ]);
  });

  it('completion: the template is the one user message; {{#histories#}} gets the turns with the role prefixes', () => {
    const s = spec({ mode: 'completion', completion: { text: '{{#histories#}}\nHuman: {{#sys.query#}}', editionType: 'basic' }, memory: { rolePrefix: { user: 'U', assistant: 'A' } } });
    const r = record('9/prompt_template', '{{#histories#}}\nHuman: {{#sys.query#}}', { kind: 'llm-completion', role: null });
    const call = buildNodeCall(s, r, ex({ 'sys.query': 'now', histories: '[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]' }));
    assert.deepEqual(call.messages, [{ role: 'user', content: 'U: x\nA: y\nHuman: now' }]);
  });

  it('jinja2 messages read the node\'s jinja2 variables by name, bound to selectors', () => {
    const s = spec({
      messages: [{ role: 'system', text: '{% for p in [1,2] %}{{ p }}{% endfor %} {{ topic | upper }}', editionType: 'jinja2' }],
      jinja2Variables: [{ name: 'topic', selector: ['1', 'subject'] }],
    });
    const r = record('9/prompt_template/0', '{% for p in [1,2] %}{{ p }}{% endfor %} {{ topic | upper }}', { editionType: 'jinja2' });
    assert.deepEqual(buildNodeCall(s, r, ex({ '1.subject': 'cats' })).messages, [{ role: 'system', content: '12 CATS' }]);
  });

  it("the node's model and completion params go with the request; structured output asks for JSON", () => {
    const s = spec({ model: 'gpt-x', completionParams: { temperature: 0.3, max_tokens: 512, top_p: 1 }, structuredOutput: { type: 'object' }, messages: [{ role: 'user', text: 'hi', editionType: 'basic' }] });
    const r = record('9/prompt_template/0', 'hi', { role: 'user' });
    const req = taskRequest(buildNodeCall(s, r, ex({ x: '' })));
    assert.equal(req.model, 'gpt-x');
    assert.equal(req.temperature, 0.3);
    assert.equal(req.maxTokens, 512);
    assert.equal(req.responseFormat, 'json');
    assert.equal(taskRequest(buildNodeCall(s, r, ex({ x: '' })), { modelOverride: 'mine' }).model, 'mine');
  });

  it('reads the node from an export: inputs of every kind, with the start variable\'s options and the context\'s source', () => {
    const doc = parseDify(SUPPORT_CHATFLOW);
    const rec = doc.prompts[0]!;
    const view = readWorkflow(doc);
    const s = nodeSpecOf(view, rec)!;
    assert.equal(s.model, 'task-model');
    assert.deepEqual(s.context, { selector: ['1700000000002', 'result'] });
    assert.equal(s.memory?.windowSize, 5);
    const inputs = inputsOf(view, rec, s);
    const byKey = new Map(inputs.map((i) => [i.key, i]));
    assert.deepEqual([...byKey.keys()].sort(), ['1700000000001.product', 'context', 'histories', 'sys.query']);
    assert.deepEqual(byKey.get('1700000000001.product')!.options, ['Cloud', 'Desktop']);
    assert.match(byKey.get('context')!.description, /knowledge retrieval node "Docs search"/);
    assert.equal(byKey.get('histories')!.source, 'memory');
    assert.deepEqual(historiesOf({ histories: 'not json' }), []);
  });
});
