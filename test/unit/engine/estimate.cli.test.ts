import { strict as assert } from 'node:assert';
import { createOptimizeCommand } from '../../../src/cli/commands/optimize';
import { evidenceHandler, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { cli, workspace } from '../evidence/helpers';

const KEY = { OPENAI_API_KEY: 'sk-estimate-test-0001' };

/** Requests the fake server answered (what a run cost), once they settle. */
async function answeredCount(srv: FakeOpenAIServer): Promise<number> {
  await new Promise((r) => setTimeout(r, 50));
  return srv.chatRequests().filter((r) => r.outcome === 'answered').length;
}

describe('optimize: the estimate before spending, against the calls the fake server received', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer | undefined;
  beforeEach(() => {
    w = workspace();
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w.cleanup();
  });

  const estimateIn = (err: string) => Number(/Estimate: at most (\d+) call/.exec(err)?.[1] ?? NaN);

  for (const [name, rewrite, strategies] of [
    ['a winner through the gate, two LLM strategies, 3 iterations', HEURISTIC_NEUTRAL_WINNER, ['llm_guided', 'hybrid']],
    ['a heuristic-better loser', HEURISTIC_BETTER_LOSER, ['llm_guided']],
    ['the default rewrite that keeps improving', undefined, ['llm_guided', 'llm_clarity']],
  ] as const) {
    it(`first run (${name}): the server gets at most the estimate; the re-run estimates 0 and asks nothing`, async () => {
      const model = evidenceHandler({ rewrite });
      srv = await startFakeOpenAI({ handler: model.handler });
      const args = ['optimize', 'support.yml', ...strategies.flatMap((s) => ['--strategy', s]), '--prompt', w.promptId, '--base-url', srv.url, '--model', 'm'];
      const first = await cli([...args, '--yes'], w.ws, KEY);
      assert.equal(first.code, 0, first.err);
      const est = estimateIn(first.err);
      const sent = await answeredCount(srv);
      assert.ok(sent > 0);
      assert.ok(sent <= est, `sent ${sent} > estimate ${est}\n${first.err}`);
      console.log(`      ${name}: estimate ${est}, sent ${sent}`);
      let asked = 0;
      const again = createOptimizeCommand({ confirm: async () => (asked++, false) });
      let err = '';
      const code = await again.run([...args.slice(1)], { stdout: () => undefined, stderr: (s) => (err += s), env: KEY, cwd: w.ws, signal: new AbortController().signal });
      assert.equal(code, 0, err);
      assert.equal(asked, 0, 'a run the cache covers asks nothing');
      assert.doesNotMatch(err, /Estimate:/);
      assert.equal(await answeredCount(srv), sent, 'the re-run sent nothing');
    });
  }
});
