// The engine under every call: runs a list of jobs with attempts, retries, per-attempt
// timeouts, a concurrency cap and a policy that decides when to stop. It never throws;
// it returns what happened to every job, and the runner shapes that into a result.
import { setMaxListeners } from 'node:events';
import type { Dispatcher } from './dispatch.js';
import { QueueFull } from './dispatch.js';
import {
  DataCloneError,
  type JobInfo,
  type JobKey,
  QueueFullError,
  RunnerClosedError,
  TaskCancelledError,
  type TaskError,
  TaskFailedError,
  TaskNotFoundError,
  TaskTimeoutError,
  WorkerExitedError,
} from './errors.js';
import { ExecFailure, type Executor } from './executors/types.js';
import { type CallPolicy, stopReason, stopsCall } from './policies.js';
import { deserializeError, now, serializeError, type TaskRef } from './protocol.js';
import { backoffDelay, type RetryPolicy, shouldRetry } from './retry.js';
import type { FunctionJob } from './task.js';

/** One job of a call: a worker task with its input, or a main-thread function. */
export type JobSpec =
  | { readonly key: JobKey; readonly task: TaskRef; readonly input: unknown }
  | { readonly key: JobKey; readonly fn: FunctionJob };

/** When one attempt ran. Timestamps are ms since the epoch, comparable across threads. */
export interface AttemptRecord {
  readonly job: JobKey;
  readonly attempt: number;
  /** When the attempt asked for a slot. */
  readonly queued: number;
  /** When the task began running (in its worker, or on the main thread). */
  readonly start: number;
  readonly end: number;
  /** The worker thread's id; 0 for the main thread. */
  readonly thread: number;
  readonly status: 'fulfilled' | 'rejected';
  /** The error code of a failed attempt. */
  readonly code?: string;
}

/** How long one job took, all attempts together. */
export interface JobTiming {
  /** When the first attempt asked for a slot (ms since the epoch); undefined if it never did. */
  readonly queued: number | undefined;
  /** When the job ended (ms since the epoch). */
  readonly ended: number;
  /** Time spent running, summed over attempts (ms). */
  readonly runMs: number;
  /** Time spent waiting for a thread, summed over attempts (ms). */
  readonly waitMs: number;
}

export type Outcome<T = unknown> =
  | {
      readonly status: 'fulfilled';
      readonly value: T;
      readonly attempts: number;
      readonly timing: JobTiming;
    }
  | {
      readonly status: 'rejected';
      readonly reason: TaskError;
      readonly attempts: number;
      readonly timing: JobTiming;
    };

export interface CallConfig {
  readonly policy: CallPolicy;
  readonly retry: RetryPolicy;
  /** Per attempt, in ms, counted from when the attempt gets a thread. */
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** Most jobs of this call in flight at once. */
  readonly concurrency: number;
}

export interface CallEnv {
  readonly executor: Executor;
  readonly dispatcher: Dispatcher;
  /** Aborted when the runner is destroyed. */
  readonly destroyed: AbortSignal;
}

export interface CallRecord {
  /** One outcome per job, in job order. */
  readonly outcomes: Outcome[];
  readonly attempts: AttemptRecord[];
  readonly started: number;
  readonly ended: number;
  /** The job whose outcome stopped the call (first failure, or `any`'s winner). */
  readonly stoppedBy: number | undefined;
  /** Set when the call's signal aborted or the runner was destroyed: the reason. */
  readonly aborted: { readonly reason: unknown } | undefined;
}

type AttemptResult = (
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: TaskError }
) & { readonly record: AttemptRecord | undefined };

/** An abortable wait; resolves false if aborted. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!signal.aborted);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with the signal's reason when it aborts; never settles otherwise. */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let dispose = () => {};
  const promise = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    dispose = () => signal.removeEventListener('abort', onAbort);
  });
  promise.catch(() => {});
  return { promise, dispose };
}

