// One line that says what a measurement ran on: every benchmark prints it.
import { availableParallelism, cpus, totalmem } from 'node:os';

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
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function describeMachine(info: MachineInfo = machineInfo()): string {
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node} (${info.platform})`;
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
