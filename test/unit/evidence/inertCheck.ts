/**
 * A check of our own (no markdown parser) that a markdown report holds no active construct made
 * of untrusted text: every fence closes and nothing outside a fence is raw HTML, a link, an image,
 * an autolink, a code span, emphasis, math, a block we did not write, or a table cell too many.
 */

/** Block starts the report itself writes (anything else outside a fence was injected). */
const OWN_LINES = [/^# Evidence: /, /^## (Looks|Requirements|Prompts|Cases)$/, /^### /, /^\*\*Verdict: /, /^Win rate /, /^Cases: /, /^Judge/, /^Note: /, /^Calls: /, /^\| /, /^\|(---\|)+$/, /^Input:$/, /^Current answer:$/, /^Candidate answer:$/, /^Reason: /, /^Checks: /];

export function activeConstructs(md: string): string[] {
  const problems: string[] = [];
  const lines = md.split(/\r\n|\r|\n/);
  let fence: { ch: string; len: number; line: number } | undefined;
  let columns = 0;
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${JSON.stringify(line.slice(0, 80))}`;
    if (fence) {
      const m = /^ {0,3}(`+|~+)[ \t]*$/.exec(line);
      if (m && m[1]![0] === fence.ch && m[1]!.length >= fence.len) fence = undefined;
      return;
    }
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open) {
      if (open[1]![0] === '`' && open[2]!.includes('`')) problems.push(`${at}: a backtick in a fence's info string`);
      fence = { ch: open[1]![0]!, len: open[1]!.length, line: i + 1 };
      return;
    }
    if (line === '') return;
    if (!OWN_LINES.some((re) => re.test(line))) problems.push(`${at}: a block the report did not write`);
    // What is left once every backslash escape is taken out.
    const bare = line.replace(/\\[\s\S]/g, '\u0001');
    if (bare.includes('<')) problems.push(`${at}: raw <`);
    if (/&(?!(amp|lt|gt);)/.test(bare)) problems.push(`${at}: an entity other than &amp; &lt; &gt;`);
    for (const [re, what] of [
      [/[[\]]/, 'link or image brackets'],
      [/\]\(/, 'link syntax ]('],
      [/`/, 'a code span'],
      [/_/, 'emphasis _'],
      [/[$~={}^]/, 'math, strikethrough, highlight or attribute markup'],
      [/:\/\//, 'a URL'],
      [/www\./i, 'a www. link'],
      [/\w@\w/, 'an e-mail address'],
      [/\w\.[a-z]{2,}\b/i, 'a bare domain'],
    ] as Array<[RegExp, string]>) {
      if (re.test(bare)) problems.push(`${at}: ${what}`);
    }
    const stars = bare.replace(/^\*\*Verdict: (.*)\*\*$/, '$1');
    if (stars.includes('*')) problems.push(`${at}: emphasis *`);
    if (line.startsWith('| ')) {
      const cells = (bare.match(/\|/g) ?? []).length;
      if (/^\|(---\|)+$/.test(line) || columns === 0) columns = cells;
      else if (cells !== columns) problems.push(`${at}: ${cells - 1} table cells, the table has ${columns - 1}`);
    } else if (!/^\|/.test(line)) columns = 0;
  });
  if (fence) problems.push(`the fence opened on line ${fence.line} never closes`);
  return problems;
}
