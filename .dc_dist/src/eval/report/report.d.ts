import { type Results } from '../results.js';
import { type Chart } from './charts.js';
import { type Table } from './table.js';
export interface ReportPaths {
    html: string;
    markdown: string;
}
/** Writes DIR/report.html and DIR/report.md (atomically, creating DIR) and returns their paths. */
export declare function writeReport(dir: string, results: Results): Promise<ReportPaths>;
/**
 * One sentence naming the best student on the primary metric and how much of the plain→teacher
 * gap it recovers; undefined when there is no student or no metric.
 */
export declare function headline(results: Results): string | undefined;
export declare function reportHtml(results: Results, table: Table, charts: Chart[]): string;
export declare function reportMarkdown(results: Results, table: Table): string;
