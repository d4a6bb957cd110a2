/**
 * Untrusted text (model answers, judge reasons, case inputs and notes, requirement texts, ids
 * from the cases file) made inert for markdown and HTML. Nothing in such text may become a link,
 * an image, an HTML element, a heading, a list, a table row or the end of a code fence.
 */

/** Longest run of `ch` in `text`. */
function longestRun(text: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Punctuation that is markup inside a line of CommonMark/GFM or of the common extensions (math
 * `$`, highlight `==`, attributes `{}`, footnotes `^`): backslash-escaped. Block markers need no
 * escape: the text never starts a line (it always follows our own prefix).
 */
const MD_PUNCT = /[\\`*_[\]()!|~$=^{}#<>&]/g;

/**
 * One line of inert markdown text: whitespace (newlines included) collapsed to single spaces, so
 * no block (heading, list, quote, table row, fence) can start; markup punctuation backslash-escaped
 * (no emphasis, link, image, code span, math or table cell separator); `&<>` as entities (no HTML,
 * no autolink, no entity smuggled through); URL, domain and e-mail shapes broken with a zero-width
 * space so no renderer's linkify turns them into links. `max` cuts it with `…`.
 */
export function mdInline(text: string, max = Infinity): string {
  let one = text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (one.length > max) one = `${one.slice(0, Math.max(0, max - 1))}…`;
  return one
    .replace(/:\/\//g, ':\u200b//')
    .replace(/www\./gi, (m) => `${m.slice(0, 3)}\u200b.`)
    .replace(/(\w)\.(?=\w)/g, '$1.\u200b')
    .replace(/@/g, '\u200b@')
    .replace(MD_PUNCT, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`));
}

/**
 * A fenced code block holding `text` literally: the fence is one backtick longer than the longest
 * run of backticks in the text (at least three), so no line of the text can close it; a lone CR
 * (a line break to markdown) is kept inside. Empty text is shown as "(empty)".
 */
export function mdFence(text: string, info = 'text'): string {
  const t = text === '' ? '(empty)' : text.replace(/\u0000/g, '\ufffd');
  const fence = '`'.repeat(Math.max(3, longestRun(t, '`') + 1));
  return `${fence}${info}\n${t}\n${fence}`;
}

/** Text for HTML element content or a quoted attribute value. */
export function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}
