/**
 * A synthetic Dify workflow export of a given size: `llmNodes` llm nodes whose prompts use every
 * scalar style found in real exports (PyYAML escaped double-quoted with line continuations,
 * single-quoted multi-line, block literal, plain), padded with code nodes to `targetBytes`.
 */
export function syntheticWorkflow(llmNodes: number, targetBytes: number): string {
  const out: string[] = [
    'app:',
    "  description: ''",
    '  icon: "\\U0001F916"',
    '  mode: workflow',
    '  name: synthetic bench',
    'kind: app',
    'version: 0.1.5',
    'workflow:',
    '  graph:',
    '    edges: []',
    '    nodes:',
  ];
  const perNode = Math.max(0, Math.floor(targetBytes / Math.max(1, llmNodes)));
  let size = out.join('\n').length;
  for (let i = 0; i < llmNodes; i++) {
    const id = String(1718246800000 + i);
    const node = [
      '    - data:',
      '        context:',
      '          enabled: false',
      '          variable_selector: []',
      '        model:',
      '          completion_params:',
      '            temperature: 0.7',
      '          mode: chat',
      '          name: gpt-4o',
      '          provider: openai',
      '        prompt_template:',
      `        - id: ${id}-sys`,
      '          role: system',
      `          text: "# Role\\n\\u4F60\\u662F\\u4E00\\u4E2A\\u52A9\\u624B ${i}\\n\\n## Task\\nSummarize {{#${id}.text#}}\\`,
      '            \\ and answer in \\"JSON\\".\\n"',
      `        - id: ${id}-user`,
      '          role: user',
      "          text: 'Question: {{#sys.query#}}",
      '',
      "            Context: {{#context#}} it''s fine'",
      `        - id: ${id}-asst`,
      '          role: assistant',
      '          text: |-',
      `            Example answer ${i}:`,
      '              - keep indentation',
      '            # not a comment',
      `        - role: user`,
      `          text: plain follow-up ${i}`,
      '        selected: false',
      `        title: LLM ${i}`,
      '        type: llm',
      '        variables: []',
      '        vision:',
      '          enabled: false',
      '      height: 98',
      `      id: '${id}'`,
      '      position:',
      `        x: ${i * 10}`,
      '        y: 282',
      '      type: custom',
      '      width: 244',
    ].join('\n');
    out.push(node);
    size += node.length + 1;
    // Padding: a code node with a long block literal, like real exports carry.
    const pad = perNode - node.length - 200;
    if (pad > 0) {
      const lines: string[] = [];
      let n = 0;
      while (n < pad) {
        const l = `          result_${i}_${lines.length} = compute(value, "text", ${lines.length})  # step`;
        lines.push(l);
        n += l.length + 1;
      }
      const code = [
        '    - data:',
        '        code: |',
        ...lines,
        '        code_language: python3',
        `        title: Code ${i}`,
        '        type: code',
        `      id: 'code${id}'`,
        '      type: custom',
      ].join('\n');
      out.push(code);
      size += code.length + 1;
    }
  }
  void size;
  return `${out.join('\n')}\n`;
}
