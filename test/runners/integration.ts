/**
 * `npm run test:integration`: runs the mocha suites of test/integration inside a real VS Code
 * extension host, once with a trusted workspace and once in Restricted Mode.
 *
 * Backend: @vscode/test-electron when VS Code can be obtained (VSCODE_EXECUTABLE_PATH, or a
 * download that works on a machine with a display), otherwise code-server set up automatically
 * under .vscode-test/ and driven by headless Chromium. Force one with
 * PROMPTOPT_VSCODE_BACKEND=code-server|electron.
 *
 * Hosts (see test/harness/hosts.ts): the minimum VS Code (1.100.3, engines.vscode) and a current
 * one (1.117.0: code-server 4.117.0 under Node 22 from npm), where the test-only extension
 * test/lmProvider registers scripted language models so the vscode.lm backend runs for real.
 *
 * Options: --mode trusted|restricted|both (default both), --host minimum|current|both (default
 * both; env PROMPTOPT_IT_HOST).  Env PROMPTOPT_IT_GREP filters tests.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium, openWorkbench } from '../harness/browser';
import {
  copyWorkspace,
  ensureCodeServer,
  HarnessSetupError,
  REPO_ROOT,
  settingsFor,
  startCodeServer,
  type CodeServerInstall,
  type TrustMode,
} from '../harness/codeServer';
import { HOSTS, installLmProvider, type HostName } from '../harness/hosts';
import { ensureNodeRuntime } from '../harness/nodeRuntime';
import { excuseExpectedErrors, extensionLogFiles, findExtensionLogErrors, findSecretInLogs } from '../harness/logs';
import { killGroup, trackCloser, trackGroup } from '../harness/processes';
import { printFailures, watchResults, type RunOutcome } from '../harness/results';
import { ENV_EXPECTED_LOG_ERRORS, ENV_EXPECTED_MODE, ENV_GREP, ENV_RESULTS_FILE, TEST_KEY_PREFIX } from '../integration/support/protocol';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'dify');
const TESTS_DIR = path.join(REPO_ROOT, 'out', 'test', 'integration');
const HOST_MAIN = path.join(TESTS_DIR, 'hostExtension.js');

const log = (s: string) => process.stdout.write(`[harness] ${s}\n`);

type Backend = { kind: 'code-server'; host: HostName; install: CodeServerInstall } | { kind: 'electron'; host: HostName; executable: string };

/** Writes the tiny extension that starts the suites in Restricted Mode (see hostExtension.ts). */
function writeHostExtension(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = {
    name: 'promptopt-test-host',
    publisher: 'promptopt-test',
    version: '0.0.0',
    engines: { vscode: '^1.100.0' },
    main: './main.js',
    activationEvents: ['onStartupFinished'],
    capabilities: { untrustedWorkspaces: { supported: true }, virtualWorkspaces: true },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(dir, 'main.js'), `module.exports = require(${JSON.stringify(HOST_MAIN)});\n`);
  return dir;
}

function canReach(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      req.destroy();
      resolve(false);
    }, timeoutMs);
    const req = https.request(url, { method: 'HEAD' }, (res) => {
      clearTimeout(timer);
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    req.end();
  });
}

async function chooseBackend(host: HostName): Promise<Backend> {
  const VSCODE_VERSION = HOSTS[host].vscodeVersion;
  const forced = process.env.PROMPTOPT_VSCODE_BACKEND;
  const explicit = process.env.VSCODE_EXECUTABLE_PATH;
  if (forced !== 'code-server' && explicit && host === 'minimum') {
    if (!fs.existsSync(explicit)) throw new HarnessSetupError(`VSCODE_EXECUTABLE_PATH=${explicit} does not exist`);
    log(`backend: @vscode/test-electron with VSCODE_EXECUTABLE_PATH=${explicit}`);
    return { kind: 'electron', host, executable: explicit };
  }
  if (forced !== 'code-server') {
    const headlessLinux = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
    if (forced === 'electron' || !headlessLinux) {
      if (await canReach('https://update.code.visualstudio.com/api/releases/stable', 3000)) {
        const { downloadAndUnzipVSCode } = await import('@vscode/test-electron');
        const executable = await downloadAndUnzipVSCode({ version: VSCODE_VERSION, timeout: 30_000 });
        log(`backend: @vscode/test-electron, VS Code ${VSCODE_VERSION} at ${executable}`);
        return { kind: 'electron', host, executable };
      }
      if (forced === 'electron') throw new HarnessSetupError('PROMPTOPT_VSCODE_BACKEND=electron but VS Code cannot be downloaded (offline?) and VSCODE_EXECUTABLE_PATH is not set');
      log('VS Code download server unreachable (checked in 3 s): using code-server');
    } else {
      log('no display on this Linux machine (Electron VS Code needs one): using code-server');
    }
  }
  const spec = HOSTS[host];
  const node = spec.node ? ensureNodeRuntime(spec.node) : undefined;
  const install = ensureCodeServer({ version: spec.codeServerVersion, node });
  log(`backend: code-server ${install.version} (VS Code ${VSCODE_VERSION})${node ? ` under Node ${node.version}` : ''} ${install.freshlyInstalled ? 'installed now' : 'from cache'}`);
  return { kind: 'code-server', host, install };
}

