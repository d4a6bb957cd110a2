import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as z from 'zod';
import { atomicWriteFile } from '../util/atomicWrite';
import { fsCauseText } from '../util/fsCause';
import { isNotRegular, readRegularText } from '../util/safeRead';

export interface CacheLimits {
  /** Most entries kept (least recently used evicted first). Default 5000. */
  maxEntries?: number;
  /** Most bytes kept on disk. Default 64 MiB. */
  maxBytes?: number;
  /** Entries older than this are ignored and removed. Default 7 days. */
  ttlMs?: number;
}

interface Stored<T> {
  v: 1;
  createdAt: number;
  value: T;
}

const KEY_RE = /^[0-9a-f]{64}$/;

/** The envelope of every entry; the value is checked by the cache's own schema. */
const envelopeSchema = z.object({ v: z.literal(1), createdAt: z.number().finite(), value: z.unknown() });

export interface DiskCacheOptions<T> {
  /** Checks each entry's value on read: an entry that fails is a miss (removed, one warning naming the file). */
  schema?: z.ZodType<T>;
  /** Receives the warnings (a bad entry, an entry that is not a regular file). */
  onWarning?: (msg: string) => void;
}

/** sha256 (hex) of a canonical JSON rendering of `parts` (object keys sorted). */
export function hashKey(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/**
 * A response cache on disk: one JSON file per entry (`<dir>/<sha256>.json`), written atomically,
 * bounded by entry count and total bytes (least recently used evicted, files removed) and by age
 * (TTL). The index is rebuilt from the directory on first use, so the bounds hold across runs.
 * Unreadable or corrupt entries (bad JSON, or a value that fails the cache's schema) are misses,
 * are removed and are reported once each, naming the file; only regular files are read (a FIFO
 * never blocks a read). Only successful answers are stored
 * (the client's choice); this class just stores what it is given.
 */
export class DiskCache<T> {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private index?: LRUCache<string, { size: number }>;
  private loading?: Promise<LRUCache<string, { size: number }>>;
  private evicted: string[] = [];
  private readonly warned = new Set<string>();

  constructor(
    readonly dir: string,
    limits: CacheLimits = {},
    private readonly now: () => number = Date.now,
    private readonly opts: DiskCacheOptions<T> = {},
  ) {
    this.maxEntries = Math.max(1, limits.maxEntries ?? 5000);
    this.maxBytes = Math.max(1, limits.maxBytes ?? 64 * 1024 * 1024);
    this.ttlMs = limits.ttlMs ?? 7 * 24 * 3600 * 1000;
  }

  private file(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  private load(): Promise<LRUCache<string, { size: number }>> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= (async () => {
      const idx = new LRUCache<string, { size: number }>({
        max: this.maxEntries,
        maxSize: this.maxBytes,
        sizeCalculation: (v) => Math.max(1, v.size),
        dispose: (_v, key, reason) => {
          if (reason === 'evict') this.evicted.push(key);
        },
      });
      let names: string[] = [];
      try {
        names = await fs.readdir(this.dir);
      } catch {
        names = [];
      }
      const found: Array<{ key: string; size: number; mtime: number }> = [];
      for (const n of names) {
        if (!n.endsWith('.json')) continue;
        const key = n.slice(0, -5);
        if (!KEY_RE.test(key)) continue;
        try {
          const st = await fs.stat(path.join(this.dir, n));
          found.push({ key, size: st.size, mtime: st.mtimeMs });
        } catch {
          // removed meanwhile
        }
      }
      // Oldest first, so the most recently used end up most recent in the LRU (and the oldest are evicted).
      found.sort((a, b) => a.mtime - b.mtime);
      for (const f of found) idx.set(f.key, { size: f.size });
      this.index = idx;
      await this.flushEvictions();
      return idx;
    })();
    return this.loading;
  }

  /** The stored value, or undefined on a miss (absent, expired or unreadable). */
  async get(key: string): Promise<T | undefined> {
    const idx = await this.load();
    const file = this.file(key);
    let text: string;
    try {
      text = await readRegularText(file, { noFollow: true });
    } catch (e) {
      idx.delete(key);
      const code = (e as NodeJS.ErrnoException).code;
      if (isNotRegular(e)) {
        this.warn(file, `not a regular file (${fsCauseText(e)})`);
        await this.delete(key);
      } else if (code !== 'ENOENT') this.warn(file, fsCauseText(e));
      return undefined;
    }
    let stored: Stored<T>;
    try {
      const env = envelopeSchema.safeParse(JSON.parse(text));
      if (!env.success) throw new Error(issuesText(env.error));
      let value = env.data.value as T;
      if (this.opts.schema) {
        const r = this.opts.schema.safeParse(value);
        if (!r.success) throw new Error(issuesText(r.error, 'value'));
        value = r.data;
      }
      stored = { v: 1, createdAt: env.data.createdAt, value };
    } catch (e) {
      this.warn(file, e instanceof SyntaxError ? `not valid JSON (${e.message})` : e instanceof Error ? e.message : String(e));
      await this.delete(key);
      return undefined;
    }
    if (this.now() - stored.createdAt > this.ttlMs) {
      await this.delete(key);
      return undefined;
    }
    idx.set(key, { size: Buffer.byteLength(text) });
    const t = new Date(this.now());
    await fs.utimes(this.file(key), t, t).catch(() => undefined);
    return stored.value;
  }

  /** Stores `value` (atomically); evicts the least recently used entries beyond the bounds. */
  async set(key: string, value: T): Promise<void> {
    const idx = await this.load();
    const text = JSON.stringify({ v: 1, createdAt: this.now(), value } satisfies Stored<T>);
    const size = Buffer.byteLength(text);
    if (size > this.maxBytes) return;
    await fs.mkdir(this.dir, { recursive: true });
    await atomicWriteFile(this.file(key), text, { durable: false });
    idx.set(key, { size });
    await this.flushEvictions();
  }

  /** One warning per file: a bad entry is a miss and is removed. */
  private warn(file: string, why: string): void {
    if (this.warned.has(file)) return;
    this.warned.add(file);
    this.opts.onWarning?.(`Ignored the LLM cache entry ${file}: ${why}; it was removed and the request is sent again.`);
  }

  private async flushEvictions(): Promise<void> {
    const keys = this.evicted;
    this.evicted = [];
    await Promise.all(keys.map((k) => fs.rm(this.file(k), { force: true }).catch(() => undefined)));
  }

  async delete(key: string): Promise<void> {
    const idx = await this.load();
    idx.delete(key);
    await fs.rm(this.file(key), { force: true }).catch(() => undefined);
  }

  /** Entries and bytes currently indexed. */
  async stats(): Promise<{ entries: number; bytes: number }> {
    const idx = await this.load();
    return { entries: idx.size, bytes: idx.calculatedSize };
  }
}

function issuesText(err: z.ZodError, under?: string): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${[under, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
