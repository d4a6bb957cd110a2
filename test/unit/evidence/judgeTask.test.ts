/** What the pairwise judge is told the task is, per kind of prompt, and the request note in the reports. */
import { strict as assert } from 'node:assert';
import { parseDify } from '../../../src/core/dsl';
import type { EvidenceReport } from '../../../src/core/evidence/evaluate';
import { judgeTaskOf } from '../../../src/core/evidence/judgeTask';
import { evidenceMarkdown, evidenceTable } from '../../../src/core/evidence/report';
import { winStats } from '../../../src/core/evidence/stats';
import { zeroUsage } from '../../../src/core/evidence/usage';
import { nodeSpecOf, readWorkflow, type NodeSpec } from '../../../src/core/runtime/workflow';
import { record } from '../engine/helpers';

const APP = `app:
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
        instruction: Decide what the customer wants.
        classes:
        - {id: '1', name: Refund request}
        - {id: '2', name: ''}
        model: {provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {}}
        query_variable_selector: [start, sys.query]
      id: route
    - data:
        type: parameter-extractor
        title: Extract
        instruction: ''
        model: {provider: openai, name: gpt-4o-mini, mode: chat, completion_params: {}}
        query: [start, sys.query]
        reasoning_mode: function_call
        parameters:
        - {name: amount, type: number, description: The refund amount, required: true}
        - {name: reason, type: select, description: '', required: false, options: [broken, late]}
      id: extract
`;

function load() {
  const doc = parseDify(APP);
  const view = readWorkflow(doc);
  const of = (kind: string, i = 0) => {
    const r = doc.prompts.filter((p) => p.kind === kind)[i]!;
    return { r, spec: nodeSpecOf(view, r) };
  };
  return of;
}

describe('evidence: the task the judge is told', () => {
  it('a class name or the classifier instruction: pick one of the classes, the classes, then the instruction', () => {
    const of = load();
    const want = 'A question classifier: its answer must name the one class below that fits the input (Dify routes the conversation on it).\nClasses:\n- Refund request\n- (unnamed)\nInstruction:\nDecide what the customer wants.';
    for (const kind of ['classifier-instruction', 'classifier-class']) {
      const { r, spec } = of(kind);
      assert.equal(judgeTaskOf(r, spec), want, kind);
    }
  });

  it('a parameter description or the extractor instruction: the parameters with type, required and options; an empty instruction says so', () => {
    const of = load();
    const { r, spec } = of('extractor-parameter', 1);
    assert.equal(
      judgeTaskOf(r, spec),
      'A parameter extractor: its answer must give these parameters, read from the input, as JSON (Dify passes them on to the next nodes).\nParameters:\n- amount (number, required): The refund amount\n- reason (select, optional, one of broken | late): (no description)\nInstruction: (none)',
    );
  });

  it('an llm node with several messages: every message in order, and the query template; a lone system prompt: its text', () => {
    const spec: NodeSpec = {
      nodeId: '9', nodeType: 'llm', title: 'LLM', mode: 'chat', completionParams: {}, jinja2Variables: [],
      messages: [
        { role: 'system', text: 'You answer billing questions.', editionType: 'basic' },
        { role: 'user', text: '{{#sys.query#}}', editionType: 'basic' },
      ],
      memory: { queryTemplate: 'Q: {{#sys.query#}}' },
    };
    const r = record('9/prompt_template/1', '{{#sys.query#}}', { messageIndex: 1 });
    assert.equal(judgeTaskOf(r, spec), '[system]\nYou answer billing questions.\n\n[user]\n{{#sys.query#}}\n\n[user turn: the query template]\nQ: {{#sys.query#}}');
    const lone: NodeSpec = { ...spec, messages: [spec.messages![0]!], memory: undefined };
    assert.equal(judgeTaskOf(record('9/prompt_template/0', 'You answer billing questions.'), lone), 'You answer billing questions.');
    assert.equal(judgeTaskOf(record('x/y', 'Just this.'), undefined), 'Just this.');
  });

  it('the reports say where the runs differ from what Dify sends', () => {
    const r: EvidenceReport = {
      promptId: 'n/p', method: 'judge', candidateSha256: 'x', cases: [], stats: winStats({ wins: 0, ties: 0, losses: 0 }),
      requirements: [], dropped: [], verdict: 'no evidence', usage: zeroUsage(),
      requestNote: "the runs use Dify's prompt mode: in function_call mode the node sends a tool, which these runs cannot carry",
    };
    assert.match(evidenceTable(r), /\nNote: the runs use Dify's prompt mode: in function_call mode the node sends a tool, which these runs cannot carry\.\n/);
    const md = evidenceMarkdown(r, { checklist: { version: 1, promptId: 'n/p', promptSha256: 'x', requirements: [] }, current: 'a', candidate: 'b', casesFile: 'c.jsonl', nodeTitle: 'Extract' });
    assert.match(md, /\nNote: the runs use Dify's prompt mode: .*cannot carry\.\n/);
    assert.doesNotMatch(evidenceTable({ ...r, requestNote: undefined }), /Note:/);
  });
});
