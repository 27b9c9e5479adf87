// The one interface between the scheduler and whatever runs tasks. The scheduler knows
// nothing else about threads, Piscina or any future (distributed) executor.
import { Stop } from '../abort.js';
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

/**
 * Marks an executor of this package whose `execute` and `open` take the scheduler's own Stop
 * where the interface says AbortSignal, so that a call makes no signal (see Stop). Other
 * executors are given the Stop's signal (see asStopTaking).
 */
export const TAKES_STOP: unique symbol = Symbol('fanout.takesStop');

/** ExecuteOptions whose signal may be a Stop. */
export type StopOptions = Omit<ExecuteOptions, 'signal'> & {
  readonly signal: AbortSignal | Stop;
};

/** An executor as the scheduler drives it: its stops may be Stops. */
export interface StopTaking {
  execute(request: TaskRequest, options: StopOptions): Promise<TaskResponse>;
  open?(signal: AbortSignal | Stop): Session;
}

/** `executor` as one that takes Stops: itself if it does (TAKES_STOP), else an adapter. */
export function asStopTaking(executor: Executor): StopTaking {
  if ((executor as { [TAKES_STOP]?: unknown })[TAKES_STOP] === true) {
    return executor as Executor & StopTaking;
  }
  const signalOf = (stop: AbortSignal | Stop) => (stop instanceof Stop ? stop.signal : stop);
  const open = executor.open;
  return {
    execute: (request, options) =>
      executor.execute(request, { ...options, signal: signalOf(options.signal) }),
    ...(open ? { open: (signal) => open.call(executor, signalOf(signal)) } : {}),
  };
}
