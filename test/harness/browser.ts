/**
 * Headless Debian Chromium driven by playwright-core, opening the code-server workbench.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath } from './codeServer';
import { trackCloser } from './processes';

/** Chromium flags that keep a headless run quiet and offline (GUIDE §4 step 5). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** A launched browser whose `close()` is also run on SIGINT/SIGTERM. */
export interface HarnessBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium (CHROMIUM_PATH overrides /usr/bin/chromium). */
export async function launchChromium(): Promise<HarnessBrowser> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    untrack();
    await browser.close().catch(() => undefined);
  };
  const untrack = trackCloser(close);
  return { browser, close };
}

/** Opens `url` in a new 1440x900 page and waits until the VS Code workbench is rendered. */
export async function openWorkbench(browser: Browser, url: string, timeoutMs = 90_000): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  return page;
}
