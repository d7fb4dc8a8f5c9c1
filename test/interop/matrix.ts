// The interoperability matrix run against each independent peer: for every kind of server certificate,
// stoq-bench's client against the peer's perf server and the peer's perf client against `stoq-bench
// server --cert --key`, in every scenario the perf protocol supports (bidirectional and unidirectional
// streams, zero-byte responses, uploads, u64::MAX ended by STOP_SENDING, several requests in flight,
// repeated handshakes), on [::1], with both sides' byte counts compared. Sizes are small and durations
// short: this checks the protocol, not speed.
//
// With STOQ_INTEROP_SUMMARY=FILE, each pairing appends one JSON line to FILE: both sides' byte counts and
// the client's goodput (application bytes both ways over the client's whole run, handshakes included).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, spawnServer } from '../helpers.js';
import {
  buildPeer,
  CERTIFICATE_KINDS,
  makeCertificates,
  peerUnavailable,
  runPeerClient,
  startPeerServer,
  type CertificateKind,
  type Certificates,
  type ClientOptions,
  type ClientReport,
  type PeerName,
  type PeerServer,
  type StreamReport,
} from './peers.js';

const U64_MAX = '18446744073709551615';

interface RunRecordLike {
  end: { state: string; bytesSent: number; bytesReceived: number; completed: number; durationS: number; goodputBps: number; server: unknown };
  serverView: { source: string; reason?: string };
  connections: Array<{ state: string; bytesSent: number; bytesReceived: number; streamsCompleted: number; streamsFailed: number; error?: unknown }>;
}

interface ServerTotals {
  accepted: number;
  errored: number;
  refusedAtLimit: number;
  streamsRejected: number;
  streams: number;
  bytesSent: number;
  bytesReceived: number;
}

/** One pairing's figures, as appended to STOQ_INTEROP_SUMMARY. */
export interface SummaryRow {
  client: string;
  server: string;
  certificate: CertificateKind;
  scenario: string;
  clientSent: number;
  clientReceived: number;
  /** The server's count for the same streams (null where the server reports only totals over several scenarios). */
  serverSent: number | null;
  serverReceived: number | null;
  clientSeconds: number;
  goodputBps: number;
}

