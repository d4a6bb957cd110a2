import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Next Proposal: opens the next pending proposal of the review queue (or the given id). */
export const nextProposal: CommandDef = {
  id: Commands.nextProposal,
  async run(s: Services, id?: unknown) {
    const p = typeof id === 'string' ? s.queue.get(id) : undefined;
    if (p) {
      await s.review.open(p);
      return p.id;
    }
    return (await s.review.step(1))?.id;
  },
};
