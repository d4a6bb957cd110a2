import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/** Reject Proposal: leaves the file untouched and records the proposal as rejected. */
export const rejectProposal: CommandDef = {
  id: Commands.rejectProposal,
  run: (s: Services, id?: unknown) => s.review.reject(typeof id === 'string' ? id : undefined),
};
