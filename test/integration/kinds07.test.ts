import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parseDify } from '../../src/core/dsl';
import { api, open, revertAndCloseAll, until } from './support/ext';
import { sourceCopy } from './support/sourceFixtures';

/** DSL 0.7.0 exports (test/fixtures/dify-07/): the new kinds get CodeLenses, mentions diagnostics. */
describe('editor: DSL 0.7.0 kinds (Agent v2, agent packages, pipelines, completion memory)', () => {
  after(revertAndCloseAll);

  const lensesOf = async (doc: vscode.TextDocument, lines: number[]) =>
    until('CodeLenses on every prompt', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
      const ours = (l ?? []).filter((x) => x.command?.command === 'promptOptimizer.optimizePrompt');
      return lines.every((line) => ours.some((x) => x.range.start.line === line)) ? ours : undefined;
    });

  it('shows an Optimize CodeLens on every new kind, in each kind of 0.7.0 export', async () => {
    await api();
    const seen = new Set<string>();
    for (const name of ['agent_v2_workflow.yml', 'agent_app.yml', 'rag_pipeline.yml', 'completion_memory.yml']) {
      const editor = await open(sourceCopy(name, 'kinds07-lens', 'dify-07'));
      const parsed = parseDify(editor.document.getText());
      assert.ok(parsed.prompts.length > 0, name);
      await lensesOf(editor.document, parsed.prompts.map((p) => p.range!.start.line - 1));
      for (const p of parsed.prompts) seen.add(p.kind);
    }
    for (const kind of ['agent-job-prompt', 'agent-output-description', 'agent-output-check', 'agent-soul-prompt', 'summary-prompt', 'memory-role-prefix']) {
      assert.ok(seen.has(kind), `no ${kind} prompt was shown`);
    }
  });

  it('reports malformed mentions and mentions of a kind the surface does not resolve, at the token', async () => {
    await api();
    const editor = await open(sourceCopy('agent_v2_workflow.yml', 'kinds07-diag', 'dify-07'));
    const doc = editor.document;
    const diags = await until('mention diagnostics', () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'Prompt Optimizer' && typeof x.code === 'string' && x.code.startsWith('mention-'));
      return d.length >= 4 ? d : undefined;
    });
    const text = (d: vscode.Diagnostic) => doc.getText(d.range);
    const got = diags.map((d) => [d.code, text(d)]).sort();
    assert.deepEqual(got, [
      ['mention-kind-not-allowed', '[§output:report§]'],
      ['mention-kind-not-allowed', '[§tool:langgenius/tavily/tavily_search§]'],
      ['mention-malformed', '[§node_output:§]'],
      ['mention-malformed', '[§widget:legacy-thing§]'],
    ]);
    for (const d of diags) assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
  });
});
