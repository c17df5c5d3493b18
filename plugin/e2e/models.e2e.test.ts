/**
 * The panel's model picker and the model and warnings of each job, in headless Chromium against a real daemon whose
 * models folder holds tiny-uvit (ShapesWorld, every job, the default) and tiny-footage (tiny-latent's weights declared
 * a footage model that extends and fills). The picker is filled from the daemon's model list; on Automatic the daemon
 * picks the package that fits each job, and each job's row names its model and shows what the daemon warned about.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../daemon/config';
import { copyPackageTo } from '../../daemon/engine/testdata/package-copy';
import { tempDir, TEST_MODELS_DIR } from '../../test/support/daemon-harness';
import { startPanelRig, type HarnessWindow, type PanelRig } from './harness-server';

describe('Longshot panel: models and warnings, in Chromium', () => {
  let rig: PanelRig;
  const models = tempDir('longshot-panel-models-');
  beforeAll(async () => {
    await fs.promises.cp(path.join(TEST_MODELS_DIR, 'tiny-uvit'), path.join(models, 'tiny-uvit'), { recursive: true });
    await copyPackageTo(path.join(models, 'tiny-footage'), path.join(TEST_MODELS_DIR, 'tiny-latent'), (m) => Object.assign(m, { name: 'tiny-footage', domain: 'footage', jobs: ['extend', 'fill'] }));
    rig = await startPanelRig({ modelsDir: models });
  });
  afterAll(async () => {
    await rig?.close();
    fs.rmSync(models, { recursive: true, force: true });
  });

  it('offers the daemon\'s models, runs each job on the model that fits or the one picked, and shows every job\'s model and warnings', async () => {
    const { daemon } = rig;
    const { page, pageErrors } = await rig.open({ width: 380, height: 900 });
    const button = (name: string) => page.getByRole('button', { name, exact: true });
    const setting = (label: string) => page.locator('label.setting', { has: page.getByText(label, { exact: true }) });
    const picker = setting('Model').getByRole('combobox');
    const newestJob = page.locator('li.job').first();
    const placed = (n: number) => page.waitForFunction((count) => document.querySelectorAll('li.job[data-phase="placed"]').length === count, n, { timeout: 120_000 });

    await page.getByRole('textbox', { name: 'Code from npx longshot pair' }).fill(daemon.pairing.createCode().code);
    await button('Pair').click();
    await page.waitForSelector('header.connection[data-status="connected"]');

    // The picker: Automatic first (chosen), then the daemon's packages with what each knows and serves.
    await page.waitForFunction(() => document.querySelectorAll('select#model option').length === 3);
    expect(await picker.locator('option').allTextContents()).toEqual(['Automatic', 'tiny-footage (footage: extend, fill)', 'tiny-uvit (shapesworld: broll, extend, fill)']);
    expect(await picker.inputValue()).toBe('');

    // B-roll on Automatic with no prompt: the default model runs it, and the row says the prompt was empty.
    await setting('Seconds').getByRole('textbox').fill('1');
    await setting('Steps').getByRole('textbox').fill('2');
    await button('B-roll at playhead').click();
    await placed(1);
    expect(await newestJob.locator('.job-model').textContent()).toBe('Model: tiny-uvit');
    expect(await newestJob.locator('.job-warning').allTextContents()).toEqual(['the prompt is empty: tiny-uvit makes a random scene; describe the shot to choose it']);
    expect(await newestJob.locator('.job-warning').getAttribute('data-code')).toBe('prompt_empty');

    // Extend that clip on Automatic: the footage model runs it; its tiny weights cannot read the clip back, and the row says so.
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.select(1, 0));
    await button('Extend selected clip').click();
    await placed(2);
    expect(await newestJob.locator('.job-model').textContent()).toBe('Model: tiny-footage');
    expect(await newestJob.locator('.job-warning').getAttribute('data-code')).toBe('footage_unreadable');
    expect(await newestJob.locator('.job-warning').textContent()).toMatch(/^tiny-footage cannot read this footage: .*use a model whose domain is "footage"/);

    // Picked by hand, the footage model is asked for B-roll: it runs as picked, and warns that it does not serve B-roll.
    await picker.selectOption('tiny-footage');
    await page.getByRole('textbox', { name: /^Describe the shot/ }).fill('a red circle bounces');
    await page.evaluate(() => (window as unknown as HarnessWindow).harness.setPlayhead(200));
    await button('B-roll at playhead').click();
    await page.waitForFunction(() => document.querySelector('li.job:first-child .job-model')?.textContent === 'Model: tiny-footage');
    await page.waitForFunction(() => document.querySelectorAll('li.job:first-child .job-warning').length === 1, undefined, { timeout: 120_000 });
    expect(await newestJob.locator('.job-warning').textContent()).toMatch(/^tiny-footage \(footage\) serves extend, fill, not B-roll/);
    await placed(3);

    // A reload keeps each job's model and warnings, and the picker is filled again.
    await page.reload();
    await page.waitForSelector('header.connection[data-status="connected"]');
    await page.waitForFunction(() => document.querySelectorAll('select#model option').length === 3);
    expect(await page.locator('li.job .job-model').allTextContents()).toEqual(['Model: tiny-footage', 'Model: tiny-footage', 'Model: tiny-uvit']);
    expect(await page.locator('li.job').evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('.job-warning'), (w) => w.getAttribute('data-code'))))).toEqual([
      ['model_job_unsupported'],
      ['footage_unreadable'],
      ['prompt_empty'],
    ]);
    fs.mkdirSync(path.join(PROJECT_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-output', 'panel-models.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
