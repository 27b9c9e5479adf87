// The engine under every call: pulls jobs from a source as it has room for them, runs
// them with attempts, retries, per-attempt timeouts, a concurrency cap and a policy that
// decides when to stop, and hands each job's outcome to a sink as it ends. Worker-task
// jobs travel in chunks sized by a ChunkSizer; each item keeps its own outcome and
// retries. It never throws: what happened is in the outcomes and the call record.
import { types } from 'node:util';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { onAbort, onAborts, Stop } from './abort.js';
import { callbackMs, timed } from './callbacks.js';
import {
  ChunkSizer,
  DEFAULT_MAX_CHUNK,
  type Flight,
  itemsLeft,
  type TaskCosts,
  toCut,
} from './chunking.js';
import type { Dispatcher } from './dispatch.js';
import {
  DataCloneError,
  InternalError,
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
import { asStopTaking, ExecFailure, type Executor, type Session } from './executors/types.js';
import { type CallPolicy, stopReason, stopsCall } from './policies.js';
import {
  buffersIn,
  CLOCK_SPAN_MS,
  CLOCK_UNITS_PER_MS,
  deserializeError,
  hasDetachedBuffer,
  type ItemFailure,
  isDetached,
  isError,
  now,
  type ProgressReceiver,
  resendable,
  serializeError,
  stackless,
  type TaskRef,
  type TaskRequest,
  type TaskResponse,
  type Values,
} from './protocol.js';
import {
  ALONE,
  type Chunk,
  chunkLength,
  FreshQueue,
  type Item,
  itemAt,
  itemsChunk,
  keyAt,
  Line,
  newItem,
  type TaskItem,
  type TaskSpec,
} from './queue.js';
import { backoffDelay, type RetryPolicy, shouldRetry } from './retry.js';
import type { FunctionJob } from './task.js';
import { turns } from './turns.js';

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
  /**
   * The worker thread's id; 0 for the main thread; -1 when unknown: an attempt that ended
   * without an answer from its worker (timed out, stopped, or its worker died).
   */
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
      /** The job's index or key in its call's input. */
      readonly job: JobKey;
      readonly attempts: number;
      readonly timing: JobTiming;
    }
  | {
      readonly status: 'rejected';
      readonly reason: TaskError;
      /** The job's index or key in its call's input. */
      readonly job: JobKey;
      readonly attempts: number;
      readonly timing: JobTiming;
    };

/** Where a call sends each job's end; `stoppedCall` says whether that end stopped the call. */
export type OutcomeSink = (index: number, outcome: Outcome, stoppedCall: boolean) => void;

/**
 * Where a call that wants only values sends fulfilled jobs, as bare values: one job's, or
 * those of a run of jobs of a chunk at once (`values[from]` to `values[to - 1]` are the
 * values of jobs `first`, `first + 1`...), which costs the main thread one call per run
 * instead of one per job.
 */
export interface ValueSink {
  one(index: number, value: unknown): void;
  run(first: number, values: Values, from: number, to: number): void;
}

export interface ChunkOptions {
  /** A fixed number of items per message; undefined sizes chunks automatically. */
  readonly fixed?: number | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

/** Where a call's jobs come from. The engine pulls only as it has room for them. */
export type JobSource = SpecSource | InputSource;

interface SourceBase {
  /** How many jobs are left to pull, when known. */
  remaining(): number | undefined;
  /** Called once if the call stops before the source is exhausted. */
  close(): void;
}

/** Jobs of any kind, each with its key. */
export interface SpecSource extends SourceBase {
  readonly task?: undefined;
  /** The next job, or undefined when there are no more; a promise for async sources. */
  next(): JobSpec | undefined | Promise<JobSpec | undefined>;
}

/** The inputs of one task (a map, `all(task, inputs)`), each job keyed by its index. */
export interface InputSource extends SourceBase {
  readonly task: TaskRef;
  /** Whether next() answers with a promise (an async iterator's). */
  readonly async: boolean;
  /** The next input, or END when there are no more (a promise of it when async). */
  next(): unknown;
  /**
   * Takes up to `max` of the next inputs at once, where they are in memory (an array):
   * they are `inputs[from]` to `inputs[to - 1]` (none once there are no more).
   */
  take?(max: number): InputRun;
}

/** Inputs taken at once from a source in memory: `inputs[from]` to `inputs[to - 1]`. */
export interface InputRun {
  readonly inputs: readonly unknown[];
  readonly from: number;
  readonly to: number;
}

/** What an InputSource's next() gives when there are no more inputs. */
export const END: unique symbol = Symbol('end of the inputs');

/**
 * Whether `value` is an array that its iterator would read by index (it did not replace
 * its iterator): such an array is read so, without an iterator result per input (holes
 * give undefined either way).
 */
export function isPlainArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && value[Symbol.iterator] === Array.prototype[Symbol.iterator];
}

/** A source over the inputs of one task in memory (an array). */
export function inputsSource(task: TaskRef, inputs: readonly unknown[]): InputSource {
  let at = 0;
  return {
    task,
    async: false,
    next: () => (at < inputs.length ? inputs[at++] : END),
    // (An array shortened below what was read ends there.)
    take: (max) => {
      const from = at;
      at = Math.max(at, Math.min(inputs.length, at + max));
      return { inputs, from, to: at };
    },
    remaining: () => Math.max(0, inputs.length - at),
    close: () => {},
  };
}

/** A source over jobs already in memory. */
export function arraySource(specs: readonly JobSpec[]): SpecSource {
  let at = 0;
  return {
    next: () => (at < specs.length ? specs[at++] : undefined),
    remaining: () => specs.length - at,
    close: () => {},
  };
}

/**
 * Why an executor's answer to a chunk of `length` items cannot be settled, if it cannot (an
 * executor given in RunnerOptions may be anyone's): settling it would throw inside the
 * scheduler and lose the chunk's items. Undefined for a sound answer. A chunk may run none of
 * its items only once its call stopped (`stopped`): otherwise they would be sent again and
 * again.
 */
function malformed(
  response: TaskResponse | undefined,
  length: number,
  stopped: boolean,
): string | undefined {
  if (typeof response !== 'object' || response === null) return 'no response object';
  const { values, times, failures, ran } = response;
  const least = stopped ? 0 : 1;
  if (ran !== undefined && !(Number.isInteger(ran) && ran >= least && ran <= length)) {
    return `ran is ${ran}, for a chunk of ${length}`;
  }
  const count = ran ?? length;
  const isList = (v: unknown) => Array.isArray(v) || ArrayBuffer.isView(v);
  if (!isList(values) || values.length < count) return `values for fewer than ${count} items`;
  if (!isList(times) || times.length < 2 * count) return `times for fewer than ${count} items`;
  if (failures !== undefined) {
    if (!Array.isArray(failures)) return 'failures that are not an array';
    for (const f of failures) {
      if (!(Number.isInteger(f?.index) && f.index >= 0 && f.index < count)) {
        return `a failure of item ${f?.index}, for ${count} items`;
      }
      if (typeof f.error?.message !== 'string') return `a failure without an error message`;
    }
  }
  return undefined;
}

/** A chunk in flight, and the Int32 of its call's stop buffer that cuts it short. */
interface Flying extends Flight {
  readonly cell: number | undefined;
  cutAsked: boolean;
}

/**
 * How much longer than its timeout an attempt may take before its task starts (a thread
 * starting, its module loading): a module that never finishes loading still times out.
 */
const LOAD_GRACE_MS = 60_000;

/** Work per clock reading that a worker aims at for tiny items (ms), and the most items. */
const STRIDE_MS = 0.01;
const MAX_STRIDE = 64;

/**
 * A thread slot a lane holds: how to give it back, and the session its chunks travel on
 * (see Executor.open; none where attempts can time out, or the executor has none).
 */
interface Slot {
  readonly release: () => void;
  readonly session: Session | undefined;
}

/** A chunk sent on the slot of one that came back, before that one was settled. */
interface Handed {
  readonly next: Promise<Handed | undefined>;
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
  /**
   * Most jobs pulled from the source and not yet released by the consumer (read ahead,
   * in flight, finished but not consumed). Infinity for calls that collect everything.
   */
  readonly window: number;
  /** Keep an AttemptRecord per attempt (for traces); off for unbounded streams. */
  readonly keepAttempts: boolean;
  /** Transfer (not copy) the ArrayBuffers found in inputs; the caller's views are detached. */
  readonly transfer: boolean;
  /** Receives what tasks report with `ctx.progress(value)`. */
  readonly onTaskProgress: ((job: JobKey, value: unknown) => void) | undefined;
  /**
   * This call's attempts get a free thread before those of lower priority (of any call);
   * FIFO among equals. A graph gives each node its remaining critical path. Default 0.
   */
  readonly priority?: number;
}

