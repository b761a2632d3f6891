import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderCharts } from '../../src/eval/report/charts.js';
import { writeReport } from '../../src/eval/report/report.js';
import { comparisonTable, formatTable, gapRecovered, markdownTable } from '../../src/eval/report/table.js';
import { SYNTHETIC_MODEL_NAMES, syntheticResults } from './syntheticResults.js';

test('comparisonTable: primary metric first, mean ± std, gap recovered, best student marked', () => {
  const r = syntheticResults();
  const t = comparisonTable(r);
  assert.deepEqual(
    t.columns.slice(0, 4).map((c) => c.header),
    ['model', 'role', 'NDCG@50', 'AUC'],
  );
  assert.deepEqual(t.models, SYNTHETIC_MODEL_NAMES);
  const pfdMd = t.rows[t.models.indexOf('pfd-md')]!;
  assert.equal(pfdMd[2], '0.2950 ± 0.0026');
  // Gap recovered on NDCG@50: (0.295 − 0.251) / (0.312 − 0.251).
  const gapCol = t.columns.findIndex((c) => c.header === 'gap recovered (NDCG@50)');
  assert.equal(pfdMd[gapCol], `${((0.044 / 0.061) * 100).toFixed(0)}%`);
  assert.ok(Math.abs(gapRecovered(r, r.models[6]!, 'NDCG@50')! - 0.044 / 0.061) < 1e-9);
  assert.equal(t.rows[0]![gapCol], '–', 'no gap for the teacher itself');
  // Best non-teacher: pfd-md on NDCG (higher) and on LogLoss (lower is better).
  const ri = t.models.indexOf('pfd-md');
  const logLossCol = t.columns.findIndex((c) => c.header === 'LogLoss');
  assert.ok(t.best[ri]!.has(2) && t.best[ri]!.has(logLossCol));
  assert.ok(!t.best[0]!.has(2), 'the teacher is not highlighted');
  assert.equal(t.rows[0]![t.columns.findIndex((c) => c.header === 'params')], '2.40M');
});

test('formatTable and markdownTable: every line aligned to the same column positions', () => {
  const t = comparisonTable(syntheticResults());
  const text = formatTable(t).split('\n');
  assert.equal(text.length, 2 + t.rows.length);
  // The right edge of the NDCG column is at the same character position on every line.
  const edge = (line: string) => [...line].length;
  const cut = [...text[0]!].slice(0, text[0]!.indexOf('NDCG@50') + 'NDCG@50'.length).length;
  for (const line of text.slice(2)) assert.match([...line].slice(cut - 1, cut).join(''), /\d/, line);
  assert.ok(text.every((l) => edge(l) <= edge(text[1]!)));
  const md = markdownTable(t).split('\n');
  const widths = md.map((l) => [...l].length);
  assert.ok(
    widths.every((w) => w === widths[0]),
    `markdown lines differ in width: ${widths.join(',')}`,
  );
  assert.match(md[1]!, /^\|:-+\|:-+\|-+:\|/);
  assert.match(md.find((l) => l.startsWith('| pfd-md'))!, /\*\*0\.2950 ± 0\.0026\*\*/);
});

test('writeReport: self-contained report.html with inline SVG charts, and report.md with the table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-report-'));
  const paths = await writeReport(dir, syntheticResults());
  const html = readFileSync(paths.html, 'utf8');
  const md = readFileSync(paths.markdown, 'utf8');
  for (const id of ['quality-vs-cost', 'gap-recovered', 'overlap-at-k', 'learning-curves']) {
    assert.match(
      html,
      new RegExp(`<figure id="chart-${id}"[^>]*>[\\s\\S]*?<svg[^>]*class="marks"`),
      `chart ${id}`,
    );
  }
  // Nothing to fetch: no scripts, no external stylesheets/images (xmlns URIs are names, not fetches).
  assert.doesNotMatch(html, /<script|<link|src=|href="http/);
  // Clip-path ids from different charts do not collide.
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
  for (const name of SYNTHETIC_MODEL_NAMES) assert.match(html, new RegExp(`data-model="${name}"`));
  assert.match(html, /Best student on NDCG@50: pfd-md \(0\.2950 ± 0\.0026\), recovering 72% of the gap/);
  assert.match(html, /dmtl: seed 2: learning rate halved/);
  assert.match(md, /^# kdrec report — sim/);
  assert.ok(md.includes(markdownTable(comparisonTable(syntheticResults()))));
  // The specs compile and render without vega-lite / vega warnings.
  const charts = await renderCharts(syntheticResults());
  assert.deepEqual(
    charts.flatMap((c) => c.warnings),
    [],
  );
  // Invalid results are rejected before anything is written.
  const bad = syntheticResults();
  bad.seeds = [];
  await assert.rejects(writeReport(join(dir, 'bad'), bad), /seeds/);
});

test('writeReport: a minimal single-seed result without teacher, curves or overlap still reads well', async () => {
  const full = syntheticResults();
  const r = {
    ...full,
    seeds: [7],
    primaryMetric: undefined,
    models: full.models
      .filter((m) => m.role !== 'teacher')
      .map(({ curves: _c, overlapAtK: _o, flags: _f, ...m }) => ({
        ...m,
        metrics: Object.fromEntries(
          Object.entries(m.metrics).map(([k, s]) => [k, { mean: s.mean, std: 0, perSeed: [s.mean] }]),
        ),
      })),
  };
  const t = comparisonTable(r);
  assert.ok(!t.columns.some((c) => c.header.startsWith('gap recovered')), 'no gap column without a teacher');
  assert.equal(t.rows[0]![2], '0.1410', 'single seed: mean only');
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-report-min-'));
  const { html, markdown } = await writeReport(dir, r);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /id="chart-quality-vs-cost"/);
  assert.doesNotMatch(page, /chart-gap-recovered|chart-overlap-at-k|chart-learning-curves/);
  assert.match(page, /a single seed \(7\)/);
  assert.match(
    readFileSync(markdown, 'utf8'),
    /Best student on NDCG@50: pfd-md \(0\.2950\) vs plain 0\.2510\./,
  );
});
