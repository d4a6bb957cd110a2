/**
 * The optimizer's evidence gate with `evidence.runtime: dify` (service/gateFactory.ts + service/difyRuntime.ts)
 * against the fake Dify (test/support/fakeDify.ts, from langgenius/dify's source) and the loopback
 * OpenAI server for the checklist and judge: each comparison opens a runner, its copies are gone
 * when gather returns or throws, and the estimate's dry run never opens one.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loginWithPassword, type CredentialStore, type DifySession } from '../../../src/core/dify';
import { TEMP_NAME_PREFIX } from '../../../src/core/dify/tempApps';
import { parseDify } from '../../../src/core/dsl';
import { CancelledError } from '../../../src/core/errors';
import { casesFileFor } from '../../../src/core/evidence/cases';
import { CHECKLIST_MARK } from '../../../src/core/evidence/checklist';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { createLlmClient } from '../../../src/core/llm';
import { openDifyRuntime } from '../../../src/core/service/difyRuntime';
import { createEvidenceGate } from '../../../src/core/service/gateFactory';
import { FAKE_USER, startFakeDify, type FakeDify } from '../../support/fakeDify';
import { LLM_ID, START_ID, promptAwareOutputs, runtimeAppDsl } from '../../support/fakeDifyRuntime';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../../support/fakeOpenAI';

function handler(req: ParsedChatRequest): ScriptedReply {
  const system = req.messages[0]?.content ?? '';
  if (system.startsWith(CHECKLIST_MARK)) return { content: JSON.stringify({ requirements: [{ text: 'Answers the question', kind: 'task' }] }) };
  if (system.startsWith(JUDGE_MARK)) {
    const user = req.messages[req.messages.length - 1]!.content;
    const a = /<answer_A>\n([\s\S]*?)\n<\/answer_A>/.exec(user)?.[1] ?? '';
    const b = /<answer_B>\n([\s\S]*?)\n<\/answer_B>/.exec(user)?.[1] ?? '';
    const up = (s: string) => s.length > 0 && s === s.toUpperCase();
    return { content: JSON.stringify({ winner: up(a) === up(b) ? 'tie' : up(a) ? 'A' : 'B', reason: 'scripted', a_meets: [], b_meets: [] }) };
  }
  return { content: 'no task request may reach the model' };
}

class MemoryStore implements CredentialStore {
  private m = new Map<string, DifySession>();
  async get(s: string) {
    return this.m.get(s);
  }
  async set(s: DifySession) {
    this.m.set(s.server, s);
  }
  async delete(s: string) {
    this.m.delete(s);
  }
  async list() {
    return [...this.m.keys()];
  }
}

describe('evidence gate with the runtime on Dify', function () {
  this.timeout(30000);
  let f: FakeDify;
  let srv: FakeOpenAIServer;
  let root: string;
  afterEach(async () => {
    await f?.close();
    await srv?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  async function setup(opts: Parameters<typeof startFakeDify>[0] = {}) {
    f = await startFakeDify({ nodeOutputs: promptAwareOutputs, ...opts });
    const app = f.addApp({ name: 'Support Flow', mode: 'workflow', dsl: runtimeAppDsl('You answer support questions. Answer plainly.') });
    srv = await startFakeOpenAI({ handler });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'difyrt-gate-'));
    const workflowFile = path.join(root, 'support.yml');
    fs.writeFileSync(workflowFile, app.dsl);
    const doc = parseDify(app.dsl, { file: 'support.yml' });
    const record = doc.prompts.find((p) => p.nodeId === LLM_ID && p.role === 'system')!;
    const cases = casesFileFor(root, workflowFile, record.id);
    fs.mkdirSync(path.dirname(cases), { recursive: true });
    // 12 cases: straight wins decide at the first look of the sequential test (10 are needed).
    fs.writeFileSync(cases, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].map((q, i) => JSON.stringify({ id: `c${i}`, source: 'generated', inputs: { [`${START_ID}.question`]: `question ${q}` } })).join('\n') + '\n');
    const credentials = new MemoryStore();
    await credentials.set(await loginWithPassword({ server: f.url, email: FAKE_USER.email, password: FAKE_USER.password }));
    const llm = createLlmClient({ baseUrl: srv.url, apiKey: 'sk-gate-0001', model: 'gpt-4o-mini' }, {});
    let opened = 0;
    const gate = (dryRun = false) =>
      createEvidenceGate({
        root,
        workflowFile,
        doc,
        client: llm,
        settings: { mode: 'auto', cases: 12, maxCases: 12, minConsistency: 0.6 },
        dryRun,
        runtime: () => {
          opened++;
          return openDifyRuntime({ root, workflowFile, doc, llm, credentials, cache: false });
        },
      });
    return { gate, record, opened: () => opened };
  }
  const tmpApps = () => [...f.apps.values()].filter((a) => a.name.startsWith(TEMP_NAME_PREFIX));

  it('gathers evidence from Dify, then deletes the comparison\'s copies', async () => {
    const s = await setup();
    const ev = await s.gate().gather(s.record, 'You answer support questions. Answer in UPPERCASE.');
    assert.equal(ev.wins, 12);
    assert.equal(ev.verdict, 'better');
    assert.equal(s.opened(), 1);
    assert.equal(f.runStats.runs, 24, "both versions on each of the 12 cases");
    assert.equal(tmpApps().length, 0);
    assert.equal(f.deleted.length, 2);
    const report = JSON.parse(fs.readFileSync(path.join(root, ev.reportFile.replace(/\.md$/, '.json')), 'utf8')) as { runtime?: { source: string; apps: string[] } };
    assert.equal(report.runtime?.source, 'dify');
    assert.equal(report.runtime?.apps.length, 2);
  });

  it('a cancelled comparison deletes its copies too; the dry run (estimate) opens no runner', async () => {
    const s = await setup({ nodeDelayMs: 100 });
    const ac = new AbortController();
    const p = s.gate().gather(s.record, 'You answer support questions. Answer in UPPERCASE.', ac.signal);
    const t0 = Date.now();
    while (tmpApps().length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(tmpApps().length > 0);
    ac.abort();
    await assert.rejects(p, CancelledError);
    assert.equal(tmpApps().length, 0);
    const before = s.opened();
    const runsBefore = f.runStats.runs;
    await s.gate(true).gather(s.record, 'You answer support questions. Answer in UPPERCASE!');
    assert.equal(s.opened(), before, 'the dry run counts the runs on the model path, never calls Dify');
    assert.equal(f.runStats.runs, runsBefore);
  });
});
