import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify, looksLikeDifyExport, findPrompt } from '../../../src/core/dsl/index';
import { DslError } from '../../../src/core/errors';
import { FIXTURES, fixtureNames, readFixture, independentValue, independentParse } from './helpers';

interface Expected {
  nodeId: string;
  kind: string;
  role: string | null;
  sha1: string;
}

const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

describe('dsl/parseDify', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'EXPECTED.json'), 'utf8')) as Record<string, Expected[]>;

  it('covers every fixture listed in EXPECTED.json', () => {
    assert.deepEqual(Object.keys(expected).sort(), fixtureNames());
  });

  for (const name of Object.keys(expected)) {
    it(`matches PyYAML safe_load for every prompt of ${name}`, () => {
      const doc = parseDify(readFixture(name), { file: name });
      // EXPECTED lists non-empty fields; the app prompt's node id is '' there and 'app' here.
      const got = doc.prompts
        .filter((p) => p.text !== '')
        .map((p) => ({ nodeId: p.nodeId === 'app' ? '' : p.nodeId, kind: p.kind, role: p.role, sha1: sha1(p.text) }));
      assert.deepEqual(got, expected[name]);
    });
  }

  it('gives unique ids, ranges consistent with line:column, and the path to each value', () => {
    for (const name of fixtureNames()) {
      const text = readFixture(name);
      const doc = parseDify(text);
      // The `yaml` package is as strict as js-yaml about under-indented quoted lines: no second opinion there.
      const root = doc.app.wrapped || doc.lenient ? undefined : { root: independentParse(text) };
      const ids = doc.prompts.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, name);
      for (const p of doc.prompts) {
        assert.deepEqual(p.variables.map((v) => p.text.slice(v.start, v.end)), p.variables.map((v) => v.raw));
        if (!p.range) continue;
        for (const pos of [p.range.start, p.range.end]) {
          const before = doc.text.slice(0, pos.offset);
          assert.equal(pos.line, before.split('\n').length, `${name} ${p.id}`);
          assert.equal(pos.column, pos.offset - (before.lastIndexOf('\n') + 1) + 1);
        }
        if (root) assert.equal(independentValue(root, p.yamlPath) ?? '', p.text, `${name} ${p.id}`);
      }
    }
  });

  it('fills the record fields: node, kind, role, message id/index, model, edition', () => {
    const doc = parseDify(readFixture('Claude3 Code Translation.yml'));
    const p = doc.prompts[0];
    assert.equal(p.id, '1720506191043/msg:2e5e4e13-2974-440b-9ee5-c015d9aae4ba');
    assert.equal(p.nodeId, '1720506191043');
    assert.equal(p.nodeType, 'llm');
    assert.equal(p.kind, 'llm-message');
    assert.equal(p.role, 'system');
    assert.equal(p.messageId, '2e5e4e13-2974-440b-9ee5-c015d9aae4ba');
    assert.equal(p.messageIndex, 0);
    assert.equal(p.editionType, 'basic');
    assert.deepEqual(p.yamlPath.slice(0, 3), ['workflow', 'graph', 'nodes']);
    assert.deepEqual(p.yamlPath.slice(-3), ['prompt_template', 0, 'text']);
    assert.ok(p.model?.provider && p.model.name);
    assert.ok(p.nodeTitle.length > 0);
    assert.ok(p.variables.some((v) => v.raw === '{{#1720505581749.src_lang#}}' && v.kind === 'node'));
    assert.equal(doc.text.slice(p.range!.start.offset, p.range!.start.offset + 1), '"');
    assert.equal(findPrompt(doc, p.id), p);
    assert.throws(() => findPrompt(doc, 'nope/x'), (e: DslError) => e.code === 'DSL_UNKNOWN_PROMPT' && e.message.includes('nope/x'));
  });

  it('reports empty fields as empty text, and gives no record for an absent key', () => {
    const empty = parseDify(readFixture('basic_chatflow.yml')).prompts.find((p) => p.text === '');
    assert.ok(empty?.range, 'an empty prompt keeps its range');
    // AgentFlow's agent node has no instruction at all: nothing to report, nothing to write into.
    assert.equal(parseDify(readFixture('AgentFlow.yml')).prompts.filter((p) => p.kind === 'agent-instruction').length, 0);
    const ex = (body: string) => parseDify(`app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: p\n      data:\n        type: parameter-extractor\n${body}`).prompts;
    assert.deepEqual(ex('        title: no instruction\n'), []);
    assert.deepEqual(ex('        instruction:\n').map((p) => [p.id, p.text, p.range !== undefined]), [['p/instruction', '', true]]);
    assert.deepEqual(ex("        instruction: ''\n").map((p) => [p.id, p.text]), [['p/instruction', '']]);
  });

  it('reads app.pre_prompt of completion apps, and the export-API JSON wrapper like its decoded twin', () => {
    const plain = parseDify(readFixture('ida29__code-converter_completion.yml'));
    const wrapped = parseDify(readFixture('ida29__code-converter_completion.api-export-raw.yml'));
    assert.equal(plain.app.wrapped, false);
    assert.equal(wrapped.app.wrapped, true);
    assert.equal(plain.app.mode, 'completion');
    assert.deepEqual(wrapped.prompts, plain.prompts);
    assert.equal(plain.prompts[0].id, 'app/pre_prompt');
    assert.equal(plain.prompts[0].nodeId, 'app');
  });

  it('handles completion-mode llm, jinja2 messages, role-less items, classifier `instructions`, flow mappings and aliases', () => {
    const text = [
      'app: {mode: workflow, name: t}',
      'kind: app',
      'workflow:',
      '  graph:',
      '    nodes:',
      "    - id: 'c1'",
      '      data:',
      '        type: llm',
      '        title: Completion',
      '        model: {provider: openai, name: gpt, mode: completion}',
      '        prompt_template:',
      '          text: "complete {{#sys.query#}}"',
      '        memory:',
      '          query_prompt_template: "{{#sys.query#}} not a prompt"',
      '    - id: j1',
      '      data:',
      '        type: llm',
      '        prompt_template:',
      '        - role: system',
      '          edition_type: jinja2',
      '          text: ignored',
      '          jinja2_text: "{{ name }} {% if x %}y{% endif %}"',
      '        - role: user',
      '          text: &shared shared text',
      '        - id: $context',
      '          text: "{{#context#}}"',
      '        - {role: assistant, text: in flow}',
      '    - id: q1',
      '      data: {type: question-classifier, instructions: old key}',
      '    - id: 42',
      '      data:',
      '        type: parameter-extractor',
      '        instruction: *shared',
      '',
    ].join('\n');
    const doc = parseDify(text);
    assert.deepEqual(
      doc.prompts.map((p) => [p.id, p.kind, p.role, p.editionType, p.text]),
      [
        ['c1/prompt_template', 'llm-completion', null, 'basic', 'complete {{#sys.query#}}'],
        ['c1/query_prompt_template', 'llm-query-template', null, 'basic', '{{#sys.query#}} not a prompt'],
        ['j1/prompt_template/0', 'llm-message', 'system', 'jinja2', '{{ name }} {% if x %}y{% endif %}'],
        ['j1/prompt_template/1', 'llm-message', 'user', 'basic', 'shared text'],
        ['j1/prompt_template/3', 'llm-message', 'assistant', 'basic', 'in flow'],
        ['q1/instruction', 'classifier-instruction', null, 'basic', 'old key'],
        ['42/instruction', 'extractor-instruction', null, 'basic', 'shared text'],
      ],
    );
    assert.deepEqual(doc.prompts[0].model, { provider: 'openai', name: 'gpt', mode: 'completion' });
    assert.deepEqual(doc.prompts[2].yamlPath.slice(-1), ['jinja2_text']);
    assert.deepEqual(doc.prompts[5].yamlPath.slice(-1), ['instructions']);
    assert.deepEqual(doc.prompts[2].variables.map((v) => v.kind), ['jinja', 'jinja-block', 'jinja-block']);
    const alias = doc.prompts[6];
    assert.equal(text.slice(alias.range!.start.offset, alias.range!.end.offset), '*shared');
  });

  it('disambiguates clashing ids in document order', () => {
    const node = (id: string) => [`    - id: '${id}'`, '      data:', '        type: parameter-extractor', `        instruction: i${id}`];
    const doc = parseDify(['app:', '  mode: workflow', 'workflow:', '  graph:', '    nodes:', ...node('n'), ...node('n'), ''].join('\n'));
    assert.deepEqual(doc.prompts.map((p) => p.id), ['n/instruction', 'n/instruction#2']);
  });
});

describe('dsl/looksLikeDifyExport', () => {
  it('accepts every fixture, including the JSON wrapper', () => {
    for (const name of fixtureNames()) assert.ok(looksLikeDifyExport(readFixture(name)), name);
  });
  it('rejects other YAML and JSON', () => {
    assert.equal(looksLikeDifyExport('name: x\non:\n  push: {}\njobs: {}\n'), false);
    assert.equal(looksLikeDifyExport('{"name": "pkg", "version": "1.0.0"}'), false);
    assert.equal(looksLikeDifyExport('kind: app\nmetadata: {}\n'), false);
    assert.equal(looksLikeDifyExport('kind: Deployment\nworkflow:\n'), false);
    assert.equal(looksLikeDifyExport(''), false);
  });
});
