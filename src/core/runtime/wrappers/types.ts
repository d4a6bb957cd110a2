/**
 * How Dify wraps a prompt that is not an llm node's own message: the settings each wrapper
 * needs, read from the export by workflow.ts (nodeSpecOf) and carried on NodeSpec.wrapper.
 */
import type { ToolSpec } from '../../llm/types';

/** A question-classifier node: its classes (id and name), its instruction, where its query comes from. */
export interface ClassifierWrap {
  kind: 'classifier';
  classes: Array<{ id: string; name: string }>;
  instruction: string;
  /** The case's key for the node's query (query_variable_selector), e.g. `sys.query`. */
  queryKey: string;
  /** Turns of memory written into the prompt (window.size, as the node passes it); undefined: all. */
  historyLimit?: number;
}

/** One parameter of a parameter-extractor node, as the export writes it. */
export interface ExtractorParameter {
  name: string;
  /** string | number | bool | boolean | select | array[string] | array[number] | array[object] | array[boolean] */
  type: string;
  description: string;
  required: boolean;
  options?: string[];
}

/** A parameter-extractor node. */
export interface ExtractorWrap {
  kind: 'extractor';
  parameters: ExtractorParameter[];
  instruction: string;
  queryKey: string;
  /** As written; Dify's default is function_call. */
  reasoningMode: 'function_call' | 'prompt';
  historyLimit?: number;
}

/** A simple-mode (prompt_type simple) chat, completion or agent app: its pre_prompt. */
export interface SimpleAppWrap {
  kind: 'simple-app';
  appMode: 'chat' | 'completion' | 'agent-chat';
  prePrompt: string;
  /** The app retrieves from datasets: Dify adds its context prompt. */
  hasContext: boolean;
  /** Variables of the app's user_input_form (Dify gives each one a value, empty when not filled). */
  formKeys: string[];
  /** agent-chat: function_call or react (agent_mode.strategy). */
  agentStrategy?: string;
  /** agent-chat: the enabled tools, as far as the export describes them (wrappers/agent). */
  agentTools?: ToolSpec[];
  /** agent-chat ReAct: agent_mode.prompt.first_prompt, when the export sets one (else Dify's default template). */
  firstPrompt?: string;
}

/** A workflow agent node (Dify's agent strategies): instruction, query and tools from agent_parameters. */
export interface AgentNodeWrap {
  kind: 'agent-node';
  /** agent_strategy_name, e.g. function_calling, ReAct. */
  strategy: string;
  instruction: string;
  query: string;
  tools: ToolSpec[];
}

/** An Agent v2 node's job prompt or an agent package's soul prompt (DSL 0.7.0), with what the request builder reads. */
export interface AgentV2Wrap {
  kind: 'agent-v2';
  /** The agent package's soul (agent_packages.<ref>.soul), as written. */
  soul: Record<string, unknown>;
  /** The node's agent_job, as written (empty for an agent app, which has no workflow job). */
  job: Record<string, unknown>;
  soulPrompt: string;
  jobPrompt: string;
  /** The declared outputs as the answer's JSON schema. */
  outputSchema?: Record<string, unknown>;
}

/** A knowledge pipeline's knowledge-index node with summaries on: its summary prompt and the pipeline's source kind. */
export interface SummaryWrap {
  kind: 'summary';
  prompt: string;
  /** The pipeline's datasource node type (e.g. local_file, website_crawl, online_document), when the graph has one. */
  sourceKind?: string;
}

export type NodeWrapper = ClassifierWrap | ExtractorWrap | SimpleAppWrap | AgentNodeWrap | AgentV2Wrap | SummaryWrap;

/** What a node's answer must look like for Dify to use it: a deterministic check for the evidence checklist. */
export interface AnswerShape {
  text: string;
  /** A JSON schema the answer (read as JSON) must match. */
  schema: Record<string, unknown>;
}
