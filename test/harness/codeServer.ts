/**
 * code-server (VS Code 1.100.3 packaged on npm) for in-editor tests on machines that cannot
 * download VS Code: checks the Debian packages it needs, installs it once into a git-ignored
 * cache folder (reused while the version marker matches), and starts fresh, isolated instances
 * bound to 127.0.0.1. Shared by the integration runner and the Playwright UI tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeRuntime } from './nodeRuntime';
import { killGroup, trackGroup } from './processes';

/** code-server release whose bundled VS Code is 1.100.3 (GUIDE §4): the minimum VS Code (engines.vscode). */
export const CODE_SERVER_VERSION = '4.100.3';
/** Repository root (this file compiles to out/test/harness/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** Git-ignored cache folder holding the installed code-server. */
export const DEFAULT_CACHE_DIR = path.join(REPO_ROOT, '.vscode-test', 'code-server');

/** A Debian package the harness needs, with how to tell it is present. */
interface Prerequisite {
  pkg: string;
  why: string;
  /** Needed only to build code-server's native modules (i.e. before installing it). */
  installOnly: boolean;
  present: () => boolean;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pkgConfigHas(name: string): boolean {
  return spawnSync('pkg-config', ['--exists', name], { stdio: 'ignore' }).status === 0;
}

/** Path of the Chromium binary used by the UI tests and the code-server page (env CHROMIUM_PATH overrides). */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (fs.existsSync(p)) return p;
  return '/usr/bin/chromium';
}

const PREREQUISITES: Prerequisite[] = [
  { pkg: 'ripgrep', why: '`rg`, used by VS Code search and code-server install', installOnly: false, present: () => onPath('rg') },
  { pkg: 'chromium', why: 'headless browser that hosts the VS Code workbench', installOnly: false, present: () => fs.existsSync(chromiumPath()) },
  { pkg: 'pkg-config', why: 'locates native libraries when building code-server', installOnly: true, present: () => onPath('pkg-config') },
  {
    pkg: 'libkrb5-dev',
    why: 'krb5/gssapi headers for the kerberos native module',
    installOnly: true,
    present: () => fs.existsSync('/usr/include/krb5.h') || fs.existsSync('/usr/include/krb5/krb5.h') || pkgConfigHas('krb5'),
  },
  { pkg: 'libsecret-1-dev', why: 'libsecret headers for the keytar native module', installOnly: true, present: () => pkgConfigHas('libsecret-1') },
  { pkg: 'libx11-dev', why: 'X11 headers for native-keymap', installOnly: true, present: () => pkgConfigHas('x11') },
  { pkg: 'libxkbfile-dev', why: 'xkbfile headers for native-keymap', installOnly: true, present: () => pkgConfigHas('xkbfile') },
];

/**
 * Returns one plain-words line per missing Debian package (empty when all are present).
 * @param forInstall also check the -dev packages needed to build code-server.
 */
export function missingSystemPackages(forInstall: boolean): string[] {
  return PREREQUISITES.filter((p) => (forInstall || !p.installOnly) && !p.present()).map(
    (p) => `missing Debian package ${p.pkg} (${p.why}): apt-get update && apt-get install -y ${p.pkg}`,
  );
}

/** Thrown when the harness cannot prepare or start VS Code; the message says what to do. */
export class HarnessSetupError extends Error {
  override readonly name = 'HarnessSetupError';
}

/** Where an installed code-server lives. */
export interface CodeServerInstall {
  version: string;
  /** Absolute path of the `code-server` launcher script. */
  bin: string;
  /** true when this call installed it, false when the cached copy was reused. */
  freshlyInstalled: boolean;
  /** The Node it runs under when not the harness's own (newer code-server needs Node 22). */
  node?: NodeRuntime;
}

interface InstallMarker {
  version: string;
  nodeAbi: string;
}

/**
 * Puts Debian's `rg` where @vscode/ripgrep's postinstall looks for a cached download, so
 * installing code-server does not try to fetch ripgrep from GitHub (GUIDE §4 step 2).
 */
