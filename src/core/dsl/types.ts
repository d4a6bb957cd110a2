import type { Variable } from './variables';

/** The prompt-bearing fields of the extraction contract, version 2 (GUIDE §3; see kinds.ts). */
export type PromptKind =
  | 'llm-message'
  | 'llm-completion'
  | 'llm-query-template'
  | 'classifier-instruction'
  | 'extractor-instruction'
  | 'agent-instruction'
  | 'agent-query'
  | 'app-pre-prompt'
  | 'app-chat-message'
  | 'app-completion-prompt'
  | 'app-agent-prompt'
  | 'followup-prompt'
  // DSL 0.7.0 (Dify 1.16+): Agent v2 nodes, agent packages, knowledge pipelines.
  | 'agent-job-prompt'
  | 'agent-output-check'
  | 'agent-soul-prompt'
  | 'summary-prompt'
  // Labels an LLM reads verbatim (a rewrite changes routing or extraction): rewriting is opt-in.
  | 'classifier-class'
  | 'extractor-parameter'
  | 'output-description'
  | 'agent-output-description'
  | 'memory-role-prefix';

/**
 * The chat role of a message (llm-message, app-chat-message), or for app-agent-prompt which of
 * the ReAct prompts it is, or for memory-role-prefix whose turns it prefixes (user, assistant);
 * null for every other kind.
 */
export type PromptRole = 'system' | 'user' | 'assistant' | 'first_prompt' | 'next_iteration' | null;

export type AppMode = 'workflow' | 'advanced-chat' | 'chat' | 'completion' | 'agent-chat' | 'agent' | 'channel' | 'rag-pipeline';

/** A position in the file: offset in UTF-16 code units of the JS string; line and column 1-based. */
export interface SourcePosition {
  offset: number;
  line: number;
  column: number;
}

/** The exact source range of a YAML value (the scalar token, quotes / block header included). */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

export interface ModelInfo {
  provider?: string;
  name?: string;
  mode?: string;
}

export interface PromptRecord {
  /**
   * Stable and unique within the file; unchanged when the prompt's text changes.
   * Built from the node id and the field, e.g. `1718246807593/prompt_template/0`,
   * `1718246807593/instruction`, `app/pre_prompt`. Message ids (Dify's `id` of a
   * prompt_template item) are used when present: `1718246807593/msg:3b1d…`.
   */
  id: string;
  /** Node id, 'app' for app-level fields, `agent_packages.<ref>` for an agent package's soul prompt. */
  nodeId: string;
  nodeTitle: string;
  /** data.type of the node (llm, question-classifier, parameter-extractor, agent), or the app mode. */
  nodeType: string;
  kind: PromptKind;
  role: PromptRole;
  /** Dify's own id of a prompt_template message when present. */
  messageId?: string;
  /** Index in prompt_template for llm-message. */
  messageIndex?: number;
  /** Path of keys/indexes from the document root to the value, e.g. ['workflow','graph','nodes',3,'data','prompt_template',0,'text']. */
  yamlPath: (string | number)[];
  /** 'jinja2' when the text is a jinja2_text field. */
  editionType: 'basic' | 'jinja2';
  /** Decoded text (equals PyYAML safe_load). Empty string for empty fields. */
  text: string;
  variables: Variable[];
  /** true for a label kind (classifier-class, extractor-parameter, output-description, agent-output-description, memory-role-prefix). */
  label?: boolean;
  /**
   * For an extractor parameter with `options` (a `select` parameter): the values Dify gives the
   * model as the parameter's enum. Context for a rewrite of the description; never rewritten.
   */
  options?: string[];
  /** Range of the value in the file; absent only when the field is missing in the file. */
  range?: SourceRange;
  model?: ModelInfo;
}

export type DslWarningCode =
  /** A prompt-bearing field holds something other than text (a list, a mapping). */
  | 'DSL_FIELD_NOT_TEXT'
  /** A prompt-bearing structure has a shape Dify does not write (e.g. prompt_template is a string). */
  | 'DSL_FIELD_SHAPE'
  /** An llm message without a usable role (Dify needs system, user or assistant). */
  | 'DSL_MESSAGE_ROLE'
  /** A node whose data.type this version does not know, or a node without data/type. */
  | 'DSL_UNKNOWN_NODE';

/** Something odd about one field: reported, and the rest of the file is still read. */
export interface DslWarning {
  code: DslWarningCode;
  /** Plain words, naming the field; without the location prefix (see formatWarning). */
  message: string;
  file?: string;
  /** 1-based, where the odd value sits. */
  line?: number;
  column?: number;
  /** Offset (UTF-16 units) in the YAML text, for editors. */
  offset?: number;
  yamlPath: (string | number)[];
  nodeId?: string;
}

export interface DifyAppInfo {
  name: string;
  mode: AppMode | string;
  version?: string;
  /** true when the file is the export API's `{"data": "<yaml>"}` wrapper. */
  wrapped: boolean;
}
