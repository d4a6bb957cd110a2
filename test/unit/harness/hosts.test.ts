import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installEnv, REPO_ROOT } from '../../../test/harness/codeServer';
import { HOSTS, installLmProvider } from '../../../test/harness/hosts';

describe('harness: the VS Code hosts of the in-editor tests', () => {
  it('the minimum host is the VS Code that engines.vscode allows at least', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { vscode: string } };
    const min = pkg.engines.vscode.replace(/^\^/, '').split('.').slice(0, 2).join('.');
    assert.equal(HOSTS.minimum.vscodeVersion.split('.').slice(0, 2).join('.'), min);
    assert.equal(HOSTS.minimum.lmProvider, false);
  });

  it('the current host has the language model provider API (1.104+) and names the Node it needs', () => {
    const [major, minor] = HOSTS.current.vscodeVersion.split('.').map(Number);
    assert.ok(major! > 1 || minor! >= 104, HOSTS.current.vscodeVersion);
    assert.equal(HOSTS.current.lmProvider, true);
    assert.match(HOSTS.current.node ?? '', /^22\.\d+\.\d+$/);
    // code-server releases mirror the VS Code minor they bundle.
    assert.equal(HOSTS.current.codeServerVersion.split('.')[1], HOSTS.current.vscodeVersion.split('.')[1]);
  });

  it('installs code-server without the outer npm\'s lifecycle variables (under `npm test` they named Node 20)', () => {
    const outer = {
      PATH: '/usr/bin',
      npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
      npm_node_execpath: '/usr/bin/node',
      npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
      npm_lifecycle_event: 'test',
      npm_package_name: 'prompt-optimizer-dify',
      NODE: '/usr/bin/node',
      npm_config_registry: 'https://registry.example/',
      HTTPS_PROXY: 'http://proxy:3128',
    };
    const env = installEnv(outer, { binDir: '/n22/bin', nodeDir: '/n22' });
    for (const gone of ['npm_config_user_agent', 'npm_node_execpath', 'npm_execpath', 'npm_lifecycle_event', 'npm_package_name', 'NODE']) {
      assert.equal(env[gone], undefined, gone);
    }
    assert.equal(env.npm_config_registry, 'https://registry.example/');
    assert.equal(env.HTTPS_PROXY, 'http://proxy:3128');
    assert.equal(env.PATH, `/n22/bin${path.delimiter}/usr/bin`);
    assert.equal(env.npm_config_nodedir, '/n22');
    assert.equal(outer.npm_config_user_agent.startsWith('npm/'), true, 'the caller\'s environment is left as it was');
  });

  it('installs the scripted model provider as an extension folder whose code is the compiled test extension', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-hosts-'));
    try {
      const ext = installLmProvider(dir);
      assert.equal(path.basename(ext), 'promptopt-test.scripted-models-0.0.0');
      const manifest = JSON.parse(fs.readFileSync(path.join(ext, 'package.json'), 'utf8')) as { main: string; engines: { vscode: string }; contributes: { languageModelChatProviders: Array<{ vendor: string }> } };
      assert.equal(manifest.main, './main.js');
      assert.equal(manifest.engines.vscode, '^1.104.0');
      assert.deepEqual(manifest.contributes.languageModelChatProviders.map((p) => p.vendor), ['promptopt-test']);
      const main = fs.readFileSync(path.join(ext, 'main.js'), 'utf8');
      const target = JSON.parse(main.match(/require\((".*")\)/)![1]!) as string;
      assert.equal(target, path.join(REPO_ROOT, 'out', 'test', 'lmProvider', 'extension.js'));
      assert.ok(fs.existsSync(target), 'the test extension is not compiled');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
