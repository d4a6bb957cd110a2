/**
 * The checklist's content is part of the keys of every result that depends on it: an edited
 * checklist is checked again (the judge calls that see the requirements are made again and the
 * report shows the new requirement); an unchanged one costs no call. Scripted evidence model
 * (test/support/evidenceModel.ts) on 127.0.0.1: mechanics, never real-model quality.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checklistSha256, type Checklist } from '../../../src/core/evidence/checklist';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { VersionStore } from '../../../src/core/storage';
import { evidenceHandler, HEURISTIC_NEUTRAL_WINNER } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { ORIGINAL_SYSTEM, cli, workspace } from './helpers';

const KEY = { OPENAI_API_KEY: 'sk-checklist-keys-0001' };
type Body = { messages: { role: string; content: string }[] };

describe('the checklist in the keys: edited → checked again, unchanged → no call', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer;
  beforeEach(async () => {
    w = workspace();
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
  });
  afterEach(async () => {
    await srv.close();
    w.cleanup();
  });

  const ds = () => `support--${w.promptId.replace(/[^\p{L}\p{N}_-]+/gu, '-')}`;
  const checklistFile = () => path.join(w.ws, '.optimizer', 'datasets', `${ds()}.checklist.json`);
  const judgeBodies = (from: number) => srv.chatRequests().slice(from).map((r) => r.body as Body).filter((b) => b.messages[0]!.content.startsWith(JUDGE_MARK));
  const evalRun = async () => {
    fs.writeFileSync(path.join(w.ws, 'cand.txt'), HEURISTIC_NEUTRAL_WINNER(ORIGINAL_SYSTEM));
    const r = await cli(['eval', 'support.yml', '--prompt', w.promptId, '--dataset', ds(), '--candidate-file', 'cand.txt', '--json', '--base-url', srv.url], w.ws, KEY);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as { checklistSha256: string; report: { checklistSha256: string; requirements: { id: string; text: string }[] } };
  };
  const edit = (f: (c: Checklist) => void) => {
    const c = JSON.parse(fs.readFileSync(checklistFile(), 'utf8')) as Checklist;
    f(c);
    fs.writeFileSync(checklistFile(), JSON.stringify(c, null, 2));
  };

  it('eval: a requirement added to the checklist is judged on every case (2 judge calls each), shown in the report, and its hash recorded', async () => {
    const c = await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url], w.ws, KEY);
    assert.equal(c.code, 0, c.err);
    const first = await evalRun();
    assert.equal(first.checklistSha256, first.report.checklistSha256);
    const n1 = srv.chatRequests().length;
    const same = await evalRun();
    assert.equal(srv.chatRequests().length, n1, 'an unchanged checklist made a call');
    assert.equal(same.checklistSha256, first.checklistSha256);

    // Reformatting the file changes nothing: the hash is of the content.
    const c0 = JSON.parse(fs.readFileSync(checklistFile(), 'utf8')) as Checklist;
    fs.writeFileSync(checklistFile(), JSON.stringify(c0));
    assert.equal((await evalRun()).checklistSha256, first.checklistSha256);
    assert.equal(srv.chatRequests().length, n1);

    edit((cl) => cl.requirements.push({ id: 'R9', text: 'Greets the user by name', kind: 'other', check: { type: 'judge' }, origin: 'prompt' }));
    const edited = await evalRun();
    assert.notEqual(edited.checklistSha256, first.checklistSha256);
    assert.ok(edited.report.requirements.some((r) => r.id === 'R9' && r.text === 'Greets the user by name'));
    const judged = judgeBodies(n1);
    assert.equal(judged.length, 24, 'every case judged again in both orders');
    assert.ok(judged.every((b) => b.messages[1]!.content.includes('R9. Greets the user by name')));
    assert.equal(srv.chatRequests().length - n1, 24, 'only the judge calls: the task answers do not depend on the checklist');
  });

  it('eval: a mechanical rule edited needs no call, and the report holds the new rule (checked in code)', async () => {
    assert.equal((await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url], w.ws, KEY)).code, 0);
    const first = await evalRun();
    const n = srv.chatRequests().length;
    edit((cl) => cl.requirements.push({ id: 'R8', text: 'At most 5 characters', kind: 'length', check: { type: 'max_chars', value: 5 }, origin: 'prompt' }));
    const r = await evalRun();
    assert.equal(srv.chatRequests().length, n);
    assert.notEqual(r.checklistSha256, first.checklistSha256);
    const rate = (r.report as unknown as { requirements: { id: string; current: number; candidate: number }[] }).requirements.find((x) => x.id === 'R8')!;
    assert.deepEqual([rate.current, rate.candidate], [0, 0], 'every scripted answer is longer than 5 characters');
  });

  it('optimize: the version records the checklist it was judged with; after an edit the gate judges again', async () => {
    const base = ['optimize', 'support.yml', '--json', '--write', '--strategy', 'llm_guided', '--iterations', '1', '--prompt', w.promptId, '--base-url', srv.url];
    const original = fs.readFileSync(w.file, 'utf8');
    const first = await cli(base, w.ws, KEY);
    assert.equal(first.code, 0, first.err);
    const r1 = (JSON.parse(first.out) as { accepted: boolean; evidence: { checklistSha256: string } }[])[0]!;
    assert.equal(r1.accepted, true);
    const onDisk = JSON.parse(fs.readFileSync(checklistFile(), 'utf8')) as Checklist;
    assert.equal(r1.evidence.checklistSha256, checklistSha256(onDisk));
    const store = await VersionStore.open(w.ws, { readOnly: true });
    try {
      const v = (await store.list('support.yml', w.promptId)).find((x) => x.status === 'accepted')!;
      assert.equal((v.metadata.evidence as { checklistSha256: string }).checklistSha256, checklistSha256(onDisk));
    } finally {
      await store.close();
    }
    // The file now holds the winner; put the original back and run again with an edited checklist.
    fs.writeFileSync(w.file, original);
    const n = srv.chatRequests().length;
    edit((cl) => cl.requirements.push({ id: 'R9', text: 'Greets the user by name', kind: 'other', check: { type: 'judge' }, origin: 'prompt' }));
    const again = await cli(base.filter((a) => a !== '--write'), w.ws, KEY);
    assert.equal(again.code, 0, again.err);
    const r2 = (JSON.parse(again.out) as { evidence?: { checklistSha256: string } }[])[0]!;
    assert.ok(r2.evidence, 'the second run gathered no evidence');
    assert.notEqual(r2.evidence.checklistSha256, r1.evidence.checklistSha256);
    assert.ok(judgeBodies(n).some((b) => b.messages[1]!.content.includes('R9. Greets the user by name')), 'the gate did not judge with the edited checklist');
  });
});
