import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Accept Proposal: the active proposal diff's (or the given id's) write-back as one undoable edit. */
export const acceptProposal: CommandDef = {
  id: Commands.acceptProposal,
  run: (s: Services, id?: unknown) => s.review.accept(typeof id === 'string' ? id : undefined),
};
