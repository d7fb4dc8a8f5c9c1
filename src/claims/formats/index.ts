// The output formats of `stoq-bench claims`, one renderer each.
import type { ClaimsReport } from '../report.js';
import { renderGithub } from './github.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';

export const CLAIM_FORMATS = ['text', 'json', 'github', 'markdown', 'sarif'] as const;
export type ClaimFormat = (typeof CLAIM_FORMATS)[number];

export function renderClaims(format: ClaimFormat, report: ClaimsReport, color = false): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'github':
      return renderGithub(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'sarif':
      return renderSarif(report);
    default:
      return renderText(report, color);
  }
}
