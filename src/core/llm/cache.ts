import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { atomicWriteFile } from '../util/atomicWrite';

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
 * Unreadable or corrupt entries are misses and are removed. Only successful answers are stored
 * (the client's choice); this class just stores what it is given.
 */
export class DiskCache<T> {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private index?: LRUCache<string, { size: number }>;
  private loading?: Promise<LRUCache<string, { size: number }>>;
  private evicted: string[] = [];

  constructor(
    readonly dir: string,
    limits: CacheLimits = {},
    private readonly now: () => number = Date.now,
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
    let text: string;
    try {
      text = await fs.readFile(this.file(key), 'utf8');
    } catch {
      idx.delete(key);
      return undefined;
    }
    let stored: Stored<T>;
    try {
      stored = JSON.parse(text) as Stored<T>;
      if (stored.v !== 1 || typeof stored.createdAt !== 'number') throw new Error('bad entry');
    } catch {
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
