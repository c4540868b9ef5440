import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FIGURES } from '../../src/report/index.js';
import { PNG } from 'pngjs';

/** Debian's chromium; FIVEBAND_CHROMIUM names another binary (or a missing one, to see the skip). */
export const CHROMIUM = process.env.FIVEBAND_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Opens a report from file:// in a real browser and asserts: no console errors or failed requests, every
 * image decoded and laid out with a size, every SVG chart on the page, the expected figures shown, the
 * findings table present, table sorting working. Saves `screenshot.png` beside the report's index. Skips
 * the test by name when the browser is missing.
 */
export async function checkReportInBrowser(t: TestContext, report: { dir: string; index: string; figures: string[]; files: string[] }): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    await page.goto(pathToFileURL(report.index).href, { waitUntil: 'load' });
    const images = await page.$$eval('img', (imgs) => imgs.map((img) => ({
      src: img.getAttribute('src'), complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
      width: img.getBoundingClientRect().width, height: img.getBoundingClientRect().height,
    })));
    assert.ok(images.length > 20, `${images.length} images`);
    for (const img of images) {
      assert.ok(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0, `${img.src} decoded`);
      assert.ok(img.width > 0 && img.height > 0, `${img.src} laid out with a size`);
    }
    const svgImages = images.filter((i) => i.src?.endsWith('.svg'));
    assert.equal(svgImages.length, report.files.filter((f) => f.endsWith('.svg')).length, 'every SVG chart is on the page');
    const shown = await page.$$eval('section.figure.shown', (s) => s.map((e) => e.getAttribute('data-figure')));
    assert.deepEqual(shown, report.figures);
    assert.equal(shown.length, FIGURES.length, 'a whole study shows every figure');
    assert.equal(await page.locator('table#findings tbody tr').count() >= 3, true);
    // Sorting works with the inline script (and the table was complete before it ran).
    const before = await page.$$eval('#fig3a-table tbody tr td:nth-child(5)', (cells) => cells.map((c) => Number(c.getAttribute('data-sort'))));
    await page.click('#fig3a-table thead th:nth-child(5)');
    const after = await page.$$eval('#fig3a-table tbody tr td:nth-child(5)', (cells) => cells.map((c) => Number(c.getAttribute('data-sort'))));
    assert.deepEqual(after, [...before].sort((a, b) => a - b));
    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(failed, [], 'no failed requests');
    await page.evaluate('window.scrollTo(0, 0)');
    const screenshot = join(report.dir, 'screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: false });
    const png = PNG.sync.read(await readFile(screenshot));
    assert.ok(png.width > 0 && png.height > 0);
  } finally {
    await browser.close();
  }
}
