/**
 * The experiment report: DIR/report.html (self-contained: inline CSS and inline SVG charts, no
 * script, no network needed to view it) and DIR/report.md (the same comparison table, aligned, for
 * terminals and pull requests). Both are built from one results object (see ../results.ts), so the
 * experiment runner, `kdrec report DIR` and tests all go through `writeReport`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, type Results } from '../results.js';
import { type Chart, renderCharts } from './charts.js';
import {
  comparisonTable,
  formatMeanStd,
  formatPercent,
  gapRecovered,
  markdownTable,
  metricDirection,
  primaryMetricOf,
  type Table,
} from './table.js';

export interface ReportPaths {
  html: string;
  markdown: string;
}

/** Writes DIR/report.html and DIR/report.md (atomically, creating DIR) and returns their paths. */
export async function writeReport(dir: string, results: Results): Promise<ReportPaths> {
  const valid = parseResults(results, `writeReport(${dir})`);
  mkdirSync(dir, { recursive: true });
  const table = comparisonTable(valid);
  const charts = await renderCharts(valid);
  const paths = { html: join(dir, 'report.html'), markdown: join(dir, 'report.md') };
  writeAtomic(paths.html, reportHtml(valid, table, charts));
  writeAtomic(paths.markdown, reportMarkdown(valid, table));
  return paths;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * One sentence naming the best student on the primary metric and how much of the plain→teacher
 * gap it recovers; undefined when there is no student or no metric.
 */
export function headline(results: Results): string | undefined {
  const metric = primaryMetricOf(results);
  if (!metric) return undefined;
  const seeds = results.seeds.length;
  const students = results.models.filter((m) => m.role === 'student' && metric in m.metrics);
  if (students.length === 0) return undefined;
  const higher = metricDirection(metric) !== 'lower';
  const best = students.reduce((a, b) =>
    higher
      ? b.metrics[metric]!.mean > a.metrics[metric]!.mean
        ? b
        : a
      : b.metrics[metric]!.mean < a.metrics[metric]!.mean
        ? b
        : a,
  );
  const teacher = results.models.find((m) => m.role === 'teacher');
  const plain = results.models.find((m) => m.name === 'plain');
  let text = `Best student on ${metric}: ${best.name} (${formatMeanStd(best.metrics[metric]!, seeds)})`;
  const g = gapRecovered(results, best, metric);
  if (g !== undefined && teacher && plain) {
    text += `, recovering ${formatPercent(g)} of the gap between plain (${formatMeanStd(plain.metrics[metric]!, seeds)}) and the teacher (${formatMeanStd(teacher.metrics[metric]!, seeds)})`;
  } else if (plain?.metrics[metric]) {
    text += ` vs plain ${formatMeanStd(plain.metrics[metric]!, seeds)}`;
  }
  return `${text}.`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function seedNote(results: Results): string {
  const n = results.seeds.length;
  return n > 1
    ? `mean ± standard deviation over ${n} seeds (${results.seeds.join(', ')})`
    : `a single seed (${results.seeds[0]}); run with more seeds for error bars`;
}

function flagLines(results: Results): string[] {
  return results.models.flatMap((m) => (m.flags ?? []).map((f) => `${m.name}: ${f}`));
}

const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #fafafa; color: #1d1d1f; font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; border-bottom: 1px solid #e3e3e3; padding-bottom: 4px; }
.sub { color: #666; margin: 0; }
.headline { background: #eef5ff; border-left: 4px solid #1f77b4; padding: 10px 14px; margin: 20px 0 0; }
.scroll { overflow-x: auto; }
table.results { border-collapse: collapse; font-variant-numeric: tabular-nums; background: #fff; font-size: 13.5px; }
table.results th, table.results td { padding: 6px 12px; border-bottom: 1px solid #e6e6e6; white-space: nowrap; }
table.results th { background: #f1f1f3; text-align: right; font-weight: 600; }
table.results th.left, table.results td.left { text-align: left; }
table.results td { text-align: right; }
table.results tr.role-teacher td { background: #f7f7f7; }
table.results td.best { font-weight: 700; color: #0b5394; }
.note { color: #666; font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 24px; }
figure { margin: 0; background: #fff; border: 1px solid #e6e6e6; border-radius: 6px; padding: 14px 16px; min-width: 0; }
figure.wide { grid-column: 1 / -1; }
figure h3 { font-size: 15px; margin: 0 0 6px; }
figcaption { color: #555; font-size: 13px; max-width: 640px; margin-top: 6px; }
figure svg { max-width: 100%; height: auto; display: block; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; }
dt { color: #666; }
dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
pre { background: #fff; border: 1px solid #e6e6e6; padding: 12px; overflow-x: auto; font-size: 12.5px; }
ul.flags { color: #8a4b00; }
`;

export function reportHtml(results: Results, table: Table, charts: Chart[]): string {
  const head = table.columns
    .map((c) => `<th scope="col" class="${c.align}">${escapeHtml(c.header)}</th>`)
    .join('');
  const body = table.rows
    .map((r, ri) => {
      const role = results.models[ri]!.role;
      const cells = r
        .map((c, ci) => {
          const cls = [
            table.columns[ci]!.align === 'left' ? 'left' : '',
            table.best[ri]!.has(ci) ? 'best' : '',
          ]
            .filter(Boolean)
            .join(' ');
          const tag = ci === 0 ? 'th scope="row"' : 'td';
          return `<${tag}${cls ? ` class="${cls}"` : ''}>${escapeHtml(c)}</${tag.split(' ')[0]}>`;
        })
        .join('');
      return `<tr class="role-${role}" data-model="${escapeHtml(table.models[ri]!)}">${cells}</tr>`;
    })
    .join('\n');
  const hl = headline(results);
  const flags = flagLines(results);
  const figures = charts
    .map(
      (c) =>
        `<figure id="chart-${c.id}"${c.wide ? ' class="wide"' : ''}><h3>${escapeHtml(c.title)}</h3>\n${c.svg}\n<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`,
    )
    .join('\n');
  const title = `kdrec report — ${results.dataset.name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(`${results.models.length} models · ${results.seeds.length} seed${results.seeds.length > 1 ? 's' : ''} · ${results.createdAt} · kdrec ${results.kdrecVersion}`)}</p>
${hl ? `<p class="headline">${escapeHtml(hl)}</p>` : ''}
</header>
<section id="comparison">
<h2>Comparison</h2>
<div class="scroll"><table class="results">
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>
<p class="note">${escapeHtml(`Cells are ${seedNote(results)}. Bold: the best non-teacher model per metric. Gap recovered = (student − plain) / (teacher − plain). Inference cost is milliseconds to score 1,000 candidates.`)}</p>
${flags.length ? `<ul class="flags">${flags.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>` : ''}
</section>
${charts.length ? `<section id="charts">\n<h2>Charts</h2>\n<div class="charts">\n${figures}\n</div>\n</section>` : ''}
<section id="reproduce">
<h2>Reproduce</h2>
<dl>
<dt>dataset</dt><dd>${escapeHtml(results.dataset.name)}</dd>
<dt>fingerprint</dt><dd>${escapeHtml(results.dataset.fingerprint)}</dd>
<dt>kdrec</dt><dd>${escapeHtml(results.kdrecVersion)}</dd>
<dt>git commit</dt><dd>${escapeHtml(results.gitCommit || '(not a git checkout)')}</dd>
<dt>seeds</dt><dd>${escapeHtml(results.seeds.join(', '))}</dd>
<dt>created</dt><dd>${escapeHtml(results.createdAt)}</dd>
</dl>
<details><summary>config</summary><pre>${escapeHtml(JSON.stringify(results.config, null, 2))}</pre></details>
</section>
</main>
</body>
</html>
`;
}

export function reportMarkdown(results: Results, table: Table): string {
  const hl = headline(results);
  const flags = flagLines(results);
  const lines = [
    `# kdrec report — ${results.dataset.name}`,
    '',
    `kdrec ${results.kdrecVersion} · commit \`${results.gitCommit || 'n/a'}\` · ${results.createdAt}  `,
    `data fingerprint: \`${results.dataset.fingerprint}\``,
    '',
    ...(hl ? [hl, ''] : []),
    markdownTable(table),
    '',
    `Cells are ${seedNote(results)}. **Bold**: the best non-teacher model per metric. Gap recovered = (student − plain) / (teacher − plain). Inference cost is milliseconds to score 1,000 candidates.`,
    ...(flags.length ? ['', 'Flags:', '', ...flags.map((f) => `- ${f}`)] : []),
    '',
    'Charts (quality vs cost, gap recovered, overlap@K, learning curves): see `report.html` in this folder.',
    '',
  ];
  return lines.join('\n');
}
