import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { formatWarning, isLabel, parseDify, replacePrompts, rewritable } from '../../../src/core/dsl/index';
import { DslError } from '../../../src/core/errors';
import { readAnyFixture, readFixture, SOURCE_FIXTURES } from './helpers';

const kindsOf = (name: string) => parseDify(readAnyFixture(name)).prompts.map((p) => [p.id, p.kind, p.role, p.text] as const);

/** PyYAML's value at each path of a file (what Dify reads), with Debian's python3-yaml. */
function pyyamlValues(file: string, paths: (string | number)[][]): unknown[] {
  const script = `
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))
out = []
for p in json.load(sys.stdin):
    cur = doc
    for k in p:
        cur = cur[k]
    out.append(cur)
json.dump(out, sys.stdout)`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, file], { input: JSON.stringify(paths), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as unknown[];
}

describe('dsl contract v2: kinds from Dify source fixtures', () => {
  it('expert-mode chat app: chat_prompt_config messages with roles and the follow-up prompt; pre_prompt is not read', () => {
    const got = kindsOf('dify-source/expert_chat_app.yml');
    assert.deepEqual(
      got.map(([id, kind, role]) => [id, kind, role]),
      [
        ['app/chat_prompt/0', 'app-chat-message', 'system'],
        ['app/chat_prompt/1', 'app-chat-message', 'user'],
        ['app/chat_prompt/2', 'app-chat-message', 'assistant'],
        ['app/followup_prompt', 'followup-prompt', null],
      ],
    );
    assert.equal(got[1][3], '{{#histories#}}\n\nQuestion: {{#query#}}');
  });

  it('expert-mode completion app and ReAct agent prompts', () => {
    assert.deepEqual(kindsOf('dify-source/expert_completion_app.yml').map(([id, kind]) => [id, kind]), [['app/completion_prompt', 'app-completion-prompt']]);
    assert.deepEqual(
      kindsOf('dify-source/react_agent_app.yml').map(([id, kind, role]) => [id, kind, role]),
      [
        ['app/pre_prompt', 'app-pre-prompt', null],
        ['app/agent_prompt/first_prompt', 'app-agent-prompt', 'first_prompt'],
        ['app/agent_prompt/next_iteration', 'app-agent-prompt', 'next_iteration'],
      ],
    );
  });

  it('chatflow: query template, labels (classes, parameter descriptions, structured-output descriptions), agent query', () => {
    const doc = parseDify(readAnyFixture('dify-source/chatflow_labels.yml'));
    assert.deepEqual(
      doc.prompts.map((p) => [p.id, p.kind, p.label === true]),
      [
        ['route/instruction', 'classifier-instruction', false],
        ['route/class:1', 'classifier-class', true],
        ['route/class:2', 'classifier-class', true],
        ['route/class:3', 'classifier-class', true],
        ['extract/instruction', 'extractor-instruction', false],
        ['extract/param:amount', 'extractor-parameter', true],
        ['extract/param:order', 'extractor-parameter', true],
        ['answer/prompt_template/0', 'llm-message', false],
        ['answer/query_prompt_template', 'llm-query-template', false],
        ['answer/structured_output/schema.properties.answer.description', 'output-description', true],
        ['answer/structured_output/schema.properties.description.description', 'output-description', true],
        ['agent/agent_instruction', 'agent-instruction', false],
        ['agent/agent_query', 'agent-query', false],
        ['summary/prompt_template', 'llm-completion', false],
        ['app/workflow_followup_prompt', 'followup-prompt', false],
      ],
    );
    assert.equal(doc.warnings.length, 0);
    assert.deepEqual(rewritable(doc.prompts, false).some((p) => isLabel(p)), false);
    assert.equal(rewritable(doc.prompts, true).length, doc.prompts.length);
  });

  it('every record of the source fixtures equals what PyYAML reads at its path (LF and CRLF alike)', () => {
    for (const name of ['expert_chat_app.yml', 'expert_completion_app.yml', 'react_agent_app.yml', 'chatflow_labels.yml', 'chatflow_labels_crlf.yml']) {
      const doc = parseDify(readAnyFixture(`dify-source/${name}`));
      const want = pyyamlValues(path.join(SOURCE_FIXTURES, name), doc.prompts.map((p) => p.yamlPath));
      doc.prompts.forEach((p, i) => assert.equal(p.text, want[i] ?? '', `${name} ${p.id}`));
    }
  });

  it('a structured output that is not enabled gives no descriptions', () => {
    const text = readAnyFixture('dify-source/chatflow_labels.yml').replace('structured_output_enabled: true', 'structured_output_enabled: false');
    assert.equal(parseDify(text).prompts.filter((p) => p.kind === 'output-description').length, 0);
    const old = readAnyFixture('dify-source/chatflow_labels.yml').replace('structured_output_enabled: true', 'structured_output_switch_on: true');
    assert.equal(parseDify(old).prompts.filter((p) => p.kind === 'output-description').length, 2);
  });

  it('pre_prompt is read only when prompt_type is not advanced', () => {
    const text = readAnyFixture('dify-source/expert_chat_app.yml').replace('  prompt_type: advanced', '  prompt_type: simple');
    assert.deepEqual(parseDify(text).prompts.map((p) => p.kind), ['app-pre-prompt', 'followup-prompt']);
  });
});

