/** The Ensemble's budget plan (pure) and the member client that counts a member's own calls. */
import * as assert from 'node:assert/strict';
import { MemberClient, planMemberBudgets } from '../../../src/core/optimizers';
import { startFakeOpenAI } from '../../support';
import { client } from './helpers';

describe('Ensemble budget plan', () => {
  it('gives every member its minimum, shares the rest by need beyond it, and never more than its estimate', () => {
    const plans = planMemberBudgets(
      [
        { optimizer: 'copro', estimatedCalls: 140, minimumCalls: 50 },
        { optimizer: 'knn', estimatedCalls: 70, minimumCalls: 16 },
      ],
      142,
    );
    // left after minimums: 76, shared 90 : 54
    assert.deepEqual(
      plans.map((p) => [p.optimizer, p.allottedCalls, p.cutShort]),
      [
        ['copro', 50 + Math.floor((76 * 90) / 144), undefined],
        ['knn', 16 + Math.floor((76 * 54) / 144), undefined],
      ],
    );
    assert.ok(plans.reduce((n, p) => n + p.allottedCalls, 0) <= 142);
    const rich = planMemberBudgets([{ optimizer: 'knn', estimatedCalls: 70, minimumCalls: 16 }], 1000);
    assert.equal(rich[0]!.allottedCalls, 70);
  });

  it('cuts, before it starts, a member whose minimum does not fit after the members before it', () => {
    const plans = planMemberBudgets(
      [
        { optimizer: 'copro', estimatedCalls: 140, minimumCalls: 50 },
        { optimizer: 'gepa', estimatedCalls: 98, minimumCalls: 23 },
        { optimizer: 'knn', estimatedCalls: 70, minimumCalls: 16 },
      ],
      70,
    );
    assert.equal(plans[0]!.cutShort, undefined);
    assert.match(plans[1]!.cutShort!, /^not run: it needs at least 23 calls to validate one candidate, and the calls budget left 20/);
    assert.equal(plans[2]!.cutShort, undefined, 'a later member that fits still runs');
    assert.equal(plans[1]!.allottedCalls, 0);
    assert.ok(plans[0]!.allottedCalls + plans[2]!.allottedCalls <= 70);
  });

  it('a member client counts its own calls (chat and embeddings) while usage stays the shared total', async () => {
    const srv = await startFakeOpenAI({ handler: () => ({ content: 'ok' }) });
    try {
      const shared = client(srv.url);
      const a = new MemberClient(shared);
      const b = new MemberClient(shared);
      await a.chat({ messages: [{ role: 'user', content: 'one' }], noCache: true });
      await a.chat({ messages: [{ role: 'user', content: 'two' }], noCache: true });
      await b.chat({ messages: [{ role: 'user', content: 'three' }], noCache: true });
      await b.embed({ input: ['x'] });
      assert.equal(a.spent().calls, 2);
      assert.equal(b.spent().calls, 2);
      assert.equal(a.usage().calls, shared.usage().calls);
      assert.ok(a.spent().tokens > 0);
    } finally {
      await srv.close();
    }
  });
});
