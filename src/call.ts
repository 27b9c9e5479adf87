// The engine under every call: runs a list of jobs with attempts, retries, per-attempt
// timeouts, a concurrency cap and a policy that decides when to stop. Worker-task jobs
// travel in chunks sized by a ChunkSizer; each item keeps its own outcome and retries.
// It never throws: it returns what happened to every job, and the runner shapes that.
import { setMaxListeners } from 'node:events';
import { ChunkSizer } from './chunking.js';
import type { Dispatcher } from './dispatch.js';
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
import {
  deserializeError,
  now,
  serializeError,
  type TaskRef,
  type TaskResponse,
} from './protocol.js';
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

export interface ChunkOptions {
  /** A fixed number of items per message; undefined sizes chunks automatically. */
  readonly fixed?: number | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

export interface CallConfig {
  readonly policy: CallPolicy;
  readonly retry: RetryPolicy;
  /** Per attempt, in ms, counted from when the attempt gets a thread. Disables chunking. */
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** Most jobs of this call in flight at once. */
  readonly concurrency: number;
  readonly chunk: ChunkOptions;
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

/** A job waiting for, or going through, its next attempt. */
interface Item {
  readonly index: number;
  /** The number of the attempt to make next. */
  attempt: number;
  /** When the item became ready for this attempt. */
  readyAt: number;
  /** Set after its chunk crashed: the item travels alone from then on. */
  isolate: boolean;
}

/** An abortable wait; resolves false if aborted. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
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

function sameTask(a: TaskRef, b: TaskRef): boolean {
  return a === b || (a.module === b.module && a.export === b.export);
}

export function runCall(
  jobs: readonly JobSpec[],
  config: CallConfig,
  env: CallEnv,
): Promise<CallRecord> {
  const started = now();
  const count = jobs.length;
  const outcomes: (Outcome | undefined)[] = new Array(count);
  const attempts: AttemptRecord[] = [];
  const firstQueued: (number | undefined)[] = new Array(count);
  const runMs = new Float64Array(count);
  const waitMs = new Float64Array(count);
  const { executor, dispatcher } = env;
  const threads = executor.parallelism;
  const sizer = new ChunkSizer({
    // A timeout is per attempt, so attempts that can time out travel alone.
    fixed: config.timeout !== undefined ? 1 : config.chunk.fixed,
    ...(config.chunk.min === undefined ? {} : { min: config.chunk.min }),
    ...(config.chunk.max === undefined ? {} : { max: config.chunk.max }),
    threads,
  });

  // Task items wait here for a thread; retries go to the front. Main-thread functions
  // do not need a thread and wait only for the concurrency cap.
  let ready: Item[] = [];
  let head = 0;
  const retryFront: Item[] = [];
  const fnReady: Item[] = [];
  let inFlight = 0;
  let lanes = 0;
  let settledCount = 0;
  let finished = false;
  let resolveCall: (record: CallRecord) => void = () => {};

  // Aborting `stop` stops every attempt of this call, whatever the cause. Running
  // attempts (a few per thread) listen to it: more than 10 is not a leak.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const live = new Set<AbortController>();
  let cancelReason = '';
  let stoppedBy: number | undefined;
  let aborted: { reason: unknown } | undefined;

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

  const info = (index: number, attempt: number): JobInfo => {
    const spec = jobs[index]!;
    return { job: spec.key, task: 'task' in spec ? spec.task : undefined, attempts: attempt };
  };

  const cancelled = (index: number, attempt: number, cause?: unknown): TaskError =>
    new TaskCancelledError(
      info(index, attempt),
      cancelReason || 'aborted',
      cause ?? aborted?.reason,
    );

  const toTaskError = (item: Item, failure: unknown, timedOut: boolean): TaskError => {
    const where = info(item.index, item.attempt);
    if (timedOut) return new TaskTimeoutError(where, config.timeout ?? 0);
    if (stop.signal.aborted) return cancelled(item.index, item.attempt);
    if (failure instanceof ExecFailure) {
      switch (failure.kind) {
        case 'aborted':
          return cancelled(item.index, item.attempt, failure);
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

  const record = (
    item: Item,
    start: number,
    end: number,
    thread: number,
    error?: TaskError,
  ): void => {
    const { index, attempt, readyAt } = item;
    attempts.push({
      job: jobs[index]!.key,
      attempt,
      queued: readyAt,
      start,
      end,
      thread,
      status: error ? 'rejected' : 'fulfilled',
      ...(error ? { code: error.code } : {}),
    });
    firstQueued[index] ??= readyAt;
    runMs[index] = (runMs[index] ?? 0) + (end - start);
    waitMs[index] = (waitMs[index] ?? 0) + Math.max(0, start - readyAt);
  };

  const timing = (index: number): JobTiming => ({
    queued: firstQueued[index],
    ended: now(),
    runMs: runMs[index] ?? 0,
    waitMs: waitMs[index] ?? 0,
  });

  const settle = (item: Item, outcome: Outcome) => {
    outcomes[item.index] = outcome;
    settledCount++;
    inFlight--;
    if (!stop.signal.aborted && stopsCall(config.policy, outcome.status)) {
      stoppedBy = item.index;
      const key = jobs[item.index]!.key;
      halt(stopReason(config.policy, typeof key === 'number' ? `job ${key}` : `job "${key}"`));
    }
  };

  const fulfil = (item: Item, value: unknown) =>
    settle(item, {
      status: 'fulfilled',
      value,
      attempts: item.attempt,
      timing: timing(item.index),
    });

  const reject = (item: Item, reason: TaskError, attemptsMade = item.attempt) =>
    settle(item, {
      status: 'rejected',
      reason,
      attempts: attemptsMade,
      timing: timing(item.index),
    });

  /** A failed attempt: try again after the backoff, or end the job. */
  const failed = async (item: Item, error: TaskError): Promise<void> => {
    if (stop.signal.aborted || !shouldRetry(config.retry, error, item.attempt)) {
      reject(item, error);
    } else if (!(await delay(backoffDelay(config.retry, item.attempt), stop.signal))) {
      reject(item, cancelled(item.index, item.attempt));
    } else {
      item.attempt++;
      item.readyAt = now();
      if ('fn' in jobs[item.index]!) {
        inFlight--;
        fnReady.unshift(item);
      } else if (dispatcher.enqueue(1) === 1) {
        inFlight--;
        retryFront.push(item);
      } else {
        reject(item, new QueueFullError(info(item.index, item.attempt), dispatcher.maxQueue));
      }
    }
    pump();
  };

