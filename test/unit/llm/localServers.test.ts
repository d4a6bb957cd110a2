import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../../../src/cli/main';
import { LlmError } from '../../../src/core/errors';
import { KNOWN_LOCAL_SERVERS, LOCAL_SERVER_PLACEHOLDER_KEY, isLoopbackUrl, modelIdsOf, probeLocalServers } from '../../../src/core/llm/localServers';
import { endpointFromEnv } from '../../../src/core/service/endpoint';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A loopback server answering every request with `handler` (or never, for `hang`). */
async function rawServer(handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | 'hang'): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<import('node:net').Socket>();
  const srv = http.createServer((req, res) => {
    if (handler !== 'hang') handler(req, res);
  });
  srv.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** A port nothing listens on (a server was there a moment ago). */
async function closedPort(): Promise<number> {
  const s = await rawServer(() => undefined);
  await s.close();
  return s.port;
}

describe('local servers: probing /v1/models on loopback ports', () => {
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ models: ['llama3.2:3b', 'qwen2.5:7b'] });
  });
  after(() => srv.close());

  it('lists the usual ports of Ollama, LM Studio, llama.cpp and vLLM', () => {
    assert.deepEqual(KNOWN_LOCAL_SERVERS.map((k) => [k.name, k.port]), [['Ollama', 11434], ['LM Studio', 1234], ['llama.cpp', 8080], ['vLLM', 8000]]);
  });

  it('finds a server that answers GET /v1/models, with its model ids, over real HTTP', async () => {
    srv.reset();
    const found = await probeLocalServers({ servers: [], extraPorts: [srv.port] });
    assert.deepEqual(found, [{ name: 'Local server', port: srv.port, baseUrl: `http://127.0.0.1:${srv.port}/v1`, models: ['llama3.2:3b', 'qwen2.5:7b'] }]);
    assert.deepEqual(srv.requests.map((r) => `${r.method} ${r.path}`), ['GET /v1/models']);
  });

  it('names the kind of server by its port, and skips closed ports and duplicates', async () => {
    const closed = await closedPort();
    const found = await probeLocalServers({ servers: [{ name: 'Ollama', port: srv.port }, { name: 'vLLM', port: closed }], extraPorts: [srv.port, closed, 0, 70000] });
    assert.deepEqual(found.map((f) => [f.name, f.port]), [['Ollama', srv.port]]);
  });

  it('a port that answers something else (HTML, 404, not a model list) is not a server', async () => {
    const html = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hello</html>');
    });
    const notFound = await rawServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const wrongJson = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"models": []}');
    });
    try {
      assert.deepEqual(await probeLocalServers({ servers: [], extraPorts: [html.port, notFound.port, wrongJson.port] }), []);
    } finally {
      await Promise.all([html.close(), notFound.close(), wrongJson.close()]);
    }
  });

  it('a port that never answers costs at most the timeout', async () => {
    const hang = await rawServer('hang');
    try {
      const t0 = Date.now();
      const found = await probeLocalServers({ servers: [], extraPorts: [hang.port, srv.port], timeoutMs: 300 });
      const took = Date.now() - t0;
      assert.deepEqual(found.map((f) => f.port), [srv.port]);
      assert.ok(took < 2000, `the probe took ${took} ms`);
    } finally {
      await hang.close();
    }
  });

  it('reads model ids from an OpenAI-style list only', () => {
    assert.deepEqual(modelIdsOf({ object: 'list', data: [{ id: 'a' }, { id: '' }, { name: 'b' }, null, { id: 'c' }] }), ['a', 'c']);
    assert.equal(modelIdsOf({ models: [] }), undefined);
    assert.equal(modelIdsOf(null), undefined);
  });

  it('tells loopback base URLs from others', () => {
    for (const u of ['http://127.0.0.1:11434/v1', 'http://localhost:1234/v1', 'http://[::1]:8000/v1', 'https://127.0.0.2/v1']) assert.equal(isLoopbackUrl(u), true, u);
    for (const u of ['https://api.openai.com/v1', 'http://127.0.0.1.evil.example/v1', 'http://10.0.0.1:8080/v1', 'file:///tmp', 'not a url', 'http://localhost.example.com/v1']) assert.equal(isLoopbackUrl(u), false, u);
  });
});

