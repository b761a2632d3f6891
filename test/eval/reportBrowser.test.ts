/**
 * Opens a generated report.html in headless Chromium (Debian's `chromium` driven by
 * playwright-core) and checks what a reader sees: the comparison table with one row per model and
 * charts whose SVG marks have real size. Skips with a message where /usr/bin/chromium is absent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../../src/eval/report/report.js';
import { chromiumSkip, launchChromium } from '../browser.js';
import { SYNTHETIC_MODEL_NAMES, syntheticResults } from './syntheticResults.js';

const skip = chromiumSkip;

test('report.html renders in headless Chromium: table rows and chart marks', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-report-browser-'));
  const { html } = await writeReport(dir, syntheticResults());
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Any request other than the file itself would mean the report is not self-contained.
    const requests: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) requests.push(req.url());
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'screenshot is not blank');
    assert.deepEqual(requests, []);

    const rows = await page.$$eval('table.results tbody tr', (trs) =>
      trs.map((tr) => ({
        model: tr.getAttribute('data-model'),
        cells: tr.querySelectorAll('th, td').length,
      })),
    );
    assert.deepEqual(
      rows.map((r) => r.model),
      SYNTHETIC_MODEL_NAMES,
    );
    const headers = await page.$$eval('table.results thead th', (ths) => ths.map((th) => th.textContent));
    assert.ok(rows.every((r) => r.cells === headers.length));
    assert.ok(headers.includes('NDCG@50'));

    // Every chart's SVG is laid out, and its marks (points, bars, lines) have a non-zero box.
    const charts = await page.$$eval('figure[id^="chart-"]', (figs) =>
      figs.map((fig) => {
        const svg = fig.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks = [
          ...(svg?.querySelectorAll('.mark-symbol path, .mark-rect path, .mark-line path') ?? []),
        ];
        const markBoxes = marks
          .map((m) => (m as SVGGraphicsElement).getBBox())
          .filter((b) => b.width > 0 || b.height > 0);
        return { id: fig.id, width: box?.width ?? 0, height: box?.height ?? 0, marks: markBoxes.length };
      }),
    );
    assert.deepEqual(
      charts.map((c) => c.id),
      ['chart-quality-vs-cost', 'chart-gap-recovered', 'chart-overlap-at-k', 'chart-learning-curves'],
    );
    for (const c of charts) {
      assert.ok(c.width > 200 && c.height > 100, `${c.id} has size ${c.width}×${c.height}`);
      assert.ok(c.marks > 0, `${c.id} has no rendered marks`);
    }
    process.stdout.write(`# screenshot: ${shot}\n`);
  } finally {
    await browser.close();
  }
});