export interface CallEnv {
  readonly executor: Executor;
  readonly dispatcher: Dispatcher;
  /**
   * Aborted when the runner is destroyed. Left out for the calls of a graph's nodes: the
   * graph hears of it once and stops them, as it stops them when it is aborted.
   */
  readonly destroyed: AbortSignal | undefined;
  /** What items of each task cost in earlier calls: chunks start from it. */
  readonly costs?: TaskCosts;
}

/** What a call did, in aggregate. Per-job outcomes went to the sink. */
export interface CallRecord {
  readonly started: number;
  readonly ended: number;
  /**
   * Jobs pulled from the source: every one of them reached the sink, but those a stopped
   * call never ran where the call was given `onUnrun` (see startCall).
   */
  readonly jobs: number;
  readonly fulfilled: number;
  /** Failed jobs, cancelled ones not included. */
  readonly rejected: number;
  readonly cancelled: number;
  /** Attempts made, retries included. */
  readonly attemptCount: number;
  /** Task run time summed over attempts (ms). */
  readonly workMs: number;
  /** Time attempts waited for a thread, summed (ms). */
  readonly queueWaitMs: number;
  /** Every attempt, when `keepAttempts` was set. */
  readonly attempts: AttemptRecord[] | undefined;
  /** The job whose outcome stopped the call (first failure, or `any`'s winner). */
  readonly stoppedBy: { readonly index: number; readonly outcome: Outcome } | undefined;
  /** Set when the call's signal aborted, the runner was destroyed, or the consumer left. */
  readonly aborted: { readonly reason: unknown } | undefined;
  /** Set when the source itself threw. */
  readonly sourceError: { readonly error: unknown } | undefined;
}

/** A call under way. */
export interface CallHandle {
  readonly done: Promise<CallRecord>;
  /** The consumer took `count` outcomes: room for as many more jobs in the window. */
  release(count: number): void;
  /**
   * Stops the call (by default: the consumer left, or `why`); it ends as aborted with
   * `reason`.
   */
  cancel(reason: unknown, why?: string): void;
  /** Jobs started and not yet ended. */
  inFlight(): number;
  /** Whether the call has stopped (aborted, failed fast, won, the consumer gone...). */
  stopped(): boolean;
}

/** The longest wait a timer takes (~24.8 days): Node fires a longer one after 1 ms. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** setTimeout for any wait: one past the longest a timer takes waits that long. */
function after(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
  return setTimeout(fn, Math.min(ms, LONGEST_TIMER_MS));
}

/** An abortable wait; resolves false if aborted. */
function delay(ms: number, signal: Stop): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    // (Many jobs of one call may wait out a backoff at once, all on its signal.)
    const done = (ok: boolean) => {
      clearTimeout(timer);
      unhear();
      resolve(ok);
    };
    const timer = after(ms, () => done(true));
    const unhear = onAbort(signal, () => done(false));
  });
}

/** What a job under way can be stopped by: its timeout's controller, a function job's. */
interface Stoppable {
  abort(reason?: unknown): void;
}

/**
 * A comlink channel for one chunk's `ctx.progress` reports, made only when the caller
 * listens. The worker end travels with the request.
 */
function progressPort(
  chunk: Chunk,
  onTaskProgress: (job: JobKey, value: unknown) => void,
): { port: MessagePort; close: () => void; closed: Promise<void> } {
  const { port1, port2 } = new MessageChannel();
  const closed = new Promise<void>((resolve) => port1.once('close', () => resolve()));
  const receiver: ProgressReceiver = {
    report: (item, value) => {
      if (item >= 0 && item < chunkLength(chunk)) onTaskProgress(keyAt(chunk, item), value);
    },
    // Reports and done() travel on one port, in order: nothing is lost by closing now.
    done: () => port1.close(),
  };
  expose(receiver, nodeEndpoint(port1 as never));
  // A worker that dies closes its end, and so this one; a request that never reached a
  // worker is closed by the caller. `closed`: every report of the chunk has been handed on.
  return { port: port2, close: () => port1.close(), closed };
}

/**
 * A stopped call lets its chunks end by themselves, after the item each runs, when its
 * items are known to take less than SHORT_ITEM_MS; those that have not answered after
 * STOP_GRACE_MS (a thread kept off its core) are terminated all the same.
 */
const SHORT_ITEM_MS = 5;
const STOP_GRACE_MS = 100;

/**
 * A chunk that crashed its thread (or could not be cloned) of more items than this is cut in
 * ISOLATION_PARTS parts, to find the culprit in fewer messages (see runChunk); a smaller
 * one, or part, has its items sent one by one.
 */
const ALONE_UP_TO = 1024;
const ISOLATION_PARTS = 16;

/**
 * The largest automatic chunk of a call that transfers: Node's postMessage costs time in
 * the length of its transfer list for each buffer in it (1 µs a buffer in a list of 1,000,
 * 12 µs in one of 50,000, measured on 2 cores), and a chunk's buffers go in one list.
 */
const TRANSFER_MAX_CHUNK = 1024;

/** A call tells the runner what its items cost after its first chunk and every so many. */
const REMEMBER_EVERY = 64;

/** AttemptRecord.thread of an attempt whose worker did not answer. */
const UNKNOWN_THREAD = -1;

