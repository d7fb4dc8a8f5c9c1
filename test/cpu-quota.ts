// A CPU quota for a child process (a cgroup's CFS bandwidth: cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`),
// so a test can make CPU the bound of a run however idle or busy the machine is. Root only; removed after.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './helpers.js';

const V2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.subtree_control')) && existsSync(join(d, 'cgroup.controllers')));
const V1 = existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') ? '/sys/fs/cgroup/cpu' : undefined;

/** Whether this process may cap a child's CPU. */
export const canCapCpu = process.getuid?.() === 0 && (V1 !== undefined || V2 !== undefined);

let serial = 0;

/**
 * Runs the stoq-bench CLI with its threads together allowed `share` of one core (0.2: 20 ms of CPU time per
 * 100 ms). Throws where no CPU controller can be written.
 */
export async function cliWithCpuQuota(share: number, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const period = 100_000;
  const quota = Math.round(share * period);
  const name = `stoq-quota-${process.pid}-${serial++}`;
  let dir: string;
  if (V1) {
    dir = join(V1, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
  } else {
    writeFileSync(join(V2!, 'cgroup.subtree_control'), '+cpu');
    dir = join(V2!, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
  }
  try {
    // The shell joins the cgroup before it becomes the CLI, so every thread the CLI starts is capped.
    const child = spawn('sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$0" "$@"`, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr };
  } finally {
    rmdirSync(dir);
  }
}
