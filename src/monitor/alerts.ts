// Alerts: a state change as one JSON line (stdout, or appended to a file) and, optionally, POSTed to a webhook.
import { appendLines } from '../files.js';
import type { HealthState } from './health.js';

export interface Alert {
  event: 'alert';
  time: string;
  target: string;
  /** The previous state; null for the first evaluation. */
  from: HealthState | null;
  to: HealthState;
  reason: string;
  reasons: string[];
  window: { rttN: number; rttP50Us: number | null; rttP99Us: number | null; bursts: number; lastGoodputBps: number | null };
}

export interface AlertSinks {
  /** Shows the alert when there is no file (or the file cannot take it): as JSON or as text. */
  print(alert: Alert): void;
  stderr(text: string): void;
  file?: string;
  webhook?: string;
  /** Webhook request timeout, ms. */
  webhookTimeoutMs?: number;
}

/**
 * Emits the alert; resolves once the webhook (if any) answered or failed (a failure is reported, not thrown).
 * An alert the file cannot take (a full disk) goes to stdout instead, and stderr says why: none is lost.
 */
export async function emitAlert(alert: Alert, sinks: AlertSinks): Promise<void> {
  const line = `${JSON.stringify(alert)}\n`;
  if (sinks.file) {
    try {
      await appendLines(sinks.file, line, { name: `--alerts ${sinks.file}` });
    } catch (error) {
      sinks.stderr(`stoq-bench monitor: ${(error as Error).message}; this alert is printed on stdout instead\n`);
      sinks.print(alert);
    }
  } else sinks.print(alert);
  if (!sinks.webhook) return;
  try {
    const res = await fetch(sinks.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'stoq-bench-monitor' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(sinks.webhookTimeoutMs ?? 5000),
    });
    await res.arrayBuffer();
    if (!res.ok) sinks.stderr(`stoq-bench monitor: webhook ${sinks.webhook} answered ${res.status}\n`);
  } catch (error) {
    sinks.stderr(`stoq-bench monitor: webhook ${sinks.webhook} failed: ${(error as Error).message}\n`);
  }
}