  const readyCount = () => retryFront.length + ready.length - head;

  const nextReady = (): Item | undefined => {
    if (retryFront.length > 0) return retryFront.shift();
    if (head >= ready.length) return undefined;
    const item = ready[head++];
    if (head > 1024 && head * 2 > ready.length) {
      ready = ready.slice(head);
      head = 0;
    }
    return item;
  };

  const peekReady = (): Item | undefined => retryFront[0] ?? ready[head];

  /** Takes up to `size` ready items of the same task as the first one. */
  const takeChunk = (size: number): Item[] => {
    const first = nextReady()!;
    const chunk = [first];
    if (first.isolate) return chunk;
    const task = (jobs[first.index] as { task: TaskRef }).task;
    while (chunk.length < size) {
      const candidate = peekReady();
      if (!candidate || candidate.isolate) break;
      const spec = jobs[candidate.index]!;
      if (!('task' in spec) || !sameTask(spec.task, task)) break;
      chunk.push(nextReady()!);
    }
    return chunk;
  };

  const runChunk = async (chunk: Item[], release: () => void): Promise<void> => {
    const first = jobs[chunk[0]!.index] as { task: TaskRef };
    let signal = stop.signal;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let own: AbortController | undefined;
    if (config.timeout !== undefined) {
      const controller = new AbortController();
      own = controller;
      live.add(controller);
      signal = controller.signal;
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, config.timeout);
    }
    const dispatched = now();
    let response: TaskResponse;
    try {
      response = await executor.execute(
        {
          module: first.task.module,
          export: first.task.export,
          inputs: chunk.map((item) => (jobs[item.index] as { input: unknown }).input),
          attempts: chunk.map((item) => item.attempt),
        },
        { signal },
      );
    } catch (failure) {
      const end = now();
      if (
        chunk.length > 1 &&
        !stop.signal.aborted &&
        failure instanceof ExecFailure &&
        (failure.kind === 'worker-exited' || failure.kind === 'data-clone')
      ) {
        // One item crashed its worker, or could not be cloned: run each alone to find it,
        // so its chunk-mates are not blamed. No attempt is counted for the lost chunk.
        for (let i = chunk.length - 1; i >= 0; i--) {
          const item = chunk[i]!;
          item.isolate = true;
          retryFront.unshift(item);
        }
        dispatcher.requeue(chunk.length);
        inFlight -= chunk.length;
        return;
      }
      for (const item of chunk) {
        const error = toTaskError(item, failure, timedOut);
        record(item, dispatched, end, 0, error);
        void failed(item, error);
      }
      return;
    } finally {
      clearTimeout(timer);
      if (own) live.delete(own);
      release();
    }
    const { results, times, thread } = response;
    let busy = 0;
    for (let i = 0; i < chunk.length; i++) {
      const item = chunk[i]!;
      const result = results[i]!;
      const start = times[2 * i]!;
      const end = times[2 * i + 1]!;
      busy += end - start;
      if (result.ok) {
        record(item, start, end, thread);
        fulfil(item, result.value);
        continue;
      }
      const where = info(item.index, item.attempt);
      const cause = deserializeError(result.error);
      const error =
        result.kind === 'not-found'
          ? new TaskNotFoundError(where, cause)
          : result.kind === 'data-clone'
            ? new DataCloneError(where, cause)
            : new TaskFailedError(where, cause);
      record(item, start, end, thread, error);
      void failed(item, error);
    }
    sizer.observe(chunk.length, busy);
  };

