// Claims as one JSON line: the report model itself (non-finite numbers become null).
import type { ClaimsReport } from '../report.js';

export function renderJson(r: ClaimsReport): string {
  return `${JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`;
}
