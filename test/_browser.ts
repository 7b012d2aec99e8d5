// A real browser for the dashboard's tests: Debian's chromium (apt-get install chromium; scripts/setup.sh) driven by
// playwright-core, which cannot download a browser of its own here, so it is given the binary (executablePath).
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { Browser, ConsoleMessage, Dialog, Page, Response } from "playwright-core";

/** The chromium binary: RQTS_CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.RQTS_CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here (no chromium), or undefined when they can: a `skip` reason for the harness. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's)`;
}

/**
 * The repository's test-output/ (ignored by git), made if missing: test/../test-output from a source checkout, and
 * the same folder from the npm build's npm/esm/test/ (Node runs the suite there).
 */
export function testOutputDir(sub: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.endsWith(join("npm", "esm", "test")) ? join(here, "..", "..", "..") : join(here, "..");
  const dir = join(root, "test-output", sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A launched chromium and what its pages did that a test must see: dialogs opened, errors thrown. */
export class BrowserSession {
  readonly browser: Browser;
  /** Every alert/confirm/prompt a page opened (an XSS payload that ran would open one), dismissed at once. */
  readonly dialogs: string[] = [];
  /** Uncaught page errors and console errors. */
  readonly errors: string[] = [];
  readonly #shots: string;

  private constructor(browser: Browser, shots: string) {
    this.browser = browser;
    this.#shots = shots;
  }

  /** Launches headless chromium; screenshots go to test-output/<shots>/. */
  static async launch(shots: string): Promise<BrowserSession> {
    const { chromium } = await import("playwright-core");
    // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    return new BrowserSession(browser, testOutputDir(shots));
  }

  /** A new page (its own context: no cookies shared), watched for dialogs and errors. */
  async page(options: { httpCredentials?: { username: string; password: string } } = {}): Promise<Page> {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const page = await context.newPage();
    page.on("dialog", (d: Dialog) => {
      this.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    page.on("pageerror", (e: Error) => this.errors.push(`pageerror: ${e.message}`));
    page.on("console", (m: ConsoleMessage) => {
      // A failed load is reported below with its URL.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
        this.errors.push(`console: ${m.text()}`);
      }
    });
    page.on("response", (r: Response) => {
      const url = new URL(r.url());
      // A 4xx the test asked for is its own to check; the browser's own favicon request is not the dashboard's.
      if (r.status() >= 400 && r.request().resourceType() !== "document" && url.pathname !== "/favicon.ico") {
        this.errors.push(`${r.status()} for ${r.request().resourceType()} ${url.pathname}`);
      }
    });
    return page;
  }

  /** Saves a full-page screenshot as test-output/<shots>/<name>.png; returns its path. */
  async screenshot(page: Page, name: string): Promise<string> {
    const path = join(this.#shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