describe('CLI endpoint: keys, local servers, editor models', () => {
  it('a local base URL needs no key (a placeholder is sent); any other needs one', () => {
    assert.deepEqual(endpointFromEnv({}, { baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.2' }), {
      apiKey: LOCAL_SERVER_PLACEHOLDER_KEY,
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'llama3.2',
    });
    assert.equal(endpointFromEnv({ OPENAI_BASE_URL: 'http://localhost:1234/v1' })?.apiKey, LOCAL_SERVER_PLACEHOLDER_KEY);
    assert.equal(endpointFromEnv({}), undefined);
    assert.equal(endpointFromEnv({}, { baseUrl: 'https://example.com/v1' }), undefined);
    assert.equal(endpointFromEnv({ OPENAI_API_KEY: 'sk-real' }, { baseUrl: 'http://127.0.0.1:8000/v1' })?.apiKey, 'sk-real', 'a key that is set is still sent (vLLM --api-key)');
  });

  it('an editor model (vscode:…) is refused in plain words naming where it came from', () => {
    for (const [env, flags, from] of [
      [{}, { model: 'vscode:copilot/gpt-4o' }, '--model'],
      [{ PROMPTOPT_MODEL: 'vscode:copilot/gpt-4o', OPENAI_API_KEY: 'k' }, {}, 'PROMPTOPT_MODEL'],
      [{}, { configModel: 'VSCODE:copilot/x' }, 'model.name in .optimizer/config.yaml'],
    ] as const) {
      assert.throws(
        () => endpointFromEnv(env, flags),
        (e: unknown) => e instanceof LlmError && e.code === 'LLM_UNSUPPORTED' && e.message.startsWith(from) && /exist only inside VS Code/.test(e.message) && /--base-url/.test(e.message),
      );
    }
  });

  it('promptopt optimize against a local server with no key runs the LLM strategy over HTTP', async function () {
    this.timeout(30_000);
    const srv = await startFakeOpenAI();
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-local-'));
    try {
      fs.mkdirSync(path.join(ws, '.git'));
      fs.copyFileSync(path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml'), path.join(ws, 'app.yml'));
      let err = '';
      let out = '';
      const code = await runCli(['optimize', 'app.yml', '--base-url', srv.url, '--model', 'llama-local', '--strategy', 'llm_guided', '--iterations', '1', '--json'], {
        stdout: (s) => (out += s),
        stderr: (s) => (err += s),
        env: {},
        cwd: ws,
        signal: new AbortController().signal,
      });
      assert.equal(code, 0, err);
      const chats = srv.chatRequests();
      assert.ok(chats.length > 0, `no request reached the local server: ${err}`);
      assert.equal(chats[0]!.headers.authorization, `Bearer ${LOCAL_SERVER_PLACEHOLDER_KEY}`);
      assert.equal((chats[0]!.body as { model: string }).model, 'llama-local');
      const rows = JSON.parse(out) as Array<{ strategy?: string }>;
      assert.ok(rows.some((r) => r.strategy === 'llm_guided'), out);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
      await srv.close();
    }
  });

  it('promptopt optimize --model vscode:… fails with the plain message and changes nothing', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-local-'));
    try {
      fs.mkdirSync(path.join(ws, '.git'));
      const file = path.join(ws, 'app.yml');
      fs.copyFileSync(path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml'), file);
      const before = fs.readFileSync(file, 'utf8');
      let err = '';
      const code = await runCli(['optimize', 'app.yml', '--write', '--model', 'vscode:copilot/gpt-4o'], { stdout: () => undefined, stderr: (s) => (err += s), env: {}, cwd: ws, signal: new AbortController().signal });
      assert.notEqual(code, 0);
      assert.match(err, /editor model "vscode:copilot\/gpt-4o".* exist only inside VS Code/);
      assert.equal(fs.readFileSync(file, 'utf8'), before);
      assert.equal(fs.existsSync(path.join(ws, '.optimizer')), false);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
