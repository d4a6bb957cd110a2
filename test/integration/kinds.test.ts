import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parseDify } from '../../src/core/dsl';
import { api, open, revertAndCloseAll, until } from './support/ext';
import { sourceCopy } from './support/sourceFixtures';

describe('editor: every prompt kind of contract v2 (labels, query templates, agent query, odd fields)', () => {
  after(revertAndCloseAll);

  it('shows a CodeLens on every kind, labels included', async () => {
    await api();
    const editor = await open(sourceCopy('chatflow_labels.yml', 'kinds-lens'));
    const doc = editor.document;
    const parsed = parseDify(doc.getText());
    assert.equal(new Set(parsed.prompts.map((p) => p.kind)).size, 11);
    const lenses = await until('CodeLenses on every prompt', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
      const ours = (l ?? []).filter((x) => x.command?.command?.startsWith('promptOptimizer.'));
      return parsed.prompts.every((p) => ours.some((x) => x.range.start.line === p.range!.start.line - 1)) ? ours : undefined;
    });
    for (const kind of ['classifier-class', 'extractor-parameter', 'output-description', 'llm-query-template', 'agent-query', 'followup-prompt']) {
      const p = parsed.prompts.find((q) => q.kind === kind)!;
      assert.ok(lenses.some((l) => l.range.start.line === p.range!.start.line - 1 && l.command?.command === 'promptOptimizer.optimizePrompt'), `no Optimize lens on the ${kind} ${p.id}`);
    }
  });

  it('reports label checks as diagnostics at the label', async () => {
    await api();
    const editor = await open(sourceCopy('chatflow_labels.yml', 'kinds-diag'));
    const doc = editor.document;
    const parsed = parseDify(doc.getText());
    const vague = parsed.prompts.find((p) => p.id === 'route/class:3')!;
    const param = parsed.prompts.find((p) => p.id === 'extract/param:order')!;
    const diags = await until('label diagnostics', () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'Prompt Optimizer');
      return d.some((x) => x.code === 'vague-class') && d.some((x) => x.code === 'parameter-format-missing') ? d : undefined;
    });
    const at = (code: string) => diags.find((d) => d.code === code)!.range.start.line + 1;
    assert.ok(at('vague-class') >= vague.range!.start.line && at('vague-class') <= vague.range!.end.line, `vague-class at line ${at('vague-class')}`);
    assert.equal(at('parameter-format-missing'), param.range!.start.line);
  });

  it('shows each odd field as a Warning at the field, and still analyses the other prompts', async () => {
    await api();
    const editor = await open(sourceCopy('odd_fields.yml', 'kinds-odd'));
    const doc = editor.document;
    const warnings = await until('field warnings', () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => typeof x.code === 'string' && x.code.startsWith('DSL_'));
      return d.length >= 4 ? d : undefined;
    });
    const selector = warnings.find((d) => d.code === 'DSL_FIELD_NOT_TEXT')!;
    assert.equal(selector.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(selector.range.start.line, 16);
    assert.equal(selector.range.start.character, 19);
    assert.match(selector.message, /holds a list/);
    assert.deepEqual(warnings.map((d) => d.code).sort(), ['DSL_FIELD_NOT_TEXT', 'DSL_FIELD_SHAPE', 'DSL_MESSAGE_ROLE', 'DSL_UNKNOWN_NODE']);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
    assert.ok((lenses ?? []).filter((l) => l.command?.command === 'promptOptimizer.optimizePrompt').length >= 3);
  });
});
