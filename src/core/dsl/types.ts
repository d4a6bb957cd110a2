import type { Variable } from './variables';

/** The prompt-bearing fields of the extraction contract (GUIDE §3). */
export type PromptKind =
  | 'llm-message'
  | 'llm-completion'
  | 'classifier-instruction'
  | 'extractor-instruction'
  | 'agent-instruction'
  | 'app-pre-prompt';

export type PromptRole = 'system' | 'user' | 'assistant' | null;

export type AppMode = 'workflow' | 'advanced-chat' | 'chat' | 'completion' | 'agent-chat';

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
  /** Node id, or 'app' for model_config.pre_prompt. */
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
  /** Range of the value in the file; absent only when the field is missing in the file. */
  range?: SourceRange;
  model?: ModelInfo;
}

export interface DifyAppInfo {
  name: string;
  mode: AppMode | string;
  version?: string;
  /** true when the file is the export API's `{"data": "<yaml>"}` wrapper. */
  wrapped: boolean;
}
