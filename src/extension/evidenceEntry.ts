/**
 * Entry of the lazily loaded bundle `dist/evidence.js`: test cases, the node's request, the
 * checklist and judge (nunjucks, ajv), loaded only when a run gathers evidence or the user
 * generates test cases.
 */
export { createEvidenceGate } from '../core/service/gateFactory';
export { ensureCases, planCases, promptContext, DEFAULT_CASES } from '../core/evidence/gather';
export { casesFileFor } from '../core/evidence/cases';
export { evidencePage } from '../core/evidence/reportPage';
