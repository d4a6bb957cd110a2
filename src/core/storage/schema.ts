import * as z from 'zod';

/** Bumped when the on-disk shape of a version file or index changes incompatibly. */
export const SCHEMA_VERSION = 1 as const;

export const VERSION_RE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const scoresSchema = z.looseObject({
  overall: finite,
  clarity: finite,
  efficiency: finite,
  structure: finite,
});

export const costSchema = z.looseObject({
  calls: finite.optional(),
  promptTokens: finite.optional(),
  completionTokens: finite.optional(),
  costUsd: finite.optional(),
});

export const optimizationSchema = z.looseObject({
  strategy: z.string(),
  before: scoresSchema.optional(),
  after: scoresSchema.optional(),
  improvement: finite,
  confidence: finite,
  rationale: z.string(),
  cost: costSchema.optional(),
  iterations: z.number().int().nonnegative().optional(),
});

export const statusSchema = z.enum(['baseline', 'proposed', 'accepted', 'rejected']);

export const versionString = z.string().regex(VERSION_RE, 'must look like 1.2.3');

/** A version file `<version>.json`. */
export const versionFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  workflow: z.string().min(1),
  promptId: z.string().min(1),
  version: versionString,
  parentVersion: versionString.nullable(),
  status: statusSchema,
  createdAt: z.string().min(1),
  updatedAt: z.string().optional(),
  text: z.string(),
  textSha256: z.string().regex(/^[0-9a-f]{64}$/),
  analysis: scoresSchema.optional(),
  optimization: optimizationSchema.optional(),
  restoredFrom: versionString.optional(),
  unproven: z.literal(true).optional(),
  metadata: z.record(z.string(), z.unknown()),
});

/** Header line of an index log `index/<key>.jsonl`. */
export const indexHeaderSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  kind: z.literal('prompt-index'),
  workflow: z.string(),
  promptId: z.string(),
});

/** One entry line of an index log: a version added, its status changed, or it was deleted. */
export const indexEntrySchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('add'),
    v: versionString,
    p: versionString.nullable(),
    s: statusSchema,
    /** overall score or null */
    o: z.number().nullable(),
    /** first 16 hex of the text sha256 */
    h: z.string(),
    r: versionString.optional(),
  }),
  z.object({ op: z.literal('status'), v: versionString, s: statusSchema }),
  z.object({ op: z.literal('del'), v: versionString }),
]);

export type VersionFile = z.infer<typeof versionFileSchema>;
export type IndexEntry = z.infer<typeof indexEntrySchema>;
