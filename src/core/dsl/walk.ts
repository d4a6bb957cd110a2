/**
 * The extractor's walk as the field readers see it (extract.ts implements it; extractV07.ts and
 * any later reader of new fields use it), so the readers depend on this and not on each other.
 */
import type { DslWarningCode, PromptRecord } from './types';

export type Path = (string | number)[];

/** A position in the walk: event index, constructed value, path, and whether it is shared. */
export interface Cur {
  ev: number;
  val: unknown;
  path: Path;
  /** Set when this node (or one above it) is shared with another place. */
  share?: string;
  /**
   * Set when this node itself is an alias (`*a`): its children are shared with the anchor, while
   * the node as a whole can be replaced by its own value without touching the anchor.
   */
  alias?: string;
  /** The mapping event holding this value (for mapping values). */
  parentEv?: number;
}

/** What a field's record is built from: the record's own fields, edition optional (basic). */
export type Spec = Pick<PromptRecord, 'id' | 'nodeId' | 'nodeTitle' | 'nodeType' | 'kind' | 'role' | 'messageId' | 'messageIndex' | 'model' | 'options'> & {
  editionType?: PromptRecord['editionType'];
};

export type NodeSpec = Pick<Spec, 'nodeId' | 'nodeTitle' | 'nodeType' | 'model'>;

/** What a reader of fields asks of the walk. */
export interface FieldReader {
  /** The document's root value (top-level keys such as `agent_packages`). */
  readonly rootVal: unknown;
  /** The value at `key` of the mapping at `c` (merge keys followed), or undefined when absent. */
  child(c: Cur | undefined, key: string): Cur | undefined;
  /** The items of the list at `c`, warning (for `spec`'s node) when it is not a list. */
  list(c: Cur | undefined, spec: NodeSpec): Cur[];
  /** Records the text at `c` as a prompt field with `spec` (a missing or non-text value is warned). */
  text(c: Cur | undefined, spec: Spec): void;
  warn(code: DslWarningCode, c: Cur, message: string, nodeId?: string): void;
}