  /** One lane per thread the call may use: take a thread, take a chunk, run it, repeat. */
  const lane = async (): Promise<void> => {
    try {
      while (!stop.signal.aborted && readyCount() > 0 && inFlight < config.concurrency) {
        const release = await dispatcher.acquire(stop.signal);
        const room = config.concurrency - inFlight;
        if (stop.signal.aborted || readyCount() === 0 || room <= 0) {
          release();
          break;
        }
        const chunk = takeChunk(Math.min(room, sizer.next(readyCount())));
        inFlight += chunk.length;
        dispatcher.dequeue(chunk.length);
        await runChunk(chunk, release);
        pump();
      }
    } catch {
      // acquire() rejects only when the call stops; the items are accounted for below.
    } finally {
      lanes--;
      pump();
    }
  };

  const runFunction = async (item: Item): Promise<void> => {
    const spec = jobs[item.index] as { fn: FunctionJob };
    const controller = new AbortController();
    live.add(controller);
    let timedOut = false;
    const timer =
      config.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, config.timeout);
    const abort = whenAborted(controller.signal);
    const start = now();
    try {
      const value = await Promise.race([
        spec.fn({ signal: controller.signal, attempt: item.attempt }),
        abort.promise,
      ]);
      record(item, start, now(), 0);
      fulfil(item, value);
    } catch (failure) {
      const error = toTaskError(item, failure, timedOut);
      record(item, start, now(), 0, error);
      void failed(item, error);
    } finally {
      clearTimeout(timer);
      abort.dispose();
      live.delete(controller);
      pump();
    }
  };

  const finish = () => {
    finished = true;
    config.signal?.removeEventListener('abort', onSignal);
    env.destroyed.removeEventListener('abort', onDestroyed);
    // Jobs that did not get to run end cancelled, so every job has exactly one outcome.
    let dropped = 0;
    for (let item = nextReady(); item; item = nextReady()) {
      dropped++;
      outcomes[item.index] ??= {
        status: 'rejected',
        reason: cancelled(item.index, item.attempt - 1),
        attempts: item.attempt - 1,
        timing: timing(item.index),
      };
    }
    dispatcher.dequeue(dropped);
    for (let item = fnReady.shift(); item; item = fnReady.shift()) {
      outcomes[item.index] ??= {
        status: 'rejected',
        reason: cancelled(item.index, item.attempt - 1),
        attempts: item.attempt - 1,
        timing: timing(item.index),
      };
    }
    resolveCall({
      outcomes: outcomes as Outcome[],
      attempts,
      started,
      ended: now(),
      stoppedBy,
      aborted,
    });
  };

  function pump(): void {
    if (finished) return;
    if (!stop.signal.aborted) {
      while (fnReady.length > 0 && inFlight < config.concurrency) {
        inFlight++;
        void runFunction(fnReady.shift()!);
      }
      const wanted = Math.min(threads, config.concurrency - inFlight, readyCount());
      while (lanes < wanted) {
        lanes++;
        void lane();
      }
    }
    if (settledCount === count || (stop.signal.aborted && inFlight === 0 && lanes === 0)) {
      finish();
    }
  }

  return new Promise<CallRecord>((resolve) => {
    resolveCall = resolve;
    config.signal?.addEventListener('abort', onSignal, { once: true });
    env.destroyed.addEventListener('abort', onDestroyed, { once: true });
    if (config.signal?.aborted) onSignal();
    else if (env.destroyed.aborted) onDestroyed();
    const taskItems: Item[] = [];
    for (let index = 0; index < count; index++) {
      const item: Item = { index, attempt: 1, readyAt: started, isolate: false };
      if ('fn' in jobs[index]!) fnReady.push(item);
      else taskItems.push(item);
    }
    const admitted = dispatcher.enqueue(taskItems.length);
    ready = taskItems.slice(0, admitted);
    for (const item of taskItems.slice(admitted)) {
      inFlight++;
      reject(item, new QueueFullError(info(item.index, 1), dispatcher.maxQueue));
    }
    pump();
  });
}