export function runCall(
  jobs: readonly JobSpec[],
  config: CallConfig,
  env: CallEnv,
): Promise<CallRecord> {
  const started = now();
  const outcomes: (Outcome | undefined)[] = new Array(jobs.length);
  const attempts: AttemptRecord[] = [];
  // Aborting `stop` stops every attempt of this call, whatever the cause.
  const stop = new AbortController();
  // Running attempts (one per thread) listen to it: more than 10 is not a leak.
  setMaxListeners(0, stop.signal);
  let cancelReason = '';
  let stoppedBy: number | undefined;
  let aborted: { reason: unknown } | undefined;

  // Attempts with a controller of their own; the rest use `stop.signal` directly.
  const live = new Set<AbortController>();
  const halt = (reason: string) => {
    if (stop.signal.aborted) return;
    cancelReason = reason;
    stop.abort();
    for (const controller of live) controller.abort();
  };
  const onSignal = () => {
    aborted = { reason: config.signal?.reason };
    halt('the call was aborted');
  };
  const onDestroyed = () => {
    aborted = { reason: new RunnerClosedError('The runner was destroyed while the call ran') };
    halt('the runner was destroyed');
  };
  config.signal?.addEventListener('abort', onSignal, { once: true });
  env.destroyed.addEventListener('abort', onDestroyed, { once: true });
  if (config.signal?.aborted) onSignal();
  if (env.destroyed.aborted) onDestroyed();

  const info = (spec: JobSpec, attempt: number): JobInfo => ({
    job: spec.key,
    task: 'task' in spec ? spec.task : undefined,
    attempts: attempt,
  });

  const toTaskError = (
    spec: JobSpec,
    attempt: number,
    failure: unknown,
    timedOut: boolean,
    timeout: number,
  ): TaskError => {
    const where = info(spec, attempt);
    if (timedOut) return new TaskTimeoutError(where, timeout);
    if (stop.signal.aborted) return new TaskCancelledError(where, cancelReason, aborted?.reason);
    if (failure instanceof QueueFull) return new QueueFullError(where, env.dispatcher.maxQueue);
    if (failure instanceof ExecFailure) {
      switch (failure.kind) {
        case 'aborted':
          return new TaskCancelledError(where, cancelReason || 'aborted', failure);
        case 'closed':
          return new TaskCancelledError(where, 'the runner was destroyed', new RunnerClosedError());
        case 'data-clone':
          return new DataCloneError(where, failure.cause as Error);
        case 'worker-exited':
          return new WorkerExitedError(where, (failure.cause as Error) ?? failure);
      }
    }
    // A main-thread function threw: keep the same shape as a worker task's failure.
    return new TaskFailedError(where, deserializeError(serializeError(failure)));
  };

  const runAttempt = async (spec: JobSpec, attempt: number): Promise<AttemptResult> => {
    const queued = now();
    let start = queued;
    let end = queued;
    let thread = 0;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let release: (() => void) | undefined;
    let own: AbortController | undefined;
    const record = (status: 'fulfilled' | 'rejected', code?: string): AttemptRecord => {
      const entry: AttemptRecord = {
        job: spec.key,
        attempt,
        queued,
        start,
        end,
        thread,
        status,
        ...(code === undefined ? {} : { code }),
      };
      attempts.push(entry);
      return entry;
    };
    try {
      if ('task' in spec) release = await env.dispatcher.acquire(stop.signal);
      if (stop.signal.aborted) throw stop.signal.reason;
      // The call's own signal stops an attempt; one that can also time out, or a
      // main-thread function (not limited by the thread count), gets a signal of its own.
      let signal = stop.signal;
      if (config.timeout !== undefined || 'fn' in spec) {
        const controller = new AbortController();
        own = controller;
        live.add(controller);
        signal = controller.signal;
        if (config.timeout !== undefined) {
          timer = setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, config.timeout);
        }
      }
      start = now();
      if ('fn' in spec) {
        const abort = whenAborted(signal);
        try {
          const value = await Promise.race([spec.fn({ signal, attempt }), abort.promise]);
          end = now();
          return { ok: true, value, record: record('fulfilled') };
        } finally {
          abort.dispose();
        }
      }
      const response = await env.executor.execute(
        { module: spec.task.module, export: spec.task.export, input: spec.input, attempt },
        { signal },
      );
      ({ start, end, thread } = response);
      if (response.ok) return { ok: true, value: response.value, record: record('fulfilled') };
      const cause = deserializeError(response.error);
      const where = info(spec, attempt);
      const error =
        response.kind === 'not-found'
          ? new TaskNotFoundError(where, cause)
          : response.kind === 'data-clone'
            ? new DataCloneError(where, cause)
            : new TaskFailedError(where, cause);
      return { ok: false, error, record: record('rejected', error.code) };
    } catch (failure) {
      if (end === queued) end = now();
      const error = toTaskError(spec, attempt, failure, timedOut, config.timeout ?? 0);
      return { ok: false, error, record: record('rejected', error.code) };
    } finally {
      clearTimeout(timer);
      release?.();
      if (own) live.delete(own);
    }
  };

  const runJob = async (index: number): Promise<void> => {
    const spec = jobs[index]!;
    let result: AttemptResult;
    let attempt = 0;
    let queued: number | undefined;
    let runMs = 0;
    let waitMs = 0;
    for (;;) {
      attempt++;
      result = await runAttempt(spec, attempt);
      if (result.record) {
        queued ??= result.record.queued;
        runMs += result.record.end - result.record.start;
        waitMs += Math.max(0, result.record.start - result.record.queued);
      }
      if (result.ok || !shouldRetry(config.retry, result.error, attempt)) break;
      if (!(await delay(backoffDelay(config.retry, attempt), stop.signal))) {
        result = {
          ok: false,
          error: toTaskError(spec, attempt, undefined, false, 0),
          record: undefined,
        };
        break;
      }
    }
    const timing: JobTiming = { queued, ended: now(), runMs, waitMs };
    const outcome: Outcome = result.ok
      ? { status: 'fulfilled', value: result.value, attempts: attempt, timing }
      : { status: 'rejected', reason: result.error, attempts: attempt, timing };
    outcomes[index] = outcome;
    if (!stop.signal.aborted && stopsCall(config.policy, outcome.status)) {
      stoppedBy = index;
      const by = typeof spec.key === 'number' ? `job ${spec.key}` : `job "${spec.key}"`;
      halt(stopReason(config.policy, by));
    }
  };

  return new Promise<CallRecord>((resolve) => {
    let next = 0;
    let active = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      config.signal?.removeEventListener('abort', onSignal);
      env.destroyed.removeEventListener('abort', onDestroyed);
      const ended = now();
      // Jobs that never started end cancelled, so every job has exactly one outcome.
      for (let i = 0; i < jobs.length; i++) {
        if (outcomes[i]) continue;
        const spec = jobs[i]!;
        outcomes[i] = {
          status: 'rejected',
          reason: new TaskCancelledError(info(spec, 0), cancelReason, aborted?.reason),
          attempts: 0,
          timing: { queued: undefined, ended, runMs: 0, waitMs: 0 },
        };
      }
      resolve({ outcomes: outcomes as Outcome[], attempts, started, ended, stoppedBy, aborted });
    };
    const pump = () => {
      while (!stop.signal.aborted && active < config.concurrency && next < jobs.length) {
        const index = next++;
        active++;
        void runJob(index).then(() => {
          active--;
          pump();
        });
      }
      if (active === 0 && (next === jobs.length || stop.signal.aborted)) finish();
    };
    pump();
  });
}
