// The shared behaviour suite runs against every executor: a new executor must pass it unchanged.
import type { RunnerOptions } from '../../src/index.js';

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
