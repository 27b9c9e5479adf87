// What every peer's worker runs for one item: the named built-in workload, the same
// compiled code that fanout's workers and the sequential loop run.
import {
  blur,
  countPrimes,
  jsonTransform,
  mandelbrotRow,
  sha256,
  sortNumbers,
  spin,
  type WorkloadTask,
} from '../../workers/workloads.js';

/** One item as the peers' pools carry it: which workload, and its input. */
export interface PeerMessage {
  readonly task: WorkloadTask;
  readonly input: unknown;
}

const KERNELS: Readonly<Record<WorkloadTask, (input: never) => unknown>> = {
  blur,
  countPrimes,
  jsonTransform,
  mandelbrotRow,
  sha256,
  sortNumbers,
  spin,
};

export function runKernel({ task, input }: PeerMessage): unknown {
  const kernel = KERNELS[task] as ((input: unknown) => unknown) | undefined;
  if (!kernel) throw new TypeError(`no built-in workload named ${String(task)}`);
  return kernel(input);
}
