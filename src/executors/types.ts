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
  /**
   * Called once the attempt's task is loaded and about to run (a thread's start-up and the
   * loading of the task's module are behind it): where a timeout starts counting.
   */
  readonly onStart?: () => void;
}

/**
 * A thread kept for a run of one call's attempts, one at a time (see Executor.open).
 * Once an attempt fails with an ExecFailure, the session is over: later attempts fail alike.
 */
export interface Session {
  /**
   * Runs one attempt, after the one before it answered; as Executor.execute. `last` says
   * that no attempt follows: the session ends with this one's answer, which frees its
   * thread as soon as a task's answer would (closing costs another message).
   */
  execute(
    request: TaskRequest,
    transfer: readonly ArrayBuffer[] | undefined,
    last: boolean,
  ): Promise<TaskResponse>;
  /** Gives the thread back (after the attempt running, if any, answered). */
  close(): void;
}

export interface Executor {
  /** A name for traces and stats: 'threads', 'inline'. */
  readonly kind: string;
  /** How many attempts run at the same time. */
  readonly parallelism: number;
  /**
   * Runs one attempt. Resolves with the task's response (including task failures);
   * rejects only with an ExecFailure. A response the scheduler cannot settle (values or
   * times for fewer items than the chunk's, a failure of an item it does not have) fails
   * the chunk's items with ERR_TASK_FAILED, saying what was wrong.
   */
  execute(request: TaskRequest, options: ExecuteOptions): Promise<TaskResponse>;
  /**
   * Takes a thread for attempts sent one after another, each on a port of the session's own
   * instead of as a task of the pool: on a busy 2-core machine a pool task costs a round
   * trip ~0.1 ms more. Aborting `signal` stops the attempt running, as for execute; a
   * session between attempts just ends, its thread kept. Absent where attempts do not
   * cross to a thread.
   */
  open?(signal: AbortSignal): Session;
  /** Waits for accepted work, then releases every resource. */
  close(): Promise<void>;
  /** Stops everything now; pending attempts fail with kind 'closed'. */
  destroy(): Promise<void>;
}
