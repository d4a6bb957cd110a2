/** Lifecycle of a stored version. A baseline is the original text found in the workflow file. */
export type VersionStatus = 'baseline' | 'proposed' | 'accepted' | 'rejected';

/** Scores of a text (0–100). Any further fields (issues, language, …) are kept as given. */
export interface Scores {
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
  [extra: string]: unknown;
}

/** Cost of producing a version (mirrors strategies' StrategyCost; every field optional). */
export interface VersionCost {
  calls?: number;
  promptTokens?: number;
  completionTokens?: number;
  costUsd?: number;
  [extra: string]: unknown;
}

/** What the optimizer did to produce a version. `improvement` is in score points (after − before). */
export interface OptimizationRecord {
  strategy: string;
  before?: Scores;
  after?: Scores;
  improvement: number;
  confidence: number;
  rationale: string;
  cost?: VersionCost;
  iterations?: number;
  [extra: string]: unknown;
}

/** Input of `VersionStore.save`. The version number is assigned by the store under its lock. */
export interface SaveVersionInput {
  /** Workflow file relative to the workspace root, forward slashes (see `workflowKey`). */
  workflow: string;
  /** PromptRecord.id: any non-empty string. */
  promptId: string;
  text: string;
  analysis?: Scores;
  optimization?: OptimizationRecord;
  /** Version this one was derived from; must exist when given. Defaults to none. */
  parentVersion?: string | null;
  status: VersionStatus;
  /** The proposal's test cases neither proved it better nor worse ("no evidence"); kept when accepted. */
  unproven?: boolean;
  metadata?: Record<string, unknown>;
}

/** One stored version, as read back (deeply frozen). */
export interface PromptVersion {
  readonly schemaVersion: 1;
  readonly workflow: string;
  readonly promptId: string;
  /** `major.minor.patch`, 1.0.0 for the first. */
  readonly version: string;
  readonly parentVersion: string | null;
  readonly status: VersionStatus;
  /** ISO-8601 time of creation. */
  readonly createdAt: string;
  /** ISO-8601 time of the last status change, when there was one. */
  readonly updatedAt?: string;
  readonly text: string;
  /** sha256 of `text` (hex), used to save a baseline once per distinct text. */
  readonly textSha256: string;
  readonly analysis?: Readonly<Scores>;
  readonly optimization?: Readonly<OptimizationRecord>;
  /** Set on versions made by `rollback`: the version whose content was restored. */
  readonly restoredFrom?: string;
  /** Set when the text was proposed (and, if accepted, accepted) without evidence that it is better. */
  readonly unproven?: true;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Options of `VersionStore.open`. */
export interface VersionStoreOptions {
  /** Versions kept in the read cache (default 1000). */
  cacheSize?: number;
  /** How long a writer waits for another process's lock before STORAGE_LOCK_TIMEOUT (default 10 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is taken over even if its owner seems alive (default 30 s). */
  staleLockMs?: number;
  /**
   * Freshness window of `get` for versions this store already knows (default 50 ms): within
   * `freshnessMs` of the last look at a prompt's index log, a cached version is returned without
   * any syscall, so a status change (`setStatus`) or delete made by ANOTHER process becomes
   * visible at most this long after it completed. Changes made through this store are visible at
   * once; unknown versions, `latest`, `list`, `count`, `best` and every write always look at the
   * log first. Version files added or removed behind the store's back (git pull, hand edits) are
   * noticed by readers within the same window (writers always look). 0 = always look.
   */
  freshnessMs?: number;
  /**
   * Call fsync on the calling thread (default true): a durable save then costs about one fsync
   * of the file plus one of its directory, without thread-pool hand-offs that cost more than the
   * fsync itself on a busy machine. Set false on slow or network disks to keep the event loop
   * free while the device flushes. Durability is the same either way.
   */
  blockingFsync?: boolean;
  /** Never write anything (Restricted Mode): writes fail with STORAGE_READ_ONLY, nothing is repaired on disk. */
  readOnly?: boolean;
  /** Called once per problem found and repaired (corrupt file quarantined, stale lock recovered, index rebuilt). */
  onWarning?: (msg: string) => void;
}

export interface ListOptions {
  offset?: number;
  limit?: number;
}

/** Read-cache figures. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 when nothing was read. */
  hitRate: number;
  size: number;
}

/** Score difference `b − a` per dimension; null where either side has no scores. */
export interface ScoreDelta {
  overall: number | null;
  clarity: number | null;
  efficiency: number | null;
  structure: number | null;
}

export interface CompareResult {
  a: PromptVersion;
  b: PromptVersion;
  /** Line changes from a's text to b's (diff package `diffLines`). */
  changes: ReadonlyArray<{ value: string; added: boolean; removed: boolean; count?: number }>;
  linesAdded: number;
  linesRemoved: number;
  /** Unified diff text (diff package `createTwoFilesPatch`). */
  patch: string;
  scoreDelta: ScoreDelta;
}
