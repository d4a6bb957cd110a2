import type { PromptRole } from '../dsl/types';
import { findVariables } from '../dsl/variables';
import { FILLER_PHRASES, VAGUE_TERMS } from './lexicon';
import { findLexMatches } from './match';
import {
  computeScores,
  LONG_PROMPT_UNITS,
  LONG_SENTENCE_UNITS,
  MIN_STRUCTURED_UNITS,
  SECTION_UNITS,
  unstructuredPenalty,
  WALL_UNITS,
  type ScoreStats,
} from './scorer';
import { buildModel, detectLanguage, estimateTokens, sentenceSpans, trailingSpaceFixable, wordUnits, type TextModel } from './text';
import type { Analysis, AnalysisInput, Language, PromptIssue } from './types';

const CLARITY = ['clarity_focus', 'auto'];
const EFFICIENCY = ['efficiency_focus', 'auto'];
const STRUCTURE = ['structure_focus', 'auto'];

const ROLE_RE =
  /\b(?:you are|you're|act as|acting as|your role|role|persona)\b|你是|您是|作为一[位名个]|扮演|角色|身份|あなたは|として振る舞|役割/i;
const TASK_RE =
  /\b(?:task|your job|please|translate|summari[sz]e|write|generate|create|answer|respond|reply|extract|classify|analy[sz]e|explain|list|rewrite|check|review|help|follow|use|provide|identify|determine|convert|return|give|make|do not|don't|never|always)\b|任务|请|帮|根据|需要|生成|编写|写|翻译|回答|回复|输出|提取|分类|分析|总结|判断|检查|给出|使用|调用|不要|ください|タスク|作成|翻訳|回答|要約|抽出|して/i;
const OUTPUT_RE =
  /\b(?:output|format|formatted|respond in|reply in|answer in|return|json|markdown|yaml|xml|table|bullet|words|characters|sentences|response|example)\b|输出|格式|返回|json|markdown|表格|字数|不超过|示例|回复|出力|フォーマット|形式|文字|例/i;

/**
 * Scores and issues of one prompt. Pure, deterministic and fast (a few hundred microseconds on
 * the largest corpus prompt); never throws on any string. See scorer.ts for the scoring model.
 */
export function analyzePrompt(input: AnalysisInput): Analysis {
  const text = typeof input.text === 'string' ? input.text : '';
  const model = buildModel(text);
  const language: Language = detectLanguage(model.masked);
  const base = {
    language,
    characters: text.length,
    tokens: estimateTokens(text, findVariables(text)),
    variableCount: model.variableCount,
  };
  if (text.trim() === '') {
    return {
      overall: 0,
      clarity: 0,
      efficiency: 0,
      structure: 0,
      issues: [
        {
          kind: 'empty-prompt',
          severity: 'error',
          message: 'The prompt is empty: the model gets no instruction at all.',
          start: 0,
          end: text.length,
          suggestion: 'Write what the model should do, for whom, and in which format it should answer.',
          fixedBy: [],
        },
      ],
      ...base,
    };
  }
  const { issues, stats } = detect(model, language, input.role ?? null);
  const scores = computeScores(stats);
  issues.sort((a, b) => a.start - b.start || a.end - b.end || a.kind.localeCompare(b.kind));
  return { ...scores, issues, ...base };
}

function detect(model: TextModel, language: Language, role: PromptRole): { issues: PromptIssue[]; stats: ScoreStats } {
  const { text, lines } = model;
  const issues: PromptIssue[] = [];
  const prose = lines.filter((l) => !l.block);
  const units = wordUnits(prose.map((l) => l.masked).join('\n'));
  const cjk = language === 'zh' || language === 'ja' || language === 'ko';

  // Vague terms.
  const vague = findLexMatches(model, VAGUE_TERMS, language);
  for (const m of vague) {
    const fix = m.entry.replace;
    issues.push({
      kind: 'vague-term',
      severity: 'info',
      message: `Vague wording "${text.slice(m.start, m.end).trim()}": the model has to guess what exactly is meant.`,
      start: m.start,
      end: m.start + text.slice(m.start, m.end).trimEnd().length,
      suggestion:
        fix === undefined
          ? cjk
            ? '换成具体的说法：哪些、多少、什么标准。'
            : 'Say exactly which ones, how many, or by what standard.'
          : fix === ''
            ? 'Remove it and state the instruction directly.'
            : `Use "${fix}".`,
      fixedBy: fix === undefined ? [] : CLARITY,
    });
  }

  // Filler / redundant phrases.
  const filler = findLexMatches(model, FILLER_PHRASES, language);
  for (const m of filler) {
    const fix = m.entry.replace;
    issues.push({
      kind: 'redundant-phrase',
      severity: 'info',
      message: `"${text.slice(m.start, m.end).trim()}" adds tokens but no meaning.`,
      start: m.start,
      end: m.start + text.slice(m.start, m.end).trimEnd().length,
      suggestion: fix === undefined || fix === '' ? 'Remove it.' : `Use "${fix}".`,
      fixedBy: fix === undefined ? [] : EFFICIENCY,
    });
  }

  // Long sentences.
  const longSentenceUnits: number[] = [];
  const sentences = sentenceSpans(model);
  for (const s of sentences) {
    const u = wordUnits(model.masked.slice(s.start, s.end));
    if (u > LONG_SENTENCE_UNITS) {
      longSentenceUnits.push(u);
      issues.push({
        kind: 'long-sentence',
        severity: u > 60 ? 'warning' : 'info',
        message: `Sentence of about ${Math.round(u)} words: long sentences hide conditions and steps.`,
        start: s.start,
        end: s.end,
        suggestion: 'Split it into short sentences or a list, one instruction each.',
        fixedBy: CLARITY,
      });
    }
  }

  // Duplicate lines, then repeated sentences elsewhere.
  let repeated = 0;
  const seenLines = new Map<string, number>();
  const dupLineStarts = new Set<number>();
  for (const l of prose) {
    if (l.blank || l.header) continue;
    const key = l.text.trim();
    if (l.text !== l.masked || wordUnits(l.masked) < 4) continue;
    if (seenLines.has(key)) {
      repeated++;
      dupLineStarts.add(l.start);
      issues.push({
        kind: 'duplicate-line',
        severity: 'warning',
        message: 'This line repeats an earlier line word for word.',
        start: l.start,
        end: l.end,
        suggestion: 'Remove the repetition.',
        fixedBy: EFFICIENCY,
      });
    } else seenLines.set(key, l.start);
  }
  const seenSentences = new Set<string>();
  for (const s of sentences) {
    const lineStart = text.lastIndexOf('\n', s.start - 1) + 1;
    if (dupLineStarts.has(lineStart)) continue;
    if (wordUnits(model.masked.slice(s.start, s.end)) < 6) continue;
    const key = text
      .slice(s.start, s.end)
      .toLowerCase()
      .replace(/[\s\p{P}]+/gu, '');
    if (seenSentences.has(key)) {
      repeated++;
      issues.push({
        kind: 'repeated-instruction',
        severity: 'warning',
        message: 'This sentence repeats an earlier instruction.',
        start: s.start,
        end: s.end,
        suggestion: 'Say it once; if it matters, put it under the constraints.',
        fixedBy: [],
      });
    } else seenSentences.add(key);
  }

  // Blank lines and trailing spaces.
  let blankRuns = 0;
  let trailingSpaceLines = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (trailingSpaceFixable(l)) {
      trailingSpaceLines++;
      const m = /[ \t]+$/.exec(l.text)!;
      issues.push({
        kind: 'trailing-whitespace',
        severity: 'info',
        message: 'Trailing spaces at the end of the line.',
        start: l.start + m.index,
        end: l.end,
        suggestion: 'Remove them.',
        fixedBy: EFFICIENCY,
      });
    }
    if (!l.blank || l.block) continue;
    let j = i;
    while (j + 1 < lines.length && lines[j + 1].blank && !lines[j + 1].block) j++;
    const atStart = i === 0;
    const atEnd = j === lines.length - 1;
    if (j - i + 1 >= 2 || atStart) {
      blankRuns++;
      issues.push({
        kind: 'excess-blank-lines',
        severity: 'info',
        message: atStart ? 'The prompt starts with blank lines.' : atEnd ? 'The prompt ends with blank lines.' : `${j - i + 1} blank lines in a row.`,
        start: l.start,
        end: lines[j].end,
        suggestion: 'One blank line is enough to separate paragraphs.',
        fixedBy: EFFICIENCY,
      });
    }
    i = j;
  }

  // Code fences.
  // An assistant message that opens a fence is a deliberate answer prefill ("```yaml"): noted, not penalised.
  const prefill = role === 'assistant';
  const unbalancedFences = prefill ? 0 : model.fences.filter((f) => !f.closed).length;
  for (const f of model.fences) {
    if (f.closed) continue;
    const nl = text.indexOf('\n', f.start);
    issues.push({
      kind: 'unbalanced-code-fence',
      severity: prefill ? 'info' : 'error',
      message: prefill
        ? 'This code fence is not closed (fine for an answer prefill: the model continues inside it).'
        : 'This code fence is never closed: everything after it reads as code.',
      start: f.start,
      end: nl < 0 ? text.length : nl,
      suggestion: 'Close it with a matching ``` line.',
      fixedBy: [],
    });
  }

  // Sections.
  const sectionText = prose.map((l) => l.masked).join('\n');
  const headers = prose.filter((l) => l.header).length;
  const listItems = prose.filter((l) => l.listMarker !== '').length;
  const instructionPrompt = role !== 'user' && role !== 'assistant';
  const checkRole = instructionPrompt && units >= SECTION_UNITS;
  const checkTask = instructionPrompt;
  const checkOutput = instructionPrompt && units >= SECTION_UNITS;
  const hasRole = ROLE_RE.test(sectionText);
  const hasTask = TASK_RE.test(sectionText);
  const hasOutput = OUTPUT_RE.test(sectionText);
  const firstEnd = lines[0].end;
  if (units >= MIN_STRUCTURED_UNITS) {
    if (checkRole && !hasRole)
      issues.push({
        kind: 'missing-role',
        severity: 'info',
        message: 'No role is stated: the model does not know whose voice and expertise to use.',
        start: 0,
        end: firstEnd,
        suggestion: cjk ? '开头加一句角色，例如“你是一名……”。' : 'Start with a role, e.g. "You are a …".',
        fixedBy: [],
      });
    if (checkTask && !hasTask)
      issues.push({
        kind: 'missing-task',
        severity: 'warning',
        message: 'No task or instruction is recognisable.',
        start: 0,
        end: firstEnd,
        suggestion: cjk ? '用一句祈使句写清要做什么。' : 'State the task as an imperative sentence.',
        fixedBy: [],
      });
    if (checkOutput && !hasOutput)
      issues.push({
        kind: 'missing-output-format',
        severity: 'info',
        message: 'No output format is stated.',
        start: 0,
        end: firstEnd,
        suggestion: cjk ? '说明输出格式：结构、长度、语言。' : 'Say what the answer must look like: structure, length, language.',
        fixedBy: [],
      });
  }
  let wallParagraphs = 0;
  if (units >= MIN_STRUCTURED_UNITS) {
    for (const l of prose) {
      if (l.header || l.blank) continue;
      const u = wordUnits(l.masked);
      if (u >= WALL_UNITS) {
        wallParagraphs++;
        issues.push({
          kind: 'wall-of-text',
          severity: 'warning',
          message: `A single line of about ${Math.round(u)} words: hard for the model to follow step by step.`,
          start: l.start,
          end: l.end,
          suggestion: 'Break it into one line per instruction, under section headers.',
          fixedBy: STRUCTURE,
        });
      }
    }
    if (headers === 0 && listItems < 2 && unstructuredPenalty(units) > 0)
      issues.push({
        kind: 'missing-structure',
        severity: units >= 150 ? 'warning' : 'info',
        message: 'A longer prompt with no sections or lists.',
        start: 0,
        end: firstEnd,
        suggestion: cjk ? '按“## 角色 / ## 任务 / ## 约束 / ## 输出格式”分节。' : 'Split it into sections: ## Role, ## Task, ## Constraints, ## Output format.',
        fixedBy: STRUCTURE,
      });
  }
  if (units > LONG_PROMPT_UNITS)
    issues.push({
      kind: 'too-long',
      severity: 'warning',
      message: `About ${Math.round(units)} words: very long prompts dilute the important instructions.`,
      start: 0,
      end: text.length,
      suggestion: 'Move reference material to variables or knowledge retrieval and keep the instructions short.',
      fixedBy: [],
    });

  return {
    issues,
    stats: {
      units,
      vague: vague.length,
      longSentenceUnits,
      filler: filler.length,
      repeated,
      blankRuns,
      trailingSpaceLines,
      unbalancedFences,
      checkRole,
      checkTask,
      checkOutput,
      hasRole,
      hasTask,
      hasOutput,
      wallParagraphs,
      headers,
      listItems,
    },
  };
}
