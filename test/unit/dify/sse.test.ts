import { strict as assert } from 'node:assert';
import { applySetCookies, readSse, threeWayDiff } from '../../../src/core/dify';
import { DifyError } from '../../../src/core/errors';

function stream(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

async function all(chunks: string[]) {
  const out = [];
  for await (const e of readSse(stream(chunks))) out.push(e);
  return out;
}

describe('dify: event stream, cookies, three-way diff', () => {
  it('reads data events split across chunks, CRLF blocks, pings and a last block without a blank line', async () => {
    const evs = await all(['data: {"event":"workflow_st', 'arted","task_id":"t"}\r\n\r\nevent: ping\n\n', 'data: {"event":"node_finished",\ndata: "data":{"node_id":"n1"}}\n\n', 'data: {"event":"workflow_finished","data":{"status":"succeeded"}}']);
    assert.deepEqual(evs.map((e) => e.event), ['workflow_started', 'node_finished', 'workflow_finished']);
    assert.deepEqual(evs[1].data, { node_id: 'n1' });
  });

  it('a line that is not JSON is a DIFY_BAD_RESPONSE, not a crash', async () => {
    await assert.rejects(all(['data: <html>\n\n']), (e: DifyError) => e.code === 'DIFY_BAD_RESPONSE');
  });

  it('Set-Cookie: sets, overwrites, and removes on an empty value or Max-Age=0', () => {
    let jar = applySetCookies({}, ['__Host-access_token=a1; HttpOnly; Path=/; Max-Age=3600', 'csrf_token="c1"; Path=/']);
    assert.deepEqual(jar, { '__Host-access_token': 'a1', csrf_token: 'c1' });
    jar = applySetCookies(jar, ['__Host-access_token=a2; Path=/', 'csrf_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0']);
    assert.deepEqual(jar, { '__Host-access_token': 'a2' });
  });

  it('the three-way difference shows both sides against the base', () => {
    const d = threeWayDiff('a.yml', 'x: 1\ny: 1\n', 'x: 2\ny: 1\n', 'x: 1\ny: 3\n');
    assert.match(d, /base → Dify's draft[\s\S]*-x: 1\n\+x: 2[\s\S]*base → ours[\s\S]*-y: 1\n\+y: 3/);
  });
});
