import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { analyzePrompt } from '../../src/core/analysis';
import { parseDify, sourceOffsetOf } from '../../src/core/dsl';
import { api, IMPROVABLE, open, revertAndCloseAll, workCopy } from './support/ext';
import { until } from './support/ext';
import { ourExtension, waitFor } from './support/helpers';

/** A corpus file whose prompt in an escaped double-quoted scalar has vague terms and filler phrases. */
const ESCAPED = { file: 'Dify 运营一条龙.yml', promptId: '1721714550947/msg:5e00fc4a-1c49-472f-b501-d0cf7c21a7a1' };

describe('editor: CodeLens, diagnostics, code actions (analysis works in both trust modes)', () => {
  after(revertAndCloseAll);

  it('activates in well under the 30 ms target and reports the figure', async () => {
    const a = await api();
    assert.equal(typeof a.activationMs, 'number');
    assert.equal(typeof a.activationCpuMs, 'number');
    // Figures for the closing note: <extension>/test-results/figures/activation-<mode>.json
    // (the UI tier clears test-results/ but keeps figures/).
    const out = path.join(ourExtension().extensionPath, 'test-results', 'figures');
    fs.mkdirSync(out, { recursive: true });
    const mode = vscode.workspace.isTrusted ? 'trusted' : 'restricted';
    fs.writeFileSync(path.join(out, `activation-${mode}.json`), JSON.stringify({ activationMs: a.activationMs, activationCpuMs: a.activationCpuMs, moduleLoadMs: a.moduleLoadMs }, null, 2));
    // The target is on what activation costs: CPU time. The wall clock also counts the time the
    // host was not scheduled while VS Code starts beside it on a busy machine (a CI run once saw
    // 51 ms of wall clock for ~5 ms of work), so it only has to stay clear of a visible stall.
    assert.ok(a.activationCpuMs <= 30, `activate() used ${a.activationCpuMs} ms of CPU (target 30 ms; wall clock ${a.activationMs} ms)`);
    assert.ok(a.activationMs <= 250, `activate() took ${a.activationMs} ms of wall clock (CPU ${a.activationCpuMs} ms)`);
  });

  it('sets the Dify-export context key by content, not by name', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'ctx');
    await open(file);
    // A YAML file that is not an export: the context key turns false (palette entries hidden).
    const other = await vscode.workspace.openTextDocument({ language: 'yaml', content: 'name: not a dify export\nitems: [1, 2]\n' });
    await vscode.window.showTextDocument(other);
    const r = await vscode.commands.executeCommand<unknown>('promptOptimizer.analyzePrompts');
    assert.equal(r, undefined, 'Analyze Prompts ran on a YAML file that is not a Dify export');
    // Same content as the export but an unusual name: still recognised.
    const content = (await vscode.workspace.openTextDocument(file)).getText();
    const renamed = await vscode.workspace.openTextDocument({ language: 'yaml', content });
    await vscode.window.showTextDocument(renamed);
    const r2 = await vscode.commands.executeCommand<{ prompts: unknown[] }>('promptOptimizer.analyzePrompts');
    assert.equal(r2?.prompts.length, parseDify(content).prompts.length);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('says in the Problems panel, at its line, why an export cannot be read (and clears it once fixed)', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'broken');
    const editor = await open(file);
    const doc = editor.document;
    await waitFor('the export to be analysed', () => vscode.languages.getDiagnostics(doc.uri).every((d) => d.code !== 'DSL_DUPLICATE_KEY'));
    // Duplicate the line `kind: app` right after itself: a duplicate key at that line + 1.
    const line = doc.getText().split('\n').findIndex((l) => l === 'kind: app');
    assert.ok(line >= 0, 'fixture has a top-level kind: app line');
    await editor.edit((e) => e.insert(new vscode.Position(line + 1, 0), 'kind: app\n'));
    const broken = await until('a diagnostic for the duplicate key', () =>
      vscode.languages.getDiagnostics(doc.uri).find((d) => d.source === 'Prompt Optimizer' && d.code === 'DSL_DUPLICATE_KEY'),
    );
    assert.equal(broken.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(broken.range.start.line, line + 1, `reported at line ${broken.range.start.line + 1}: ${broken.message}`);
    assert.match(broken.message, /cannot read this Dify export/);
    await vscode.commands.executeCommand('undo');
    await waitFor('the diagnostic to clear after undo', () => !vscode.languages.getDiagnostics(doc.uri).some((d) => d.code === 'DSL_DUPLICATE_KEY'), 5000);
  });

  it('shows a CodeLens above each prompt with its score, Optimize and the command arguments', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'lens');
    const editor = await open(file);
    const doc = editor.document;
    const parsed = parseDify(doc.getText());
    const lenses = await until('CodeLenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
      return l && l.filter((x) => x.command?.command?.startsWith('promptOptimizer.')).length >= parsed.prompts.length * 2 ? l : undefined;
    });
    for (const p of parsed.prompts) {
      const line = p.range!.start.line - 1;
      const here = lenses.filter((l) => l.range.start.line === line && l.command?.command?.startsWith('promptOptimizer.'));
      const score = analyzePrompt(p).overall;
      const scoreLens = here.find((l) => l.command!.title.startsWith('Score '));
      assert.ok(scoreLens, `no score lens on line ${line + 1} for ${p.id}`);
      assert.match(scoreLens.command!.title, new RegExp(`^Score ${String(Math.round(score * 10) / 10).replace('.', '\\.')}\\b`));
      const opt = here.find((l) => l.command!.title === 'Optimize');
      assert.ok(opt, `no Optimize lens for ${p.id}`);
      assert.equal(opt.command!.command, 'promptOptimizer.optimizePrompt');
      assert.equal((opt.command!.arguments![0] as vscode.Uri).toString(), doc.uri.toString());
      assert.equal(opt.command!.arguments![1], p.id);
    }
  });

  it('puts analysis issues in the Problems panel with ranges inside the YAML values (escaped double-quoted scalar included)', async () => {
    const a = await api();
    const file = workCopy(ESCAPED.file, 'diag');
    const editor = await open(file);
    const doc = editor.document;
    const text = doc.getText();
    const parsed = parseDify(text);
    const diags = await until('diagnostics', () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'Prompt Optimizer');
      return d.length > 0 ? d : undefined;
    });
    // Same count as the analysis of every prompt.
    const expected = parsed.prompts.filter((p) => p.range).reduce((n, p) => n + analyzePrompt(p).issues.length, 0);
    assert.equal(diags.length, expected);
    // Every range lies inside a prompt's value range.
    for (const d of diags) {
      const s = doc.offsetAt(d.range.start);
      const e = doc.offsetAt(d.range.end);
      assert.ok(parsed.prompts.some((p) => p.range && p.range.start.offset <= s && e <= p.range.end.offset), `diagnostic "${d.message}" at ${s}-${e} is outside every prompt value`);
    }
    // In the escaped double-quoted prompt, a word issue covers exactly that word in the file.
    const rec = parsed.prompts.find((p) => p.id === ESCAPED.promptId)!;
    assert.equal(text[rec.range!.start.offset], '"', 'fixture prompt is no longer double-quoted');
    const words = analyzePrompt(rec).issues.filter((i) => i.kind === 'vague-term');
    assert.ok(words.length > 0);
    for (const issue of words) {
      const word = rec.text.slice(issue.start, issue.end);
      const d = diags.find((x) => x.code === 'vague-term' && doc.getText(x.range) === word && doc.offsetAt(x.range.start) === sourceOffsetOf(rec, text, issue.start).offset);
      assert.ok(d, `no diagnostic covering "${word}" at its place in the escaped scalar`);
      assert.equal(d.severity, issue.severity === 'error' ? vscode.DiagnosticSeverity.Error : issue.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information);
    }
    assert.deepEqual((await a.refreshDiagnostics(doc)).length, expected);
  });

  it('refreshes diagnostics after an edit (debounced) without blocking typing', async () => {
    await api();
    const file = workCopy(ESCAPED.file, 'diag-edit');
    const editor = await open(file);
    const doc = editor.document;
    await waitFor('diagnostics', () => vscode.languages.getDiagnostics(doc.uri).some((x) => x.code === 'vague-term'));
    const before = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.code === 'vague-term').length;
    // Replace one vague word by a precise one inside the scalar.
    const d = vscode.languages.getDiagnostics(doc.uri).find((x) => x.code === 'vague-term')!;
    const t0 = Date.now();
    await editor.edit((e) => e.replace(d.range, 'exact'));
    const editMs = Date.now() - t0;
    await waitFor('diagnostics to drop the fixed issue', () => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.code === 'vague-term').length === before - 1, 5000);
    assert.ok(editMs < 1000, `the edit took ${editMs} ms`);
  });

  it('offers "Optimize this prompt", and a quick fix that rewrites only the issue inside the value', async () => {
    await api();
    const file = workCopy(ESCAPED.file, 'actions');
    const editor = await open(file);
    const doc = editor.document;
    const recBefore = parseDify(doc.getText()).prompts.find((p) => p.id === ESCAPED.promptId)!;
    const diag = await until('a redundant-phrase diagnostic in the escaped prompt', () =>
      vscode.languages.getDiagnostics(doc.uri).find((x) => x.code === 'redundant-phrase' && doc.offsetAt(x.range.start) > recBefore.range!.start.offset && doc.offsetAt(x.range.end) < recBefore.range!.end.offset),
    );
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range);
    const optimize = actions.find((a) => a.title === 'Optimize this prompt');
    assert.ok(optimize, `actions: ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(optimize.kind?.value, 'refactor.rewrite');
    assert.equal(optimize.command?.arguments?.[1], ESCAPED.promptId);
    const fix = actions.find((a) => a.kind?.value === 'quickfix' && a.title.startsWith('Fix:'));
    assert.ok(fix?.edit, `no quick fix with an edit: ${actions.map((a) => `${a.kind?.value}:${a.title}`).join(' | ')}`);
    const before = doc.getText();
    const rec = recBefore;
    const issue = analyzePrompt(rec).issues.find((i) => i.kind === 'redundant-phrase')!;
    const word = rec.text.slice(issue.start, issue.end);
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    const after = doc.getText();
    const recAfter = parseDify(after).prompts.find((p) => p.id === ESCAPED.promptId)!;
    assert.notEqual(recAfter.text, rec.text);
    assert.equal(recAfter.text.split(word).length, rec.text.split(word).length - 1, `the fix did not remove one "${word}"`);
    // Only bytes inside the prompt's value changed; every other prompt is the same.
    assert.equal(after.slice(0, rec.range!.start.offset), before.slice(0, rec.range!.start.offset));
    assert.equal(after.slice(after.length - (before.length - rec.range!.end.offset)), before.slice(rec.range!.end.offset));
    for (const p of parseDify(after).prompts) if (p.id !== ESCAPED.promptId) assert.equal(p.text, parseDify(before).prompts.find((q) => q.id === p.id)!.text);
    assert.equal(doc.isDirty, true);
  });
});