async function runWithCodeServer(backend: Extract<Backend, { kind: 'code-server' }>, mode: TrustMode, sessionDir: string, env: NodeJS.ProcessEnv, resultsFile: string, workspace: string): Promise<RunOutcome> {
  const install = backend.install;
  if (mode === 'restricted') writeHostExtension(path.join(sessionDir, 'extensions', 'promptopt-test.promptopt-test-host-0.0.0'));
  if (HOSTS[backend.host].lmProvider) installLmProvider(path.join(sessionDir, 'extensions'));
  const cs = await startCodeServer(install, { workspace, settings: settingsFor(mode), env, sessionDir });
  const consoleErrors: string[] = [];
  let browserClose: (() => Promise<void>) | undefined;
  try {
    const devPaths: Array<[string, string]> = [['extensionDevelopmentPath', cs.remoteUri(REPO_ROOT)]];
    if (mode === 'trusted') {
      devPaths.push(['extensionTestsPath', cs.remoteUri(TESTS_DIR)]);
    }
    // Restricted Mode: extensionTestsPath would make VS Code trust the workspace, so the host
    // extension installed below (the web payload takes one extensionDevelopmentPath) starts the suites.
    devPaths.push(['skipWelcome', 'true']);
    const browser = await launchChromium();
    browserClose = browser.close;
    const page = await openWorkbench(browser.browser, cs.workbenchUrl(devPaths));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    let serverExit: string | undefined;
    const outcome = await watchResults(resultsFile, {
      label: mode,
      aborted: () => {
        if (page.isClosed()) serverExit = 'the workbench page closed';
        return serverExit;
      },
    });
    if (outcome.problem) {
      log(`code-server log tail:\n${cs.logTail(20)}`);
      if (consoleErrors.length) log(`browser console errors:\n${consoleErrors.slice(-10).join('\n')}`);
    }
    return outcome;
  } finally {
    if (browserClose) await browserClose();
    await cs.stop();
  }
}

async function runWithElectron(backend: Extract<Backend, { kind: 'electron' }>, mode: TrustMode, sessionDir: string, env: NodeJS.ProcessEnv, resultsFile: string, workspace: string): Promise<RunOutcome> {
  const userDataDir = path.join(sessionDir, 'user-data');
  const extensionsDir = path.join(sessionDir, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settingsFor(mode), null, 2));
  const executable = backend.executable;
  if (HOSTS[backend.host].lmProvider) installLmProvider(extensionsDir);
  const common = [workspace, `--user-data-dir=${userDataDir}`, `--extensions-dir=${extensionsDir}`, '--skip-welcome', '--skip-release-notes', '--disable-gpu'];
  if (mode === 'trusted') {
    const { runTests } = await import('@vscode/test-electron');
    let exited: string | undefined;
    const done = runTests({ vscodeExecutablePath: executable, extensionDevelopmentPath: REPO_ROOT, extensionTestsPath: TESTS_DIR, launchArgs: common, extensionTestsEnv: env }).then(
      () => void (exited = 'VS Code exited'),
      (e: unknown) => void (exited = `VS Code exited (${e instanceof Error ? e.message : String(e)})`),
    );
    const outcome = await watchResults(resultsFile, { label: mode, aborted: () => exited });
    await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    return outcome;
  }
  const hostExt = writeHostExtension(path.join(sessionDir, 'host-extension'));
  const child = spawn(executable, [...common, `--extensionDevelopmentPath=${REPO_ROOT}`, `--extensionDevelopmentPath=${hostExt}`], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
  });
  const untrack = trackGroup(child);
  let exited: string | undefined;
  child.once('exit', (code) => (exited = `VS Code exited with code ${code}`));
  try {
    return await watchResults(resultsFile, { label: mode, aborted: () => exited });
  } finally {
    killGroup(child, 'SIGKILL');
    untrack();
  }
}

