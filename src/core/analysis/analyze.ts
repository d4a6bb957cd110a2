import { isLabelKind, isUserTurnKind } from '../dsl/kinds';
import type { PromptKind, PromptRole } from '../dsl/types';
import { labelIssues, withLabelIssues } from './labels';
import { mentionIssues } from './mentions';
import { FILLER_PHRASES, VAGUE_TERMS } from './lexicon';
import { findLexMatchesOf } from './match';
import {
  CARRIER_UNITS,
  USER_REQUEST_UNITS,
  computeScores,
  LONG_SECTION_UNITS,
  LONG_SENTENCE_UNITS,
  MIN_STRUCTURED_UNITS,
  scoreBreakdown,
  WALL_UNITS,
  type Penalty,
  type ScoreStats,
} from './scorer';
import { CLASS, SPACE, stripSpaceAndPunctuation } from './scan';
import { buildModel, estimateTokens, languageOf, lineUnits, sentencesOf, trailingSpaceFixable, trailingSpaceStart, UNITS_PER_CJK_CHAR, type TextModel } from './text';
import type { Analysis, AnalysisInput, Language, PromptIssue } from './types';

const CLARITY = ['clarity_focus', 'auto'];
const EFFICIENCY = ['efficiency_focus', 'auto'];
const STRUCTURE = ['structure_focus', 'auto'];

