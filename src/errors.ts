// Every failure fanout reports has a class and a stable `code`, so callers (and tests)
// match on codes, never on wording. Job-level errors say which job and which task.
import { describeValue, isError, type TaskRef } from './protocol.js';

/** The index (array input) or key (record input) that identifies a job in its call. */
export type JobKey = number | string;

/** Base class of every error fanout creates, except invalid arguments (see below). */
export class FanoutError extends Error {
  /** Stable: match on it, not on the message (see the README's table). */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** Where a job-level error happened. */
export interface JobInfo {
  /** Index or key of the job in its call's input. */
  readonly job: JobKey;
  /** The worker task, or undefined for a main-thread function job. */
  readonly task?: TaskRef | undefined;
  /** Attempts made before the job ended (1 = no retry). */
  readonly attempts: number;
}

function where(info: JobInfo): string {
  const job = typeof info.job === 'number' ? `job ${info.job}` : `job "${info.job}"`;
  const task = info.task
    ? `task \`${info.task.export}\` from ${info.task.module}`
    : 'a main-thread function';
  const tries = info.attempts > 1 ? ` after ${info.attempts} attempts` : '';
  return `${job} (${task})${tries}`;
}

/** A failure that belongs to one job of a call. */
export class TaskError extends FanoutError {
  /** Index or key of the job in its call's input. */
  readonly job: JobKey;
  /** The worker task, or undefined for a main-thread function job. */
  readonly task: TaskRef | undefined;
  /** Attempts made before the job ended (1 = no retry). */
  readonly attempts: number;
  constructor(code: string, info: JobInfo, what: string, options?: { cause?: unknown }) {
    super(code, `${where(info)}: ${what}`, options);
    this.job = info.job;
    this.task = info.task;
    this.attempts = info.attempts;
  }
}

/**
 * The task threw or rejected, or its module threw while loading. `cause` is the original
 * error, rebuilt across the thread boundary.
 */
export class TaskFailedError extends TaskError {
  /** What went wrong, as an Error (rebuilt where it crossed from a thread). */
  declare readonly cause: Error;
  /** `loading`: the task's module threw while it loaded, not the task itself. */
  constructor(info: JobInfo, cause: Error, loading = false) {
    const what = loading ? `its module threw while loading: ${cause.message}` : cause.message;
    super('ERR_TASK_FAILED', info, `failed: ${what}`, { cause });
  }
}

/** An attempt ran longer than `timeout`; CPU-bound code was stopped by terminating its worker. */
export class TaskTimeoutError extends TaskError {
  /** The call's `timeout` (ms). */
  readonly timeout: number;
  /**
   * `waitedMs`: given when the task had not started when time ran out (its thread starting
   * and its module loading have a minute more than the timeout): how long it waited.
   */
  constructor(info: JobInfo, timeout: number, waitedMs?: number) {
    super(
      'ERR_TASK_TIMEOUT',
      info,
      waitedMs === undefined
        ? `timed out after ${timeout} ms`
        : `timed out before its task was heard to start: its thread was still starting or its module still loading after ${Math.round(waitedMs)} ms (the timeout, ${timeout} ms, counts from the task's start; until then an attempt gets longer)`,
    );
    this.timeout = timeout;
  }
}

/** The job was stopped before it finished: the call was aborted, failed fast, or was won by another job. */
export class TaskCancelledError extends TaskError {
  constructor(info: JobInfo, reason: string, cause?: unknown) {
    super('ERR_TASK_CANCELLED', info, `cancelled: ${reason}`, { cause });
  }
}

/** The worker running the job died (process.exit, out of memory, crash). It has been replaced. */
export class WorkerExitedError extends TaskError {
  /** What went wrong, as an Error (rebuilt where it crossed from a thread). */
  declare readonly cause: Error;
  constructor(info: JobInfo, cause: Error) {
    super('ERR_WORKER_EXITED', info, `its worker exited: ${cause.message}`, { cause });
  }
}

/** The job's input or output cannot be structured-cloned across threads. */
export class DataCloneError extends TaskError {
  /** What went wrong, as an Error (rebuilt where it crossed from a thread). */
  declare readonly cause: Error;
  /**
   * `hint`: what the caller can do about it, when the scheduler can tell; `what`: which
   * one could not be sent, when it is known.
   */
  constructor(
    info: JobInfo,
    cause: Error,
    hint?: string,
    what: 'output' | 'input or output' = 'input or output',
  ) {
    super(
      'ERR_DATA_CLONE',
      info,
      `its ${what} cannot be sent between threads: ${cause.message}${hint ? ` (${hint})` : ''}`,
      { cause },
    );
  }
}

/** The task's module could not be found, or it has no such export (or the export is not a function). */
export class TaskNotFoundError extends TaskError {
  /** What went wrong, as an Error (rebuilt where it crossed from a thread). */
  declare readonly cause: Error;
  constructor(info: JobInfo, cause: Error) {
    super('ERR_TASK_NOT_FOUND', info, cause.message, { cause });
  }
}

/** The runner's queue already holds `maxQueue` jobs waiting for a thread. */
export class QueueFullError extends TaskError {
  constructor(info: JobInfo, maxQueue: number) {
    super('ERR_QUEUE_FULL', info, `the queue is full (maxQueue = ${maxQueue})`);
  }
}

/** A map() stream iterated, or collected, a second time: it streams its results once. */
export class MapConsumedError extends FanoutError {
  constructor() {
    super('ERR_MAP_CONSUMED', 'A map() stream can be iterated only once');
  }
}

/**
 * fanout's scheduler threw where nothing should (a bug in fanout, or an executor given in
 * RunnerOptions that broke its contract): the call stopped at once rather than wait
 * forever for the jobs it lost. `cause` is what was thrown.
 */
export class InternalError extends FanoutError {
  constructor(cause: unknown) {
    super(
      'ERR_INTERNAL',
      `fanout stopped the call after an internal error (please report it): ${isError(cause) ? cause.message : describeValue(cause)}`,
      { cause },
    );
  }
}

/** The runner was closed or destroyed; it takes no new work. */
export class RunnerClosedError extends FanoutError {
  constructor(message = 'The runner is closed and takes no new work') {
    super('ERR_RUNNER_CLOSED', message);
  }
}

/** A graph node depends on a name that is not a node of the graph. Nothing was started. */
export class GraphUnknownDepError extends FanoutError {
  /** The node that declared the dependency. */
  readonly node: string;
  /** The name it depends on, which no node has. */
  readonly dependency: string;
  constructor(node: string, dependency: string) {
    super(
      'ERR_GRAPH_UNKNOWN_DEP',
      `Node "${node}" depends on "${dependency}", which is not a node of the graph`,
    );
    this.node = node;
    this.dependency = dependency;
  }
}

/** A graph's dependencies go round in a cycle (a node that depends on itself too). Nothing was started. */
export class GraphCycleError extends FanoutError {
  /** The cycle in order, each node depending on the next, the first repeated last: `['a', 'b', 'a']`. */
  readonly cycle: readonly string[];
  constructor(cycle: readonly string[]) {
    super(
      'ERR_GRAPH_CYCLE',
      `The graph has a cycle: ${shownCycle(cycle)} (each node depends on the next)`,
    );
    this.cycle = cycle;
  }
}

/** The most nodes of a cycle its message names (`cycle` holds them all). */
const CYCLE_SHOWN = 20;

function shownCycle(cycle: readonly string[]): string {
  if (cycle.length <= CYCLE_SHOWN) return cycle.join(' → ');
  const left = cycle.length - CYCLE_SHOWN;
  return `${cycle.slice(0, CYCLE_SHOWN - 1).join(' → ')} → … (${left} more) → ${cycle.at(-1)}`;
}

/** An argument or option has the wrong type. */
export class InvalidArgTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE';
  override get name(): string {
    return 'TypeError';
  }
}

/** An argument or option has the right type but a value out of range. */
export class InvalidArgValueError extends RangeError {
  readonly code = 'ERR_INVALID_ARG_VALUE';
  override get name(): string {
    return 'RangeError';
  }
}

/** "Expected `threads` to be an integer from 0 and up, got `-1` (number)". */
export function invalidType(what: string, expected: string, got: unknown): InvalidArgTypeError {
  return new InvalidArgTypeError(
    `Expected \`${what}\` to be ${expected}, got ${describeValue(got)}`,
  );
}

export function invalidValue(what: string, expected: string, got: unknown): InvalidArgValueError {
  return new InvalidArgValueError(
    `Expected \`${what}\` to be ${expected}, got ${describeValue(got)}`,
  );
}
