import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { analyzePrompt } from '../../../src/core/analysis/analyze';
import { looksLikeDifyExport, parseDify, replacePrompts } from '../../../src/core/dsl/index';
import { findMalformedMentions, mentionProblems } from '../../../src/core/dsl/mentions';
import { diffVariables, findVariables, protectVariables, restoreVariables } from '../../../src/core/dsl/variables';
import { checkCandidate } from '../../../src/core/strategies/llm';
import { buildUserMessage } from '../../../src/core/strategies/llmPrompts';
import { createRuleStrategy, RULE_STRATEGIES } from '../../../src/core/strategies/rules';
import { checkAccept, ReviewCodes } from '../../../src/extension/review/checks';

/**
 * DSL 0.7.0 (Dify 1.16+): Agent v2 nodes, agent packages, agent apps, knowledge pipelines,
 * completion-memory role prefixes, and mention tokens. Fixtures: test/fixtures/dify-07/ (written
 * from langgenius/dify's Pydantic models, see its SOURCES.md).
 */
const DIR = path.resolve(__dirname, '../../../../test/fixtures/dify-07');
const read = (name: string) => fs.readFileSync(path.join(DIR, name), 'utf8');
const NAMES = ['agent_v2_workflow.yml', 'agent_app.yml', 'rag_pipeline.yml', 'completion_memory.yml'];

const PY_READ = `
import json, sys, yaml
out = []
for f in json.load(sys.stdin):
    with open(f, encoding='utf-8') as fh:
        out.append(yaml.safe_load(fh))
json.dump(out, sys.stdout, ensure_ascii=False)
`;