async function runMode(backend: Backend, mode: TrustMode): Promise<RunOutcome> {
  const sessionDir = fs.mkdtempSync(path.join(os.tmpdir(), `promptopt-it-${backend.host}-${mode}-`));
  const workspace = copyWorkspace(FIXTURE, sessionDir);
  const resultsFile = path.join(sessionDir, 'results.jsonl');
  const expectedErrorsFile = path.join(sessionDir, 'expected-log-errors.jsonl');
  const env: NodeJS.ProcessEnv = { [ENV_RESULTS_FILE]: resultsFile, [ENV_EXPECTED_MODE]: mode, [ENV_EXPECTED_LOG_ERRORS]: expectedErrorsFile };
  if (process.env[ENV_GREP]) env[ENV_GREP] = process.env[ENV_GREP];
  log(`${backend.host} ${mode}: workspace ${workspace}`);
  const untrackDir = trackCloser(() => fs.rmSync(sessionDir, { recursive: true, force: true }));
  try {
    const outcome =
      backend.kind === 'code-server'
        ? await runWithCodeServer(backend, mode, sessionDir, env, resultsFile, workspace)
        : await runWithElectron(backend, mode, sessionDir, env, resultsFile, workspace);
    const logsDir = path.join(sessionDir, 'user-data', 'logs');
    const { unexpected: logErrors, excused } = excuseExpectedErrors(findExtensionLogErrors(logsDir), expectedErrorsFile);
    if (excused.length > 0) log(`${mode}: ${excused.length} error line(s) in the logs were provoked on purpose by tests (declared with expectLogError)`);
    if (logErrors.length > 0) {
      outcome.ok = false;
      outcome.failures.push({ fullTitle: 'extension logs contain no error', error: { message: `errors logged while the suites ran:\n${logErrors.join('\n')}` } });
      log(`${mode}: ✗ the extension logged errors (see failures)`);
    }
    // No API key the suites stored (all start with TEST_KEY_PREFIX) may reach any log file on
    // disk: ours (the LogOutputChannel's file), the extension host's or VS Code's. The scan only
    // counts when our log file was found.
    const ours = extensionLogFiles(logsDir);
    const leaks = findSecretInLogs(logsDir, TEST_KEY_PREFIX);
    // (A filtered run that selected no test in this mode never activates the extension.)
    const ranTests = outcome.passes + outcome.failures.length > 0;
    if ((ours.length === 0 && ranTests) || leaks.length > 0) {
      outcome.ok = false;
      const message = ours.length === 0 ? `the extension's log file was not found under ${logsDir}, so the key scan proves nothing` : `API keys in the logs:\n${leaks.join('\n')}`;
      outcome.failures.push({ fullTitle: 'log files on disk never contain an API key', error: { message } });
      log(`${mode}: ✗ ${ours.length === 0 ? 'extension log file not found' : 'an API key reached the logs'} (see failures)`);
    } else {
      log(`${mode}: no API key in ${ours.length} extension log file(s) or any other log of the session`);
    }
    return outcome;
  } finally {
    untrackDir();
    if (!process.env.PROMPTOPT_KEEP_SESSION) fs.rmSync(sessionDir, { recursive: true, force: true });
    else log(`kept ${sessionDir}`);
  }
}

async function main(): Promise<number> {
  const modeArg = process.argv.includes('--mode') ? process.argv[process.argv.indexOf('--mode') + 1] : 'both';
  if (!['trusted', 'restricted', 'both'].includes(modeArg ?? '')) {
    log(`unknown --mode ${modeArg}; use trusted, restricted or both`);
    return 2;
  }
  if (!fs.existsSync(path.join(TESTS_DIR, 'index.js')) || !fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js'))) {
    log('out/test/integration/index.js or dist/extension.js is missing: run `npm run build` first');
    return 2;
  }
  const hostArg = process.argv.includes('--host') ? process.argv[process.argv.indexOf('--host') + 1] : (process.env.PROMPTOPT_IT_HOST ?? 'both');
  if (!['minimum', 'current', 'both'].includes(hostArg ?? '')) {
    log(`unknown --host ${hostArg}; use minimum, current or both`);
    return 2;
  }
  const modes: TrustMode[] = modeArg === 'both' ? ['trusted', 'restricted'] : [modeArg as TrustMode];
  const hosts: HostName[] = hostArg === 'both' ? ['minimum', 'current'] : [hostArg as HostName];
  const t0 = Date.now();
  const outcomes: Array<[string, RunOutcome]> = [];
  for (const host of hosts) {
    const backend = await chooseBackend(host);
    for (const mode of modes) outcomes.push([`${HOSTS[host].vscodeVersion} ${mode}`, await runMode(backend, mode)]);
  }

  let failed = false;
  for (const [mode, o] of outcomes) {
    if (!o.ok || o.problem || o.failures.length > 0) {
      failed = true;
      printFailures(mode, o);
    }
  }
  const summary = outcomes.map(([m, o]) => `${m}: ${o.passes} passed, ${o.failures.length} failed${o.problem ? ', run broken' : ''}`).join('; ');
  log(`integration ${failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - t0) / 1000)} s (${summary})`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof HarnessSetupError) log(`cannot run the integration tests:\n${err.message}`);
    else log(`harness crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
