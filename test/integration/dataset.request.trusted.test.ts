import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult } from '../../src/extension/commands/optimizeWithDataset';
import { startFakeOpenAI, type FakeOpenAIServer, type ParsedChatRequest, type ScriptedReply } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { open, revertAndCloseAll, workCopy } from './support/ext';
import { workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}dataset-request-3e7a`;
const FILE = 'recommended__Question_Classifier_Knowledge_Chatbot__d9f6b733.yml';
const PROMPT = '1711528709608/instruction';
const AFTER_SALES = '1711528736036';

/** A scripted classifier (a TEST DOUBLE on 127.0.0.1): the after-sales id for refunds and breakage. */
function handler(req: ParsedChatRequest): ScriptedReply {
  const q = /"input_text": \["([^"]*)"\]/.exec(req.messages[req.messages.length - 1]?.content ?? '')?.[1] ?? '';
  return { content: `{"category_id": "${/refund|broken|return/i.test(q) ? AFTER_SALES : '1711528736549'}"}` };
}

/**
 * "Optimize Prompt with Dataset…" on a question classifier's instruction sends each example in
 * Dify's classifier template with the node's model and parameters, as the evidence gate does.
 */
describe("Optimize Prompt with Dataset sends the node's request as Dify builds it (trusted)", function () {
  this.timeout(60000);
  let srv: FakeOpenAIServer;
  let dataset: string;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');

  before(async () => {
    srv = await startFakeOpenAI({ handler });
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    const dir = path.join(workspaceDir(), '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    dataset = path.join(dir, 'classifier-request.jsonl');
    const rows = ['My parcel arrived broken', 'How do I pair the remote?', 'I want a refund', 'Where is the reset button?', 'Can I return shoes?', 'How to charge it'];
    fs.writeFileSync(dataset, rows.map((q, i) => JSON.stringify({ id: `c${i + 1}`, 'sys.query': q, expected: /refund|broken|return/i.test(q) ? AFTER_SALES : '1711528736549' })).join('\n') + '\n');
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    await config().update('llm.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });

  it("KNN on a classifier instruction: every task request is the classifier's template on the node's model, the demos inside the instruction", async () => {
    fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
    srv.reset();
    const editor = await open(workCopy(FILE, 'classifier-request'));
    const res = await vscode.commands.executeCommand<DatasetRunResult>('promptOptimizer.optimizeWithDataset', editor.document.uri, PROMPT, { dataset, optimizer: 'knn', confirmed: true });
    assert.equal(res.ran, true, res.message);
    const tasks = srv.chatRequests().map((r) => r.body as { model: string; temperature: number; max_tokens: number; messages: Array<{ role: string; content: string }> });
    assert.ok(tasks.length > 0);
    let demos = 0;
    for (const t of tasks) {
      assert.deepEqual(t.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'assistant', 'user']);
      assert.ok(t.messages[0]!.content.startsWith("\n### Job Description',"), t.messages[0]!.content.slice(0, 80));
      assert.deepEqual([t.model, t.temperature, t.max_tokens], ['gpt-3.5-turbo', 0.7, 512]);
      const last = t.messages[5]!.content;
      assert.match(last, /"categories": \[\{"category_id": "1711528736036", "category_name": "Question related to after sales"\}/);
      if (last.includes('## Examples')) demos += 1;
      else assert.match(last, /"classification_instructions": \[""\]\}\n$/);
    }
    assert.ok(demos > 0, 'the demo candidates ran, their block inside classification_instructions');
  });
});
