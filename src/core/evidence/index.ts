/** Evidence from runs: test cases from the workflow, the node's request, a judged comparison, the gate's verdict. */
export * from './stats';
export * from './usage';
export * from './workflow';
export * from './request';
export * from './checklist';
export * from './judge';
export * from './cases';
export * from './evaluate';
export * from './report';
export * from './gather';
