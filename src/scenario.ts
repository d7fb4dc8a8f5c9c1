import { fromNative } from './errors.js';
import { native } from './native.js';

export const SCENARIO_KINDS = ['download', 'upload', 'bidir', 'requests', 'latency', 'handshakes'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];
export const CONGESTION_CONTROLS = ['cubic', 'reno', 'bbr2'] as const;
export type CongestionControl = (typeof CONGESTION_CONTROLS)[number];

/** Transport settings; every field is optional on input and filled with its default by `normalizeScenario`. */
export interface Settings {
  /** Congestion control. Default cubic. */
  cc: CongestionControl;
  /** Connection flow-control window and its auto-tuning cap, bytes. Default 24 MiB. */
  connectionWindow: number;
  /** Stream flow-control window and its auto-tuning cap, bytes. Default 16 MiB. */
  streamWindow: number;
  /** Largest UDP payload sent, bytes (1200 to 65527). Default 1350. */
  payloadSize: number;
  /** Pace to quiche's release times, in user space. Default true. */
  pacing: boolean;
  /** Send with UDP GSO when available. Default true. */
  gso: boolean;
  /** Idle timeout, ns. Default 5 s. */
  idleTimeoutNs: number;
  /** Client I/O threads. Default 1. */
  threads: number;
}

/** A workload as plain data. Exactly one of bytes, durationNs or count stops it (default: 10 s). */
export interface ScenarioInput {
  kind: ScenarioKind;
  /** Total application bytes (split over connections and streams; per direction for bidir). */
  bytes?: number;
  durationNs?: number;
  /** Requests, round trips or handshakes in total. */
  count?: number;
  connections?: number;
  streams?: number;
  /** Requests outstanding per connection (requests). */
  inflight?: number;
  requestSize?: number;
  responseSize?: number;
  streamType?: 'bidi' | 'uni';
  settings?: Partial<Settings>;
}

/** A normalised scenario: defaults filled in, validated, with its content-hash id. */
export interface Scenario extends ScenarioInput {
  id: string;
  connections: number;
  streams: number;
  inflight: number;
  streamType: 'bidi' | 'uni';
  settings: Settings;
}

/** Validates a scenario and fills its defaults; throws a StoqError (`INVALID_ARGUMENT`) naming the problem. */
export function normalizeScenario(input: ScenarioInput): Scenario {
  const { id: _ignored, ...rest } = input as ScenarioInput & { id?: string };
  try {
    return JSON.parse(native.normalizeScenario(JSON.stringify(rest))) as Scenario;
  } catch (error) {
    throw fromNative(error);
  }
}
