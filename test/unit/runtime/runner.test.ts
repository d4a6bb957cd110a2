/** The node runner: the one path evidence and dataset runs send a prompt on a case through. */
import { strict as assert } from 'node:assert';
import { parseDify } from '../../../src/core/dsl';
import { runExample } from '../../../src/core/evaluation/run';
import type { ChatRequest, ChatResponse, LlmClient } from '../../../src/core/llm/types';
import { buildTaskCall, modelNodeRunner, nodeSpecOf, readWorkflow, taskRequest, type Example, type NodeRunner } from '../../../src/core/runtime';
import { SUPPORT_CHATFLOW } from '../../support/evidenceModel';

/** Records what it is sent and answers with the request's last message. */
function recordingClient(finishReason = 'stop'): LlmClient & { sent: ChatRequest[] } {
  const sent: ChatRequest[] = [];
  return {
    sent,
    async chat(req: ChatRequest): Promise<ChatResponse> {
      sent.push(req);
      return { text: `echo:${req.messages[req.messages.length - 1]!.content}`, finishReason, usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, model: req.model ?? 'configured', cached: false, costUsd: 0 };
    },
    async embed() {
      return [];
    },
    usage: () => ({ calls: 0, cachedCalls: 0, retries: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }),
  } as LlmClient & { sent: ChatRequest[] };
}

const example: Example = { id: 'c1', vars: { 'sys.query': 'How do I reset my password?', '1700000000001.product': 'Cloud' }, source: { file: 't', line: 1 } };

describe('runtime: the node runner', () => {
  const doc = parseDify(SUPPORT_CHATFLOW);
  const rec = doc.prompts[0]!;
  const spec = nodeSpecOf(readWorkflow(doc), rec)!;

  it('sends exactly the request Dify builds for the node, with the candidate text in place', async () => {
    const client = recordingClient();
    const ans = await modelNodeRunner(client).run({ record: rec, spec, text: 'You are terse. {{#sys.query#}}', example }, { tag: 'evidence:task' });
    const want = taskRequest(buildTaskCall({ record: rec, spec, text: 'You are terse. {{#sys.query#}}' }, example), { tag: 'evidence:task' });
    assert.equal(client.sent.length, 1);
    assert.deepEqual(client.sent[0]!.messages, want.messages);
    assert.equal(client.sent[0]!.model, 'task-model');
    assert.equal(client.sent[0]!.temperature, want.temperature);
    assert.equal(ans.output, `echo:${want.messages[want.messages.length - 1]!.content}`);
    assert.equal(ans.truncated, false);
    assert.equal(ans.response?.usage.totalTokens, 5);
  });

  it('model choice: the node\'s own by default, an override, or (dataset runs) the configured one', async () => {
    const client = recordingClient();
    const r = modelNodeRunner(client);
    await r.run({ record: rec, spec, example }, {});
    await r.run({ record: rec, spec, example }, { model: 'judge-free' });
    await r.run({ record: rec, spec, example }, { nodeModel: false });
    assert.deepEqual(client.sent.map((q) => q.model), ['task-model', 'judge-free', undefined]);
  });

  it('a cut-off answer is reported as truncated', async () => {
    const ans = await modelNodeRunner(recordingClient('length')).run({ record: rec, spec, example });
    assert.equal(ans.truncated, true);
  });

  it('dataset runs go through a given runner (answers from elsewhere, e.g. Dify itself)', async () => {
    const client = recordingClient();
    const seen: string[] = [];
    const runner: NodeRunner = {
      source: 'dify',
      async run(c) {
        seen.push(`${c.text ?? c.record.text}|${c.example.id}`);
        return { output: 'from the runner' };
      },
    };
    const res = await runExample({ record: rec, spec, text: 'candidate' }, example, { client, runner, metrics: [] });
    assert.equal(res.output, 'from the runner');
    assert.deepEqual(seen, ['candidate|c1']);
    assert.equal(client.sent.length, 0, 'the task call went to the runner, not the client');
  });
});
