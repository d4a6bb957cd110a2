/**
 * `promptopt eval --runtime dify` end to end, as a real process (the bundled dist/cli.js) against
 * the fake Dify (test/support/fakeDify.ts, from langgenius/dify's source; draft runs answer from the
 * imported DSL's prompt: test/support/fakeDifyRuntime.ts) and the loopback OpenAI server for the
 * checklist and the judge. The scripted judge's verdicts are mechanics, not model quality.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileCredentialStore, loginWithPassword } from '../../../src/core/dify';
import { TEMP_NAME_PREFIX } from '../../../src/core/dify/tempApps';
import { parseDify } from '../../../src/core/dsl';
import { CHECKLIST_MARK } from '../../../src/core/evidence/checklist';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { FAKE_USER, startFakeDify, type FakeDify } from '../../support/fakeDify';
import { LLM_ID, START_ID, promptAwareOutputs, runtimeAppDsl } from '../../support/fakeDifyRuntime';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../../support/fakeOpenAI';

const ROOT = path.resolve(__dirname, '../../../..');
const CURRENT = 'You answer support questions. Answer plainly.';
const CANDIDATE = 'You answer support questions. Answer in UPPERCASE.';

/** Checklist: one judged requirement. Judge: the answer in capitals wins (both orders agree). */
function handler(req: ParsedChatRequest): ScriptedReply {
  const system = req.messages[0]?.content ?? '';
  if (system.startsWith(CHECKLIST_MARK)) return { content: JSON.stringify({ requirements: [{ text: 'Answers the question', kind: 'task' }] }) };
  if (system.startsWith(JUDGE_MARK)) {
    const user = req.messages[req.messages.length - 1]!.content;
    const a = /<answer_A>\n([\s\S]*?)\n<\/answer_A>/.exec(user)?.[1] ?? '';
    const b = /<answer_B>\n([\s\S]*?)\n<\/answer_B>/.exec(user)?.[1] ?? '';
    const up = (s: string) => s.length > 0 && s === s.toUpperCase();
    const winner = up(a) === up(b) ? 'tie' : up(a) ? 'A' : 'B';
    return { content: JSON.stringify({ winner, reason: 'scripted: capitals win', a_meets: [], b_meets: [] }) };
  }
  return { content: 'a task request must not reach the model' };
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], { cwd, env: { PATH: process.env.PATH, HOME: cwd, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe('promptopt eval --runtime dify (dist/cli.js against the fake Dify)', function () {
  this.timeout(120000);
  let f: FakeDify;
  let srv: FakeOpenAIServer;
  let ws: string;
  before(() => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
  });
  afterEach(async () => {
    await f?.close();
    await srv?.close();
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  it('runs both versions on temporary copies, judges on the model, reports where the answers came from, deletes every copy; a re-run sends no draft run', async () => {
    f = await startFakeDify({ nodeOutputs: promptAwareOutputs });
    const app = f.addApp({ name: 'Support Flow', mode: 'workflow', dsl: runtimeAppDsl(CURRENT) });
    srv = await startFakeOpenAI({ handler });
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-difyrt-'));
    fs.mkdirSync(path.join(ws, '.git'));
    fs.writeFileSync(path.join(ws, 'support.yml'), app.dsl);
    const record = parseDify(app.dsl).prompts.find((p) => p.nodeId === LLM_ID && p.role === 'system')!;
    const questions = ['where is my order?', 'can I return shoes?', 'do you ship abroad?', 'how do I reset my password?', 'is there a warranty?', 'can I pay later?'];
    fs.writeFileSync(path.join(ws, 'cases.jsonl'), questions.map((q, i) => JSON.stringify({ id: `c${i + 1}`, source: 'generated', inputs: { [`${START_ID}.question`]: q } })).join('\n') + '\n');
    fs.writeFileSync(path.join(ws, 'cand.txt'), CANDIDATE);
    const creds = path.join(ws, 'creds', 'dify.json');
    await new FileCredentialStore(creds).set(await loginWithPassword({ server: f.url, email: FAKE_USER.email, password: FAKE_USER.password }));
    const env = { OPENAI_API_KEY: 'sk-difyrt-0001', PROMPTOPT_DIFY_CREDENTIALS: creds };
    const args = ['eval', 'support.yml', '--prompt', record.id, '--dataset', 'cases.jsonl', '--candidate-file', 'cand.txt', '--runtime', 'dify', '--dify-server', f.url, '--base-url', srv.url, '--json'];

    const r = await run(args, ws, env);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { report: { cases: Array<{ current: { output: string }; candidate: { output: string }; winner: string }>; runtime?: { source: string; server: string; version?: string; apps: string[] }; stats: { wins: number } } };
    assert.equal(out.report.runtime?.source, 'dify');
    assert.equal(out.report.runtime?.server, f.url);
    assert.match(out.report.runtime?.version ?? '', /server DSL 0\.3\.0/);
    assert.equal(out.report.runtime?.apps.length, 2);
    assert.ok(out.report.runtime!.apps.every((a) => a.startsWith(TEMP_NAME_PREFIX)));
    assert.equal(out.report.cases[0]!.current.output, 'Question: where is my order?');
    assert.equal(out.report.cases[0]!.candidate.output, 'QUESTION: WHERE IS MY ORDER?');
    assert.equal(out.report.stats.wins, questions.length);
    // The prompt ran on Dify only: the model saw the checklist and the judge, no task request.
    const systems = srv.chatRequests().map((q) => (q.body as { messages: Array<{ content: string }> }).messages[0]!.content);
    assert.ok(systems.every((s) => s.startsWith(CHECKLIST_MARK) || s.startsWith(JUDGE_MARK)));
    assert.equal(f.runStats.runs, questions.length * 2);
    assert.ok(f.runStats.maxActive <= 2, 'the default concurrency of 2');
    assert.deepEqual([...f.apps.values()].map((a) => a.name), ['Support Flow'], 'every copy deleted, the user\'s app kept');
    assert.equal(f.deleted.length, 2);
    const md = fs.readdirSync(path.join(ws, '.optimizer', 'evidence')).find((n) => n.endsWith('.md'))!;
    // The markdown is inert (zero-width breaks in URLs, escaped punctuation): read it as text.
    const plain = fs.readFileSync(path.join(ws, '.optimizer', 'evidence', md), 'utf8').replace(/\u200b/g, '').replace(/\\([()[\]])/g, '$1');
    assert.match(plain, /Answers: from Dify itself, http:\/\/127\.0\.0\.1:\d+ \(server DSL 0\.3\.0, export DSL 0\.3\.0\); temporary app copies \[promptopt tmp\] Support Flow/);
    // No token reached the workspace.
    const files = fs.readdirSync(path.join(ws, '.optimizer'), { recursive: true }) as string[];
    for (const rel of files) {
      const p = path.join(ws, '.optimizer', rel);
      if (!fs.statSync(p).isFile()) continue;
      const text = fs.readFileSync(p, 'utf8');
      for (const s of f.issuedSecrets()) assert.ok(!text.includes(s), `${rel} holds a token`);
    }

    const again = await run(args, ws, env);
    assert.equal(again.code, 0, again.err);
    assert.equal(f.runStats.runs, questions.length * 2, 'every answer from the cache: no draft run');
    assert.equal(f.deleted.length, 2, 'and no copy made');
    assert.deepEqual((JSON.parse(again.out) as typeof out).report.runtime?.apps, []);
  });

  it('says how to sign in when there is no sign-in, before anything is run', async () => {
    f = await startFakeDify({ nodeOutputs: promptAwareOutputs });
    const app = f.addApp({ name: 'Support Flow', mode: 'workflow', dsl: runtimeAppDsl(CURRENT) });
    srv = await startFakeOpenAI({ handler });
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-difyrt-'));
    fs.mkdirSync(path.join(ws, '.git'));
    fs.writeFileSync(path.join(ws, 'support.yml'), app.dsl);
    fs.writeFileSync(path.join(ws, 'cases.jsonl'), `${JSON.stringify({ id: 'c1', source: 'generated', inputs: { [`${START_ID}.question`]: 'hi' } })}\n`);
    fs.writeFileSync(path.join(ws, 'cand.txt'), CANDIDATE);
    const record = parseDify(app.dsl).prompts.find((p) => p.nodeId === LLM_ID && p.role === 'system')!;
    const r = await run(['eval', 'support.yml', '--prompt', record.id, '--dataset', 'cases.jsonl', '--candidate-file', 'cand.txt', '--runtime', 'dify', '--base-url', srv.url, '--yes'], ws, { OPENAI_API_KEY: 'sk-difyrt-0002', PROMPTOPT_DIFY_CREDENTIALS: path.join(ws, 'none.json') });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /needs a sign-in: promptopt dify login/);
    assert.equal(srv.chatRequests().length, 0);
    assert.equal(f.requests.length, 0);
  });
});
