/**
 * The panel in headless Chromium against a real daemon running the bundled model: pair with a typed code, type a
 * prompt, watch previews arrive, and see the clip land on the fake timeline. UXP has no CORS, so the test lets the page read the
 * daemon's HTTP answers (route interception adds the headers a browser insists on); the WebSocket goes straight
 * to the daemon, which admits the harness page's origin. The widgets are Adobe's Spectrum Web Components in the dark
 * theme (spectrum-elements.ts), so fields and buttons are found as a user finds them: by role and name, or the text
 * box inside a field. A screenshot goes to test-output/; with LONGSHOT_SCREENSHOTS=1 the test also writes README's
 * screenshots of each job to docs/screenshots/ (off by default, so test runs leave committed files alone).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../daemon/config';
import { startPanelRig, type HarnessWindow, type PanelRig } from './harness-server';

const SCREENSHOT = path.join(PROJECT_ROOT, 'test-output', 'panel-e2e.png');
const README_SCREENSHOTS = process.env.LONGSHOT_SCREENSHOTS === '1' ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : null;
// The bundled model once it is exported, else the tiny test package (same contract, random weights).
const BUNDLED_MODEL = 'shapesworld-uvit';
const useBundled = fs.existsSync(path.join(PROJECT_ROOT, 'models', BUNDLED_MODEL, 'model.json'));
const MODEL = useBundled ? BUNDLED_MODEL : 'tiny-uvit';

/** The panel as it stands, panel-sized, into docs/screenshots/NAME.png when LONGSHOT_SCREENSHOTS=1. */
async function readmeScreenshot(page: Page, name: string): Promise<void> {
  if (!README_SCREENSHOTS) return;
  fs.mkdirSync(README_SCREENSHOTS, { recursive: true });
  await page.mouse.move(0, 0); // off the button just clicked, so none shows its hover state
  await page.screenshot({ path: path.join(README_SCREENSHOTS, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

/** Waits until the newest job row shows its poster frame (kept in history once fetched) and the image has loaded. */
async function newestPosterShown(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const poster = (JSON.parse(localStorage.getItem('longshot.history.v1') ?? '[]') as { poster: string | null }[])[0]?.poster;
    const img = document.querySelector('li.job:first-child img.preview') as HTMLImageElement | null;
    return !!poster && img?.src === `data:image/jpeg;base64,${poster}` && img.complete && img.naturalWidth > 0;
  });
}

describe('Longshot panel in Chromium', () => {
  let rig: PanelRig;
  beforeAll(async () => {
    rig = await startPanelRig(useBundled ? { modelsDir: path.join(PROJECT_ROOT, 'models'), defaultModel: BUNDLED_MODEL } : {});
  });
  afterAll(() => rig?.close());

  it('pairs, then makes B-roll with live previews, extends it, fills a gap, reuses a seed and makes ×2 variations on the fake timeline', async () => {
    const { daemon } = rig;
    const { page, pageErrors } = await rig.open({ width: 380, height: 640 });
    // What a user reaches for: buttons and text boxes by what they say, a setting's text box by the label above it.
    const button = (name: string) => page.getByRole('button', { name, exact: true });
    const setting = (label: string) => page.locator('label.setting', { has: page.getByText(label, { exact: true }) }).getByRole('textbox');
    const newestJob = page.locator('li.job').first();

    // Not paired yet: the panel says how to pair and shows the code field.
    await page.waitForSelector('header.connection[data-status="unpaired"]');
    expect(await page.textContent('.connection-text')).toMatch(/npx longshot pair/);
    expect(await page.textContent('.port-help')).toMatch(/127\.0\.0\.1:43117; this port is fixed/);
    await page.getByRole('textbox', { name: 'Code from npx longshot pair' }).fill(daemon.pairing.createCode().code);
    await button('Pair').click();
    await page.waitForSelector('header.connection[data-status="connected"]');
    await page.waitForFunction((model) => (document.querySelector('.connection-text')?.textContent ?? '').includes(model), MODEL, { timeout: 60_000 });
    expect(await page.isHidden('.pairing')).toBe(true);
    expect(await page.isHidden('.port-help')).toBe(true);

    // The playhead is inside the V1 clip: fill gap says what is wrong.
    await button('Fill gap at playhead').click();
    await page.waitForFunction(() => /playhead is not in a gap/.test(document.querySelector('.notice')?.textContent ?? ''));

    // B-roll: 2 s at 25 fps from the playhead (frame 50); V1 is taken there, so it lands on V2. The harness holds the
    // daemon's stream halfway through sampling, so the row is seen mid-job: live preview, progress bar, step, Cancel.
    await page.getByRole('textbox', { name: /^Describe the shot/ }).fill('a red circle bounces to the left');
    await setting('Seconds').fill('2');
    await setting('Steps').fill('4');
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.holdMidSampling());
    await button('B-roll at playhead').click();
    await page.waitForFunction(() => (window as unknown as HarnessWindow).harness.isHolding(), undefined, { timeout: 300_000 });
    await page.waitForFunction(() => {
      const img = document.querySelector('li.job[data-phase="running"] img.preview') as HTMLImageElement | null;
      return !!img?.src.startsWith('data:image/jpeg;base64,') && img.complete && img.naturalWidth > 0;
    });
    expect(await newestJob.locator('.job-status').textContent()).toMatch(/^Step \d+\/\d+/);
    const bar = newestJob.getByRole('progressbar');
    expect(await bar.isVisible()).toBe(true);
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThanOrEqual(50);
    expect(await newestJob.getByRole('button', { name: 'Cancel' }).isVisible()).toBe(true);
    await readmeScreenshot(page, 'broll-previews');
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.release());
    await page.waitForSelector('li.job[data-phase="placed"]', { timeout: 300_000 });
    const layout = await page.evaluate(() => (window as unknown as HarnessWindow).harness.layout());
    expect(layout).toEqual([
      [0, 0, 250, 'interview.mp4'],
      [1, 50, 100, expect.stringMatching(/^longshot-.*\.mp4$/)],
    ]);
    expect(await page.textContent('li.job .job-status')).toBe('On V2 at 2.00 s in "Harness 25p"');
    expect(await bar.isHidden()).toBe(true);
    const previewSize = await page.$eval('li.job img.preview', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
    expect(previewSize[0]).toBeGreaterThan(0);

    await newestJob.getByRole('button', { name: 'Show file' }).click();
    expect(await page.evaluate(() => (window as unknown as HarnessWindow).harness.revealed)).toEqual([expect.stringMatching(/longshot-.*\.mp4$/)]);

    // Extend: select the new clip on V2 and continue it for 1 s; the span after it is free, so it stays on V2.
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.select(1, 0));
    await setting('Seconds').fill('1');
    await button('Extend selected clip').click();
    await page.waitForFunction(() => document.querySelectorAll('li.job[data-phase="placed"]').length === 2, undefined, { timeout: 300_000 });
    expect(await newestJob.locator('.job-status').textContent()).toBe('On V2 at 4.00 s in "Harness 25p"');
    await newestPosterShown(page);
    await readmeScreenshot(page, 'extend');
    // A second B-roll at frame 130 leaves a 5-frame gap after the extension on V2; fill it.
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.setPlayhead(130));
    await button('B-roll at playhead').click();
    await page.waitForFunction(() => document.querySelectorAll('li.job[data-phase="placed"]').length === 3, undefined, { timeout: 300_000 });
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.setPlayhead(127));
    await button('Fill gap at playhead').click();
    await page.waitForFunction(() => document.querySelectorAll('li.job[data-phase="placed"]').length === 4, undefined, { timeout: 300_000 });
    const v2 = (await page.evaluate(() => (window as unknown as HarnessWindow).harness.layout()))
      .filter(([track]) => track === 1)
      .map(([, start, end]) => [start, end])
      .sort((a, b) => a[0]! - b[0]!);
    expect(v2).toEqual([[50, 100], [100, 125], [125, 130], [130, 155]]);
    expect(await newestJob.locator('.job-title').textContent()).toMatch(/^Fill gap · 0.20 s/);
    await newestPosterShown(page);
    await readmeScreenshot(page, 'fill');

    // History shows pictures: every done job keeps the daemon's poster (fetched over HTTP with the token).
    await page.waitForFunction(() => (JSON.parse(localStorage.getItem('longshot.history.v1') ?? '[]') as { poster: string | null }[]).every((j) => j.poster?.startsWith('/9j/')));

    // Seeds: a bad one is refused inline; Reuse seed fills the field with the job's seed; Copy puts it on the clipboard.
    await setting('Seed').fill('4294967296');
    await button('B-roll at playhead').click();
    expect(await page.textContent('#seed-error')).toMatch(/from 0 to 4294967295/);
    expect(await page.isVisible('#seed-error')).toBe(true);
    await newestJob.getByRole('button', { name: 'Reuse seed' }).click();
    const seedText = (await newestJob.locator('.job-seed-text').textContent()) ?? '';
    const reused = /^Seed (\d+)/.exec(seedText)![1]!;
    expect(await setting('Seed').inputValue()).toBe(reused);
    expect(await page.isHidden('#seed-error')).toBe(true);
    await newestJob.getByRole('button', { name: 'Copy' }).click();
    await page.waitForFunction((seed) => (window as unknown as HarnessWindow).harness.copied.includes(seed), reused);

    // Variations ×2 from that seed: seeds s and s+1, both placed at the playhead (V2 is free there, then V3).
    await setting('×N').fill('17');
    await button('B-roll at playhead').click();
    expect(await page.textContent('#variations-error')).toMatch(/from 1 to 16/);
    await setting('×N').fill('2');
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.setPlayhead(200));
    await button('B-roll at playhead').click();
    await page.waitForFunction(() => document.querySelectorAll('li.job[data-phase="placed"]').length === 6, undefined, { timeout: 300_000 });
    const seeds = await page.$$eval('li.job .job-seed-text', (els) => els.slice(0, 2).map((e) => e.textContent));
    expect(seeds.map((t) => /^Seed (\d+)/.exec(t ?? '')![1])).toEqual([String((Number(reused) + 1) % 2 ** 32), reused]);
    const at200 = (await page.evaluate(() => (window as unknown as HarnessWindow).harness.layout())).filter(([, start]) => start === 200);
    expect(at200.map(([track, start, end]) => [track, start, end]).sort()).toEqual([[1, 200, 225], [2, 200, 225]]);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A reload keeps the pairing and the history.
    await page.reload();
    await page.waitForSelector('header.connection[data-status="connected"]');
    await page.waitForFunction(() => document.querySelectorAll('li.job[data-phase="placed"]').length === 6);
    expect(pageErrors).toEqual([]);
  }, 400_000);
});
