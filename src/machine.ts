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

/** What a worker thread is allowed to hold, at the least, in counting how many can start. */
const THREAD_BYTES = 8 * 2 ** 20;

/**
 * The most worker threads this machine's memory could hold (an idle one holds about 9 MiB),
 * and why, for the message that refuses more: starting them all would run out of memory.
 */
export function mostThreads(): { readonly most: number; readonly why: string } {
  const bytes = totalmem();
  return {
    most: Math.max(1, Math.floor(bytes / THREAD_BYTES)),
    why: `${(bytes / 2 ** 30).toFixed(1)} GiB of memory, about 8 MiB a thread`,
  };
}
