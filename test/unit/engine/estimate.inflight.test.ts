import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createOptimizeCommand } from '../../../src/cli/commands/optimize';
import { createLlmClient, type ChatRequest, type LlmClient } from '../../../src/core/llm';
import { createEvidenceGate } from '../../../src/core/service/gateFactory';
import { estimateOptimizeDocument } from '../../../src/core/service/estimate';
import { llmCacheDir, loadEngineConfig } from '../../../src/core/service/workspace';
import { evidenceHandler, HEURISTIC_NEUTRAL_WINNER } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { workspace } from '../evidence/helpers';

const KEY = 'sk-estimate-inflight-0001';

/**
 * The test cases are written in batches sent side by side. The replay refuses the first batch
 * it does not hold; a second batch whose cache look-up is slower must still be counted (it was
 * once lost when the refusal settled the replay first: "1 to write test cases" where the run
 * sent 2).
 */
describe('estimate: side-by-side requests still in flight when the replay ends are counted', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer | undefined;
  beforeEach(() => (w = workspace()));
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w.cleanup();
  });

  for (const delayMs of [0, 5, 60]) {
    it(`a later case batch's look-up ${delayMs} ms slower than the first: both batches counted`, async () => {
      srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
      fs.mkdirSync(path.join(w.ws, '.optimizer'), { recursive: true });
      fs.writeFileSync(path.join(w.ws, '.optimizer', 'config.yaml'), 'evidence: { max_cases: 12 }\n');
      const args = ['support.yml', '--strategy', 'llm_guided', '--iterations', '1', '--prompt', w.promptId, '--base-url', srv.url, '--model', 'm', '--yes'];
      const io = { stdout: () => undefined, stderr: () => undefined, env: { OPENAI_API_KEY: KEY }, cwd: w.ws, signal: new AbortController().signal };
      // The rewrite into the cache (no gate), so the replay reaches the gate's cases.
      assert.equal(await createOptimizeCommand().run([...args, '--evidence', 'off'], io), 0);

      const config = await loadEngineConfig(w.ws, [{ strategies: ['llm_guided'], maxIterations: 1 }]);
      const real = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { cacheDir: llmCacheDir(w.ws) });
      let batches = 0;
      const slow: LlmClient = {
        chat: (req) => real.chat(req),
        embed: (r) => real.embed(r),
        usage: () => real.usage(),
        peek: async (req: ChatRequest) => {
          if (req.tag === 'evidence:cases' && batches++ > 0) await new Promise((r) => setTimeout(r, delayMs));
          return real.peek!(req);
        },
      };
      const sentBefore = srv.chatRequests().length;
      const est = await estimateOptimizeDocument({
        file: w.file,
        text: fs.readFileSync(w.file, 'utf8'),
        workspaceRoot: w.ws,
        config,
        promptIds: [w.promptId],
        force: true,
        llm: slow,
        evidenceGate: createEvidenceGate,
        model: 'm',
      });
      assert.ok(est);
      assert.equal(batches, 2, 'the cases are asked in two batches');
      assert.equal(est.byKind.cases.calls, 2, JSON.stringify(est.byKind));
      assert.equal(est.calls, 51);
      assert.equal(srv.chatRequests().length, sentBefore, 'the estimate sent nothing');
    });
  }
});