function sameTask(a: TaskRef, b: TaskRef): boolean {
  return a === b || (a.module === b.module && a.export === b.export);
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/**
 * Why a job's input could not be cloned, when it is a mistake the caller can fix. Runs no
 * code of the input's (a proxy's traps, a getter of `then`), as cloning ran none.
 */
function cloneHint(spec: JobSpec): string | undefined {
  if (!('input' in spec) || !types.isPromise(spec.input)) return undefined;
  return 'the input is a promise: pass the value it resolves to, for instance from an async generator';
}

/**
 * Runs `count` jobs already in memory and collects their outcomes in job order. With
 * `valuesOnly`, fulfilled jobs are collected as bare values instead (`outcomes` then holds
 * only the others), for callers that want nothing else of them.
 */
export function runCall(
  source: JobSource,
  count: number,
  config: CallConfig,
  env: CallEnv,
  onEnd?: (fulfilled: boolean, inFlight: number, jobs?: number) => void,
  valuesOnly = false,
): Promise<{ record: CallRecord; outcomes: Outcome[]; values: unknown[] | undefined }> {
  // (The jobs a stopped call never ran have no outcome here: each caller of runCall rejects
  // or ignores them, see startCall's `onUnrun`.)
  const outcomes: Outcome[] = new Array(count);
  const values = valuesOnly ? new Array<unknown>(count) : undefined;
  let handle: CallHandle | undefined;
  const inFlight = () => handle?.inFlight() ?? 0;
  handle = startCall(
    source,
    config,
    env,
    (index, outcome) => {
      outcomes[index] = outcome;
      onEnd?.(outcome.status === 'fulfilled', inFlight());
    },
    values && {
      one(index, value) {
        values[index] = value;
        onEnd?.(true, inFlight());
      },
      run(first, runValues, from, to) {
        for (let i = from; i < to; i++) values[first + i - from] = runValues[i];
        onEnd?.(true, inFlight(), to - from);
      },
    },
    (jobs) => onEnd?.(false, inFlight(), jobs),
  );
  return handle.done.then((record) => ({ record, outcomes, values }));
}

/**
 * Starts a call. Every job's end goes to `sink`, except that, when `onValue` is given,
 * fulfilled jobs go there as bare values (no Outcome is built: the fast path of calls
 * that only want values). `sink`'s third argument says whether that job's end stopped the
 * call (a fail-fast failure, `any`'s winner); any other outcome that comes once the call
 * has stopped is not its cause.
 *
 * The jobs that a stopped call never got to run (never sent to a thread, or waiting for a
 * retry) end cancelled, each with an outcome in `sink`; or, when `onUnrun` is given, only
 * counted (in the record's `cancelled`), and told to it all at once: for callers that never
 * show those outcomes (a stopped call rejects, or its stream ends), to which building them
 * cost ~3 µs a job (3 s for a fail-fast call over a million inputs, on the event loop).
 */
export function startCall(
  source: JobSource,
  config: CallConfig,
  env: CallEnv,
  sink: OutcomeSink,
  onValue?: ValueSink,
  onUnrun?: (jobs: number) => void,
): CallHandle {
  const started = now();
  const { executor, dispatcher } = env;
  // (This package's executors take the call's Stops as they are: see Stop.)
  const exec = asStopTaking(executor);
  const threads = executor.parallelism;
  const attempts: AttemptRecord[] | undefined = config.keepAttempts ? [] : undefined;
  // A timeout is per attempt. This package's executors run the items of a chunk under a
  // clock that the scheduler reads (TaskRequest.clock), so that each item is timed out on
  // its own; with other executors, and when inputs are transferred (a chunk given up would
  // lose the buffers of the items it did not run), attempts that can time out travel alone.
  // (Every item of a clocked chunk starts within what the clock holds: each runs the
  // timeout at most, the first after loading for a minute at most.)
  const clockItems =
    config.timeout === undefined ? 0 : Math.floor((CLOCK_SPAN_MS - LOAD_GRACE_MS) / config.timeout);
  const clocked =
    config.timeout !== undefined && exec === executor && !config.transfer && clockItems >= 2;
  const most = clocked ? clockItems : Number.POSITIVE_INFINITY;
  const max = config.chunk.max ?? (config.transfer ? TRANSFER_MAX_CHUNK : undefined);
  const sizer = new ChunkSizer({
    fixed:
      config.timeout !== undefined && !clocked
        ? 1
        : config.chunk.fixed === undefined
          ? undefined
          : Math.min(config.chunk.fixed, most),
    ...(config.chunk.min === undefined ? {} : { min: Math.min(config.chunk.min, most) }),
    ...(max === undefined && !clocked ? {} : { max: Math.min(max ?? DEFAULT_MAX_CHUNK, most) }),
    threads,
  });

  // Task items wait here for a thread; retries and crashed chunks go first. Main-thread
  // functions do not need a thread and wait only for the concurrency cap.
  const ready = new FreshQueue(source.task);
  const retryFront = new Line<TaskItem>();
  const fnReady = new Line<Item>();
  let pulled = 0;
  let released = 0;
  let exhausted = false;
  let pulling = false;
  let inFlight = 0;
  /** Jobs taken for a thread that the call stopped before they ran (see putBack). */
  let unrunTaken = 0;
  let lanes = 0;
  let settledCount = 0;
  let finished = false;
  let fulfilled = 0;
  let rejected = 0;
  let cancelledCount = 0;
  let attemptCount = 0;
  let workMs = 0;
  let queueWaitMs = 0;
  let resolveCall: (record: CallRecord) => void = () => {};
  let rejectCall: (error: unknown) => void = () => {};
  /** What the scheduler threw where nothing should: the call fails with it. */
  let internal: { readonly error: InternalError } | undefined;

  // Aborting `stop` stops the call, whatever the cause: waits for a thread, backoffs and
  // main-thread functions end; chunks under way end through `stopCell` and `terminate`
  // (below). Both are Stops: heard with no AbortSignal made (see abort.ts).
  const stop = new Stop();
  // Chunks under way hear of a stop first through `stopCell`, which their worker reads
  // between items: a chunk of short items ends after the item running and keeps its
  // thread. Those still running after STOP_GRACE_MS, or when items are not known to be
  // short, are stopped by `terminate`, which ends their threads (replaced at 10-77 ms
  // each on 2 cores: a map left after 1,000 of 4,000 items of 50 µs took 103 ms, nearly
  // what all 4,000 take, 112 ms; 67 ms now).
  const terminate = new Stop();
  let stopCell: Int32Array | undefined;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  // Its first Int32 stops every chunk; one more per thread cuts one chunk short (see
  // rebalance), each chunk in flight holding one of them.
  const stopBuffer = (): SharedArrayBuffer => {
    stopCell ??= new Int32Array(new SharedArrayBuffer(4 * (1 + threads)));
    return stopCell.buffer as SharedArrayBuffer;
  };
  // Not for chunks of a size the caller chose (fixed, or at least `minChunk`), nor when
  // inputs are transferred: the items a chunk did not run have their buffers in its thread.
  const cuts = config.chunk.fixed === undefined && (config.chunk.min ?? 1) <= 1 && !config.transfer;
  const freeCells = cuts ? Array.from({ length: threads }, (_, i) => threads - i) : [];
  let lookAgain: ReturnType<typeof setTimeout> | undefined;
  const live = new Set<Stoppable>();
  let cancelReason = '';
  let stoppedBy: CallRecord['stoppedBy'];
  let aborted: { reason: unknown } | undefined;
  let sourceError: { error: unknown } | undefined;

  /**
   * A stream (a map: its window is finite) reads only while the queue has room (see
   * canPull), so it never fails what it read, nor its retries, with ERR_QUEUE_FULL: it can
   * wait, where a call over jobs in memory takes them all at once and sheds those past
   * `maxQueue`. An input that an async source answers after the room went still queues.
   */
  const stream = config.window !== Number.POSITIVE_INFINITY;
  const enqueue = (count: number): number => {
    if (!stream) return dispatcher.enqueue(count);
    dispatcher.requeue(count);
    return count;
  };

  // Mirrors stop.signal.aborted, read for every job: a getter into Node costs.
  let stopped = false;
  let stopError: DOMException | undefined;
  const halt = (reason: string) => {
    if (stopped || finished) return;
    stopped = true;
    cancelReason = reason;
    // One reason for every signal the stop aborts: aborting with none makes a DOMException
    // each time, whose stack capture cost ~5 µs, several times per stopped call and once per
    // job running on the main thread (whose signals share it, as signals that follow
    // another's do).
    // (And with no stack: capturing one is most of that cost.)
    stopError = stackless(() => new DOMException('This operation was aborted', 'AbortError'));
    stop.abort(stopError);
    for (const controller of live) controller.abort(stopError);
    if (stopCell) Atomics.store(stopCell, 0, 1);
    const itemMs = sizer.perItemMs;
    if (stopCell && itemMs !== undefined && itemMs < SHORT_ITEM_MS) {
      graceTimer = setTimeout(() => terminate.abort(stopError), STOP_GRACE_MS);
    } else {
      terminate.abort(stopError);
    }
    if (!exhausted) source.close();
  };
  const abortWith = (reason: unknown, why: string) => {
    if (stopped || finished) return;
    aborted = { reason };
    halt(why);
    pump();
  };
  const onSignal = () => abortWith(config.signal?.reason, 'the call was aborted');
  const onDestroyed = () => {
    abortWith(
      new RunnerClosedError('The runner was destroyed while the call ran'),
      'the runner was destroyed',
    );
    // destroy() stops everything now: no grace, even for a call already stopping.
    clearTimeout(graceTimer);
    terminate.abort(stopError);
  };

  const info = (item: Item, attempt = item.attempt): JobInfo => ({
    job: item.spec.key,
    task: 'task' in item.spec ? item.spec.task : undefined,
    attempts: attempt,
  });

  /**
   * A job's error for being stopped, or never started, by the call's stop. It has no stack
   * (see stackless): capturing one was most of its cost, ~5 of 7 µs, paid by every job of a
   * stopped call whose outcomes are kept.
   */
  const cancelled = (item: Item, attempt: number, cause?: unknown): TaskError =>
    stackless(
      () =>
        new TaskCancelledError(
          info(item, attempt),
          cancelReason || 'aborted',
          cause ?? aborted?.reason,
        ),
    );

  /**
   * A failed attempt's error, with no stack of its own (see stackless). `timedOut`: true,
   * or how long the attempt waited for its task to start if it never did.
   */
  const toTaskError = (item: Item, failure: unknown, timedOut: boolean | number): TaskError => {
    const where = info(item);
    if (timedOut !== false) {
      const waited = timedOut === true ? undefined : timedOut;
      return stackless(() => new TaskTimeoutError(where, config.timeout ?? 0, waited));
    }
    if (stopped) return cancelled(item, item.attempt);
    if (failure instanceof ExecFailure) {
      switch (failure.kind) {
        case 'aborted':
          return cancelled(item, item.attempt, failure);
        case 'closed':
          return stackless(
            () =>
              new TaskCancelledError(where, 'the runner was destroyed', new RunnerClosedError()),
          );
        case 'data-clone': {
          const hint = cloneHint(item.spec);
          const cause = asCause(failure);
          return stackless(() => new DataCloneError(where, cause, hint));
        }
        case 'worker-exited': {
          const cause = asCause(failure);
          return stackless(() => new WorkerExitedError(where, cause));
        }
      }
    }
    // A main-thread function threw: keep the same shape as a worker task's failure. (Its
    // error is read outside stackless: reading it may run the caller's code, a getter.)
    const cause = deserializeError(serializeError(failure));
    return stackless(() => new TaskFailedError(where, cause));
  };

  /**
   * An executor's failure's cause as an Error: what an input's getter threw (a string, say)
   * while it was cloned, or whatever a custom executor gave, is made one as a task's is.
   */
  const asCause = (failure: ExecFailure): Error => {
    const cause = failure.cause ?? failure;
    return isError(cause) ? cause : deserializeError(serializeError(cause));
  };

  /** Counts one attempt of job `key` in the call's totals (and trace); returns its wait. */
  const count = (
    key: JobKey,
    attempt: number,
    readyAt: number,
    start: number,
    end: number,
    thread: number,
    error?: TaskError,
  ): number => {
    const wait = Math.max(0, start - readyAt);
    attemptCount++;
    workMs += end - start;
    queueWaitMs += wait;
    attempts?.push({
      job: key,
      attempt,
      queued: readyAt,
      start,
      end,
      thread,
      status: error ? 'rejected' : 'fulfilled',
      ...(error ? { code: error.code } : {}),
    });
    return wait;
  };

  /** Counts an attempt of an item, in the call's totals and in the item's own. */
  const record = (item: Item, start: number, end: number, thread: number, error?: TaskError) => {
    const wait = count(item.spec.key, item.attempt, item.readyAt, start, end, thread, error);
    item.firstQueued ??= item.readyAt;
    item.runMs += end - start;
    item.waitMs += wait;
  };

  const timing = (item: Item, ended = now()): JobTiming => ({
    queued: item.firstQueued,
    ended,
    runMs: item.runMs,
    waitMs: item.waitMs,
  });

  const settle = (index: number, outcome: Outcome, wasInFlight = true) => {
    settledCount++;
    if (wasInFlight) inFlight--;
    if (outcome.status === 'fulfilled') fulfilled++;
    else if (outcome.reason.code === 'ERR_TASK_CANCELLED') cancelledCount++;
    else rejected++;
    const stops = !stopped && stopsCall(config.policy, outcome.status);
    if (stops) {
      stoppedBy = { index, outcome };
      const key = outcome.job;
      halt(stopReason(config.policy, typeof key === 'number' ? `job ${key}` : `job "${key}"`));
    }
    sink(index, outcome, stops);
  };

  // A consumer of bare values gets fulfilled jobs without an Outcome built for each,
  // unless the job stops the call (any's winner), whose outcome the record keeps.
  const bareValue = onValue && !stopsCall(config.policy, 'fulfilled') ? onValue : undefined;

  /** Hands a fulfilled job over as a bare value, if the consumer takes those. */
  const handedBare = (index: number, value: unknown): boolean => {
    if (!bareValue) return false;
    settledCount++;
    inFlight--;
    fulfilled++;
    bareValue.one(index, value);
    return true;
  };

  const fulfil = (item: Item, value: unknown, ended?: number) => {
    if (handedBare(item.index, value)) return;
    settle(item.index, {
      status: 'fulfilled',
      value,
      job: item.spec.key,
      attempts: item.attempt,
      timing: timing(item, ended),
    });
  };

  /** A first attempt that succeeded, handed over without an item. */
  const fulfilFirst = (
    index: number,
    key: JobKey,
    value: unknown,
    readyAt: number,
    start: number,
    end: number,
    wait: number,
  ) => {
    if (handedBare(index, value)) return;
    settle(index, {
      status: 'fulfilled',
      value,
      job: key,
      attempts: 1,
      timing: { queued: readyAt, ended: end, runMs: end - start, waitMs: wait },
    });
  };

  const reject = (item: Item, reason: TaskError, attemptsMade = item.attempt, wasInFlight = true) =>
    settle(
      item.index,
      {
        status: 'rejected',
        reason,
        job: item.spec.key,
        attempts: attemptsMade,
        timing: timing(item),
      },
      wasInFlight,
    );

  /**
   * Whether a job's input lost buffers it transferred to a worker that never answered (it
   * crashed, timed out or was stopped): such a job cannot be sent again.
   */
  const lostInput = (item: Item): boolean =>
    config.transfer && 'input' in item.spec && hasDetachedBuffer(item.spec.input);

  /** Ends a job that would have run again but for its lost input, saying so. */
  const rejectLost = (item: Item, error: TaskError) => {
    error.message += `; its input's transferred buffers went with that attempt, so it is not run again`;
    reject(item, error);
  };

  /** A failed attempt: try again after the backoff, or end the job. */
  const failed = async (item: Item, error: TaskError): Promise<void> => {
    if (!shouldRetry(config.retry, error, item.attempt)) {
      reject(item, error);
    } else if (lostInput(item)) {
      rejectLost(item, error);
    } else if (stopped) {
      // Retries cut short by the stop: the job is cancelled, as during a backoff below,
      // not failed with an attempt's error (which could then pass for the call's cause).
      reject(item, cancelled(item, item.attempt));
    } else if (!(await delay(backoffDelay(config.retry, item.attempt), stop))) {
      reject(item, cancelled(item, item.attempt));
    } else if ('fn' in item.spec) {
      item.attempt++;
      item.readyAt = now();
      inFlight--;
      fnReady.unshift(item);
    } else if (enqueue(1) === 1) {
      item.attempt++;
      item.readyAt = now();
      inFlight--;
      retryFront.push(item as TaskItem);
    } else {
      // The retry would wait past `maxQueue`: it is shed, and the job ends with what
      // happened to it, the failure of its last attempt (not ERR_QUEUE_FULL, which would
      // hide it and count an attempt that never ran).
      reject(item, error);
    }
    pump();
  };

  const readyCount = () => retryFront.length + ready.size;

  const nextReady = (): TaskItem | undefined => retryFront.shift() ?? ready.shiftItem();

  /** The index of the job that would run next on a thread. */
  const nextReadyIndex = (): number | undefined =>
    retryFront.peek()?.index ?? (ready.size > 0 ? ready.headIndex : undefined);

  /**
   * Under a concurrency cap, jobs start in input order: whether a main-thread function job
   * comes before the next job for a thread. (Without a cap, function jobs all start at once.)
   */
  const capped = config.concurrency !== Number.POSITIVE_INFINITY;
  const functionFirst = (): boolean => {
    const fn = fnReady.peek();
    return fn !== undefined && fn.index < (nextReadyIndex() ?? Number.POSITIVE_INFINITY);
  };

  /** Takes up to `size` ready jobs of the same task as the first one. */
  const takeChunk = (size: number): Chunk => {
    if (retryFront.length === 0) {
      // The common case, first attempts of one task in order: one scan, slices.
      const task = ready.taskAt(ready.head);
      const limit = Math.min(ready.end, ready.head + size);
      let end = ready.head + 1;
      const { tasks } = ready;
      if (!tasks) end = limit;
      else while (end < limit && sameTask(tasks[end]!, task)) end++;
      return ready.take(end, task);
    }
    const first = retryFront.shift()!;
    const items = [first];
    if (first.isolate === ALONE) return itemsChunk(items);
    if (first.isolate) {
      // A part of a chunk that crashed travels with nothing else.
      while (items.length < size && retryFront.peek()?.isolate === first.isolate) {
        items.push(retryFront.shift()!);
      }
      return itemsChunk(items);
    }
    while (items.length < size) {
      const retry = retryFront.peek();
      if (retry ? retry.isolate : ready.size === 0) break;
      const task = retry ? retry.spec.task : ready.taskAt(ready.head);
      if (!sameTask(task, first.spec.task)) break;
      items.push(nextReady()!);
    }
    return itemsChunk(items);
  };

  /**
   * Sends the next chunk on the thread (the slot) whose chunk just came back, before that
   * chunk's outcomes are handed over: handing them over costs the main thread about 0.2 µs
   * an item (~1 ms for a chunk of 4096), which its thread would otherwise wait for. Only
   * when nothing in those outcomes can stop the call (no failure where one stops it, and
   * a fulfilment does not end the call, as it ends any's) and no other call waits for a
   * slot (which goes to the highest priority first, and to a graph's dependents).
   */
  const handOn = (slot: Slot, answered: number): Handed | undefined => {
    if (stopped || readyCount() === 0 || dispatcher.contended) return undefined;
    if (stopsCall(config.policy, 'fulfilled')) return undefined;
    // (A function job waiting before the next task item goes first: pump starts it.)
    if (capped && functionFirst()) return undefined;
    // (The `answered` items of the chunk that came back, which succeeded, are still counted
    // in flight; failed ones stay there, until their retry if any.)
    const room = config.concurrency - inFlight + answered;
    if (room <= 0) return undefined;
    return { next: runChunk(takeInFlight(room), slot) };
  };

  /** Takes the next chunk (at most `room` items) and counts its items as in flight. */
  const takeInFlight = (room: number): Chunk => {
    const chunk = takeChunk(chunkSize(room));
    const length = chunkLength(chunk);
    inFlight += length;
    dispatcher.dequeue(length);
    return chunk;
  };

  /**
   * Items per clock reading in the worker: one each, unless items are tiny (a reading costs
   * ~50 ns) and nothing keeps a time of each (a trace, or outcomes, which carry timings).
   * The summed task time stays exact, and the sizer still sees the spread between groups.
   */
  const clockStride = (): number | undefined => {
    const perItemMs = sizer.perItemMs;
    // (Under a timeout every item is timed: see TaskRequest.timeout.)
    if (!bareValue || attempts || perItemMs === undefined || config.timeout !== undefined) {
      return undefined;
    }
    const stride = Math.min(MAX_STRIDE, Math.floor(STRIDE_MS / Math.max(perItemMs, 1e-6)));
    return stride > 1 ? stride : undefined;
  };

  const runChunk = async (chunk: Chunk, slot: Slot): Promise<Handed | undefined> => {
    const { release, session } = slot;
    const { task, items } = chunk;
    const length = chunkLength(chunk);
    let signal: Stop = terminate;
    // True, or (its task never started) how long the attempt waited.
    let timedOut: boolean | number = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let own: Stop | undefined;
    let unfollow: (() => void) | undefined;
    // A timeout counts from when the task starts (onStart): a thread's start-up and the
    // loading of its module do not count, or a module slower to load than the timeout
    // could never run on a fresh thread (each timeout replaces the thread). Until then,
    // the attempt may take LOAD_GRACE_MS more.
    let startedAt: number | undefined;
    let onStart: (() => void) | undefined;
    let answered = false;
    const timeout = config.timeout;
    // Which item of the chunk runs, and since when (see TaskRequest.clock).
    const clock = clocked && length > 1 ? new Int32Array(new SharedArrayBuffer(16)) : undefined;
    // The item the watch found past its timeout (-1: none had started), and its start.
    let blamed: number | undefined;
    let blamedStart: number | undefined;
    if (timeout !== undefined) {
      const controller = new Stop();
      own = controller;
      signal = controller;
      if (clock) {
        // A stopped call ends a clocked chunk as any chunk of several: after the item it
        // runs (stopCell), and by ending its thread only when `terminate` says so.
        if (terminate.aborted) controller.abort(terminate.reason);
        else unfollow = terminate.hear(() => controller.abort(terminate.reason));
      } else {
        live.add(controller);
      }
      // Timers fire before the messages waiting on ports are read: after the main thread
      // was busy past the timeout, an answer already here is read first (whether it came
      // in time is judged by the worker's clock, below).
      const expire = () =>
        setImmediate(() => {
          if (answered) return;
          timedOut = startedAt === undefined ? now() - dispatched : true;
          // (A chunk on the calling thread, which nothing can stop, ends after its item.)
          if (clock) Atomics.store(clock, 3, 1);
          controller.abort();
        });
      if (clock) {
        Atomics.store(clock, 1, -1);
        // Looks at the item running: it expires once it has run the timeout. Looking again
        // at most a timeout later misses none: an item that starts after a look is due
        // after the next one.
        const watch = () => {
          if (answered) return;
          const index = Atomics.load(clock, 1);
          const at = now();
          if (index < 0) {
            const late = dispatched + timeout + LOAD_GRACE_MS;
            if (at >= late) {
              blamed = -1;
              expire();
            } else timer = after(Math.min(timeout, late - at), watch);
            return;
          }
          startedAt ??= dispatched + Atomics.load(clock, 2) / CLOCK_UNITS_PER_MS;
          const due = dispatched + Atomics.load(clock, 0) / CLOCK_UNITS_PER_MS + timeout;
          if (at >= due) {
            blamed = index;
            blamedStart = due - timeout;
            expire();
          } else timer = after(due - at, watch);
        };
        timer = after(timeout, watch);
      } else {
        timer = after(timeout + LOAD_GRACE_MS, expire);
        onStart = () => {
          if (startedAt !== undefined || signal.aborted) return;
          startedAt = now();
          clearTimeout(timer);
          timer = after(timeout, expire);
        };
      }
    }
    let inputs: unknown[];
    let retried = false;
    if (items) {
      // Filled by push, not preallocated: V8 clones an array with holes (even filled ones)
      // element by element, at up to twice the cost.
      inputs = [];
      for (let i = 0; i < length; i++) {
        const item = items[i]!;
        inputs.push(item.spec.input);
        if (item.attempt > 1) retried = true;
      }
    } else {
      inputs = chunk.inputs as unknown[];
    }
    let transfer: ArrayBuffer[] | undefined;
    if (config.transfer) {
      const buffers = new Set<ArrayBuffer>();
      for (const input of inputs) buffersIn(input, buffers);
      transfer = [...buffers];
    }
    const progress = config.onTaskProgress && progressPort(chunk, config.onTaskProgress);
    const dispatched = now();
    let received = dispatched;
    // (A chunk of one: no item to stop before, nor to give to another thread.)
    const stopAt = length > 1 ? stopBuffer() : undefined;
    const cell = stopAt && freeCells.pop();
    if (cell) Atomics.store(stopCell!, cell, 0);
    const flight: Flying = { at: dispatched, size: length, cell, cutAsked: false };
    flying.add(flight);
    let response: TaskResponse | undefined;
    // What the chunk cost the main thread to send (packing its inputs, posting them).
    let sendMs = 0;
    // An input whose buffer is already detached cannot be sent (a thread given one in its
    // transfer list fails to read the message: its worker dies, or a session's message is
    // lost and the chunk never answers). Found before sending, it fails as cloning does.
    const unsendable = transfer?.some(isDetached) === true;
    try {
      if (unsendable) {
        const message = 'An ArrayBuffer is detached and could not be cloned.';
        throw new ExecFailure('data-clone', message, new Error(message));
      }
      const request: TaskRequest = {
        module: task.module,
        export: task.export,
        inputs,
        attempts: retried ? items?.map((item) => item.attempt) : undefined,
        transfer: config.transfer || undefined,
        progress: progress?.port,
        stride: clockStride(),
        untilFulfilled: untilFulfilled || undefined,
        finalAttempt,
        stop: stopAt,
        cut: cell,
        ...(clock
          ? { timeout, clock: clock.buffer as SharedArrayBuffer, clockBase: dispatched }
          : {}),
      };
      // No chunk is likely to follow this one on its slot: what is left to read and run
      // would not give every other lane a chunk as big.
      const more = exhausted ? 0 : source.remaining();
      const others = Math.min(threads, config.concurrency) - 1;
      // Nor while the consumer has yet to make room in a full window: the chunk goes as a
      // plain task, with no port opened for chunks that would not come.
      const last =
        (more !== undefined && readyCount() + more <= others * length) ||
        (windowFull && readyCount() === 0);
      const answer = session
        ? session.execute(request, transfer, last)
        : exec.execute(request, {
            signal,
            ...(transfer ? { transfer } : {}),
            ...(onStart ? { onStart } : {}),
          });
      sendMs = now() - dispatched;
      sizer.observeSent(length, sendMs);
      response = await answer;
      received = now();
      answered = true;
      const wrong = malformed(response, length, stopped);
      if (wrong !== undefined) {
        response = undefined;
        throw new Error(`the executor answered the chunk with ${wrong}`);
      }
      // An attempt that ran past its time, by the clock of the thread that ran it, before
      // its timer could fire (code on the calling thread, which nothing interrupts; an
      // answer already on its way), timed out all the same: the outcome does not depend on
      // which came first. (Not the time its answer took to be read here.)
      // (An answer after the timer fired and stopped the attempt, from an executor that
      // ignored the stop, timed out; so does one whose times say nothing, by this clock.)
      const span = length > 0 ? response.times[2 * length - 1]! - response.times[0]! : 0;
      const ran = Number.isFinite(span) ? span : received - (startedAt ?? dispatched);
      // (A clocked chunk's items were judged one by one by that clock: see TaskRequest.timeout.)
      if (timeout !== undefined && !clock && (timedOut || ran > timeout)) {
        timedOut = true;
        response = undefined;
        throw new ExecFailure('aborted', `ran past its timeout of ${timeout} ms`);
      }
    } catch (failure) {
      progress?.close();
      const end = now();
      if (clock) {
        // Whether, and when, the chunk's first item started, by its thread's clock.
        const first = Atomics.load(clock, 1) < 0 ? undefined : Atomics.load(clock, 2);
        startedAt = first === undefined ? undefined : dispatched + first / CLOCK_UNITS_PER_MS;
      }
      if (clock && timedOut !== false && !stopped) {
        // Given up for the item that ran past the timeout (or, if none started, for the
        // first): it timed out. Those before it ran, but their results went with the
        // thread, and those after it did not run: they go back to the front of the queue,
        // no attempt counted (as a crashed chunk's do; they may run twice).
        const index = Math.max(0, blamed ?? Atomics.load(clock, 1));
        const item = itemAt(chunk, index);
        const error = toTaskError(item, failure, timedOut);
        const from = blamedStart ?? end;
        record(item, Math.min(from, end), end, UNKNOWN_THREAD, error);
        const back: TaskItem[] = [];
        for (let i = 0; i < length; i++) if (i !== index) back.push(itemAt(chunk, i));
        toFront(back);
        void failed(item, error);
        return;
      }
      if (
        length > 1 &&
        !stopped &&
        failure instanceof ExecFailure &&
        (failure.kind === 'worker-exited' || failure.kind === 'data-clone')
      ) {
        // One item crashed its worker, or could not be cloned: run each alone to find it,
        // so its chunk-mates are not blamed. A big chunk is cut in parts first, each sent
        // alone, and the part that fails again in smaller parts or item by item: a thread
        // replaced costs about as much as a thousand messages. No attempt is counted for
        // the lost chunk. An item whose transferred buffers went with the worker cannot
        // run again: it fails.
        const cut = length > ALONE_UP_TO;
        const partSize = Math.ceil(length / ISOLATION_PARTS);
        const parts = cut ? Array.from({ length: ISOLATION_PARTS }, () => ({})) : [];
        const isolated: TaskItem[] = [];
        for (let i = length - 1; i >= 0; i--) {
          const item = itemAt(chunk, i);
          // (Nothing was sent when an input's buffer was found detached: none was lost.)
          if (!unsendable && lostInput(item)) {
            const error = toTaskError(item, failure, timedOut);
            record(item, dispatched, end, UNKNOWN_THREAD, error);
            rejectLost(item, error);
            continue;
          }
          item.isolate = cut ? parts[Math.floor(i / partSize)]! : ALONE;
          isolated.push(item);
        }
        toFront(isolated.reverse());
        return;
      }
      // Which items ran before the chunk was stopped is not known: they share its time, so
      // that the work counted is the time its thread spent (not that time once per item).
      // That time starts when its task was heard to start, where it was asked to tell (an
      // attempt with a timeout: a thread's start-up and the module's loading are no work);
      // such an attempt never heard to start (it timed out, or was stopped, still loading)
      // did none.
      const from = (onStart || clock) && startedAt === undefined ? end : (startedAt ?? dispatched);
      const share = (end - from) / length;
      for (let i = 0; i < length; i++) {
        const item = itemAt(chunk, i);
        // (A clocked chunk timed out for one item: the others were only stopped.)
        const late = clock && i !== Math.max(0, blamed ?? -1) ? false : timedOut;
        const error = toTaskError(item, failure, late);
        record(item, from + i * share, from + (i + 1) * share, UNKNOWN_THREAD, error);
        void failed(item, error);
      }
      return;
    } finally {
      flying.delete(flight);
      if (cell) freeCells.push(cell);
      clearTimeout(timer);
      if (own) live.delete(own);
      unfollow?.();
      // A failure's outcomes were handed over above: the slot is free.
      if (response === undefined) release();
    }
    let handed: Handed | undefined;
    try {
      const canStop = response.failures !== undefined && stopsCall(config.policy, 'rejected');
      handed = canStop ? undefined : handOn(slot, length - (response.failures?.length ?? 0));
      // A chunk's outcomes come after its progress reports (they travel on another port).
      if (progress) await progress.closed;
      // Handed over in turn with other answers (see Turns), unless it may end the call: a
      // failure that stops it, a success that ends an any() (rare, and the first to come
      // must be the one that does, whatever else waits).
      const gated = !canStop && !untilFulfilled;
      const turn = gated ? turns.enter() : undefined;
      if (turn) await turn;
      let settleMs = 0;
      try {
        const settling = now();
        const called = callbackMs();
        settleChunk(chunk, response, received - dispatched);
        // What the chunk cost the main thread, which the sizer keeps chunks within (of the
        // items that ran, where it ended early).
        settleMs = now() - settling - (callbackMs() - called);
        sizer.observeMain(response.ran ?? length, sendMs + (response.receivedMs ?? 0) + settleMs);
        // (A call that ended as its last chunk was handed over remembered its cost before.)
        if (finished) remember();
      } finally {
        // (Taken in during an earlier turn, if it waited for this one.)
        if (gated) turns.leave((turn ? 0 : (response.receivedMs ?? 0)) + settleMs);
      }
    } catch (error) {
      // Outcomes that could not all be handed over: the call stops with ERR_INTERNAL. A
      // chunk already handed on goes on with the slot (stopped, it ends at once); the
      // lane waits for it as for any, and its end releases the slot.
      broke(error);
    } finally {
      // Otherwise the slot is released only after the outcomes reached the sink, so that
      // work they make ready (a graph's dependents) competes for it, by priority, with
      // work waiting.
      if (!handed) release();
    }
    return handed;
  };

  /**
   * The scheduler threw where nothing should (a bug, or an executor that broke its
   * contract): the items it was handling are lost, so the call could never end. It stops,
   * does not wait for them, and fails with ERR_INTERNAL.
   */
  const broke = (error: unknown): void => {
    internal ??= { error: new InternalError(error) };
    halt('fanout hit an internal error');
  };

  /** A call that a success ends (any) has each chunk end at its first success. */
  const untilFulfilled = stopsCall(config.policy, 'fulfilled');

  /**
   * A call that a failure stops (fail-fast) has each chunk end at the first item that fails
   * its last attempt: the items after it would only be stopped (or cancelled) once its
   * answer came, up to a whole chunk's work later.
   */
  const finalAttempt = stopsCall(config.policy, 'rejected') ? config.retry.retries + 1 : undefined;

  /**
   * Items `from`.. of a chunk, which did not run (their chunk ended early): back at the
   * front of the queue, with no attempt counted.
   */
  const putBack = (chunk: Chunk, from: number): void => {
    const length = chunkLength(chunk);
    if (stopped && onUnrun) {
      // Cancelled with the rest once the call ends, counted only (see onUnrun).
      inFlight -= length - from;
      unrunTaken += length - from;
      return;
    }
    const back: TaskItem[] = [];
    for (let i = from; i < length; i++) back.push(itemAt(chunk, i));
    toFront(back);
  };

  /**
   * Puts items taken for a thread back at the front of the queue, in their order (at once:
   * unshifting each would cost time in the queue's length, for each).
   */
  const toFront = (back: TaskItem[]): void => {
    if (back.length === 0) return;
    retryFront.unshiftAll(back);
    dispatcher.requeue(back.length);
    inFlight -= back.length;
  };

  /** Hands over a chunk's outcomes; `wallMs`: from sending the chunk to its answer. */
  const settleChunk = (chunk: Chunk, response: TaskResponse, wallMs: number): void => {
    const { values, failures, times, thread } = response;
    const { items, keys } = chunk;
    const length = response.ran ?? chunkLength(chunk);
    // (A chunk that ended early, by a success, a failure or a stop, takes the general path,
    // and puts back the items it did not run once those it ran are settled: most often
    // the call has stopped by then, and they need no item each.)
    if (bareValue && !failures && !items && !attempts && response.ran === undefined) {
      settleValues(chunk, values, times, wallMs);
      return;
    }
    let failedAt: Map<number, ItemFailure> | undefined;
    if (failures) failedAt = new Map(failures.map((f) => [f.index, f]));
    let busy = 0;
    let squares = 0;
    // First attempts: the run of indexes (and its ready time) that job i belongs to.
    const { runs } = chunk;
    let run = -3;
    let runEnd = 0;
    let runIndex = 0;
    let readyAt = 0;
    for (let i = 0; i < length; i++) {
      if (!items && i >= runEnd) {
        run += 3;
        runIndex = runs[run + 1]! - runs[run]!;
        readyAt = runs[run + 2]!;
        runEnd = run + 3 < runs.length ? runs[run + 3]! : length;
      }
      const start = times[2 * i]!;
      const end = times[2 * i + 1]!;
      busy += end - start;
      squares += (end - start) * (end - start);
      const failure = failedAt?.get(i);
      if (!failure) {
        if (items) {
          const item = items[i]!;
          record(item, start, end, thread);
          fulfil(item, values[i], end);
        } else {
          // A first attempt that succeeded: counted and handed over without an item.
          const index = runIndex + i;
          const key = keys ? keys[i]! : index;
          const wait = count(key, 1, readyAt, start, end, thread);
          fulfilFirst(index, key, values[i], readyAt, start, end, wait);
        }
        continue;
      }
      const item = itemAt(chunk, i);
      // The input came back with its buffers (the call transfers): a retry sends it.
      if ('input' in failure) {
        const input = resendable((item.spec as TaskSpec).input, failure.input);
        item.spec = { ...item.spec, input } as TaskSpec;
      }
      const where = info(item);
      const cause = deserializeError(failure.error);
      // (No stack of its own: it would show only the scheduler; the task's is the cause's.)
      // A worker finds one thing it cannot clone: the item's output, as it checks it.
      const error = stackless(() =>
        failure.kind === 'not-found'
          ? new TaskNotFoundError(where, cause)
          : failure.kind === 'data-clone'
            ? new DataCloneError(where, cause, undefined, 'output')
            : failure.kind === 'timeout'
              ? new TaskTimeoutError(where, config.timeout ?? 0)
              : new TaskFailedError(where, cause, failure.kind === 'load'),
      );
      record(item, start, end, thread, error);
      void failed(item, error);
    }
    if (response.ran !== undefined) putBack(chunk, response.ran);
    observed(length, times, busy, squares, wallMs);
  };

  /** Feeds a settled chunk's timings to the sizer (and now and then to the runner). */
  const observed = (
    length: number,
    times: Float64Array,
    busy: number,
    squares: number,
    wallMs: number,
  ) => {
    // What the message cost beyond its items: sending, waking the thread, answering.
    const span = length > 0 ? times[2 * length - 1]! - times[0]! : 0;
    sizer.observe(length, busy, wallMs - span, squares);
    if (++chunksDone % REMEMBER_EVERY === 1) remember();
  };

  /**
   * settleChunk's fast path: first attempts that all succeeded, for a consumer of bare
   * values and no trace. The totals are counted in one loop and each run of the chunk's
   * jobs (consecutive indexes) is handed over at once.
   */
  const settleValues = (chunk: Chunk, values: Values, times: Float64Array, wallMs: number) => {
    const { runs } = chunk;
    const length = chunk.inputs.length;
    attemptCount += length;
    settledCount += length;
    inFlight -= length;
    fulfilled += length;
    let busy = 0;
    let squares = 0;
    for (let r = 0; r < runs.length; r += 3) {
      const from = runs[r]!;
      const end = r + 3 < runs.length ? runs[r + 3]! : length;
      const readyAt = runs[r + 2]!;
      for (let i = from; i < end; i++) {
        const start = times[2 * i]!;
        const ms = times[2 * i + 1]! - start;
        busy += ms;
        squares += ms * ms;
        if (start > readyAt) queueWaitMs += start - readyAt;
      }
      bareValue!.run(runs[r + 1]!, values, from, end);
    }
    workMs += busy;
    observed(length, times, busy, squares, wallMs);
  };

  /** The size of the next chunk: known-length inputs shrink their tail. */
  // Under a window, every thread has room for a chunk running and the next one read and
  // waiting: a thread that finishes never waits for the main thread to read more.
  const windowShare = Math.max(1, Math.floor(config.window / (2 * threads)));
  const chunkSize = (room: number): number => {
    const more = exhausted ? 0 : source.remaining();
    const remaining = more === undefined ? undefined : readyCount() + more;
    const size = sizer.next(remaining, remaining === undefined ? 0 : pendingItems());
    return Math.min(room, size, windowShare);
  };

  /** Chunks sent and not answered: when, how many items, and where to cut them short. */
  const flying = new Set<Flying>();

  /**
   * A thread is idle with nothing left to send it: the chunks in flight that have work
   * left to give, or that run late (their items cost more than measured), end after the
   * item they run, and the items they did not run go back to the front of the queue for
   * every thread (see toCut). Only while a thread is free (no other call took it). Looks
   * again when a chunk would start to run late.
   */
  const rebalance = (): void => {
    clearTimeout(lookAgain);
    lookAgain = undefined;
    if (stopped || flying.size === 0 || readyCount() > 0) return;
    if (!exhausted && source.remaining() !== 0) return;
    if (lanes >= Math.min(threads, config.concurrency) || !dispatcher.free) return;
    const open = [...flying].filter((flight) => flight.cell && !flight.cutAsked);
    const { cut, lookAgainAt } = toCut(open, now(), sizer.perItemMs, sizer.roundTripMs);
    for (const flight of cut) {
      flight.cutAsked = true;
      Atomics.store(stopCell!, flight.cell!, 1);
    }
    if (lookAgainAt !== undefined) lookAgain = after(lookAgainAt - now(), pump).unref();
  };

  /** About how many items the chunks in flight have still to run. */
  const pendingItems = (): number =>
    flying.size === 0 ? 0 : itemsLeft(flying, now(), sizer.perItemMs, sizer.roundTripMs);

  /** One lane per thread the call may use: take a thread, take a chunk, run it, repeat. */
  const lane = async (): Promise<void> => {
    // This turn's thread, while no chunk holds it, and the slot made of it.
    let free: (() => void) | undefined;
    let slot: Slot | undefined;
    try {
      while (!stopped && readyCount() > 0 && inFlight < config.concurrency) {
        free = undefined;
        slot = undefined;
        try {
          free = await dispatcher.acquire(stop, config.priority);
        } catch {
          break; // acquire() rejects only when the call stops: finish() accounts for the rest.
        }
        dispatcher.claimed();
        const room = config.concurrency - inFlight;
        if (stopped || readyCount() === 0 || room <= 0) {
          free();
          break;
        }
        // Attempts that can time out each need a thread they can stop alone.
        const session = config.timeout === undefined ? exec.open?.(terminate) : undefined;
        const taken = free;
        slot = {
          session,
          release: () => {
            session?.close();
            taken();
          },
        };
        const chunk = takeInFlight(room);
        pump(); // taking items may make room to read more of the source
        let running: Promise<Handed | undefined> | undefined = runChunk(chunk, slot);
        while (running) {
          const handed: Handed | undefined = await running;
          pump();
          running = handed?.next;
        }
      }
    } catch (error) {
      // Nothing else throws here but a bug (or an executor that broke its contract). No
      // chunk runs on this turn's thread any more: it is free (again, harmlessly, if its
      // last chunk released it).
      if (slot) slot.release();
      else free?.();
      broke(error);
    } finally {
      lanes--;
      pump();
    }
  };

  const runFunction = async (item: Item): Promise<void> => {
    const spec = item.spec as { fn: FunctionJob };
    const controller = new AbortController();
    // Stopping the job aborts its signal and ends the attempt at once, whatever the function
    // does with the signal (with no listener on it: adding one cost 5-19 µs a job).
    let end: (reason: unknown) => void = () => {};
    const ended = new Promise<never>((_, reject) => {
      end = reject;
    });
    ended.catch(() => {});
    const stopper: Stoppable = {
      abort: (reason) => {
        controller.abort(reason);
        end(controller.signal.reason);
      },
    };
    live.add(stopper);
    let timedOut = false;
    const timer =
      config.timeout === undefined
        ? undefined
        : after(config.timeout, () => {
            timedOut = true;
            stopper.abort();
          });
    const start = now();
    try {
      const value = await Promise.race([
        timed(() => spec.fn({ signal: controller.signal, attempt: item.attempt })),
        ended,
      ]);
      record(item, start, now(), 0);
      fulfil(item, value);
    } catch (failure) {
      const error = toTaskError(item, failure, timedOut);
      record(item, start, now(), 0, error);
      void failed(item, error);
    } finally {
      clearTimeout(timer);
      live.delete(stopper);
      pump();
    }
  };

  /** Chunks start from what the call's first task cost in earlier calls, if known. */
  let seeded = false;
  let firstTask: TaskRef | undefined;
  let chunksDone = 0;
  const seed = (task: TaskRef) => {
    seeded = true;
    firstTask = task;
    const known = env.costs?.get(task);
    if (known !== undefined) sizer.seed(known);
  };

  /** Tells the runner what the call's items cost (after the first chunk, then now and then). */
  const remember = () => {
    const cost = sizer.cost;
    if (firstTask && cost !== undefined) env.costs?.set(firstTask, cost);
  };

  /** Takes in what was pulled from the source at time `at`: a job, or an input of its task. */
  const admit = (pulledValue: unknown, at: number) => {
    const index = pulled++;
    const spec = source.task ? undefined : (pulledValue as JobSpec);
    if (spec && 'fn' in spec) {
      fnReady.push(newItem(index, spec, at));
      return;
    }
    const task = source.task ?? (spec as TaskSpec).task;
    if (!seeded) seed(task);
    if (enqueue(1) === 1) {
      if (spec) ready.pushSpec(spec as TaskSpec, index, at);
      else ready.push(pulledValue, index, at);
    } else {
      queueFull(newItem(index, spec ?? { key: index, task, input: pulledValue }, at));
    }
  };

  /** A job read when `maxQueue` jobs already wait for a thread: it fails at once. */
  const queueFull = (item: Item) =>
    reject(
      item,
      stackless(() => new QueueFullError(info(item, 0), dispatcher.maxQueue)),
      0,
      false,
    );

  /**
   * Takes in a run of inputs read at once at time `at`, as admit() would one by one: those
   * past `maxQueue` fail, and reading stops once one of them has stopped the call.
   */
  const admitRun = ({ inputs, from, to }: InputRun, at: number) => {
    const task = source.task as TaskRef;
    if (!seeded) seed(task);
    const admitted = enqueue(to - from);
    ready.pushRun(inputs, from, from + admitted, pulled, at);
    pulled += admitted;
    for (let i = from + admitted; i < to && !stopped; i++) {
      const index = pulled++;
      queueFull(newItem(index, { key: index, task, input: inputs[i] }, at));
    }
  };

  /**
   * How many inputs to read in one run: as many as admit() would take one by one before
   * it checks the window, the wanted read-ahead or the gate again (the first one alone,
   * as the gate is worked out from the sizes it seeds); at most 1024 per timestamp.
   */
  const runSize = (want: number, gate: number): number => {
    if (gate < 0) return 1;
    let size = 1024;
    if (config.window !== Number.POSITIVE_INFINITY) {
      size = Math.min(
        size,
        config.window - (pulled - released),
        want - readyCount() - fnReady.length,
      );
    }
    if (gate > 0) size = Math.min(size, gate - readyCount());
    if (stream) size = Math.min(size, dispatcher.room());
    return Math.max(1, size);
  };

  /** Reads from the source while the window has room and the threads could use more. */
  const wanted = () => {
    // Keep enough ready for every thread's next chunk, twice over. (A chunk of automatic
    // size is one item until the items' cost is known; a fixed size is known at once.)
    const known = sizer.perItemMs !== undefined || config.chunk.fixed !== undefined;
    const perThread = known ? sizer.next() : 1;
    return Math.max(2 * threads * perThread, 2 * threads);
  };
  // A call over jobs in memory (window Infinity) admits them all at once: its function
  // jobs start at once and `maxQueue` sees every job. A stream reads only what it needs.
  // Once the window is full, reading resumes only when the consumer has made room for a
  // chunk's worth: a consumer taking results one by one must not turn every result it
  // takes into a read of one input and a chunk of one item.
  let windowFull = false;
  const refillRoom = Math.min(windowShare, Math.max(1, Math.floor(config.window / 4)));
  const canPull = (want = wanted()) => {
    if (exhausted || stopped) return false;
    if (!stream) return true;
    if (windowFull) return false;
    if (!dispatcher.roomFor(pump)) return false;
    if (pulled - released >= config.window) {
      windowFull = true;
      return false;
    }
    return readyCount() + fnReady.length < want;
  };

  const fill = async (): Promise<void> => {
    pulling = true;
    try {
      // One timestamp per synchronous run of reads: what is read together is ready together.
      let at = now();
      let want = wanted();
      // A stream whose threads are all idle lets them start on a chunk each before it
      // reads on: reading a whole window first would leave them waiting for it.
      let gate = config.window !== Number.POSITIVE_INFINITY && lanes === 0 ? -1 : 0;
      // An input source says whether it answers with promises: an input may be one.
      const inputs = source.task !== undefined;
      const done = inputs ? END : undefined;
      // An array is read a run of inputs at a time, not one by one.
      const take = inputs ? source.take : undefined;
      while (canPull(want)) {
        const wasSeeded = seeded;
        let waits = false;
        if (take) {
          const run = take(runSize(want, gate));
          if (run.to === run.from) {
            exhausted = true;
            break;
          }
          admitRun(run, at);
          at = now();
        } else {
          const next = source.next();
          waits = inputs ? source.async : isPromise(next);
          let pulledValue: unknown = next;
          if (waits) {
            pulledValue = await next;
            at = now();
            want = wanted();
          }
          if (pulledValue === done) {
            exhausted = true;
            break;
          }
          if (finished) return;
          admit(pulledValue, at);
          if ((pulled & 1023) === 0) at = now();
        }
        if (seeded !== wasSeeded) want = wanted(); // a known cost reads further ahead
        if (waits) {
          pump(); // let lanes start while an async source keeps reading
        } else if (gate !== 0) {
          if (gate < 0) gate = threads * chunkSize(config.concurrency - inFlight);
          if (readyCount() >= gate) {
            gate = 0;
            pump();
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (finished) return;
            at = now();
            want = wanted();
          }
        }
      }
    } catch (error) {
      exhausted = true;
      // A source that fails once the call has stopped (a stream destroyed by the stop)
      // fails nothing: the call ends for the reason it stopped.
      if (!stopped) {
        sourceError = { error };
        halt('the source failed');
      }
    } finally {
      pulling = false;
    }
  };

  const finish = () => {
    finished = true;
    clearTimeout(graceTimer);
    clearTimeout(lookAgain);
    remember();
    unhear();
    if (onUnrun) {
      // Jobs that did not get to run end cancelled, counted only (see onUnrun).
      const threadJobs = retryFront.clear() + ready.clear();
      const unrun = threadJobs + fnReady.clear() + unrunTaken;
      dispatcher.dequeue(threadJobs);
      settledCount += unrun;
      cancelledCount += unrun;
      if (unrun > 0) onUnrun(unrun);
    }
    // Otherwise each ends cancelled with an outcome, so every job has exactly one.
    let dropped = 0;
    try {
      for (let item = nextReady(); item; item = nextReady()) {
        dropped++;
        reject(item, cancelled(item, item.attempt - 1), item.attempt - 1, false);
      }
      for (let item = fnReady.shift(); item; item = fnReady.shift()) {
        reject(item, cancelled(item, item.attempt - 1), item.attempt - 1, false);
      }
    } finally {
      dispatcher.dequeue(dropped);
    }
    if (internal) {
      rejectCall(internal.error);
      return;
    }
    resolveCall({
      started,
      ended: now(),
      jobs: pulled,
      fulfilled,
      rejected,
      cancelled: cancelledCount,
      attemptCount,
      workMs,
      queueWaitMs,
      attempts,
      stoppedBy,
      aborted,
      sourceError,
    });
  };

  function pump(): void {
    if (finished) return;
    if (!pulling && canPull()) void fill().then(pump);
    if (!stopped) {
      // (Under a cap, a function job does not overtake a worker task that comes before it.)
      while (fnReady.length > 0 && inFlight < config.concurrency && (!capped || functionFirst())) {
        inFlight++;
        void runFunction(fnReady.shift()!);
      }
      const wantedLanes = Math.min(threads, config.concurrency - inFlight, readyCount());
      while (lanes < wantedLanes) {
        lanes++;
        void lane();
      }
      rebalance();
    }
    // A stopped call does not wait for a pending read: the source may never answer (an
    // endless stream); what it yields after the stop is not the call's any more.
    // (Items that an internal error lost never settle: the call does not wait for them.)
    const idle = lanes === 0 && (inFlight === 0 || internal !== undefined);
    if ((exhausted && !pulling && settledCount === pulled && idle) || (stopped && idle)) {
      finish();
    }
  }

  const done = new Promise<CallRecord>((resolve, reject) => {
    resolveCall = resolve;
    rejectCall = reject;
  });
  const unhear = onAborts(config.signal, onSignal, env.destroyed, onDestroyed);
  if (config.signal?.aborted) onSignal();
  else if (env.destroyed?.aborted) onDestroyed();
  pump();
  return {
    done,
    release(count) {
      released += count;
      // Only a full window held the reading back; otherwise nothing changes for pump().
      if (windowFull && config.window - (pulled - released) >= refillRoom) {
        windowFull = false;
        pump();
      }
    },
    cancel(reason, why = 'the consumer stopped reading') {
      abortWith(reason, why);
    },
    inFlight: () => inFlight,
    stopped: () => stopped,
  };
}
