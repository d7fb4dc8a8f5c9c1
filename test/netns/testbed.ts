// IPv6 hosts on one machine: network namespaces joined by a veth pair (fd00::1 serves, fd00::2 measures;
// on the link, fe80::1 and fe80::2), or several joined by a bridge (one server, many clients), created by the test itself and always removed,
// also when a test fails or the process exits.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from '../helpers.js';

export interface Counters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export interface Host {
  ns: string;
  dev: string;
  address: string;
  /** The link-local address of its veth end (reached with the zone of the other end's interface), if any. */
  linkLocal?: string;
  /** The kernel's counters of this host's veth end. */
  counters(): Counters;
  /** Runs the stoq-bench CLI inside this host's namespace (with `env` added to the environment). */
  cli(args: string[], env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Starts `stoq-bench server` here (on `[address]:0` unless `listen` says) and waits for its readiness line. */
  server(args?: string[], listen?: string): Promise<{ child: ChildProcess; address: string }>;
}

export interface Testbed {
  server: Host;
  client: Host;
  /** Shapes the server's egress (the download direction) with tbf at `rateBps`. */
  shape(rateBps: number): void;
  close(): void;
}

const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Whether this process may create namespaces (root with iproute2). */
export function canCreateTestbeds(): boolean {
  try {
    if (process.getuid?.() !== 0) return false;
    const probe = `stoq-probe-${process.pid}`;
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    return true;
  } catch {
    return false;
  }
}

const live = new Set<string>();
process.once('exit', () => {
  for (const ns of live) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
});

function host(ns: string, dev: string, address: string, linkLocal?: string): Host {
  return {
    ns,
    dev,
    address,
    linkLocal,
    counters() {
      const read = (name: string) => Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/${name}`]).toString());
      return { rxBytes: read('rx_bytes'), txBytes: read('tx_bytes'), rxPackets: read('rx_packets'), txPackets: read('tx_packets') };
    },
    cli(args, env = {}) {
      return new Promise((resolve) => {
        const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    },
    async server(args = [], listen = `[${address}]:0`) {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'server', '--listen', listen, '--json', ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout! });
      const bound = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          const event = JSON.parse(line) as { event: string; address?: string };
          if (event.event === 'listening') resolve(event.address!);
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      return { child, address: bound };
    },
  };
}

let serial = 0;

/** Adds namespaces with loopback up, each noted in `created` (and removed at exit if a test forgets). */
function addNamespaces(names: string[], created: string[]): void {
  for (const ns of names) {
    ip(['netns', 'add', ns]);
    created.push(ns);
    live.add(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

function removeNamespaces(created: string[]): void {
  for (const ns of created) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // already gone
    }
    live.delete(ns);
  }
  created.length = 0;
}

export function createTestbed(): Testbed {
  const tag = `${process.pid % 100000}${serial++}`;
  const names = { s: `stoq-${tag}-s`, c: `stoq-${tag}-c`, sdev: `sq${tag}s`, cdev: `sq${tag}c` };
  const created: string[] = [];
  const close = () => removeNamespaces(created);
  try {
    addNamespaces([names.s, names.c], created);
    ip(['link', 'add', names.sdev, 'netns', names.s, 'type', 'veth', 'peer', 'name', names.cdev, 'netns', names.c]);
    for (const [ns, dev, addr, linkLocal] of [
      [names.s, names.sdev, 'fd00::1', 'fe80::1'],
      [names.c, names.cdev, 'fd00::2', 'fe80::2'],
    ]) {
      ip(['-n', ns, 'addr', 'add', `${addr}/64`, 'dev', dev, 'nodad']);
      ip(['-n', ns, 'addr', 'add', `${linkLocal}/64`, 'dev', dev, 'nodad']);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (error) {
    close();
    throw error;
  }
  return {
    server: host(names.s, names.sdev, 'fd00::1', 'fe80::1'),
    client: host(names.c, names.cdev, 'fd00::2', 'fe80::2'),
    shape(rateBps) {
      // Burst of 10 ms at the rate (at least 64 KiB), so the bucket never starves the sender.
      const burst = Math.max(64 * 1024, Math.round(rateBps / 8 / 100));
      execFileSync('tc', ['-n', names.s, 'qdisc', 'replace', 'dev', names.sdev, 'root', 'tbf', 'rate', `${rateBps}bit`, 'burst', String(burst), 'latency', '50ms']);
    },
    close,
  };
}

/**
 * A host of its own with only its loopback, shaped by tbf at `rateBps` (both directions cross it): a run with
 * the embedded server there has both sides in one process and a link slow enough that no CPU binds.
 */
export function createShapedLoopback(rateBps: number): Host & { close(): void } {
  const ns = `stoq-${process.pid % 100000}${serial++}-lo`;
  const created: string[] = [];
  const close = () => removeNamespaces(created);
  try {
    addNamespaces([ns], created);
    const burst = Math.max(16 * 1024, Math.round(rateBps / 8 / 100));
    execFileSync('tc', ['-n', ns, 'qdisc', 'replace', 'dev', 'lo', 'root', 'tbf', 'rate', `${rateBps}bit`, 'burst', String(burst), 'latency', '50ms']);
  } catch (error) {
    close();
    throw error;
  }
  return { ...host(ns, 'lo', '::1'), close };
}

export interface BridgedTestbed {
  server: Host;
  clients: Host[];
  close(): void;
}

/**
 * One server host (fd00::1) and `clients` client hosts (fd00::2, fd00::3, ...) on one Ethernet segment: each
 * a namespace with a veth whose peer is a port of a bridge in a namespace of its own.
 */
export function createBridgedTestbed(clients: number): BridgedTestbed {
  const tag = `${process.pid % 100000}${serial++}`;
  const bridgeNs = `stoq-${tag}-br`;
  const nodes = Array.from({ length: clients + 1 }, (_, i) => ({
    ns: `stoq-${tag}-${i === 0 ? 's' : `c${i}`}`,
    dev: `sq${tag}n${i}`,
    port: `sq${tag}b${i}`,
    address: `fd00::${(i + 1).toString(16)}`,
  }));
  const created: string[] = [];
  const close = () => removeNamespaces(created);
  try {
    addNamespaces([bridgeNs, ...nodes.map((n) => n.ns)], created);
    ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    for (const n of nodes) {
      ip(['link', 'add', n.dev, 'netns', n.ns, 'type', 'veth', 'peer', 'name', n.port, 'netns', bridgeNs]);
      ip(['-n', bridgeNs, 'link', 'set', n.port, 'master', 'br0']);
      ip(['-n', bridgeNs, 'link', 'set', n.port, 'up']);
      ip(['-n', n.ns, 'addr', 'add', `${n.address}/64`, 'dev', n.dev, 'nodad']);
      ip(['-n', n.ns, 'link', 'set', n.dev, 'up']);
    }
  } catch (error) {
    close();
    throw error;
  }
  const [server, ...rest] = nodes.map((n) => host(n.ns, n.dev, n.address));
  return { server, clients: rest, close };
}
