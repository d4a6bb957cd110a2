/** Test support shared by unit, integration (VS Code) and e2e suites. Plain Node; no mocha. */
export * from './fakeOpenAI';
