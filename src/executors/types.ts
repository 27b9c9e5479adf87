// The one interface between the scheduler and whatever runs tasks. The scheduler knows
// nothing else about threads, Piscina or any future (distributed) executor.
import type { TaskRequest, TaskResponse } from '../protocol.js';

/** Why an executor could not produce a task response. */
export type ExecFailureKind =
  /** The attempt's signal was aborted; for a running attempt, its worker has already exited. */
  | 'aborted'
  /** The thread running the attempt died (process.exit, out of memory, an uncaught error). */
  | 'worker-exited'
  /** The input or output could not be structured-cloned. */
  | 'data-clone'
  /** The executor was closed or destroyed. */
  | 'closed';

export class ExecFailure extends Error {
  readonly kind: ExecFailureKind;
  constructor(kind: ExecFailureKind, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
  }
}

export interface ExecuteOptions {
  /** Aborting it removes a queued attempt or stops a running one. */
  readonly signal: AbortSignal;
  /** Buffers of the inputs to move to the worker rather than copy. */
  readonly transfer?: readonly ArrayBuffer[];
}

export interface Executor {
  /** A name for traces and stats: 'threads', 'inline'. */
  readonly kind: string;
  /** How many attempts run at the same time. */
  readonly parallelism: number;
  /**
   * Runs one attempt. Resolves with the task's response (including task failures);
   * rejects only with an ExecFailure.
   */
  execute(request: TaskRequest, options: ExecuteOptions): Promise<TaskResponse>;
  /** Waits for accepted work, then releases every resource. */
  close(): Promise<void>;
  /** Stops everything now; pending attempts fail with kind 'closed'. */
  destroy(): Promise<void>;
}
