/**
 * What the panel's Chromium tests share: a server for the panel page as it ships (with the harness bundle and a folder
 * for the clips it saves), the harness's handle on the page, and the daemon's HTTP answers made readable to the page.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium, type APIResponse, type Browser, type Page, type Route } from 'playwright-core';
import type { Config } from '../../daemon/config';
import { startTestDaemon, tempDir } from '../../test/support/daemon-harness';

/**
 * Serves plugin/index.html and plugin/css as they ship, with the harness bundle as index.js, and stores clips the
 * page PUTs to /clips/<name> in `clipsDir` (answering with their path).
 */
async function startHarnessServer(clipsDir: string): Promise<{ origin: string; close(): Promise<void> }> {
  const bundle = await build({ entryPoints: [path.join(__dirname, 'harness-entry.ts')], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2020', logLevel: 'warning' });
  const files: Record<string, [string, string | Uint8Array]> = {
    '/': ['text/html', fs.readFileSync(path.join(__dirname, '..', 'index.html'))],
    '/index.js': ['text/javascript', bundle.outputFiles[0]!.contents],
    '/css/panel.css': ['text/css', fs.readFileSync(path.join(__dirname, '..', 'css', 'panel.css'))],
  };
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'PUT' && pathname.startsWith('/clips/')) {
      const target = path.join(clipsDir, path.basename(decodeURIComponent(pathname)));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fs.writeFileSync(target, Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: target }));
      });
      return;
    }
    const file = files[pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** What harness-entry.ts exposes on the page. */
export interface Harness {
  layout(): [number, number, number, string][];
  revealed: string[];
  copied: string[];
  select(trackIndex: number, clipIndex: number): void;
  setPlayhead(frame: number): void;
  holdMidSampling(): void;
  isHolding(): boolean;
  release(): void;
}
// page.evaluate serializes its callback into the page, so callbacks reach the harness through `window` itself.
export type HarnessWindow = { harness: Harness };

/** Lets the page read the daemon's HTTP replies as UXP would (no CORS there). */
async function allowDaemonHttp(page: Page, daemonUrl: string): Promise<void> {
  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type, authorization', 'access-control-allow-methods': 'GET, POST' };
  await page.route(`${daemonUrl}/**`, async (route) => {
    if (route.request().method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
    const response = await fetchRetryingReset(route);
    await route.fulfill({ response, headers: { ...response.headers(), ...cors } });
  });
}

/**
 * route.fetch reuses kept-alive sockets; one the daemon closes after its 5 s keep-alive timeout just as the request goes
 * out reads ECONNRESET. Browsers (and UXP's fetch) resend an idempotent request then, so the harness does too, for GETs only.
 */
async function fetchRetryingReset(route: Route): Promise<APIResponse> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await route.fetch();
    } catch (err) {
      if (attempt >= 3 || route.request().method() !== 'GET' || !/ECONNRESET|socket hang up/.test(String(err))) throw err;
    }
  }
}

/** What a panel test runs against: the page server, a real daemon that admits its origin, and Chromium. */
export interface PanelRig {
  daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  /** The panel in a new page of this size; `pageErrors` collects the page's uncaught errors. */
  open(viewport: { width: number; height: number }): Promise<{ page: Page; pageErrors: string[] }>;
  /** Stops all three and removes the clips the page saved and the daemon's data folder. */
  close(): Promise<void>;
}

/** Starts a rig: the page server, a daemon with `config` over the test defaults, and Debian's Chromium, headless. */
export async function startPanelRig(config: Partial<Config>): Promise<PanelRig> {
  const clipsDir = tempDir('longshot-panel-clips-');
  const harness = await startHarnessServer(clipsDir);
  const daemon = await startTestDaemon(config, { allowedOrigins: [harness.origin] });
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  return {
    daemon,
    async open(viewport) {
      const page = await browser.newPage({ viewport });
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await allowDaemonHttp(page, daemon.url);
      await page.goto(`${harness.origin}/#daemon=${daemon.url}`);
      return { page, pageErrors };
    },
    async close() {
      await browser.close();
      await daemon.close();
      await harness.close();
      for (const dir of [clipsDir, daemon.dataDir]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
