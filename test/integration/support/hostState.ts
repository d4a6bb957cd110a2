/** State the in-host runner records before suites load, read by suites. */
export const hostState: {
  /** Whether our extension was already active when the runner started (null: not installed). */
  extensionActiveAtStart: boolean | null;
} = { extensionActiveAtStart: null };
