import { DifyError } from '../errors';
import type { DifyStreamEvent } from './types';

/**
 * Reads a Dify event stream (`text/event-stream`): blocks separated by a blank line, each
 * `data: <json>` (several data lines are joined by newlines) or `event: ping` (keep-alive,
 * skipped). As written by api/core/app/apps/base_app_generate_response_converter.py and
 * api/libs/helper.py `compact_generate_response`.
 */
export async function* readSse(body: ReadableStream<Uint8Array> | null, signal?: AbortSignal): AsyncGenerator<DifyStreamEvent> {
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buf += decoder.decode(value, { stream: true });
      if (done) buf += decoder.decode();
      buf = buf.replace(/\r\n/g, '\n');
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const ev = parseBlock(block);
        if (ev) yield ev;
      }
      if (done) {
        const ev = parseBlock(buf);
        if (ev) yield ev;
        return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

function parseBlock(block: string): DifyStreamEvent | undefined {
  const data: string[] = [];
  let eventName: string | undefined;
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') eventName = value;
  }
  if (!data.length) return eventName && eventName !== 'ping' ? { event: eventName } : undefined;
  const text = data.join('\n');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DifyError('DIFY_BAD_RESPONSE', `The draft run stream sent a line that is not JSON: ${text.slice(0, 120)}`);
  }
  if (!parsed || typeof parsed !== 'object' || typeof (parsed as { event?: unknown }).event !== 'string') {
    throw new DifyError('DIFY_BAD_RESPONSE', `The draft run stream sent an event without a name: ${text.slice(0, 120)}`);
  }
  return parsed as DifyStreamEvent;
}
