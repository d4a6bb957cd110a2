/**
 * A checklist drawn before the node's own requirements existed or changed (the classes of a
 * classifier, a structured output schema) gets them brought up to date on load, without a call;
 * the drawn requirements and the user's edits to them stay as they are.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checklistSha256, loadOrDrawChecklist, sha256, type Checklist } from '../../../src/core/evidence/checklist';
import type { ChatRequest, LlmClient } from '../../../src/core/llm/types';

/** A client for loads that must not call the model: any call fails the test. */
const noCalls: LlmClient = {
  chat: (req: ChatRequest) => Promise.reject(new Error(`unexpected call: ${req.tag ?? ''}`)),
  embed: () => Promise.reject(new Error('unexpected embed')),
  usage: () => ({ calls: 0, cachedCalls: 0, retries: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }) as ReturnType<LlmClient['usage']>,
};

const PROMPT = 'Decide what the customer wants.';
const answerFor = (ids: string[]) => ({ text: `The answer is JSON whose category_id is one of ${ids.join(', ')}.`, schema: { type: 'object', required: ['category_id'], properties: { category_id: { enum: ids } } } });

describe('evidence: the node requirements of a stored checklist follow the node', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checklist-node-'));
    file = path.join(dir, 'qc.checklist.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (cl: Checklist) => fs.writeFileSync(file, JSON.stringify(cl, null, 2));
  const drawn = { id: 'R1', text: 'Answers in English (edited by me)', kind: 'language' as const, check: { type: 'judge' as const }, origin: 'prompt' as const };

  it('an older checklist without the answer-shape requirement gains it, is written back, and costs no call', async () => {
    write({ version: 1, promptId: 'n/p', promptSha256: sha256(PROMPT), requirements: [drawn] });
    const r = await loadOrDrawChecklist(noCalls, { file, promptId: 'n/p', prompt: PROMPT, answer: answerFor(['1', '2']) });
    assert.equal(r.reused, true);
    assert.equal(r.usage.calls, 0);
    assert.deepEqual(r.checklist.requirements.map((q) => q.id), ['N1', 'R1']);
    assert.deepEqual(r.checklist.requirements[1], drawn, "the user's edit to a drawn requirement is kept");
    const onDisk = JSON.parse(fs.readFileSync(file, 'utf8')) as Checklist;
    assert.equal(checklistSha256(onDisk), checklistSha256(r.checklist), 'the file shows what is checked');
  });

  it('changed classes replace the stale node requirement; an up-to-date checklist is returned as it is, file untouched', async () => {
    const stale = { ...answerFor(['1', '2']), id: 'N1', kind: 'format' as const, check: { type: 'schema' as const, schema: answerFor(['1', '2']).schema }, origin: 'node' as const };
    write({ version: 1, promptId: 'n/p', promptSha256: sha256(PROMPT), requirements: [{ id: stale.id, text: stale.text, kind: stale.kind, check: stale.check, origin: stale.origin }, drawn] });
    const r = await loadOrDrawChecklist(noCalls, { file, promptId: 'n/p', prompt: PROMPT, answer: answerFor(['1', '3']) });
    assert.match(r.checklist.requirements[0]!.text, /one of 1, 3/);
    assert.equal(r.checklist.requirements.length, 2);

    const before = fs.statSync(file).mtimeMs;
    const text = fs.readFileSync(file, 'utf8');
    await new Promise((res) => setTimeout(res, 20));
    const again = await loadOrDrawChecklist(noCalls, { file, promptId: 'n/p', prompt: PROMPT, answer: answerFor(['1', '3']) });
    assert.equal(checklistSha256(again.checklist), checklistSha256(r.checklist));
    assert.equal(fs.readFileSync(file, 'utf8'), text);
    assert.equal(fs.statSync(file).mtimeMs, before, 'not rewritten when nothing changed');
  });

  it('write: false (the estimate) brings it up to date in memory only', async () => {
    write({ version: 1, promptId: 'n/p', promptSha256: sha256(PROMPT), requirements: [drawn] });
    const text = fs.readFileSync(file, 'utf8');
    const r = await loadOrDrawChecklist(noCalls, { file, promptId: 'n/p', prompt: PROMPT, answer: answerFor(['1']), write: false });
    assert.equal(r.checklist.requirements.length, 2);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  });
});
