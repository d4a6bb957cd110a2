/**
 * What the extension last showed where the VS Code API gives tests no way to look (the items of
 * a quick pick, the run's status bar item). Read through the extension API; nothing else uses it.
 */

/** The "Optimize which prompt?" quick pick as it was shown, and the item the user has on it. */
export interface PromptPickTrace {
  title: string;
  items: Array<{ label: string; description: string; promptId: string }>;
  /** Prompt id of the item currently active (highlighted) in the open pick. */
  active?: string;
  /** Whether the pick has closed (picked or dismissed). */
  closed: boolean;
}

/** The status bar item of an optimization run. */
export interface RunStatusTrace {
  visible: boolean;
  text: string;
}

export class UiTrace {
  promptPick: PromptPickTrace | undefined;
  modelPick: ModelPickTrace | undefined;
}

/** The Select Model quick pick as last shown: its items (choice ids) and the active one. */
export interface ModelPickTrace {
  title: string;
  items: Array<{ label: string; description: string; id: string; detail?: string; /** Marked current: what a run would use now. */ current?: boolean }>;
  active?: string;
  /** Whether the local-server probe is still running. */
  probing: boolean;
  closed: boolean;
}