const ROLE_RE =
  /\b(?:you are|you're|act as|acting as|your role|role|persona)\b|你是|您是|作为一[位名个]|扮演|角色|身份|あなたは|として振る舞|役割/i;
const TASK_RE =
  /\b(?:task|your job|please|translate|summari[sz]e|write|generate|create|answer|respond|reply|extract|classify|analy[sz]e|explain|list|rewrite|check|review|help|follow|use|provide|identify|determine|convert|return|give|make|read|edit|fix|correct|improve|send|draft|compose|plan|suggest|recommend|compare|evaluate|rate|score|find|search|calculate|solve|describe|tell|ask|speak|talk|do not|don't|never|always)\b|任务|请|帮|根据|需要|生成|编写|写|翻译|回答|回复|输出|提取|分类|分析|总结|判断|检查|给出|使用|调用|不要|ください|タスク|作成|翻訳|回答|要約|抽出|して/i;
/**
 * An output format is stated: a named format, a shape (list, table, sections), a length, or an
 * example of the answer. "answer" or "reply" alone are tasks, not formats.
 */
const OUTPUT_RE =
  /\b(?:output|outputs|format|formatted|formatting|respond (?:in|with|only)|reply (?:in|with|only)|answer (?:in|with|only)|write (?:in|it in)|return(?:s|ing)?|json|markdown|yaml|xml|csv|html|table|bullet|bullets|bulleted|numbered|list of|plain text|headings?|sections?|words|sentences|paragraphs|characters|lines|in (?:english|chinese|japanese|the same language)|example (?:output|answer|response)|(?:output|answer|response) example|template)\b|输出|格式|返回|json|markdown|表格|列表|分点|条目|段落|字数|不超过|字以内|以内|\d+\s*[个字句段条点]|示例|模板|标题|用中文|用英文|出力|フォーマット|形式|箇条書き|文字以内|テンプレート/i;

const CONSTRAINT_RE =
  /\b(?:must|never|do not|don't|only|at most|at least|no more than|exactly|always|avoid|limit|without|maximum|minimum|strictly|e\.g\.|for example|for instance|example)\b|\d|不要|不能|不得|必须|务必|确保|只[能需要用]|仅|禁止|避免|不超过|至少|最多|切勿|严格|例如|比如|示例|如下|しないで|必ず|のみ|以内|禁止|例えば|[０-９]/i;
const EXAMPLE_RE =
  /\b(?:e\.g\.|for example|for instance|such as|example|examples|sample|like this|as follows)\b|示例|例如|比如|举例|例子|范例|样例|案例|例句|如下|例えば|例：|例:|サンプル|以下の(?:よう|通り)/i;
/** A line opening an XML-style tag used as a section delimiter: `<context>`, `<example id="1">`. */
const XML_TAG_LINE = /^\s*<[A-Za-z][\w-]*(?:\s[^>]*)?>/;

/**
 * Scores and issues of one prompt. Pure, deterministic and fast (a few hundred microseconds on
 * the largest corpus prompt); never throws on any string. See scorer.ts for the scoring model.
 */
export function analyzePrompt(input: AnalysisInput): Analysis {
  return explainPrompt(input).analysis;
}

/** The analysis together with the measures it was scored from and every penalty term that cost points. */
export interface Explained {
  analysis: Analysis;
  /** null for an empty prompt (it scores 0 with the single issue `empty-prompt`). */
  stats: ScoreStats | null;
  penalties: Penalty[];
}

/** Like analyzePrompt, plus the penalty breakdown: Σ points per dimension = 100 − its score (before clamping). */
export function explainPrompt(input: AnalysisInput): Explained {
  const text = typeof input.text === 'string' ? input.text : '';
  const model = buildModel(text);
  const language: Language = languageOf(model.counts);
  const base = {
    language,
    characters: text.length,
    tokens: estimateTokens(text, model.variables),
    variableCount: model.variableCount,
  };
  if (text.trim() === '') {
    return {
      analysis: {
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
      },
      stats: null,
      penalties: [],
    };
  }
  const { issues, stats } = detect(model, language, input.role ?? null, input.kind);
  const scores = computeScores(stats);
  issues.sort((a, b) => a.start - b.start || a.end - b.end || a.kind.localeCompare(b.kind));
  // Spelled out (a spread is slow here), in the same key order: scores, issues, then `base`.
  let analysis: Analysis = {
    overall: scores.overall,
    clarity: scores.clarity,
    efficiency: scores.efficiency,
    structure: scores.structure,
    issues,
    language: base.language,
    characters: base.characters,
    tokens: base.tokens,
    variableCount: base.variableCount,
  };
  if (isLabelKind(input.kind)) analysis = withLabelIssues(analysis, labelIssues({ text, kind: input.kind!, siblings: input.siblings }));
  const mentions = mentionIssues(text, input.kind);
  if (mentions.length) analysis = { ...analysis, issues: [...analysis.issues, ...mentions].sort((a, b) => a.start - b.start || a.end - b.end || a.kind.localeCompare(b.kind)) };
  return { analysis, stats, penalties: scoreBreakdown(stats) };
}

/**
 * How the text is judged: an instruction (system messages, node instructions, app prompts), a
 * user turn (user messages, memory query templates, agent queries: no role asked; a long one is
 * judged as a request), or a label (class names, parameter and output descriptions: judged by
 * labels.ts, never asked for a role, task or format).
 */
function detect(model: TextModel, language: Language, role: PromptRole, kind: PromptKind | undefined): { issues: PromptIssue[]; stats: ScoreStats } {
  const label = isLabelKind(kind);
  if (isUserTurnKind(kind) && role === null) role = 'user';
  const { text, lines } = model;
  const issues: PromptIssue[] = [];
  const prose = lines.filter((l) => !l.block);
  // Word units of the prose, from the per-line counts of the model (words never span a line break).
  let proseWords = 0;
  let proseCjk = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].block) continue;
    proseWords += model.lineWords[i];
    proseCjk += model.lineCjk[i];
  }
  const units = proseWords + proseCjk * UNITS_PER_CJK_CHAR;
  const cjk = language === 'zh' || language === 'ja' || language === 'ko';

  // Vague terms, and filler / redundant phrases (found in one pass).
  const [vague, filler] = findLexMatchesOf(model, [VAGUE_TERMS, FILLER_PHRASES], language);
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
  const { spans: sentences, units: sentenceUnits, line: sentenceLine } = sentencesOf(model);
  for (let si = 0; si < sentences.length; si++) {
    const s = sentences[si];
    const u = sentenceUnits[si];
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
  const seenLines = new Set<string>();
  /** 1 for a line reported as a duplicate (its sentences are not reported again). */
  const dupLine = new Uint8Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.block || l.blank || l.header) continue;
    if (l.text !== l.masked || lineUnits(model, i) < 4) continue;
    const key = l.text.trim();
    if (seenLines.has(key)) {
      repeated++;
      dupLine[i] = 1;
      issues.push({
        kind: 'duplicate-line',
        severity: 'warning',
        message: 'This line repeats an earlier line word for word.',
        start: l.start,
        end: l.end,
        suggestion: 'Remove the repetition.',
        fixedBy: EFFICIENCY,
      });
    } else seenLines.add(key);
  }
  const seenSentences = new Set<string>();
  for (let si = 0; si < sentences.length; si++) {
    const s = sentences[si];
    if (dupLine[sentenceLine[si]]) continue;
    if (sentenceUnits[si] < 6) continue;
    const key = stripSpaceAndPunctuation(text.slice(s.start, s.end).toLowerCase());
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
      issues.push({
        kind: 'trailing-whitespace',
        severity: 'info',
        message: 'Trailing spaces at the end of the line.',
        start: l.start + trailingSpaceStart(l.text),
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
  // With no block line the prose is the whole masked text.
  const sectionText = prose.length === lines.length ? model.masked : prose.map((l) => l.masked).join('\n');
  let sections = 0;
  let listItems = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.block) continue;
    if (l.header || isLabelLine(l.masked, lineUnits(model, i)) || XML_TAG_LINE.test(l.text)) sections++;
    if (l.listMarker !== '') listItems++;
  }
  const instruction = !label && role !== 'user' && role !== 'assistant';
  const carrier = model.variableCount > 0 && units < CARRIER_UNITS;
  const hasRole = ROLE_RE.test(sectionText);
  const hasTask = TASK_RE.test(sectionText);
  const hasOutput = OUTPUT_RE.test(sectionText);
  const hasConstraints = listItems >= 2 || CONSTRAINT_RE.test(sectionText);
  const hasExamples = model.fences.length > 0 || EXAMPLE_RE.test(sectionText);
  const userRequest = !label && role === 'user' && units >= USER_REQUEST_UNITS;
  const firstEnd = lines[0].end;
  let wallParagraphs = 0;
  if (units >= MIN_STRUCTURED_UNITS) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.block || l.header || l.blank) continue;
      const u = lineUnits(model, i);
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
  }
  const stats: ScoreStats = {
    units,
    vague: vague.length,
    longSentenceUnits,
    filler: filler.length,
    repeated,
    blankRuns,
    trailingSpaceLines,
    unbalancedFences,
    instruction,
    carrier,
    hasRole,
    hasTask,
    hasOutput,
    hasConstraints,
    hasExamples,
    userRequest,
    wallParagraphs,
    sections,
    listItems,
  };
  // Whole-prompt issues: exactly the terms of the model that cost points.
  const whole = (kind: string, severity: PromptIssue['severity'], message: string, suggestion: string, fixedBy: string[] = []): void => {
    issues.push({ kind, severity, message, start: 0, end: kind === 'too-short' || kind === 'too-long' ? text.length : firstEnd, suggestion, fixedBy });
  };
  for (const p of scoreBreakdown(stats)) {
    switch (p.term) {
      case 'too-short':
        whole(
          'too-short',
          units < 12 ? 'warning' : 'info',
          `Only about ${Math.round(units)} words: too short to be actionable; the model has to guess the task, the audience and the expected answer.`,
          cjk ? '写清要做什么、面向谁、依据什么、输出什么格式，必要时给一个示例。' : 'Say what to do, for whom, from which input, and what the answer must look like; add an example if you can.',
        );
        break;
      case 'no-constraints':
        whole(
          'no-constraints',
          'info',
          'No concrete constraint is given: no limit, rule, number, example or list.',
          cjk ? '加上具体要求：字数或条数、必须/不要做什么，或一个示例。' : 'Add concrete constraints: a length or count, what must or must not be done, or an example.',
        );
        break;
      case 'no-examples':
        whole(
          'no-examples',
          'info',
          'No example is given: an example of the input or of the expected answer is the most reliable way to pin the task down.',
          cjk ? '加一个示例：一段输入和期望的输出。' : 'Add an example: a sample input and the answer you expect for it.',
        );
        break;
      case 'missing-role':
        whole(
          'missing-role',
          'info',
          'No role is stated: the model does not know whose voice and expertise to use.',
          cjk ? '开头加一句角色，例如“你是一名……”。' : 'Start with a role, e.g. "You are a …".',
        );
        break;
      case 'missing-task':
        whole(
          'missing-task',
          'warning',
          'No task or instruction is recognisable.',
          cjk ? '用一句祈使句写清要做什么。' : 'State the task as an imperative sentence.',
        );
        break;
      case 'missing-output-format':
        whole(
          'missing-output-format',
          'info',
          'No output format is stated.',
          cjk ? '说明输出格式：结构、长度、语言。' : 'Say what the answer must look like: structure, length, language.',
        );
        break;
      case 'missing-structure':
        whole(
          'missing-structure',
          units >= LONG_SECTION_UNITS ? 'warning' : 'info',
          'A longer prompt with no sections or lists.',
          cjk ? '按“## 角色 / ## 任务 / ## 约束 / ## 输出格式”分节。' : 'Split it into sections: ## Role, ## Task, ## Constraints, ## Output format.',
          STRUCTURE,
        );
        break;
      case 'too-long':
        whole(
          'too-long',
          'warning',
          `About ${Math.round(units)} words: very long prompts dilute the important instructions.`,
          'Move reference material to variables or knowledge retrieval and keep the instructions short.',
        );
        break;
      default:
        break;
    }
  }

  return { issues, stats };
}

/**
 * A short label line that opens a section: "Theme:", "要求如下：" (the value may be a variable).
 * `units` are the line's word units (trimming does not change them: a space is no word).
 */
function isLabelLine(masked: string, units: number): boolean {
  if (units > 8 || units <= 0) return false;
  let e = masked.length;
  while (e > 0 && CLASS[masked.charCodeAt(e - 1)] & SPACE) e--;
  const last = masked.charCodeAt(e - 1);
  return last === 0x3a || last === 0xff1a;
}
