// The shared behaviour suite runs against every executor: a new executor must pass it unchanged.
import type { Executor, RunnerOptions, TaskRequest } from '../../src/index.js';

export interface ExecutorCase {
  readonly name: 'threads' | 'inline';
  readonly options: RunnerOptions;
}

export const executors: readonly ExecutorCase[] = [
  { name: 'threads', options: { threads: 2 } },
  { name: 'inline', options: { threads: 0 } },
];

/** Behaviours that need real threads (stopping code that never yields, exits, blocking latches). */
export const threads: ExecutorCase = executors[0]!;

/**
 * An executor that answers each chunk of numbers at once with them doubled, as if each item
 * had taken 1 µs of a thread's time; `seen` is shown each request first.
 */
export function doublingExecutor(seen: (request: TaskRequest) => void): Executor {
  return {
    kind: 'recording',
    parallelism: 2,
    execute: async (request) => {
      seen(request);
      const count = request.inputs.length;
      const start = performance.timeOrigin + performance.now();
      const times = new Float64Array(2 * count);
      for (let i = 0; i < count; i++) {
        times[2 * i] = start + i * 0.001;
        times[2 * i + 1] = start + (i + 1) * 0.001;
      }
      const values = request.inputs.map((x) => (x as number) * 2);
      return { values, failures: undefined, times, thread: 1 };
    },
    close: async () => {},
    destroy: async () => {},
  };
}
