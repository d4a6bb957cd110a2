import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Previous Proposal: opens the previous pending proposal of the review queue. */
export const previousProposal: CommandDef = {
  id: Commands.previousProposal,
  run: async (s: Services) => (await s.review.step(-1))?.id,
};
