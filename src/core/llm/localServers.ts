import { boundedFetch } from './bounded';

/**
 * OpenAI-compatible model servers running on this machine (Ollama, LM Studio, llama.cpp, vLLM):
 * found by asking `GET /v1/models` on their usual loopback ports, briefly, and only when the
 * user asks (Select Model). They need no API key.
 */

/** A kind of local server and the loopback port it listens on by default. */
export interface LocalServerKind {
  name: string;
  port: number;
}

/** The usual ports of the well-known local servers. */
export const KNOWN_LOCAL_SERVERS: readonly LocalServerKind[] = Object.freeze([
  { name: 'Ollama', port: 11434 },
  { name: 'LM Studio', port: 1234 },
  { name: 'llama.cpp', port: 8080 },
  { name: 'vLLM', port: 8000 },
]);

/** A server that answered. */
export interface LocalServer {
  /** The kind probed at that port ('Local server' for extra ports). */
  name: string;
  port: number;
  /** `http://127.0.0.1:PORT/v1` */
  baseUrl: string;
  /** Model ids it lists (may be empty). */
  models: string[];
}

export interface ProbeOptions {
  /** Extra loopback ports to try (e.g. a server started on a port of its own). */
  extraPorts?: readonly number[];
  /** Replaces the well-known list (tests). */
  servers?: readonly LocalServerKind[];
  /** Per-port limit, the whole answer included (default 800 ms): a closed port answers at once, a busy one is not waited for. */
  timeoutMs?: number;
  /** Most bytes of one `/v1/models` answer (default 2 MB): a port that sends more is not a model server. */
  maxBytes?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Far more than any local server's model list. */
const PROBE_MAX_BYTES = 2 * 1024 * 1024;

/** The placeholder sent as the key to a loopback server when none is set (OpenAI-compatible servers that ignore keys still expect the header). */
export const LOCAL_SERVER_PLACEHOLDER_KEY = 'no-key-needed-for-local-server';

/** Whether `baseUrl` points at this machine (127.0.0.0/8, ::1, localhost): such a server may be used without a key. */
export function isLoopbackUrl(baseUrl: string): boolean {
  let host: string;
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    host = u.hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;
}

/** Model ids of a `/v1/models` answer, or undefined when it is not one. */
export function modelIdsOf(body: unknown): string[] | undefined {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  return data.map((d) => (d as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === 'string' && id.length > 0);
}

async function probeOne(kind: LocalServerKind, opts: ProbeOptions): Promise<LocalServer | undefined> {
  const baseUrl = `http://127.0.0.1:${kind.port}/v1`;
  // The deadline covers the body, and the body is bounded: an endless or huge answer is dropped, not buffered.
  const fetchBounded = boundedFetch(opts.fetch ?? globalThis.fetch, { timeoutMs: opts.timeoutMs ?? 800, maxBytes: opts.maxBytes ?? PROBE_MAX_BYTES });
  try {
    const res = await fetchBounded(`${baseUrl}/models`, { signal: opts.signal, headers: { accept: 'application/json' } });
    if (!res.ok) return undefined;
    const models = modelIdsOf(await res.json());
    return models ? { name: kind.name, port: kind.port, baseUrl, models } : undefined;
  } catch {
    return undefined; // closed port, timeout, not JSON: nothing usable there
  }
}

/**
 * Asks every well-known port (and `extraPorts`) at once for `/v1/models`; returns the servers
 * that answered with a model list, in the order of the list. Never throws; a cancelled probe
 * returns what answered before.
 */
export async function probeLocalServers(opts: ProbeOptions = {}): Promise<LocalServer[]> {
  const kinds: LocalServerKind[] = [...(opts.servers ?? KNOWN_LOCAL_SERVERS)];
  for (const port of opts.extraPorts ?? []) {
    if (validPort(port) && !kinds.some((k) => k.port === port)) kinds.push({ name: 'Local server', port });
  }
  const found = await Promise.all(kinds.map((k) => probeOne(k, opts)));
  return found.filter((s): s is LocalServer => s !== undefined);
}