function summarize(row: SummaryRow): void {
  const file = process.env.STOQ_INTEROP_SUMMARY;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** What the peer client reports about the certificate the server presented, per kind. */
const PEER_KEY: Record<CertificateKind, string> = {
  'ecdsa-p256': 'ECDSA P-256',
  'ecdsa-p384': 'ECDSA P-384',
  ed25519: 'Ed25519',
  'rsa-pss-2048': 'RSA-2048',
  'rsa-pss-4096': 'RSA-4096',
  'rsa-pkcs1-2048': 'RSA-2048',
  'rsa-pkcs1-4096': 'RSA-4096',
};

/** The TLS 1.3 schemes a server key of each kind signs with (RFC 8446 §4.2.3: RSA signs with PSS). */
const SCHEME: Record<CertificateKind, RegExp> = {
  'ecdsa-p256': /^ecdsa_secp256r1_sha256$/,
  'ecdsa-p384': /^ecdsa_secp384r1_sha384$/,
  ed25519: /^ed25519$/,
  'rsa-pss-2048': /^rsa_pss_rsae_sha(256|384|512)$/,
  'rsa-pss-4096': /^rsa_pss_rsae_sha(256|384|512)$/,
  'rsa-pkcs1-2048': /^rsa_pss_rsae_sha(256|384|512)$/,
  'rsa-pkcs1-4096': /^rsa_pss_rsae_sha(256|384|512)$/,
};

/** The peer client saw the server's certificate of `kind` and, where the peer can tell, its signature. */
function expectCertificate(peer: PeerName, kind: CertificateKind, report: ClientReport): void {
  if (peer === 'quic-go') expect(report.peerKey).toBe(PEER_KEY[kind]);
  else expect(report.signatureScheme).toMatch(SCHEME[kind]);
}

// --- stoq-bench's client against the peer's server

interface ClientScenario {
  name: string;
  args: string[];
  /** Exact application bytes the client sends and receives ('timed': what arrives before the stop). */
  sent: number;
  received: number | 'timed';
  /** Request streams and handshakes the peer server must report. */
  streams: number;
  connections: number;
  /** The peer server's report of each stream (timed downloads are checked apart). */
  stream?: Partial<StreamReport>;
  timed?: boolean;
}

const CLIENT_SCENARIOS: ClientScenario[] = [
  {
    name: 'one request: upload and download on a bidirectional stream',
    args: ['--scenario', 'requests', '--count', '1', '--request-size', '100003', '--response-size', '300017'],
    sent: 100_003,
    received: 300_017,
    streams: 1,
    connections: 1,
    stream: { uni: false, requested: '300017', uploadBytes: 100_003, downloadBytes: 300_017 },
  },
  {
    name: 'download of --bytes on a bidirectional stream',
    args: ['--scenario', 'download', '--bytes', '400009'],
    sent: 0,
    received: 400_009,
    streams: 1,
    connections: 1,
    stream: { uni: false, requested: '400009', uploadBytes: 0, downloadBytes: 400_009 },
  },
  {
    name: 'upload of --bytes: a zero-byte response after the FIN',
    args: ['--scenario', 'upload', '--bytes', '400009'],
    sent: 400_009,
    received: 0,
    streams: 1,
    connections: 1,
    stream: { uni: false, requested: '0', uploadBytes: 400_009, downloadBytes: 0 },
  },
  {
    name: 'download on a unidirectional stream: the reply on a new server stream',
    args: ['--scenario', 'download', '--bytes', '300007', '--stream-type', 'uni'],
    sent: 0,
    received: 300_007,
    streams: 1,
    connections: 1,
    stream: { uni: true, requested: '300007', uploadBytes: 0, downloadBytes: 300_007 },
  },
  {
    name: 'upload on a unidirectional stream',
    args: ['--scenario', 'upload', '--bytes', '200003', '--stream-type', 'uni'],
    sent: 200_003,
    received: 0,
    streams: 1,
    connections: 1,
    stream: { uni: true, requested: '0', uploadBytes: 200_003, downloadBytes: 0 },
  },
  {
    name: 'zero-byte responses to three requests',
    args: ['--scenario', 'requests', '--count', '3', '--request-size', '64', '--response-size', '0'],
    sent: 3 * 64,
    received: 0,
    streams: 3,
    connections: 1,
    stream: { uni: false, requested: '0', uploadBytes: 64, downloadBytes: 0 },
  },
  {
    name: '24 requests, 4 in flight, on one connection',
    args: ['--scenario', 'requests', '--count', '24', '--inflight', '4', '--request-size', '100', '--response-size', '10000'],
    sent: 24 * 100,
    received: 24 * 10_000,
    streams: 24,
    connections: 1,
    stream: { uni: false, requested: '10000', uploadBytes: 100, downloadBytes: 10_000 },
  },
  {
    name: '12 requests, 4 in flight, on unidirectional streams',
    args: ['--scenario', 'requests', '--count', '12', '--inflight', '4', '--request-size', '100', '--response-size', '10000', '--stream-type', 'uni'],
    sent: 12 * 100,
    received: 12 * 10_000,
    streams: 12,
    connections: 1,
    stream: { uni: true, requested: '10000', uploadBytes: 100, downloadBytes: 10_000 },
  },
  {
    name: 'u64::MAX ended by STOP_SENDING after 200 ms',
    args: ['--scenario', 'download', '--duration', '200ms'],
    sent: 0,
    received: 'timed',
    streams: 1,
    connections: 1,
    stream: { uni: false },
    timed: true,
  },
  {
    name: 'u64::MAX on a unidirectional stream ended by STOP_SENDING after 200 ms',
    args: ['--scenario', 'download', '--duration', '200ms', '--stream-type', 'uni'],
    sent: 0,
    received: 'timed',
    streams: 1,
    connections: 1,
    stream: { uni: true },
    timed: true,
  },
  {
    name: 'five handshakes, one after another',
    args: ['--scenario', 'handshakes', '--count', '5'],
    sent: 0,
    received: 0,
    streams: 0,
    connections: 5,
  },
];

async function stoqRun(args: string[]): Promise<RunRecordLike> {
  const { code, stdout, stderr } = await cli(['run', '--json', '--idle-timeout', '5s', ...args]);
  expect(code, `${stderr}\n${stdout}`).toBe(0);
  return JSON.parse(stdout.trim().split('\n')[0]!) as RunRecordLike;
}

function describeStoqClient(peer: PeerName, kind: CertificateKind, certificates: () => Certificates): void {
  describe(`stoq-bench client -> ${peer} perf server`, () => {
    let server: PeerServer;
    beforeAll(async () => {
      server = await startPeerServer(peer, certificates().identity(kind));
    });
    afterAll(() => server?.stop());

    it.each(CLIENT_SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
      const [streamsBefore, connectionsBefore] = [server.streams.length, server.connections.length];
      const record = await stoqRun(['--target', server.address, ...s.args]);
      expect(record.end.state, JSON.stringify(record.connections)).toBe('completed');
      // The peer does not offer stoq-bench's view: the sender's side is unknown, and says why.
      expect(record.serverView).toEqual({ source: 'unknown', reason: expect.stringMatching(/^the server does not offer the view \(ALPN stoq-bench-view\)|^the server did not complete the view connection's handshake within 2 s: it does not offer the view/) });
      expect(record.end.server).toBeNull();
      expect(record.end.bytesSent).toBe(s.sent);
      if (s.received !== 'timed') expect(record.end.bytesReceived).toBe(s.received);
      for (const c of record.connections) {
        expect(c).toMatchObject({ state: 'completed', streamsFailed: 0 });
        expect(c.error).toBeUndefined();
      }

      await server.waitFor({ streams: streamsBefore + s.streams, connections: connectionsBefore + s.connections });
      const connections = server.connections.slice(connectionsBefore);
      expect(connections).toHaveLength(s.connections);
      for (const c of connections) expect(c.error).toBeUndefined();
      const streams = server.streams.slice(streamsBefore);
      expect(streams).toHaveLength(s.streams);
      // All of this run's streams came from its own connections.
      const remotes = new Set(connections.map((c) => c.remote));
      for (const st of streams) {
        expect(remotes.has(st.remote)).toBe(true);
        expect(st).toMatchObject(s.stream!);
        if (st.uni) expect(st.replyStreamId! % 4, 'a server-initiated unidirectional stream').toBe(3);
        if (!s.timed) expect(st.error).toBeUndefined();
      }
      const serverSent = streams.reduce((n, st) => n + (st.downloadBytes ?? 0), 0);
      const serverReceived = streams.reduce((n, st) => n + (st.uploadBytes ?? 0), 0);
      if (s.timed) {
        const [st] = streams;
        expect(st).toMatchObject({ requested: U64_MAX, uploadBytes: 0 });
        // The server counts what its stream accepted, the final size of its RESET_STREAM: at least what
        // arrived. How much arrives in the window is timing, not protocol: a starved machine may deliver
        // nothing (a slow handshake inflates the RTT that slow start then paces by).
        expect(st!.downloadBytes).toBeGreaterThanOrEqual(record.end.bytesReceived);
        // The end: STOP_SENDING with code 0, or, where the server has not answered it within the 100 ms
        // that stoq-bench's client waits for the RESET_STREAM (a loaded machine), the client's
        // CONNECTION_CLOSE with code 0 (NO_ERROR) overtaking it.
        if (st!.stoppedWith === undefined) expect(st!.error).toMatch(/Application error 0x0 \(remote\)|closed by peer: (.* \(code 0\)|0)$/);
        else expect([st!.stoppedWith, st!.error]).toEqual([0, undefined]);
      } else {
        expect(serverSent).toBe(s.received);
        expect(serverReceived).toBe(s.sent);
      }
      summarize({
        client: 'stoq-bench',
        server: peer,
        certificate: kind,
        scenario: s.name,
        clientSent: record.end.bytesSent,
        clientReceived: record.end.bytesReceived,
        serverSent,
        serverReceived,
        clientSeconds: record.end.durationS,
        goodputBps: record.end.goodputBps,
      });
    });
  });
}

// --- The peer's client against stoq-bench's server

interface PeerScenario {
  name: string;
  options: ClientOptions;
}

/** Scenarios with exact sizes: the server's totals over all of them must match to the byte. */
const PEER_SCENARIOS: PeerScenario[] = [
  { name: 'upload and download on one bidirectional stream', options: { upload: 100_003, download: 300_017 } },
  { name: 'a zero-byte response to an empty request', options: { upload: 0, download: 0 } },
  { name: 'zero-byte responses to three uploads', options: { upload: 5, download: 0, requests: 3 } },
  { name: 'upload only', options: { upload: 400_009 } },
  { name: 'download only', options: { download: 400_009 } },
  { name: 'three requests in flight on unidirectional streams', options: { uni: true, upload: 7, download: 100_003, requests: 3, inflight: 3 } },
  { name: 'a zero-byte response on a unidirectional stream', options: { uni: true, upload: 11 } },
  { name: '24 requests, 4 in flight, on one connection', options: { upload: 100, download: 10_000, requests: 24, inflight: 4 } },
  { name: 'five handshakes, one after another', options: { connections: 5, requests: 0 } },
  { name: 'three handshakes with two requests each', options: { connections: 3, requests: 2, upload: 1000, download: 2000 } },
];

/** Timed downloads: u64::MAX ended by STOP_SENDING; the server's count is the reset's final size. */
const TIMED_SCENARIOS: PeerScenario[] = [
  { name: 'u64::MAX ended by STOP_SENDING after 200 ms', options: { duration: '200ms' } },
  { name: 'u64::MAX on a unidirectional stream ended by STOP_SENDING after 200 ms', options: { uni: true, duration: '200ms' } },
];

/** Stops a `stoq-bench server --json` child and returns its final totals (the `stopped` line). */
async function stopStoqServer(child: ChildProcess, lines: string[]): Promise<ServerTotals> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  const stopped = lines.map((l) => JSON.parse(l) as { event: string } & ServerTotals).find((e) => e.event === 'stopped');
  expect(stopped, lines.join('\n')).toBeDefined();
  return stopped!;
}

function describePeerClient(peer: PeerName, kind: CertificateKind, certificates: () => Certificates): void {
  const run = async (address: string, s: PeerScenario): Promise<ClientReport> => {
    const { code, report, stderr } = await runPeerClient(peer, address, s.options);
    expect(code, `${JSON.stringify(report)} ${stderr}`).toBe(0);
    const { connections = 1, requests = 1, upload = 0, download = 0 } = s.options;
    const timed = s.options.duration !== undefined;
    expect(report).toMatchObject({
      event: 'done',
      alpn: 'perf',
      connections,
      streams: connections * requests,
      stoppedStreams: timed ? connections * requests : 0,
      uploadBytes: connections * requests * upload,
      ...(timed ? {} : { downloadBytes: connections * requests * download }),
    });
    expectCertificate(peer, kind, report);
    return report;
  };

  describe(`${peer} perf client -> stoq-bench server`, () => {
    let server: { child: ChildProcess; address: string; lines: string[] };
    const reports: ClientReport[] = [];
    beforeAll(async () => {
      const { cert, key } = certificates().identity(kind);
      server = await spawnServer(['--cert', cert, '--key', key, '--stats-interval', '1']);
    });
    afterAll(() => {
      if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    });

    it.each(PEER_SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
      const report = await run(server.address, s);
      reports.push(report);
      summarize({
        client: peer,
        server: 'stoq-bench',
        certificate: kind,
        scenario: s.name,
        clientSent: report.uploadBytes!,
        clientReceived: report.downloadBytes!,
        serverSent: null,
        serverReceived: null,
        clientSeconds: report.seconds!,
        goodputBps: ((report.uploadBytes! + report.downloadBytes!) * 8) / report.seconds!,
      });
    });

    it("the server's totals match the clients' to the byte", async () => {
      expect(reports, 'every scenario ran').toHaveLength(PEER_SCENARIOS.length);
      const totals = await stopStoqServer(server.child, server.lines);
      const sum = (f: (r: ClientReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      expect(totals).toEqual(
        expect.objectContaining({
          accepted: sum((r) => r.connections!),
          errored: 0,
          refusedAtLimit: 0,
          streamsRejected: 0,
          streams: sum((r) => r.streams!),
          bytesReceived: sum((r) => r.uploadBytes!),
          bytesSent: sum((r) => r.downloadBytes!),
        }),
      );
      summarize({
        client: peer,
        server: 'stoq-bench',
        certificate: kind,
        scenario: 'all of the above (the server reports totals)',
        clientSent: sum((r) => r.uploadBytes!),
        clientReceived: sum((r) => r.downloadBytes!),
        serverSent: totals.bytesSent,
        serverReceived: totals.bytesReceived,
        clientSeconds: sum((r) => r.seconds!),
        goodputBps: (sum((r) => r.uploadBytes! + r.downloadBytes!) * 8) / sum((r) => r.seconds!),
      });
    });
  });

  describe(`${peer} perf client -> stoq-bench server, timed downloads`, () => {
    let server: { child: ChildProcess; address: string; lines: string[] };
    const reports: ClientReport[] = [];
    beforeAll(async () => {
      const { cert, key } = certificates().identity(kind);
      server = await spawnServer(['--cert', cert, '--key', key, '--stats-interval', '1']);
    });
    afterAll(() => {
      if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    });

    it.each(TIMED_SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
      const report = await run(server.address, s);
      if (peer === 'quic-go') expect(report.resetFinalSize).toBeGreaterThanOrEqual(report.downloadBytes!);
      reports.push(report);
      summarize({
        client: peer,
        server: 'stoq-bench',
        certificate: kind,
        scenario: s.name,
        clientSent: report.uploadBytes!,
        clientReceived: report.downloadBytes!,
        serverSent: null,
        serverReceived: null,
        clientSeconds: report.seconds!,
        goodputBps: ((report.uploadBytes! + report.downloadBytes!) * 8) / report.seconds!,
      });
    });

    it("the server sent at least what the clients' resets say, received nothing, and saw every stop", async () => {
      expect(reports, 'every scenario ran').toHaveLength(TIMED_SCENARIOS.length);
      const totals = await stopStoqServer(server.child, server.lines);
      const sum = (f: (r: ClientReport) => number) => reports.reduce((n, r) => n + f(r), 0);
      expect(totals).toMatchObject({ accepted: reports.length, errored: 0, refusedAtLimit: 0, streamsRejected: 0, streams: reports.length, bytesReceived: 0 });
      // stoq-bench's server counts what quiche's stream buffer accepted; quiche's RESET_STREAM carries
      // only what was emitted (its send buffer is dropped), so the server's count is at least the resets'
      // final sizes (quic-go reports them) and at least what the clients read (quinn does not expose them).
      const committed = peer === 'quic-go' ? sum((r) => r.resetFinalSize!) : sum((r) => r.downloadBytes!);
      expect(totals.bytesSent).toBeGreaterThanOrEqual(committed);
      summarize({
        client: peer,
        server: 'stoq-bench',
        certificate: kind,
        scenario: 'the timed downloads above (the server reports totals)',
        clientSent: 0,
        clientReceived: sum((r) => r.downloadBytes!),
        serverSent: totals.bytesSent,
        serverReceived: totals.bytesReceived,
        clientSeconds: sum((r) => r.seconds!),
        goodputBps: (sum((r) => r.downloadBytes!) * 8) / sum((r) => r.seconds!),
      });
    });
  });
}

/** The whole matrix against `peer`, skipped (with a note) where its toolchain is missing. */
export function describeInterop(peer: PeerName): void {
  const unavailable = peerUnavailable(peer);
  if (unavailable) console.warn(`test/interop (${peer}) skipped: ${unavailable}`);

  describe.skipIf(unavailable !== null)(`interop with the ${peer} perf peer on [::1]`, () => {
    let certificates: Certificates | undefined;
    beforeAll(async () => {
      await buildPeer(peer);
      certificates = await makeCertificates();
    }, 660_000);
    afterAll(() => certificates?.remove());

    for (const kind of CERTIFICATE_KINDS) {
      describe(`${kind} certificate`, () => {
        describeStoqClient(peer, kind, () => certificates!);
        describePeerClient(peer, kind, () => certificates!);
      });
    }
    describeBenchOptions(peer, () => certificates!);
  });
}

/** The peer options bench/peers.ts relies on: a fixed UDP payload and per-request times. */
function describeBenchOptions(peer: PeerName, certificates: () => Certificates): void {
  describe('options of the side-by-side benchmark', () => {
    it('a fixed --payload-size on both sides moves exact bytes, and --latencies times every request', async () => {
      const server = await startPeerServer(peer, certificates().identity('ecdsa-p256'), { payloadSize: 1350 });
      try {
        const { code, report, stderr } = await runPeerClient(peer, server.address, { upload: 64, download: 64, requests: 5, payloadSize: 1350, latencies: true });
        expect(code, stderr).toBe(0);
        expect(report).toMatchObject({ event: 'done', streams: 5, uploadBytes: 5 * 64, downloadBytes: 5 * 64 });
        expect(report.requestMicros).toHaveLength(5);
        for (const us of report.requestMicros!) expect(us).toBeGreaterThan(0);
        await server.waitFor({ streams: 5 });
        expect(server.streams.map((s) => [s.uploadBytes, s.downloadBytes])).toEqual(Array(5).fill([64, 64]));
        // Without --latencies the report carries no times.
        const plain = await runPeerClient(peer, server.address, { download: 10, payloadSize: 1350 });
        expect(plain.report).toMatchObject({ event: 'done', downloadBytes: 10, requestMicros: null });
      } finally {
        await server.stop();
      }
    });

    it('a --payload-size below the QUIC minimum is refused with an error, before any traffic', async () => {
      const { code, report } = await runPeerClient(peer, '[::1]:9', { download: 1, payloadSize: 1199 });
      expect(code).toBe(1);
      expect(report.event).toBe('error');
      expect(report.error).toMatch(/--payload-size/);
    });
  });
}
