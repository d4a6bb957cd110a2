/** Evidence from runs: test cases from the workflow, a judged comparison of both prompts' answers (run by runtime/), the gate's verdict. */
export * from './stats';
export * from './usage';
export * from './checklist';
export * from './judge';
export * from './cases';
export * from './evaluate';
export * from './report';
export * from './gather';
