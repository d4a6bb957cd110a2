import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * VS Code 1.100's command palette (platform/quickinput/browser/commandsQuickAccess.ts) keeps the
 * commands whose "Category: Title" label matches the typed words (prefix, words in order, or
 * contiguous substring), then, in a fresh profile (no recently used commands), sorts them by
 * label with localeCompare; the first row runs on Enter. View containers add "<container
 * title>: Focus on <view name> View". So "optimize prompt" + Enter runs Optimize Prompt only if
 * every other label the words can match sorts after it. This check is conservative: it counts
 * as a match every label holding "optimize" followed anywhere later by "prompt".
 */
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8'));

function paletteLabels(): { id: string; label: string }[] {
  const out: { id: string; label: string }[] = [];
  for (const c of pkg.contributes.commands as { command: string; title: string; category?: string }[]) {
    out.push({ id: c.command, label: c.category ? `${c.category}: ${c.title}` : c.title });
  }
  const containers = Object.values(pkg.contributes.viewsContainers ?? {}).flat() as { id: string; title: string }[];
  for (const [containerId, views] of Object.entries(pkg.contributes.views ?? {}) as [string, { id: string; name: string }[]][]) {
    const title = containers.find((c) => c.id === containerId)?.title;
    for (const v of views) out.push({ id: `${v.id}.focus`, label: `${title ? `${title}: ` : ''}Focus on ${v.name} View` });
  }
  return out;
}

const mayMatch = (query: string[], label: string) => {
  let at = 0;
  for (const w of query) {
    const i = label.toLowerCase().indexOf(w, at);
    if (i < 0) return false;
    at = i + w.length;
  }
  return true;
};

describe('command palette: "optimize prompt" + Enter runs Optimize Prompt', () => {
  it('every other label the words "optimize prompt" can match sorts after "Prompt Optimizer: Optimize Prompt"', () => {
    const labels = paletteLabels();
    const target = labels.find((l) => l.id === 'promptOptimizer.optimizePrompt')!;
    assert.equal(target.label, 'Prompt Optimizer: Optimize Prompt');
    const before = labels.filter((l) => l !== target && mayMatch(['optimize', 'prompt'], l.label) && l.label.localeCompare(target.label) <= 0);
    assert.deepEqual(
      before.map((l) => l.label),
      [],
      'these would be listed above Optimize Prompt in a fresh profile: choose titles that sort after it (or hold no word after "Optimizer" starting with "prompt")',
    );
  });
});
