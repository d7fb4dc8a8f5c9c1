// Interoperability with quic-go: the matrix of ./matrix.ts against the quic-go perf peer (./quic-go-perf,
// quic-go pinned in its go.mod/go.sum, built by scripts/build-interop.sh from the Go module proxy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { describeInterop } from './matrix.js';
import { buildPeer, peerUnavailable, startPeerServer, type PeerServer } from './peers.js';

describeInterop('quic-go');

describe.skipIf(peerUnavailable('quic-go') !== null)('quic-go perf server with its own certificate', () => {
  let server: PeerServer | undefined;
  beforeAll(async () => {
    await buildPeer('quic-go');
    server = await startPeerServer('quic-go');
  }, 660_000);
  afterAll(() => server?.stop());

  it("stoq-bench's client completes a download from it (a self-signed Ed25519 certificate, as quic-go's perf tool presents)", async () => {
    const { code, stdout, stderr } = await cli(['run', '--json', '--idle-timeout', '5s', '--target', server!.address, '--bytes', '100003']);
    expect(code, stderr).toBe(0);
    const record = JSON.parse(stdout.trim().split('\n')[0]!) as { end: { state: string; bytesReceived: number } };
    expect(record.end).toMatchObject({ state: 'completed', bytesReceived: 100_003 });
    await server!.waitFor({ streams: 1 });
    expect(server!.streams[0]).toMatchObject({ requested: '100003', uploadBytes: 0, downloadBytes: 100_003 });
  });
});