/** PyYAML's safe_load of each file (what Dify's importer reads). */
function pyyaml(files: string[]): unknown[] {
  const r = spawnSync('python3', ['-c', PY_READ], { input: JSON.stringify(files), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as unknown[];
}

function at(root: unknown, p: (string | number)[]): unknown {
  let cur = root;
  for (const k of p) cur = (cur as Record<string | number, unknown>)[k];
  return cur;
}

function setAt(root: unknown, p: (string | number)[], v: unknown): void {
  const parent = at(root, p.slice(0, -1)) as Record<string | number, unknown>;
  parent[p[p.length - 1]] = v;
}

describe('dsl 0.7.0: what is read', () => {
  it('an Agent v2 workflow: job prompt, declared output descriptions (array item and children), the enabled check, the soul', () => {
    const doc = parseDify(read('agent_v2_workflow.yml'));
    assert.equal(doc.app.mode, 'workflow');
    assert.deepEqual(doc.warnings, []);
    assert.deepEqual(
      doc.prompts.map((p) => [p.id, p.kind, p.label === true]),
      [
        ['1718000000002/job_prompt', 'agent-job-prompt', false],
        ['1718000000002/output:report', 'agent-output-description', true],
        ['1718000000002/output:sources', 'agent-output-description', true],
        ['1718000000002/output:sources/item', 'agent-output-description', true],
        ['1718000000002/output:sources/item/url', 'agent-output-description', true],
        ['1718000000002/output:chart', 'agent-output-description', true],
        ['1718000000002/output:chart/check', 'agent-output-check', false],
        ['1718000000002/output:draft', 'agent-output-description', true],
        ['agent_packages.agent_1/soul_prompt', 'agent-soul-prompt', false],
      ],
    );
    const soul = doc.prompts.at(-1)!;
    assert.equal(soul.nodeId, 'agent_packages.agent_1');
    assert.equal(soul.nodeTitle, 'Researcher');
    assert.deepEqual(soul.yamlPath, ['agent_packages', 'agent_1', 'soul', 'prompt', 'system_prompt']);
    assert.deepEqual(soul.model, { provider: 'langgenius/openai/openai', name: 'gpt-4o' });
    // The node's model is its bound package's (agent_binding.package_ref).
    assert.deepEqual(doc.prompts[0].model, soul.model);
    assert.equal(doc.prompts.find((p) => p.id.endsWith('/check'))!.text, 'Does the chart show the same figures as the benchmark?\nAnswer yes or no.');
    // A check that is off is not sent: not read.
    assert.ok(!doc.prompts.some((p) => p.text === 'Not sent: the check is off.'));
  });

  it('an agent app (app.mode agent, no graph) gives its soul prompt', () => {
    const doc = parseDify(read('agent_app.yml'));
    assert.equal(doc.app.mode, 'agent');
    assert.deepEqual(doc.prompts.map((p) => [p.id, p.kind]), [['agent_packages.agent_1/soul_prompt', 'agent-soul-prompt']]);
    assert.match(doc.prompts[0].text, /^你是一个客服助手。\n\nLook things up/);
  });

  it('a knowledge pipeline (kind rag_pipeline, no app key): its llm nodes and the summary prompt when enabled', () => {
    const doc = parseDify(read('rag_pipeline.yml'));
    assert.deepEqual(doc.app, { name: 'Product docs', mode: 'rag-pipeline', version: '0.7.0', wrapped: false });
    assert.deepEqual(doc.prompts.map((p) => [p.id, p.kind]), [
      ['1750000000002/msg:sys-1', 'llm-message'],
      ['1750000000002/msg:usr-1', 'llm-message'],
      ['1750000000003/summary_prompt', 'summary-prompt'],
    ]);
    assert.deepEqual(doc.prompts[2].model, { provider: 'langgenius/openai/openai', name: 'gpt-4o-mini' });
    const off = read('rag_pipeline.yml').replace('enable: true', 'enable: false');
    assert.ok(!parseDify(off).prompts.some((p) => p.kind === 'summary-prompt'), 'a disabled summary index sends nothing');
  });

  it('memory role prefixes are read for completion models only, as labels with their role', () => {
    const doc = parseDify(read('completion_memory.yml'));
    const prefixes = doc.prompts.filter((p) => p.kind === 'memory-role-prefix');
    assert.deepEqual(prefixes.map((p) => [p.id, p.role, p.text, p.label]), [
      ['1760000000002/role_prefix/user', 'user', 'Reader', true],
      ['1760000000002/role_prefix/assistant', 'assistant', 'Narrator', true],
    ]);
  });

  it('every prompt range covers exactly its value: re-read by PyYAML after a write, the file differs at that one prompt', function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dsl07-'));
    try {
      const jobs: { file: string; orig: string; path: (string | number)[]; want: string }[] = [];
      for (const name of NAMES) {
        const src = read(name);
        const doc = parseDify(src);
        const orig = path.join(dir, name);
        fs.writeFileSync(orig, src);
        doc.prompts.forEach((p, i) => {
          assert.ok(p.range, `${name} ${p.id} has a range`);
          // Same text back: byte-identical (the range is the value, quotes included).
          assert.equal(replacePrompts(doc, [{ id: p.id, text: p.text }]), src, `${name} ${p.id}`);
          const want = `New text for ${p.id}:\n  keep [§output:report§] and {{#sys.query#}}\n'quoted' # not a comment`;
          const file = path.join(dir, `${i}-${name}`);
          fs.writeFileSync(file, replacePrompts(doc, [{ id: p.id, text: want }]));
          jobs.push({ file, orig, path: p.yamlPath, want });
        });
      }
      const files = [...new Set(jobs.map((j) => j.orig))];
      const read0 = pyyaml(files);
      const origs = new Map(files.map((f, i) => [f, read0[i]]));
      const got = pyyaml(jobs.map((j) => j.file));
      jobs.forEach((j, i) => {
        assert.equal(at(got[i], j.path), j.want, j.file);
        const expected = structuredClone(origs.get(j.orig));
        setAt(expected, j.path, j.want);
        assert.deepEqual(got[i], expected, `${j.file}: only ${j.path.join('.')} changed`);
      });
      // Our decoded texts equal PyYAML's.
      for (const name of NAMES) {
        const py = origs.get(path.join(dir, name));
        for (const p of parseDify(read(name)).prompts) assert.equal(p.text, at(py, p.yamlPath) ?? '', `${name} ${p.id}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('extract --json gives the new kinds; set changes one prompt', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dsl07-cli-'));
    try {
      let out = '';
      let err = '';
      const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), env: {}, cwd: tmp, signal: new AbortController().signal };
      fs.writeFileSync(path.join(tmp, 'p.yml'), read('rag_pipeline.yml'));
      assert.equal(await runCli(['extract', '--json', 'p.yml'], io), 0, err);
      const recs = JSON.parse(out) as { id: string; kind: string; range: { start: { line: number } } }[];
      assert.deepEqual(recs.map((r) => r.kind), ['llm-message', 'llm-message', 'summary-prompt']);
      assert.equal(recs[2].range.start.line, 77);
      out = '';
      assert.equal(await runCli(['set', 'p.yml', '--prompt', '1750000000003/summary_prompt', '--text', 'Summarize in one sentence.'], io), 0, err);
      const [now, before] = pyyaml([path.join(tmp, 'p.yml'), path.join(DIR, 'rag_pipeline.yml')]);
      const expected = structuredClone(before);
      setAt(expected, ['workflow', 'graph', 'nodes', 2, 'data', 'summary_index_setting', 'summary_prompt'], 'Summarize in one sentence.');
      assert.deepEqual(now, expected);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('accepts the new modes and top levels, and recognises them as exports', () => {
    for (const name of NAMES) assert.ok(looksLikeDifyExport(read(name)), name);
    const channel = 'app:\n  mode: channel\n  name: c\nkind: app\nversion: 0.7.0\nworkflow:\n  graph:\n    nodes: []\n';
    assert.equal(parseDify(channel).app.mode, 'channel');
    assert.throws(() => parseDify('app:\n  mode: agent\n  name: a\nkind: app\n'), /app mode is "agent" but `agent_packages`/);
    assert.throws(() => parseDify('kind: rag_pipeline\nrag_pipeline:\n  name: x\n'), /knowledge pipeline.*`workflow` is missing/);
  });

  it('class labels (user-facing) are not read; structured_output_switch_on still counts', () => {
    const yml = [
      'app:\n  mode: workflow\n  name: t\nkind: app\nversion: 0.7.0\nworkflow:\n  graph:\n    nodes:',
      '    - id: qc\n      data:\n        type: question-classifier\n        title: Q\n        instruction: Route it.\n        classes:\n        - id: "1"\n          name: Billing\n          label: Billing questions',
      '    - id: l\n      data:\n        type: llm\n        title: L\n        model: {provider: p, name: m, mode: chat}\n        prompt_template: []\n        structured_output_switch_on: true\n        structured_output:\n          schema:\n            type: object\n            properties:\n              a: {type: string, description: The answer}',
    ].join('\n');
    const doc = parseDify(yml);
    assert.deepEqual(doc.prompts.map((p) => [p.kind, p.text]), [
      ['classifier-instruction', 'Route it.'],
      ['classifier-class', 'Billing'],
      ['output-description', 'The answer'],
    ]);
  });

  it('an extractor parameter\'s options are kept with its description as context for a rewrite, never as a prompt', () => {
    const yml =
      'app:\n  mode: workflow\n  name: t\nkind: app\nworkflow:\n  graph:\n    nodes:\n    - id: pe\n      data:\n        type: parameter-extractor\n        title: P\n        instruction: Extract.\n' +
      '        parameters:\n        - name: size\n          type: select\n          description: The size\n          options: [small, medium, large]\n          required: true\n';
    const doc = parseDify(yml);
    assert.deepEqual(doc.prompts.map((p) => [p.kind, p.text, p.options]), [
      ['extractor-instruction', 'Extract.', undefined],
      ['extractor-parameter', 'The size', ['small', 'medium', 'large']],
    ]);
    const p = doc.prompts[1];
    const prot = protectVariables(p.text);
    const msg = buildUserMessage({ strategy: 'llm_guided', protectedText: prot.text, analysis: analyzePrompt({ text: p.text, kind: p.kind }), slots: prot.slots, kind: p.kind, role: p.role, options: p.options, iteration: 1 });
    assert.match(msg, /one of these options.*"small", "medium", "large"/);
  });
});

describe('dsl 0.7.0: mention tokens [§kind:id[:label]§] are kept like {{#…#}}', () => {
  const JOB = 'Use [§node_output:17.text:Question§] and write [§output:report§]; ask [§human:c-1:Ops: on call§].';

  it('are listed among the variables with kind, id and label (the label may hold ":")', () => {
    assert.deepEqual(
      findVariables(JOB).map((v) => [v.kind, v.selector]),
      [
        ['prompt-mention', ['node_output', '17.text', 'Question']],
        ['prompt-mention', ['output', 'report']],
        ['prompt-mention', ['human', 'c-1', 'Ops: on call']],
      ],
    );
    const doc = parseDify(read('agent_v2_workflow.yml'));
    assert.equal(doc.prompts[0].variables.filter((v) => v.kind === 'prompt-mention').length, 5);
  });

  it('follow Dify\'s grammar: unknown kinds, empty ids and oversized ids or labels are not mentions, and are diagnosed', () => {
    const text = `[§widget:x§] [§node_output:§] [§tool:${'a'.repeat(6145)}§] [§tool:t:${'b'.repeat(256)}§] [§tool:ok§] [not§a:mention§]`;
    assert.deepEqual(findVariables(text).map((v) => v.raw), ['[§tool:ok§]']);
    assert.deepEqual(findMalformedMentions(text).map((m) => m.raw.slice(0, 16)), ['[§widget:x§]', '[§node_output:§]', `[§tool:${'a'.repeat(9)}`, '[§tool:t:bbbbbbb']);
  });

  it('diagnoses a kind its surface does not resolve: soul takes skill/file/tool/cli_tool/knowledge/human, the job node_output/output/human', () => {
    const soul = '[§tool:p/*§] [§output:report§] [§human:h§] [§node_output:1.a§]';
    assert.deepEqual(mentionProblems(soul, 'agent-soul-prompt').map((p) => [p.code, p.kind]), [
      ['mention-kind-not-allowed', 'output'],
      ['mention-kind-not-allowed', 'node_output'],
    ]);
    assert.deepEqual(mentionProblems(soul, 'agent-job-prompt').map((p) => p.kind), ['tool']);
    assert.deepEqual(mentionProblems(soul, 'llm-message'), [], 'elsewhere a mention is plain text');
    const doc = parseDify(read('agent_v2_workflow.yml'));
    const issues = (id: string) => {
      const p = doc.prompts.find((q) => q.id === id)!;
      return analyzePrompt({ text: p.text, kind: p.kind, role: p.role }).issues.filter((i) => i.kind.startsWith('mention')).map((i) => [i.kind, p.text.slice(i.start, i.end)]);
    };
    assert.deepEqual(issues('1718000000002/job_prompt'), [
      ['mention-kind-not-allowed', '[§tool:langgenius/tavily/tavily_search§]'],
      ['mention-malformed', '[§node_output:§]'],
    ]);
    assert.deepEqual(issues('agent_packages.agent_1/soul_prompt'), [
      ['mention-kind-not-allowed', '[§output:report§]'],
      ['mention-malformed', '[§widget:legacy-thing§]'],
    ]);
  });

  it('an LLM answer that drops or alters one is rejected; placeholders restore them', () => {
    const prot = protectVariables(JOB);
    assert.equal(prot.text, 'Use [[VAR_1]] and write [[VAR_2]]; ask [[VAR_3]].');
    assert.equal(restoreVariables(prot.text, prot.slots).text, JOB);
    const dropped = checkCandidate(JOB, 'Use [[VAR_1]] and write the report; ask [[VAR_3]].', prot.slots);
    assert.ok(!dropped.ok && dropped.rejection.reason === 'variables-changed' && /dropped \[§output:report§\]/.test(dropped.rejection.detail));
    const altered = checkCandidate(JOB, 'Use [[VAR_1]] and write [§output:summary§]; ask [[VAR_3]].', prot.slots);
    assert.ok(!altered.ok && /dropped \[§output:report§\].*added \[§output:summary§\]/.test(altered.rejection.detail));
    assert.deepEqual(diffVariables(JOB, JOB.replace('[§human:c-1:Ops: on call§]', 'the on-call person')), { missing: ['[§human:c-1:Ops: on call§]'], added: [] });
  });

  it('rule strategies never touch one, not even the filler words inside a label', async () => {
    const text = 'You should try to answer [§node_output:1.q:Please note that the question§] in a bit more detail.\n\n\n\nPlease note that [§human:c1:Please note that reviewer§] must approve.  ';
    for (const name of RULE_STRATEGIES) {
      const out = await createRuleStrategy(name).apply({ text, analysis: analyzePrompt({ text }), iteration: 1 });
      assert.deepEqual(diffVariables(text, out.text), { missing: [], added: [] }, name);
    }
    const out = await createRuleStrategy('efficiency_focus').apply({ text, analysis: analyzePrompt({ text }), iteration: 1 });
    assert.notEqual(out.text, text, 'the filler outside the mentions is still removed');
  });

  it('an edit in review that drops one is refused', () => {
    const base = { current: JOB, edited: true, nodeTitle: 'Researcher', promptId: 'n/job_prompt', file: 'a.yml' };
    const r = checkAccept({ ...base, text: JOB.replace(' and write [§output:report§]', '') });
    assert.equal(r?.code, ReviewCodes.variablesChanged);
    assert.match(r!.message, /\[§output:report§\]/);
  });
});

describe('dsl 0.7.0: PyYAML parity for a quoted value running on through the next keys', () => {
  it('a value ending in \'\' whose continuation swallows hundreds of keys at its own indent is read as PyYAML reads it, and written back', function () {
    this.timeout(60000);
    const head = "app:\n  mode: workflow\n  name: t\nkind: app\nversion: 0.6.0\nworkflow:\n  graph:\n    nodes:\n    - data:\n        type: question-classifier\n        title: Q\n        instruction: 'Pick one of ''\n";
    const body = Array.from({ length: 400 }, (_, i) => `        key${i}: value ${i} ''x''\n`).join('');
    const src = `${head}${body}        end: done'\n        classes: []\n      id: '1'\n`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dsl07-py-'));
    try {
      const t0 = Date.now();
      const doc = parseDify(src);
      assert.ok(Date.now() - t0 < 2000, `read in ${Date.now() - t0} ms`);
      assert.equal(doc.lenient, true);
      const p = doc.prompts.find((q) => q.id === '1/instruction')!;
      fs.writeFileSync(path.join(dir, 'orig.yml'), src);
      fs.writeFileSync(path.join(dir, 'new.yml'), replacePrompts(doc, [{ id: p.id, text: 'Pick one.' }]));
      const [orig, now] = pyyaml([path.join(dir, 'orig.yml'), path.join(dir, 'new.yml')]);
      assert.equal(p.text, at(orig, p.yamlPath));
      assert.match(p.text, /^Pick one of ' key0: value 0 'x' key1/);
      const expected = structuredClone(orig);
      setAt(expected, p.yamlPath, 'Pick one.');
      assert.deepEqual(now, expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
