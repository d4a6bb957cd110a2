/**
 * Answers with an end: a fetch whose deadline covers the whole exchange (headers and body) and
 * whose body is cut off past a byte limit, and the same two bounds for a stream of text (the
 * editor's language models). Without them a 200 MB body is read whole and an endless chunked
 * body is read forever: the openai SDK's own timeout stops once the headers have arrived.
 */

/** What went over a limit: the time (`deadline`) or the size. Mapped to LlmError by mapError / the caller. */
export class ResponseLimitError extends Error {
  constructor(
    readonly kind: 'deadline' | 'size',
    /** The limit: ms for a deadline, bytes for a size. */
    readonly limit: number,
    /** Bytes of the answer received when it was stopped. */
    readonly bytes: number,
    /** Time since the request was sent, ms. */
    readonly elapsedMs: number,
  ) {
    // No "timed out" here: the SDK would take that for its own connection timeout and drop this error.
    super(kind === 'deadline' ? `the answer did not end within its deadline of ${limit} ms` : `the answer was larger than ${limit} bytes`);
    this.name = 'ResponseLimitError';
  }
}

/** The ResponseLimitError in `e` or its cause chain (the SDK wraps what fetch throws). */
export function responseLimitOf(e: unknown): ResponseLimitError | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur !== null && typeof cur === 'object'; i++) {
    if (cur instanceof ResponseLimitError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface ResponseBounds {
  /** Deadline of the whole exchange, from the call to the last byte of the body. */
  timeoutMs: number;
  /** Most bytes of body read (after content decoding); more stops the exchange. */
  maxBytes: number;
}

/**
 * Wraps `base` so each exchange ends by `timeoutMs` and reads at most `maxBytes` of body. Past
 * either the request is aborted (the socket is released, nothing more is buffered) and the
 * caller gets a ResponseLimitError: from fetch itself, or from reading the body. A
 * `content-length` above the limit is refused before any of the body is read.
 */
export function boundedFetch(base: typeof fetch, bounds: ResponseBounds): typeof fetch {
  return async (input, init) => {
    const started = Date.now();
    const ctl = new AbortController();
    let reason: ResponseLimitError | undefined;
    let bytes = 0;
    const stop = (kind: ResponseLimitError['kind']): ResponseLimitError => {
      reason ??= new ResponseLimitError(kind, kind === 'deadline' ? bounds.timeoutMs : bounds.maxBytes, bytes, Date.now() - started);
      ctl.abort(reason);
      return reason;
    };
    const timer = setTimeout(() => stop('deadline'), bounds.timeoutMs);
    const outer = init?.signal ?? undefined;
    const signal = outer ? AbortSignal.any([outer, ctl.signal]) : ctl.signal;
    let res: Response;
    try {
      res = await base(input, { ...init, signal });
    } catch (e) {
      clearTimeout(timer);
      throw reason ?? e;
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > bounds.maxBytes) {
      clearTimeout(timer);
      const err = stop('size');
      await res.body?.cancel(err).catch(() => undefined);
      throw err;
    }
    if (!res.body) {
      clearTimeout(timer);
      return res;
    }
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(out) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            clearTimeout(timer);
            out.close();
            return;
          }
          bytes += value.byteLength;
          if (bytes > bounds.maxBytes) {
            clearTimeout(timer);
            const err = stop('size');
            out.error(err);
            void reader.cancel(err).catch(() => undefined);
            return;
          }
          out.enqueue(value);
        } catch (e) {
          clearTimeout(timer);
          out.error(reason ?? e);
        }
      },
      cancel(why) {
        clearTimeout(timer);
        return reader.cancel(why);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/**
 * Reads a stream of text chunks to its end, within `timeoutMs` from the call and `maxBytes`
 * (UTF-8) in all. Past either, `onStop` is called (to cancel the producer) and the promise
 * rejects with a ResponseLimitError at once, whether or not the producer ever ends.
 * `signal` aborting stops the reading too and rejects with `abortError()`.
 */
export async function readBoundedText(
  chunks: AsyncIterable<string>,
  bounds: ResponseBounds & { signal?: AbortSignal; onStop?: () => void; abortError: () => Error },
): Promise<string> {
  const started = Date.now();
  let bytes = 0;
  let text = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      bounds.onStop?.();
      reject(new ResponseLimitError('deadline', bounds.timeoutMs, bytes, Date.now() - started));
    }, bounds.timeoutMs);
    onAbort = () => {
      bounds.onStop?.();
      reject(bounds.abortError());
    };
    if (bounds.signal?.aborted) onAbort();
    else bounds.signal?.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => undefined);
  const read = (async () => {
    for await (const chunk of chunks) {
      bytes += Buffer.byteLength(chunk, 'utf8');
      // Checked here too: a producer that never yields to the event loop would starve the timer.
      if (Date.now() - started > bounds.timeoutMs) {
        bounds.onStop?.();
        throw new ResponseLimitError('deadline', bounds.timeoutMs, bytes, Date.now() - started);
      }
      if (bytes > bounds.maxBytes) {
        bounds.onStop?.();
        throw new ResponseLimitError('size', bounds.maxBytes, bytes, Date.now() - started);
      }
      text += chunk;
    }
    return text;
  })();
  read.catch(() => undefined);
  try {
    return await Promise.race([read, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) bounds.signal?.removeEventListener('abort', onAbort);
  }
}