describe('dsl robustness: one odd field never sinks the file', () => {
  it('warns for each odd field with file, line:column, and still reads every other prompt', () => {
    const doc = parseDify(readAnyFixture('dify-source/odd_fields.yml'), { file: 'odd_fields.yml' });
    assert.deepEqual(
      doc.prompts.map((p) => [p.id, p.kind, p.text]),
      [
        ['agent1/agent_query', 'agent-query', 'Still read'],
        ['llm1/prompt_template/1', 'llm-message', 'Still read too'],
        ['pe1/param:x', 'extractor-parameter', 'An integer count of items'],
      ],
    );
    assert.deepEqual(
      doc.warnings.map((w) => [w.code, w.line, w.column, w.nodeId]),
      [
        ['DSL_FIELD_NOT_TEXT', 17, 20, 'agent1'],
        ['DSL_MESSAGE_ROLE', 26, 11, 'llm1'],
        ['DSL_UNKNOWN_NODE', 31, 15, 'mystery'],
        ['DSL_FIELD_SHAPE', 38, 26, 'llm2'],
      ],
    );
    assert.match(formatWarning(doc.warnings[0]), /^odd_fields\.yml:17:20: The agent-instruction field `workflow\.graph\.nodes\.0\.data\.agent_parameters\.instruction\.value` of node agent1 holds a list/);
    assert.match(doc.warnings[1].message, /has no role/);
    assert.match(doc.warnings[2].message, /"brand-new-node"/);
    assert.match(doc.warnings[3].message, /prompt_template` of node llm2 is a text/);
  });

  it('a node without data.type is a warning, not a refusal', () => {
    const doc = parseDify('app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data: {title: x}\n    - id: b\n      data: {type: parameter-extractor, instruction: ok}\n');
    assert.deepEqual(doc.prompts.map((p) => p.id), ['b/instruction']);
    assert.equal(doc.warnings[0].code, 'DSL_UNKNOWN_NODE');
    assert.equal(doc.warnings[0].line, 7);
  });
});

describe('dsl PyYAML parity', () => {
  const yuta = 'Yuta-95__templates__manual-search__manual-search-v1.0.0.yaml';

  it('reads the CRLF file with under-indented quoted continuation lines (refused by js-yaml alone), and writes back exactly', () => {
    const text = readFixture(yuta);
    const doc = parseDify(text);
    assert.equal(doc.lenient, true);
    assert.ok(doc.prompts.length >= 3);
    const p = doc.prompts.find((q) => q.text.includes('\n') || q.text.length > 40)!;
    const out = replacePrompts(doc, [{ id: p.id, text: 'new\ntext' }]);
    const start = p.range!.start.offset;
    const tail = text.length - p.range!.end.offset;
    assert.equal(out.slice(0, start), text.slice(0, start));
    assert.equal(out.slice(out.length - tail), text.slice(text.length - tail));
    assert.ok(!/[^\r]\n/.test(out), 'CRLF kept');
    assert.equal(parseDify(out).prompts.find((q) => q.id === p.id)!.text, 'new\ntext');
  });

  it('merge keys give the merged value (explicit keys win), as PyYAML', () => {
    const text = [
      'defaults: &d',
      '  type: llm',
      '  prompt_template:',
      '  - role: system',
      '    text: from the base',
      'other: &o',
      '  instruction: from other',
      'app:',
      '  mode: workflow',
      'workflow:',
      '  graph:',
      '    nodes:',
      '    - id: a',
      '      data:',
      '        <<: *d',
      '    - id: b',
      '      data:',
      '        <<: [*o, {type: parameter-extractor, instruction: loses}]',
      '    - id: c',
      '      data:',
      '        <<: *o',
      '        type: question-classifier',
      '        instruction: own',
      '',
    ].join('\n');
    const doc = parseDify(text);
    assert.deepEqual(doc.prompts.map((p) => [p.id, p.text]), [
      ['a/prompt_template/0', 'from the base'],
      ['b/instruction', 'from other'],
      ['c/instruction', 'own'],
    ]);
    const out = replacePrompts(doc, [{ id: 'c/instruction', text: 'mine' }]);
    assert.deepEqual(parseDify(out).prompts.map((p) => p.text), ['from the base', 'from other', 'mine']);
    assert.throws(() => replacePrompts(doc, [{ id: 'a/prompt_template/0', text: 'x' }]), (e: DslError) => e.code === 'DSL_WRITE_UNSUPPORTED');
  });

  it('a JSON export stays valid JSON after write-back of control characters', () => {
    const json = JSON.stringify({ app: { mode: 'workflow', name: 'j' }, kind: 'app', workflow: { graph: { nodes: [{ id: 'a', data: { type: 'parameter-extractor', instruction: 'x' } }] } } }, null, 2);
    const hard = 'bell \u0007 NEL \u0085 nul \u0000 LS \u2028 tab\t"q" \\ end';
    const out = replacePrompts(json, [{ id: 'a/instruction', text: hard }]);
    const back = JSON.parse(out) as { workflow: { graph: { nodes: { data: { instruction: string } }[] } } };
    assert.equal(back.workflow.graph.nodes[0].data.instruction, hard);
    assert.equal(parseDify(out).prompts[0].text, hard);
  });
});
