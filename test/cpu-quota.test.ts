// The cores a runner starts threads for by default: fewer than the machine's where a cgroup
// CPU quota holds the process to less (a container's --cpus, a Kubernetes CPU limit).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuQuota, usableCores } from '../src/machine.js';
import { scratchDir } from './helpers/scratch.js';

/** A reader over these files (paths from the root '/'), as if the rest did not exist. */
const files = (tree: Record<string, string>) => (path: string) => {
  const text = tree[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

describe('cpuQuota', () => {
  it('reads a cgroup v2 cpu.max', () => {
    const read = files({
      '/proc/self/cgroup': '0::/\n',
      '/sys/fs/cgroup/cpu.max': '200000 100000\n',
    });
    expect(cpuQuota('/', read)).toBe(2);
  });

  it('finds none in a cgroup v2 cpu.max of max', () => {
    const read = files({
      '/proc/self/cgroup': '0::/\n',
      '/sys/fs/cgroup/cpu.max': 'max 100000\n',
    });
    expect(cpuQuota('/', read)).toBeUndefined();
  });

  it('takes the tightest quota of the cgroup and those above it', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '150000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': '400000 100000',
    });
    expect(cpuQuota('/', read)).toBe(1.5);
  });

  it('reads a cgroup v1 quota where the mount is the container’s own cgroup', () => {
    const read = files({
      '/proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cpuQuota('/', read)).toBe(0.5);
  });

  it('finds none in a cgroup v1 quota of -1, nor where nothing can be read', () => {
    const v1 = files({
      '/proc/self/cgroup': '2:cpu:/\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(cpuQuota('/', v1)).toBeUndefined();
    expect(cpuQuota('/', files({}))).toBeUndefined();
    expect(cpuQuota('/', files({ '/proc/self/cgroup': 'not a cgroup line\n' }))).toBeUndefined();
  });

  it('reads the files themselves under a root', () => {
    const root = scratchDir('cgroup');
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('proc/self/cgroup', '0::/app\n');
    write('sys/fs/cgroup/app/cpu.max', '300000 100000\n');
    expect(cpuQuota(root)).toBe(3);
  });
});

describe('usableCores', () => {
  it('is at most the CPUs this process may run on, and at least 1', () => {
    const cores = usableCores();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(availableParallelism());
    const quota = cpuQuota();
    // (Where the machine running the tests has a quota, it holds the count to it.)
    if (quota === undefined) expect(cores).toBe(availableParallelism());
    else expect(cores).toBeLessThanOrEqual(Math.ceil(quota));
  });
});
