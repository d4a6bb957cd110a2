/** The earlier turns of a conversation, as a test case gives them in its `histories` value. */

/** One earlier turn of the conversation. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** The `histories` value of a case: a JSON list of turns; anything else reads as no history. */
export function historiesOf(vars: Record<string, string>): Turn[] {
  const raw = vars.histories;
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((t): t is { role: string; content: unknown } => typeof t === 'object' && t !== null && typeof (t as { role?: unknown }).role === 'string')
      .filter((t) => t.role === 'user' || t.role === 'assistant')
      .map((t) => ({ role: t.role as Turn['role'], content: typeof t.content === 'string' ? t.content : JSON.stringify(t.content ?? '') }));
  } catch {
    return [];
  }
}