export function primeRipgrepCache(): void {
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  if (!rg) return;
  for (const [pkgVersion, rgVersion] of RIPGREP_RELEASES) {
    const dir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${pkgVersion}`);
    const archive = path.join(dir, `ripgrep-${rgVersion}-x86_64-unknown-linux-musl.tar.gz`);
    if (fs.existsSync(archive)) continue;
    fs.mkdirSync(dir, { recursive: true });
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-stage-'));
    try {
      fs.copyFileSync(rg, path.join(stage, 'rg'));
      fs.chmodSync(path.join(stage, 'rg'), 0o755);
      const tmpArchive = `${archive}.${process.pid}.tmp`;
      const tar = spawnSync('tar', ['-czf', tmpArchive, '-C', stage, 'rg'], { stdio: 'inherit' });
      if (tar.status !== 0) throw new HarnessSetupError(`could not create the ripgrep cache archive ${archive} (tar failed)`);
      fs.renameSync(tmpArchive, archive);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  }
}

/**
 * @vscode/ripgrep versions the supported code-server releases depend on, with the ripgrep
 * release each downloads (its postinstall looks for `ripgrep-<release>-<target>.tar.gz` in
 * `<tmpdir>/vscode-ripgrep-cache-<package version>/` before going to GitHub).
 */
const RIPGREP_RELEASES: ReadonlyArray<readonly [string, string]> = [
  ['1.15.11', 'v13.0.0-10'], // code-server 4.100.3
  ['1.17.1', 'v15.0.1'], // code-server 4.117.0
];

/** Node headers folder for node-gyp, so native builds never download headers from nodejs.org. */
function localNodeDir(): string | undefined {
  const candidates = [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node.h')));
}

/**
 * Variables an outer npm (`npm test`) sets for its own scripts. The inner `npm install` would
 * take them as its own config: `npm_config_user_agent` names the outer Node (20), and
 * code-server's postinstall reads the Node version from it, so it refuses to install under
 * Node 22 when run from `npm test`.
 */
const OUTER_NPM_VARS = /^(npm_config_user_agent|npm_execpath|npm_node_execpath|npm_lifecycle_.*|npm_package_.*|npm_command|NODE)$/;

/**
 * The environment for `npm install code-server`: the caller's, minus the outer npm's lifecycle
 * variables (registry and proxy settings are kept), and with `node` (when given) first on PATH
 * so npm's own `#!/usr/bin/env node` and code-server's postinstall run under it and native
 * modules build against its headers.
 */
export function installEnv(base: NodeJS.ProcessEnv, node?: Pick<NodeRuntime, 'binDir' | 'nodeDir'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!OUTER_NPM_VARS.test(key)) env[key] = value;
  env.npm_config_yes = 'true';
  env.npm_config_unsafe_perm = 'true';
  if (node) {
    env.PATH = `${node.binDir}${path.delimiter}${env.PATH ?? ''}`;
    env.npm_config_nodedir = node.nodeDir;
  } else {
    const nodeDir = localNodeDir();
    if (nodeDir && !env.npm_config_nodedir) env.npm_config_nodedir = nodeDir;
  }
  return env;
}

/**
 * Returns a ready code-server, installing it from npm into `cacheDir` the first time (about a
 * minute) and reusing it afterwards while the version marker (version + Node ABI) matches.
 */
export function ensureCodeServer(options: { cacheDir?: string; version?: string; node?: NodeRuntime; log?: (line: string) => void } = {}): CodeServerInstall {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const version = options.version ?? CODE_SERVER_VERSION;
  const log = options.log ?? ((line: string) => process.stdout.write(`[harness] ${line}\n`));
  const installDir = path.join(cacheDir, version);
  const bin = path.join(installDir, 'node_modules', '.bin', 'code-server');
  const markerPath = path.join(installDir, 'installed.json');
  const node = options.node;
  const wanted: InstallMarker = { version, nodeAbi: node?.abi ?? process.versions.modules };

  const runtimeMissing = missingSystemPackages(false);
  if (runtimeMissing.length > 0) throw new HarnessSetupError(runtimeMissing.join('\n'));

  if (fs.existsSync(bin) && fs.existsSync(markerPath)) {
    try {
      const marker = JSON.parse(fs.readFileSync(markerPath, 'utf8')) as InstallMarker;
      if (marker.version === wanted.version && marker.nodeAbi === wanted.nodeAbi) {
        return { version, bin, freshlyInstalled: false, node };
      }
      log(`cached code-server ${marker.version} (node ABI ${marker.nodeAbi}) does not match ${version} (ABI ${wanted.nodeAbi}); reinstalling`);
    } catch {
      log('code-server version marker unreadable; reinstalling');
    }
  }

  const buildMissing = missingSystemPackages(true);
  if (buildMissing.length > 0) throw new HarnessSetupError(buildMissing.join('\n'));

  primeRipgrepCache();
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheDir, `.install-${version}-`));
  fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true }, null, 2));
  log(`installing code-server ${version} from npm into ${path.relative(REPO_ROOT, installDir)} (once; about a minute)`);
  const started = Date.now();
  const env = installEnv(process.env, node);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `code-server@${version}`], {
    cwd: staging,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (npm.status !== 0 || !fs.existsSync(path.join(staging, 'node_modules', '.bin', 'code-server'))) {
    const tail = `${npm.stdout ?? ''}\n${npm.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    fs.rmSync(staging, { recursive: true, force: true });
    throw new HarnessSetupError(`npm install code-server@${version} failed (exit ${npm.status}). Last output:\n${tail}`);
  }
  fs.writeFileSync(path.join(staging, 'installed.json'), JSON.stringify(wanted, null, 2));
  fs.rmSync(installDir, { recursive: true, force: true });
  fs.renameSync(staging, installDir);
  log(`code-server ${version} installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return { version, bin, freshlyInstalled: true, node };
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Workspace trust setup of a session. */
export type TrustMode = 'trusted' | 'restricted';

/** Settings that make a session trusted or put the workspace in Restricted Mode, plus quiet defaults. */
export function settingsFor(trust: TrustMode): Record<string, unknown> {
  const quiet = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'git.enabled': false,
    'window.restoreWindows': 'none',
    // The web workbench defaults to afterDelay; tests check exactly when files are saved.
    'files.autoSave': 'off',
  };
  return trust === 'trusted'
    ? { ...quiet, 'security.workspace.trust.enabled': false }
    : { ...quiet, 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' };
}

/** Options for {@link startCodeServer}. */
export interface StartOptions {
  /** Folder opened as the workspace. */
  workspace: string;
  /** User settings written to user-data-dir/User/settings.json before start. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and its extension host. */
  env?: NodeJS.ProcessEnv;
  /** Folder for user-data-dir, extensions-dir and logs; a new temp folder when omitted (removed on stop). */
  sessionDir?: string;
  /** How long to wait for the HTTP server (default 90 s). */
  readyTimeoutMs?: number;
}

/** A running code-server. */
export interface CodeServerSession {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  sessionDir: string;
  /** code-server's own stdout+stderr. */
  logFile: string;
  /** Workbench URL opening `workspace`, with an optional VS Code payload (e.g. extension test paths). */
  workbenchUrl(payload?: ReadonlyArray<readonly [string, string]>): string;
  /** `vscode-remote://` URI of an absolute local path, as the payload expects. */
  remoteUri(absPath: string): string;
  /** Last lines of code-server's log (for error messages). */
  logTail(lines?: number): string;
  /** Ends code-server and all its children (extension hosts, watchers); idempotent. */
  stop(): Promise<void>;
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts code-server on 127.0.0.1 with a fresh user-data-dir and extensions-dir, waits until
 * it answers, and returns a handle whose `stop()` ends its whole process group.
 */
export async function startCodeServer(install: CodeServerInstall, options: StartOptions): Promise<CodeServerSession> {
  const ownsSessionDir = options.sessionDir === undefined;
  const sessionDir = options.sessionDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-cs-'));
  const userDataDir = path.join(sessionDir, 'user-data');
  const extensionsDir = path.join(sessionDir, 'extensions');
  const xdg = path.join(sessionDir, 'xdg');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.mkdirSync(xdg, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(options.settings ?? {}, null, 2));
  const configFile = path.join(sessionDir, 'config.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  const logFile = path.join(sessionDir, 'code-server.log');
  const logFd = fs.openSync(logFile, 'a');

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const args = [
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    options.workspace,
  ];
  const child = spawn(install.bin, args, {
    cwd: options.workspace,
    env: {
      ...process.env,
      // No extension marketplace: keeps the session offline (no open-vsx.org queries).
      EXTENSIONS_GALLERY: '{}',
      ...(install.node ? { PATH: `${install.node.binDir}${path.delimiter}${process.env.PATH ?? ''}` } : {}),
      XDG_DATA_HOME: path.join(xdg, 'data'), XDG_CONFIG_HOME: path.join(xdg, 'config'), ...options.env },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  fs.closeSync(logFd);
  const untrack = trackGroup(child);

  const logTail = (lines = 30) => {
    try {
      return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      killGroup(child, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000));
      if ((await Promise.race([exited, timer])) === 'timeout') killGroup(child, 'SIGKILL');
    }
    // Children may outlive the leader: end the group for good.
    killGroup(child, 'SIGKILL');
    untrack();
    if (ownsSessionDir && !process.env.PROMPTOPT_KEEP_SESSION) fs.rmSync(sessionDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => (exitInfo = `exit code ${code ?? ''}${signal ? ` signal ${signal}` : ''}`));
  while (!(await httpOk(`${origin}/healthz`))) {
    if (exitInfo !== undefined || Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new HarnessSetupError(
        `code-server did not start on ${origin} (${exitInfo ?? 'timed out'}). Its log ends with:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const remoteUri = (absPath: string) => `vscode-remote://127.0.0.1:${port}${absPath.split(path.sep).map(encodeURIComponent).join('/')}`;
  return {
    port,
    origin,
    workspace: options.workspace,
    userDataDir,
    extensionsDir,
    sessionDir,
    logFile,
    remoteUri,
    workbenchUrl: (payload) => {
      let url = `${origin}/?folder=${encodeURIComponent(options.workspace)}`;
      if (payload && payload.length > 0) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
      return url;
    },
    logTail,
    stop,
  };
}

/** Copies a fixture folder into a fresh temp folder, so tests may change files. */
export function copyWorkspace(fixtureDir: string, parent?: string): string {
  const dir = fs.mkdtempSync(path.join(parent ?? os.tmpdir(), 'promptopt-ws-'));
  const ws = path.join(dir, path.basename(fixtureDir));
  fs.cpSync(fixtureDir, ws, { recursive: true });
  // Hand-written exports with deliberately weak prompts (test/fixtures/messy/) sit beside the
  // real corpus, so suites have prompts the rule engine is sure to improve.
  const messy = path.join(path.dirname(fixtureDir), 'messy');
  if (fs.existsSync(messy)) for (const f of fs.readdirSync(messy)) if (f.endsWith('.yml')) fs.copyFileSync(path.join(messy, f), path.join(ws, f));
  return ws;
}
