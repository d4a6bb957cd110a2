/**
 * `promptopt eval` on a question classifier's instruction of a real export, against the loopback
 * server: the task requests the server receives are the classifier's own (Dify's system prompt,
 * the few-shot pairs, the query with the classes as JSON and the instruction), with the node's
 * model and parameters, and the checklist checks in code that an answer names a known class id.
 * The scripted classifier's answers are mechanics, not model quality.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../../src/core/dsl';
import { CHECKLIST_MARK } from '../../../src/core/evidence/checklist';
import { JUDGE_MARK } from '../../../src/core/evidence/judge';
import { corpusDir } from '../../support/corpusPrompts';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../../support/fakeOpenAI';
import { cli, workspace } from './helpers';

const KEY = { OPENAI_API_KEY: 'sk-wrapped-eval-0001' };
const FILE = 'recommended__Question_Classifier_Knowledge_Chatbot__d9f6b733.yml';
const CANDIDATE = 'Refunds, returns and broken items are after sales.';
const CATEGORIES =
  '[{"category_id": "1711528736036", "category_name": "Question related to after sales"}, {"category_id": "1711528736549", "category_name": "Questions about how to use products"}, {"category_id": "1711528737066", "category_name": "Other questions"}]';

/** A scripted classifier: with an instruction it answers with the after-sales id, without one with an id the node does not have. */
function handler(req: ParsedChatRequest): ScriptedReply {
  const system = req.messages[0]?.content ?? '';
  if (system.startsWith(CHECKLIST_MARK)) return { content: JSON.stringify({ requirements: [{ text: 'Picks one category', kind: 'task' }] }) };
  if (system.startsWith(JUDGE_MARK)) {
    const user = req.messages[req.messages.length - 1]!.content;
    const a = /<answer_A>\n([\s\S]*?)\n<\/answer_A>/.exec(user)?.[1] ?? '';
    const good = (s: string) => s.includes('"1711528736036"');
    const winner = good(a) === good(/<answer_B>\n([\s\S]*?)\n<\/answer_B>/.exec(user)?.[1] ?? '') ? 'tie' : good(a) ? 'A' : 'B';
    return { content: JSON.stringify({ winner, reason: 'scripted: a known class id wins', a_meets: [], b_meets: [] }) };
  }
  const last = req.messages[req.messages.length - 1]!.content;
  const instructed = !last.includes('"classification_instructions": [""]');
  return { content: instructed ? '```json\n{"keywords": ["refund"], "category_id": "1711528736036", "category_name": "Question related to after sales"}\n```' : '{"category_id": "after-sales", "category_name": "after sales"}' };
}

describe('evidence: eval of a question classifier instruction sends what Dify sends', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer;
  afterEach(async () => {
    await srv?.close();
    w?.cleanup();
  });

  it("the task requests are the classifier's template with the node's model; the class-id check fails the current answers only", async () => {
    const text = fs.readFileSync(path.join(corpusDir(), FILE), 'utf8');
    w = workspace(text);
    const record = parseDify(text).prompts.find((p) => p.kind === 'classifier-instruction');
    assert.ok(record, 'the export has a classifier instruction (empty in the file)');
    assert.equal(record.text, '');
    srv = await startFakeOpenAI({ handler });
    const queries = ['My parcel arrived broken, I want a refund', 'How do I pair the remote?'];
    fs.mkdirSync(path.join(w.ws, '.optimizer', 'datasets'), { recursive: true });
    fs.writeFileSync(path.join(w.ws, '.optimizer', 'datasets', 'qc.jsonl'), queries.map((q, i) => JSON.stringify({ id: `q${i + 1}`, source: 'generated', inputs: { 'sys.query': q } })).join('\n') + '\n');
    fs.writeFileSync(path.join(w.ws, 'cand.txt'), CANDIDATE);
    const r = await cli(['eval', 'support.yml', '--prompt', record.id, '--dataset', 'qc', '--candidate-file', 'cand.txt', '--json', '--base-url', srv.url], w.ws, KEY);
    assert.equal(r.code, 0, r.err);

    const bodies = srv.chatRequests().map((q) => q.body as { model: string; temperature: number; max_tokens?: number; messages: { role: string; content: string }[] });
    const tasks = bodies.filter((b) => !b.messages[0]!.content.startsWith(CHECKLIST_MARK) && !b.messages[0]!.content.startsWith(JUDGE_MARK));
    assert.equal(tasks.length, 4, 'current and candidate on each of the two cases');
    for (const t of tasks) {
      assert.deepEqual(
        t.messages.map((m) => m.role),
        ['system', 'user', 'assistant', 'user', 'assistant', 'user'],
      );
      assert.ok(t.messages[0]!.content.startsWith("\n### Job Description',\nYou are a text classification engine"));
      assert.ok(t.messages[0]!.content.endsWith('<histories>\n\n</histories>\n'), 'the classifier has no memory in this export');
      assert.equal(t.model, 'gpt-3.5-turbo', "the node's model");
      assert.equal(t.temperature, 0.7);
      assert.equal(t.max_tokens, 512);
    }
    const lastUser = tasks.map((t) => t.messages[5]!.content).sort();
    const expected = queries.flatMap((q) => ['', CANDIDATE].map((ins) => `\n    {"input_text": ["${q}"],\n    "categories": ${CATEGORIES},\n    "classification_instructions": ["${ins}"]}\n`)).sort();
    assert.deepEqual(lastUser, expected);

    // The judge is told the task as the node has it: pick one of these classes (the instruction is empty).
    const judges = bodies.filter((b) => b.messages[0]!.content.startsWith(JUDGE_MARK));
    assert.equal(judges.length, 4, 'two cases, both orders');
    for (const j of judges) {
      const instruction = /<instruction>\n([\s\S]*?)\n<\/instruction>/.exec(j.messages[j.messages.length - 1]!.content)?.[1] ?? '';
      assert.match(instruction, /^A question classifier: its answer must name the one class below/);
      assert.match(instruction, /- Question related to after sales\n- Questions about how to use products\n- Other questions\nInstruction: \(none\)$/);
    }

    const out = JSON.parse(r.out) as { verdict: string; wins: number; report: { requirements: Array<{ id: string; text: string; current: number; candidate: number }> } };
    const n1 = out.report.requirements.find((q) => q.id === 'N1');
    assert.ok(n1, 'the class-id requirement comes from the node');
    assert.match(n1.text, /category_id/);
    assert.deepEqual([n1.current, n1.candidate], [0, 1]);
    assert.equal(out.wins, 2);
  });
});
