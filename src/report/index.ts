// The report renderers behind one registry: each format renders the one report model (./model.ts).
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { ReportInput } from './model.js';

export interface RenderOptions {
  title?: string;
  /** Two-sided confidence level of the across-run intervals of run records. */
  level?: number;
}

export type Renderer = (inputs: readonly ReportInput[], options: RenderOptions) => string;

/** Every report format: what it is for, and its renderer. */
export const RENDERERS = {
  markdown: { describe: 'a CI step summary', render: renderMarkdown },
  junit: { describe: 'XML, one test case per metric and expectation', render: renderJunit },
  html: { describe: 'one offline page with charts', render: renderHtml },
} as const satisfies Record<string, { describe: string; render: Renderer }>;

export type ReportFormat = keyof typeof RENDERERS;

export const REPORT_FORMATS = Object.keys(RENDERERS) as ReportFormat[];

/** The report of `inputs` in `format`. */
export function render(format: ReportFormat, inputs: readonly ReportInput[], options: RenderOptions = {}): string {
  return RENDERERS[format].render(inputs, options);
}

export { readReportInput } from './inputs.js';
export type { ReportInput } from './model.js';
