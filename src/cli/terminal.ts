/**
 * Terminal safety: text from an export (node titles, ids, prompts) must not drive the terminal.
 * Every control character but newline and tab — C0 (ESC starts colour, cursor and title
 * sequences; CR overwrites a line), DEL, C1 (U+009B is a one-character CSI) — and the Unicode
 * bidirectional overrides/isolates (which reorder what is shown) are written as `\uXXXX`.
 * Inside JSON output these only occur within strings (JSON.stringify escapes C0 itself), where
 * `\uXXXX` is the same value, so `--json` stays valid and exact.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControls(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
