/**
 * A UI test session: a fresh code-server (shared installer/launcher with the integration
 * runner) on a temp copy of a fixture folder, our extension loaded in development mode, and a
 * headless Chromium page showing the workbench.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, openWorkbench, type HarnessBrowser } from '../../harness/browser';
import {
  copyWorkspace,
  ensureCodeServer,
  REPO_ROOT,
  settingsFor,
  startCodeServer,
  type CodeServerSession,
  type TrustMode,
} from '../../harness/codeServer';

/** Options for {@link startUiSession}. */
export interface UiSessionOptions {
  /** Fixture folder copied as the workspace (default test/fixtures/dify). */
  fixture?: string;
  /** 'trusted' (default) or 'restricted' (workspace trust on, folder untrusted). */
  trust?: TrustMode;
  /** Extra user settings merged over the trust settings. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and its extension host (e.g. PROMPTOPT_API_KEY). */
  env?: NodeJS.ProcessEnv;
}

/** A running UI session; always `close()` it (in an `after` hook). */
export interface UiSession {
  page: Page;
  codeServer: CodeServerSession;
  /** Absolute path of the temp workspace copy. */
  workspace: string;
  close(): Promise<void>;
}

/** Starts code-server + Chromium and waits until the workbench shows the workspace. */
export async function startUiSession(options: UiSessionOptions = {}): Promise<UiSession> {
  const install = ensureCodeServer();
  const sessionDir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ui-'));
  const workspace = copyWorkspace(options.fixture ?? path.join(REPO_ROOT, 'test', 'fixtures', 'dify'), sessionDir);
  let codeServer: CodeServerSession | undefined;
  let browser: HarnessBrowser | undefined;
  const close = async () => {
    await browser?.close();
    await codeServer?.stop();
    fs.rmSync(sessionDir, { recursive: true, force: true });
  };
  try {
    codeServer = await startCodeServer(install, {
      workspace,
      sessionDir,
      settings: { ...settingsFor(options.trust ?? 'trusted'), ...options.settings },
      ...(options.env ? { env: options.env } : {}),
    });
    browser = await launchChromium();
    const page = await openWorkbench(
      browser.browser,
      codeServer.workbenchUrl([
        ['extensionDevelopmentPath', codeServer.remoteUri(REPO_ROOT)],
        ['skipWelcome', 'true'],
      ]),
    );
    // The Explorer lists the folder once the workbench has restored.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    return { page, codeServer, workspace, close };
  } catch (err) {
    await close();
    throw err;
  }
}
