// What the machine is: the cores this process may use, and one line that says what a
// measurement ran on (every benchmark prints it).
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: usableCores(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function describeMachine(info: MachineInfo = machineInfo()): string {
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node} (${info.platform})`;
}

/**
 * The cores this process may keep busy: `os.availableParallelism()` (the CPUs it may run
 * on), or fewer where a CPU quota holds it to less (a container's `--cpus`, a Kubernetes
 * CPU limit: cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`), rounded up. Node.js 20's
 * availableParallelism does not count quotas: 64 threads in a container given 2 CPUs
 * would be throttled in turns.
 */
export function usableCores(): number {
  const cores = availableParallelism();
  const quota = cpuQuota();
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/**
 * The CPUs' worth of time a cgroup quota allows this process (the tightest of its cgroup
 * and those above it), or undefined where none is set or none can be read (not Linux).
 * `root` and `read` are for tests.
 */
export function cpuQuota(
  root = '/',
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number | undefined {
  let membership: string;
  try {
    membership = read(join(root, 'proc/self/cgroup'));
  } catch {
    return undefined;
  }
  let tightest: number | undefined;
  const limit = (cpus: number | undefined) => {
    if (cpus !== undefined && cpus > 0 && (tightest === undefined || cpus < tightest)) {
      tightest = cpus;
    }
  };
  for (const line of membership.split('\n')) {
    // hierarchy-id:controllers:path (v2: `0::/path`; v1: `4:cpu,cpuacct:/path`).
    const match = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers = '', path = '/'] = match;
    if (controllers === '') {
      for (const dir of cgroupDirs(join(root, 'sys/fs/cgroup'), path)) {
        limit(v2Quota(attempt(read, join(dir, 'cpu.max'))));
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
        for (const dir of cgroupDirs(join(root, 'sys/fs/cgroup', mount), path)) {
          const quota = Number(attempt(read, join(dir, 'cpu.cfs_quota_us')));
          const period = Number(attempt(read, join(dir, 'cpu.cfs_period_us')));
          if (quota > 0 && period > 0) limit(quota / period);
        }
      }
    }
  }
  return tightest;
}

/**
 * The process's cgroup folder under a mount and those above it, up to the mount. (In a
 * container, the mount is often the container's own cgroup while the path names it from
 * the host's root: the folders that do not exist are only not read.)
 */
function cgroupDirs(mount: string, path: string): string[] {
  const dirs: string[] = [];
  for (let dir = join(mount, path); dir.startsWith(mount); dir = dirname(dir)) {
    dirs.push(dir);
    if (dir === mount) break;
  }
  return dirs;
}

/** `cpu.max`: `max 100000` (no quota) or `200000 100000` (quota and period, µs). */
function v2Quota(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function attempt(read: (path: string) => string, path: string): string | undefined {
  try {
    return read(path);
  } catch {
    return undefined;
  }
}

/** `n` and its noun, singular for one: `1 thread`, `2 threads`. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What an idle worker thread holds (measured: 8.9 MiB on Node 20). */
const THREAD_BYTES = 9 * 2 ** 20;

/**
 * Why `threads` is too many to start, or undefined: more than this machine's memory (or
 * its container's limit) could hold even idle. A loose bound, against a typo such as
 * `-t 100000` running the process out of memory as the threads start; working threads
 * hold more.
 */
export function tooManyThreads(threads: number): string | undefined {
  const limit = process.constrainedMemory?.() ?? 0;
  const bytes = limit > 0 ? Math.min(limit, totalmem()) : totalmem();
  const most = Math.max(1, Math.floor(bytes / THREAD_BYTES));
  if (threads <= most) return undefined;
  return `at most ${most} on this machine (${(bytes / 2 ** 30).toFixed(1)} GiB of memory, about 9 MiB a thread)`;
}
