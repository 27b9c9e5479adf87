// The runner: the public face of the scheduler. It owns one executor and one dispatcher
// and turns each call's per-job outcomes into the result its policy promises.
import { EventEmitter } from 'node:events';
import type { ResourceLimits } from 'node:worker_threads';
import {
  type CallConfig,
  type CallEnv,
  type CallHandle,
  type CallRecord,
  type ChunkOptions,
  isPlainArray,
  LONGEST_TIMER_MS,
  type Outcome,
  runCall,
} from './call.js';

type CallResult = {
  readonly record: CallRecord;
  readonly outcomes: Outcome[];
  /** Fulfilled jobs' values, when only those were collected (fail-fast calls). */
  readonly values: unknown[] | undefined;
};

import { CallbackGuard } from './callbacks.js';
import { TaskCosts } from './chunking.js';
import { Dispatcher } from './dispatch.js';
import {
  FanoutError,
  InvalidArgValueError,
  invalidType,
  invalidValue,
  type JobKey,
  RunnerClosedError,
  type TaskError,
} from './errors.js';
import { InlineExecutor } from './executors/inline.js';
import { ThreadsExecutor } from './executors/threads.js';
import type { Executor } from './executors/types.js';
import {
  type CheckedNodes,
  GRAPH_ORDERS,
  type GraphNodes,
  type GraphOptions,
  type GraphOutcomes,
  type GraphReport,
  type GraphValues,
  parseGraph,
} from './graph.js';
import { graphResult, runGraph } from './graph-run.js';
import { type JobList, jobCount, jobSource, parseJobs, shape } from './jobs.js';
import { tooManyThreads, usableCores } from './machine.js';
import { assertIterable, MapStream, startMap } from './map.js';
import {
  booleanOption,
  functionOption,
  integerOption,
  knownKeys,
  numberOption,
  objectOption,
  oneOf,
  signalOption,
} from './options.js';
import { type CallPolicy, POLICIES, type Policy } from './policies.js';
import { type Progress, ProgressMeter } from './progress.js';
import { describeValue, isError, now } from './protocol.js';
import { NO_RETRY, type RetryOptions, type RetryPolicy, retryPolicy } from './retry.js';
import { type CallStats, callStats } from './stats.js';
import { type InputOptional, isTask, type JobLike, type OutputOf, type Task } from './task.js';
import { type CallKind, CallTrace } from './trace.js';

/**
 * The inputs of one task: any iterable but a string (whose characters would each be an
 * input). Their type is the task's (NoInfer): a wider one (`number | undefined` for a task
 * of numbers) does not compile, where it would be taken as the task's input type.
 */
export type Inputs<In> = Iterable<NoInfer<In>> & object;

/** Options of `createRunner()`: the threads, and limits that hold across its calls. */
export interface RunnerOptions {
  /**
   * Worker threads. `0` runs every task in the calling thread, one at a time, with the
   * same semantics: the sequential baseline. More than the machine's memory (or its
   * container's limit) could hold idle, at about 9 MiB a thread, is refused rather than
   * left to run the process out of memory as they start.
   * @default the cores this process may use: os.availableParallelism(), or fewer under a
   * CPU quota (a container's `--cpus`, a Kubernetes CPU limit), rounded up
   */
  readonly threads?: number | undefined;
  /**
   * Runs tasks with this executor instead of the built-in ones (`threads` is then ignored).
   */
  readonly executor?: Executor | undefined;
  /**
   * Most attempts that may wait for a thread, across all calls; one more fails with
   * ERR_QUEUE_FULL (load shedding for servers), having made no attempt. A retry that
   * would wait past it is not made: its job ends with the failure of its last attempt. A
   * `map` sheds nothing: it reads its inputs only while there is room, and waits for room
   * otherwise; nor does a graph its nodes after its first task node, which it starts so.
   * A map reading ahead can so fill the queue for as long as it runs, and other calls'
   * jobs are shed meanwhile: give it a `window` below `maxQueue` to leave them room.
   * @default Infinity
   */
  readonly maxQueue?: number | undefined;
  /**
   * V8 heap limits for each worker; a worker that exceeds them fails its job with
   * ERR_WORKER_EXITED. `maxOldGenerationSizeMb` must be at least 4 and `stackSizeMb` at least
   * 0.5: below those Node kills the whole process as a thread starts, instead of failing the
   * thread. A thread needs about 6–8 MB of old generation to start at all (Node 20–24).
   */
  readonly resourceLimits?: ResourceLimits | undefined;
  /**
   * Ms a thread may stay idle before it ends, giving its memory back (about 9 MiB); threads
   * then start as work comes, each start costing tens of ms. Left out, the threads start
   * with the runner and live until `close()` or `destroy()` (idle, they never hold the
   * process open). More than a timer can wait (2^31 - 1 ms, ~24.8 days; Infinity too) is
   * taken as that.
   * @default threads live until the runner is closed
   */
  readonly idleTimeout?: number | undefined;
  /**
   * Receives each failure of work started with `spawn()`: a job's TaskError, what reading
   * its inputs threw or what one of the call's callbacks (`onStats`, `onProgress`...) threw
   * (an Error made of it if it was none), or, once per spawn() call whose jobs `destroy()`
   * dropped, a RunnerClosedError that says how many. Also hears of a worker thread that
   * died while no job ran on it (an exception or a rejection that a finished task left
   * behind, on a timer): a FanoutError with code ERR_WORKER_EXITED and what it died of as
   * its cause (the thread is replaced). Without it, failures are emitted as the runner's
   * `'error'` event when it has listeners, or else printed as a process warning: never an
   * unhandled rejection.
   */
  readonly onError?: ((error: TaskError | Error) => void) | undefined;
}

/** Options of `run()`, and of every call. */
export interface RunOptions {
  /** Retries per job: a count, or `{ attempts, backoff, retryOn }`. @default 0 */
  readonly retries?: number | RetryOptions | undefined;
  /**
   * Ms one attempt may run, counted from when its task starts on a thread: a thread's
   * start-up and the loading of the task's module do not count, for a minute at most (a
   * module still loading then times out, saying so). CPU-bound code that never yields is
   * stopped by terminating its worker (a new one takes its place); an attempt that answers
   * late where nothing could stop it (on `threads: 0`) times out all the same. Items still
   * travel in chunks, each timed on its own; the items of a chunk whose thread was
   * terminated run again (those that had run) or go on (those that had not). With an
   * `executor` of your own, or `transfer`, attempts that can time out travel alone.
   * @default Infinity
   */
  readonly timeout?: number | undefined;
  /** Cancels the whole call; it rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Called once with what the call measured, just before it settles. If this callback
   * or one of the three below throws, the call (or the map stream) fails at its end with
   * the first such error; onProgress and onTaskProgress are not called again after one
   * of them threw (onStats and onTrace are, at the end).
   */
  readonly onStats?: ((stats: CallStats) => void) | undefined;
  /**
   * Called with the call's progress (jobs done, failed, in flight, total, rate) at most
   * every 100 ms while it runs, and once at its end.
   */
  readonly onProgress?: ((progress: Progress) => void) | undefined;
  /**
   * Receives what a task reports from inside a long computation with
   * `ctx.progress(value)`, with the job's index or key, before that job's result. Costs
   * nothing when left out.
   */
  readonly onTaskProgress?: ((job: JobKey, value: unknown) => void) | undefined;
  /**
   * Called once when the call ends with its trace: when each attempt was queued, started
   * and ended, on which thread; `toChromeTrace()` for Perfetto or chrome://tracing,
   * `explain()` and `summary()` for work, span and what bounded the speedup. Setting it
   * keeps one record per attempt for the whole call: over an unbounded `map` stream, that
   * memory grows with the stream.
   */
  readonly onTrace?: ((trace: CallTrace) => void) | undefined;
}

/** Options of `all()`, `spawn()` (and, but for `policy`, `any()`). */
export interface CallOptions extends RunOptions {
  /**
   * `'fail-fast'`: the first failure (after its retries) rejects the call; queued jobs are
   * dropped and running ones stopped. `'settle'`: every job runs to its end and the call
   * resolves with a report. (`spawn()` settles unless told otherwise: its failures go to
   * `onError` one by one.)
   * @default 'fail-fast' ('settle' for spawn)
   */
  readonly policy?: Policy | undefined;
  /** Most jobs of this call in flight at once. @default Infinity */
  readonly concurrency?: number | undefined;
  /**
   * Items of one task sent to a worker in one message. `'auto'` measures what items
   * cost and aims each chunk at about 50 ms of work, smaller at the end of the input so
   * no thread idles; the first call of a task starts at one item, and the runner
   * remembers the cost, so later calls of the same task start near the right size.
   * Under a map's `window`, a chunk is at most window / (2 x threads). Errors, retries
   * and outcomes stay per item, a `timeout` too (see `timeout`).
   * Main-thread function jobs are never chunked.
   * @default 'auto'
   */
  readonly chunkSize?: 'auto' | number | undefined;
  /**
   * Transfer the ArrayBuffers of inputs (typed arrays, buffers, at the top level of an
   * input or one level down in a plain object or array) to the worker instead of copying
   * them, and those of outputs back: free whatever their size, but the caller's views are
   * detached (length 0) after. Without it, buffers are copied both ways: worth it for
   * small ones, since in V8 the first detach in a thread makes its typed-array code
   * slower from then on (~15% measured on a sieve). An item that fails gets its input's
   * buffers back for its retry (a copy of them, in the input as it was given); an attempt
   * whose worker never answers (it crashed, timed out or was stopped) keeps them, so its
   * job, and those in the same chunk, cannot run again and fail with that attempt's error.
   * An input whose buffer is already detached (views of one buffer in several items: the
   * first sent moves it) fails with ERR_DATA_CLONE, as cloning it would.
   * @default false
   */
  readonly transfer?: boolean | undefined;
  /** Smallest automatic chunk. @default 1 */
  readonly minChunk?: number | undefined;
  /**
   * Largest automatic chunk. With `transfer`, 1024 unless given: Node takes time in the
   * length of a message's transfer list for each buffer in it.
   * @default 100000
   */
  readonly maxChunk?: number | undefined;
}

/** Options of `map()`. */
export interface MapOptions extends CallOptions {
  /** Results in input order (`true`) or as they complete (`false`). @default true */
  readonly ordered?: boolean | undefined;
  /**
   * Most inputs between the source and the consumer: read ahead, in flight, and finished
   * but not yet consumed. It bounds memory, and a slow consumer slows the reading.
   * Lower it for large items.
   * @default 16384
   */
  readonly window?: number | undefined;
}

/** CallOptions of a settle call: it resolves with a report. */
export type SettleOptions = CallOptions & { readonly policy: 'settle' };
/** CallOptions of a fail-fast call (the default): it resolves with the values. */
export type FailFastOptions = CallOptions & { readonly policy?: 'fail-fast' | undefined };
/** Options of `any()`: its policy is its own. */
export type AnyOptions = Omit<CallOptions, 'policy'>;

/** One job's end in a settle report, like Promise.allSettled's entries. */
export type JobOutcome<T = unknown> = Outcome<T>;

/** What `all(..., { policy: 'settle' })` resolves with. */
export interface SettledReport<R> {
  /** One outcome per job, keyed like the input (array or record). */
  readonly results: R;
  /** Jobs in all, and how many ended each way (cancelled ones count as rejected). */
  readonly counts: {
    readonly total: number;
    readonly fulfilled: number;
    readonly rejected: number;
  };
  /** What the call measured (as `onStats` gets it). */
  readonly stats: CallStats;
}

type Values<J> = { -readonly [K in keyof J]: OutputOf<J[K]> };
type Outcomes<J> = { -readonly [K in keyof J]: JobOutcome<OutputOf<J[K]>> };
/** What any() of these jobs resolves with: the output of one of them. */
type ValueOfAny<J> = J extends readonly unknown[]
  ? OutputOf<J[number]>
  : Values<J>[keyof Values<J>];
/** The jobs form of all(), any() and spawn(): an array or a record of jobs. */
export type JobsInput = readonly JobLike[] | Readonly<Record<string, JobLike>>;

const RUN_KEYS = [
  'retries',
  'timeout',
  'signal',
  'onStats',
  'onProgress',
  'onTaskProgress',
  'onTrace',
] as const;
const CHUNK_KEYS = ['chunkSize', 'minChunk', 'maxChunk', 'transfer'] as const;
const CALL_KEYS = [...RUN_KEYS, ...CHUNK_KEYS, 'policy', 'concurrency'] as const;
const ANY_KEYS = [...RUN_KEYS, ...CHUNK_KEYS, 'concurrency'] as const;
const MAP_KEYS = [...CALL_KEYS, 'ordered', 'window'] as const;
const GRAPH_KEYS = [...RUN_KEYS, 'policy', 'concurrency', 'order'] as const;
/** The options each call takes. */
const CALL_OPTIONS = {
  run: RUN_KEYS,
  all: CALL_KEYS,
  any: ANY_KEYS,
  spawn: CALL_KEYS,
  map: MAP_KEYS,
  graph: GRAPH_KEYS,
} as const satisfies Record<string, readonly string[]>;
type CallName = keyof typeof CALL_OPTIONS;
export const DEFAULT_WINDOW = 16_384;

interface ParsedCall {
  readonly config: Omit<CallConfig, 'policy'> & { readonly policy: Policy };
  readonly onStats: ((stats: CallStats) => void) | undefined;
  readonly onProgress: ((progress: Progress) => void) | undefined;
  readonly onTrace: ((trace: CallTrace) => void) | undefined;
  /**
   * Keeps what onProgress, onTaskProgress and retryOn throw, for the call to fail with at
   * its end.
   */
  readonly callbacks: CallbackGuard;
}

function parseCallOptions(value: unknown, call: CallName): ParsedCall {
  const options = value === undefined ? {} : objectOption('options', value);
  const allowed: readonly string[] = CALL_OPTIONS[call];
  // An options object of another call's type may hold its keys (TypeScript allows a wider
  // object held in a variable): named as such, not as a misspelling.
  for (const key of Object.keys(options)) {
    if (allowed.includes(key) || options[key] === undefined) continue;
    const takers = Object.entries(CALL_OPTIONS)
      .filter(([, keys]) => (keys as readonly string[]).includes(key))
      .map(([name]) => `${name}()`);
    if (takers.length === 0) continue;
    throw new InvalidArgValueError(
      `\`${key}\` in \`options\` is an option of ${takers.join(', ')}, not of ${call}() (the keys it takes: ${allowed.join(', ')})`,
    );
  }
  knownKeys('options', options, allowed);
  const callbacks = new CallbackGuard();
  // A retryOn that throws retries nothing more; the call fails with its error at its end.
  const guardedRetry = (policy: RetryPolicy): RetryPolicy =>
    policy.retryOn === NO_RETRY.retryOn
      ? policy
      : { ...policy, retryOn: callbacks.wrap(policy.retryOn, false) };
  return {
    callbacks,
    config: {
      policy:
        options.policy === undefined ? 'fail-fast' : oneOf('policy', options.policy, POLICIES),
      retry: guardedRetry(retryPolicy(options.retries as number | RetryOptions | undefined)),
      timeout:
        options.timeout === undefined || options.timeout === Number.POSITIVE_INFINITY
          ? undefined
          : numberOption('timeout', options.timeout, 1),
      signal: options.signal === undefined ? undefined : signalOption('signal', options.signal),
      concurrency:
        options.concurrency === undefined
          ? Number.POSITIVE_INFINITY
          : integerOption('concurrency', options.concurrency, 1, { infinity: true }),
      chunk: chunkOptions(options),
      window: Number.POSITIVE_INFINITY,
      keepAttempts: options.onTrace !== undefined,
      transfer:
        options.transfer === undefined ? false : booleanOption('transfer', options.transfer),
      onTaskProgress:
        options.onTaskProgress === undefined
          ? undefined
          : callbacks.wrap(functionOption('onTaskProgress', options.onTaskProgress)),
    },
    onStats: options.onStats === undefined ? undefined : functionOption('onStats', options.onStats),
    onProgress:
      options.onProgress === undefined
        ? undefined
        : callbacks.wrap(functionOption('onProgress', options.onProgress)),
    onTrace: options.onTrace === undefined ? undefined : functionOption('onTrace', options.onTrace),
  };
}

/** The task each job of a list runs (its export name), for trace event names. */
function taskNames(list: JobList): (job: JobKey) => string | undefined {
  let byKey: Map<JobKey, string | undefined> | undefined;
  return (job) => {
    if (list.task) return list.task.export;
    byKey ??= new Map(list.specs.map((s) => [s.key, 'task' in s ? s.task.export : undefined]));
    return byKey.get(job);
  };
}

function chunkOptions(options: Record<string, unknown>): ChunkOptions {
  const { chunkSize, minChunk, maxChunk } = options;
  const min = minChunk === undefined ? undefined : integerOption('minChunk', minChunk, 1);
  const max =
    maxChunk === undefined
      ? undefined
      : integerOption('maxChunk', maxChunk, min ?? 1, { infinity: true });
  const fixed =
    chunkSize === undefined || chunkSize === 'auto'
      ? undefined
      : typeof chunkSize === 'number'
        ? integerOption('chunkSize', chunkSize, 1)
        : (() => {
            throw invalidType('chunkSize', "'auto' or an integer from 1 and up", chunkSize);
          })();
  return { fixed, min, max };
}

/**
 * Node's limits for a worker's heap and stack, in MB, and the least of each that fanout
 * takes (`codeRangeSizeMb` 0: Node's default, as a worker reports it). Smaller ones do not
 * fail the thread but kill the whole process as the thread starts (measured: an old
 * generation of 2.2 MB on Node 20.0, 22 and 24, a stack of 0.2 MB on every Node 20 to 24);
 * the least taken leave twice that.
 */
const LIMITS = {
  maxYoungGenerationSizeMb: Number.MIN_VALUE,
  maxOldGenerationSizeMb: 4,
  codeRangeSizeMb: 0,
  stackSizeMb: 0.5,
} as const;

function resourceLimits(value: unknown): ResourceLimits {
  const limits = objectOption('resourceLimits', value);
  const keys = Object.keys(LIMITS) as (keyof typeof LIMITS)[];
  knownKeys('resourceLimits', limits, keys);
  for (const key of keys) {
    const mb = limits[key];
    const name = `resourceLimits.${key}`;
    if (mb === undefined) continue;
    const given = numberOption(name, mb, 0);
    const least = LIMITS[key];
    if (given < least || given === Number.POSITIVE_INFINITY) {
      const bound =
        least === 0
          ? ''
          : least === Number.MIN_VALUE
            ? ' above 0'
            : ` from ${least} up (a smaller one kills the process as a thread starts)`;
      throw invalidValue(name, `a finite number of MB${bound}`, given);
    }
  }
  return limits as ResourceLimits;
}

/** `onIdleDeath`: hears of a thread that died while no job ran on it (see ThreadsExecutor). */
function makeExecutor(options: RunnerOptions, onIdleDeath: (error: unknown) => void): Executor {
  if (options.executor !== undefined) {
    const executor = objectOption('executor', options.executor) as unknown as Executor;
    for (const method of ['execute', 'close', 'destroy'] as const) {
      functionOption(`executor.${method}`, executor[method]);
    }
    if (executor.open !== undefined) functionOption('executor.open', executor.open);
    // The scheduler gives out this many slots: with none, every call would wait forever.
    integerOption('executor.parallelism', executor.parallelism, 1);
    return executor;
  }
  const threads =
    options.threads === undefined ? usableCores() : integerOption('threads', options.threads, 0);
  if (threads === 0) return new InlineExecutor();
  const tooMany = tooManyThreads(threads);
  if (tooMany) throw invalidValue('threads', tooMany, threads);
  return new ThreadsExecutor({
    threads,
    onIdleDeath,
    ...(options.idleTimeout === undefined
      ? {}
      : {
          // (Piscina's timer would fire after 1 ms, with a warning, past the longest wait.)
          idleTimeout: Math.min(
            integerOption('idleTimeout', options.idleTimeout, 0, { infinity: true }),
            LONGEST_TIMER_MS,
          ),
        }),
    ...(options.resourceLimits === undefined
      ? {}
      : { resourceLimits: resourceLimits(options.resourceLimits) }),
  });
}

const RUNNER_KEYS = ['threads', 'executor', 'maxQueue', 'resourceLimits', 'idleTimeout', 'onError'];

export class Runner extends EventEmitter<{ error: [TaskError | Error] }> {
  readonly #executor: Executor;
  readonly #dispatcher: Dispatcher;
  readonly #onError: ((error: TaskError | Error) => void) | undefined;
  readonly #destroyed = new AbortController();
  /** What items of each task cost in earlier calls, so chunks start near the right size. */
  readonly #costs = new TaskCosts();
  readonly #active = new Set<Promise<unknown>>();
  readonly #detached = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RunnerOptions = {}) {
    super();
    const opts = objectOption('options', options) as RunnerOptions;
    knownKeys('options', opts as Record<string, unknown>, RUNNER_KEYS);
    const maxQueue =
      opts.maxQueue === undefined
        ? Number.POSITIVE_INFINITY
        : integerOption('maxQueue', opts.maxQueue, 0, { infinity: true });
    this.#onError =
      opts.onError === undefined ? undefined : functionOption('onError', opts.onError);
    this.#executor = makeExecutor(opts, (error) =>
      this.#report(
        new FanoutError(
          'ERR_WORKER_EXITED',
          `a worker thread died while no job ran on it, and was replaced: ${isError(error) ? error.message : describeValue(error)}`,
          { cause: error },
        ),
      ),
    );
    this.#dispatcher = new Dispatcher(this.#executor.parallelism, maxQueue);
    // (Calls under way hear of it through one listener: see abort.ts.)
  }

  /** Threads that run tasks at once (1 for the inline executor). */
  get threads(): number {
    return this.#executor.parallelism;
  }

  /** Jobs waiting for a thread right now, across all calls. */
  get queued(): number {
    return this.#dispatcher.queuedJobs;
  }

  /**
   * Runs one task on one input. Rejects with the job's TaskError. A task whose input may
   * be undefined (`void`, `unknown`, `T | undefined`) runs with none: `run(task)`.
   */
  run<In, Out>(task: Task<In, Out>, input: NoInfer<In>, options?: RunOptions): Promise<Out>;
  run<In, Out>(task: Task<In, Out> & InputOptional<In>): Promise<Out>;
  async run<Out>(task: Task<unknown, Out>, input?: unknown, options?: RunOptions): Promise<Out> {
    if (!isTask(task)) {
      throw invalidType('run(task, input): task', 'a task made by defineTask()', task);
    }
    const list = parseJobs(task, [input], 'run').read();
    const parsed = parseCallOptions(options, 'run');
    const result = await this.#call(list, parsed, 'fail-fast', 'run');
    return (this.#failFast(list, result) as Out[])[0] as Out;
  }

  /**
   * Runs every job. Forms: `all(task, inputs)` (one task over many inputs), `all([jobs])`,
   * `all({ name: job })`, where a job is `job(task, input)` or a main-thread async function.
   * Fail-fast (default) resolves with the outputs in the input's shape; settle resolves
   * with a report.
   */
  all<In, Out>(task: Task<In, Out>, inputs: Inputs<In>, options?: FailFastOptions): Promise<Out[]>;
  all<In, Out>(
    task: Task<In, Out>,
    inputs: Inputs<In>,
    options: SettleOptions,
  ): Promise<SettledReport<JobOutcome<Out>[]>>;
  all<const J extends JobsInput>(jobs: J, options?: FailFastOptions): Promise<Values<J>>;
  all<const J extends JobsInput>(
    jobs: J,
    options: SettleOptions,
  ): Promise<SettledReport<Outcomes<J>>>;
  // Options whose policy is not known until run time (a variable typed CallOptions).
  all<In, Out>(
    task: Task<In, Out>,
    inputs: Inputs<In>,
    options?: CallOptions,
  ): Promise<Out[] | SettledReport<JobOutcome<Out>[]>>;
  all<const J extends JobsInput>(
    jobs: J,
    options?: CallOptions,
  ): Promise<Values<J> | SettledReport<Outcomes<J>>>;
  async all(first: unknown, ...rest: unknown[]): Promise<unknown> {
    const { read, rest: at } = parseJobs(first, rest[0], 'all');
    const parsed = parseCallOptions(rest[at - 1], 'all');
    const list = this.#read(read, parsed, 'all');
    const result = await this.#call(list, parsed, parsed.config.policy, 'all');
    if (parsed.config.policy === 'fail-fast') return this.#failFast(list, result);
    const { record, outcomes } = result;
    if (record.aborted) throw record.aborted.reason;
    return {
      results: shape(list, outcomes),
      counts: {
        total: outcomes.length,
        fulfilled: record.fulfilled,
        rejected: outcomes.length - record.fulfilled,
      },
      stats: callStats(record, this.threads),
    };
  }

  /**
   * Resolves with the first job to succeed and cancels the rest. Rejects with an
   * AggregateError of every job's TaskError (in input order) only when all fail.
   */
  any<In, Out>(task: Task<In, Out>, inputs: Inputs<In>, options?: AnyOptions): Promise<Out>;
  any<const J extends JobsInput>(jobs: J, options?: AnyOptions): Promise<ValueOfAny<J>>;
  async any(first: unknown, ...rest: unknown[]): Promise<unknown> {
    const { read, rest: at } = parseJobs(first, rest[0], 'any');
    const parsed = parseCallOptions(rest[at - 1], 'any');
    const list = this.#read(read, parsed, 'any');
    const { record, outcomes } = await this.#call(list, parsed, 'any', 'any');
    if (record.aborted) throw record.aborted.reason;
    const winner = record.stoppedBy?.outcome;
    if (winner?.status === 'fulfilled') return winner.value;
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : undefined));
    throw new AggregateError(reasons, `All ${reasons.length} jobs of any() failed`);
  }

  /**
   * Starts work and returns at once. The work is tracked (`idle()` waits for it); each
   * failure goes to `onError`, the `'error'` event, or a process warning, never to an
   * unhandled rejection. Same forms as `all`; the policy defaults to `'settle'`.
   */
  spawn<In, Out>(task: Task<In, Out>, inputs: Inputs<In>, options?: CallOptions): void;
  spawn(jobs: JobsInput, options?: CallOptions): void;
  spawn(first: unknown, ...rest: unknown[]): void {
    const { read, rest: at } = parseJobs(first, rest[0], 'spawn');
    const raw = rest[at - 1];
    // (A policy left undefined is left out, as every option is.)
    const withDefault =
      raw === undefined ||
      (typeof raw === 'object' && raw !== null && (raw as CallOptions).policy === undefined)
        ? { ...(raw as object | undefined), policy: 'settle' }
        : raw;
    const parsed = parseCallOptions(withDefault, 'spawn');
    let call: Promise<CallResult>;
    try {
      call = this.#callUnchecked(
        this.#read(read, parsed, 'spawn'),
        parsed,
        parsed.config.policy,
        'spawn',
      );
    } catch (error) {
      // The inputs' iterator threw (or the runner is closed): a failure of the work,
      // reported as the others are.
      call = Promise.reject(asError(error, 'reading the inputs'));
    }
    const work = call.then(
      ({ record, outcomes }) => {
        // (A call that stopped early, aborted or failing fast, leaves the jobs it never
        // read without an outcome.)
        let dropped = 0;
        for (const outcome of outcomes) {
          if (outcome?.status === 'fulfilled') continue;
          if (outcome && outcome.reason.code !== 'ERR_TASK_CANCELLED') this.#report(outcome.reason);
          else dropped++;
        }
        // Jobs destroy() dropped are reported once, as all() rejects for them; those a
        // caller's abort or a fail-fast failure stopped are not failures of their own.
        if (record.aborted?.reason instanceof RunnerClosedError && dropped > 0) {
          this.#report(
            new RunnerClosedError(
              `The runner was destroyed while spawn() ran: ${dropped} of its ${outcomes.length} jobs were dropped`,
            ),
          );
        }
        // What a callback threw, beside the jobs' failures (not instead of them).
        try {
          parsed.callbacks.check();
        } catch (error) {
          this.#report(asError(error, 'a callback'));
        }
      },
      (error: unknown) => {
        this.#report(asError(error, 'a callback'));
        // (Inputs that threw still have their end told: what its callbacks threw too.)
        try {
          parsed.callbacks.check();
        } catch (thrown) {
          this.#report(asError(thrown, 'a callback'));
        }
      },
    );
    this.#detached.add(work);
    void work.finally(() => this.#detached.delete(work));
  }

  /**
   * Applies one task to every input of an Iterable or AsyncIterable (an array, a
   * generator, an object-mode stream, the lines of a file) and streams the results back.
   * Fail-fast (default) yields outputs and ends with the first failure (after the outputs
   * that had finished by then: in order, those before the failed item); settle yields
   * each job's outcome. Nothing runs until iteration starts; leaving the loop stops the work.
   * With `onTrace`, every attempt is recorded until the stream ends: mind unbounded streams.
   */
  map<In, Out>(
    task: Task<In, Out>,
    inputs: Inputs<In> | AsyncIterable<NoInfer<In>>,
    options?: MapOptions & { readonly policy?: 'fail-fast' | undefined },
  ): MapStream<Out>;
  map<In, Out>(
    task: Task<In, Out>,
    inputs: Inputs<In> | AsyncIterable<NoInfer<In>>,
    options: MapOptions & { readonly policy: 'settle' },
  ): MapStream<JobOutcome<Out>>;
  // Options whose policy is not known until run time (a variable typed MapOptions).
  map<In, Out>(
    task: Task<In, Out>,
    inputs: Inputs<In> | AsyncIterable<NoInfer<In>>,
    options?: MapOptions,
  ): MapStream<Out | JobOutcome<Out>>;
  map(
    task: Task,
    inputs: Iterable<unknown> | AsyncIterable<unknown>,
    options?: MapOptions,
  ): MapStream<unknown> {
    if (!isTask(task))
      throw invalidType('map(task, inputs): task', 'a task made by defineTask()', task);
    assertIterable(inputs, 'map(task, inputs): inputs');
    const parsed = parseCallOptions(options, 'map');
    const raw = (options ?? {}) as MapOptions;
    const ordered = raw.ordered === undefined ? true : booleanOption('ordered', raw.ordered);
    const window =
      raw.window === undefined ? DEFAULT_WINDOW : integerOption('window', raw.window, 1);
    const config: CallConfig = { ...parsed.config, window };
    // Read as iteration starts. (An array that replaced its iterator is read through it,
    // as any iterable.)
    const known = () => (isPlainArray(inputs) ? inputs.length : undefined);
    return new MapStream(
      (sink, onValue) => {
        if (this.#closed) throw new RunnerClosedError();
        const meter = parsed.onProgress ? new ProgressMeter(parsed.onProgress, known()) : undefined;
        let handle: CallHandle | undefined;
        const inFlight = () => handle?.inFlight() ?? 0;
        handle = startMap(
          task,
          inputs,
          config,
          this.#env(),
          meter
            ? (index, outcome, stoppedCall) => {
                meter.tick(outcome.status === 'fulfilled', inFlight());
                sink(index, outcome, stoppedCall);
              }
            : sink,
          meter && onValue
            ? {
                one: (index, value) => {
                  meter.tick(true, inFlight());
                  onValue.one(index, value);
                },
                run: (first, values, from, to) => {
                  meter.tick(true, inFlight(), to - from);
                  onValue.run(first, values, from, to);
                },
              }
            : onValue,
          // Jobs left unrun by a stop: the stream ends with its cause, never yields them.
          (jobs) => meter?.tick(false, inFlight(), jobs),
        );
        // The stream ends once these have run: what they throw ends it.
        const finished = handle.done.then((record) => {
          this.#ended(parsed, meter, 'map', record, () => task.export);
          parsed.callbacks.check();
        });
        this.#track(finished);
        return { handle, finished };
      },
      { ordered, settle: parsed.config.policy === 'settle', length: known },
    );
  }

  /**
   * Runs a dependency graph: nodes by name, each a worker task `{ task, input }` (`input`
   * may be a function of the dependencies' results) or a main-thread function
   * `{ run: async (deps, ctx) => ... }`, with `deps: [names]`. A node starts the moment its
   * dependencies are done and receives their results by name; when more nodes are ready
   * than there are threads, the critical path goes first. Checked before anything starts:
   * an unknown dependency rejects with ERR_GRAPH_UNKNOWN_DEP, a cycle (its path in order)
   * with ERR_GRAPH_CYCLE. Fail-fast (default) resolves with each node's result by name;
   * settle resolves with a report in which a failed node's dependents are `skipped`.
   */
  graph<const N extends GraphNodes>(
    nodes: N & CheckedNodes<N>,
    options?: GraphOptions & { readonly policy?: 'fail-fast' | undefined },
  ): Promise<GraphValues<N>>;
  graph<const N extends GraphNodes>(
    nodes: N & CheckedNodes<N>,
    options: GraphOptions & { readonly policy: 'settle' },
  ): Promise<GraphReport<GraphOutcomes<N>>>;
  // Options whose policy is not known until run time (a variable typed GraphOptions).
  graph<const N extends GraphNodes>(
    nodes: N & CheckedNodes<N>,
    options?: GraphOptions,
  ): Promise<GraphValues<N> | GraphReport<GraphOutcomes<N>>>;
  async graph(nodes: unknown, options?: GraphOptions): Promise<unknown> {
    const parsed = parseCallOptions(options, 'graph');
    const raw = (options ?? {}) as GraphOptions;
    const order =
      raw.order === undefined ? 'critical-path' : oneOf('order', raw.order, GRAPH_ORDERS);
    const plan = parseGraph(nodes);
    if (this.#closed) throw new RunnerClosedError();
    const { policy, concurrency, signal } = parsed.config;
    const meter = parsed.onProgress
      ? new ProgressMeter(parsed.onProgress, plan.nodes.size)
      : undefined;
    const work = runGraph(
      plan,
      {
        policy,
        order,
        concurrency,
        signal,
        call: { ...parsed.config, policy: 'settle' },
        onNodeEnd: meter && ((fulfilled, running, count) => meter.tick(fulfilled, running, count)),
      },
      this.#env(),
    ).then((run) => {
      this.#ended(
        parsed,
        meter,
        'graph',
        run.record,
        (job) => plan.nodes.get(String(job))?.task?.export,
        plan.deps,
      );
      parsed.callbacks.check();
      return run;
    });
    this.#track(work);
    return graphResult(plan, policy, await work, this.threads);
  }

  /** Resolves when all work started with `spawn()` has ended. */
  async idle(): Promise<void> {
    while (this.#detached.size > 0) await Promise.allSettled([...this.#detached]);
  }

  /** Takes no new work, waits for the work under way (spawned work too), then stops the threads. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      // close() called while a call starts (by a main-thread job, or a source read as the
      // call starts) comes before the call is tracked: it is, a microtask later.
      await null;
      while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
      await this.#executor.close();
    })();
    return this.#closing;
  }

  /** Stops everything now: calls under way reject with ERR_RUNNER_CLOSED, threads are terminated. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#destroyed.abort();
    await Promise.allSettled([...this.#active]);
    await this.#executor.destroy();
  }

  /** `await using runner = createRunner()` closes it gracefully at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #env(): CallEnv {
    return {
      executor: this.#executor,
      dispatcher: this.#dispatcher,
      destroyed: this.#destroyed.signal,
      costs: this.#costs,
    };
  }

  /** Work under way, which close() waits for. */
  #track(work: Promise<unknown>): void {
    this.#active.add(work);
    void work.finally(() => this.#active.delete(work)).catch(() => {});
  }

  /**
   * Reads a call's jobs. If its inputs' iterator throws, the call ends there: its end is
   * told as any call's is (onProgress, onStats, onTrace, for no jobs), then the error is
   * thrown (the first error: what those callbacks throw is dropped).
   */
  #read(read: () => JobList, parsed: ParsedCall, kind: CallKind): JobList {
    // (A closed runner takes no call: nothing is read, no end is told.)
    if (this.#closed) throw new RunnerClosedError();
    const started = now();
    try {
      return read();
    } catch (error) {
      const meter = parsed.onProgress ? new ProgressMeter(parsed.onProgress, 0) : undefined;
      const record: CallRecord = {
        started,
        ended: now(),
        jobs: 0,
        fulfilled: 0,
        rejected: 0,
        cancelled: 0,
        attemptCount: 0,
        workMs: 0,
        queueWaitMs: 0,
        attempts: undefined,
        stoppedBy: undefined,
        aborted: undefined,
        sourceError: { error },
      };
      // Told after the call returned its promise, as every call's end is.
      void Promise.resolve().then(() => this.#ended(parsed, meter, kind, record, () => undefined));
      throw error;
    }
  }

  /** Runs a call over jobs in memory; it fails at its end if one of its callbacks threw. */
  #call(
    list: JobList,
    parsed: ParsedCall,
    policy: CallPolicy,
    kind: CallKind,
  ): Promise<CallResult> {
    return this.#callUnchecked(list, parsed, policy, kind).then((result) => {
      parsed.callbacks.check();
      return result;
    });
  }

  /** #call, whatever the callbacks threw (spawn reports it beside the jobs' failures). */
  #callUnchecked(
    list: JobList,
    parsed: ParsedCall,
    policy: CallPolicy,
    kind: CallKind,
  ): Promise<CallResult> {
    if (this.#closed) return Promise.reject(new RunnerClosedError());
    const meter = parsed.onProgress
      ? new ProgressMeter(parsed.onProgress, jobCount(list))
      : undefined;
    const call = runCall(
      jobSource(list),
      jobCount(list),
      { ...parsed.config, policy },
      this.#env(),
      meter && ((fulfilled, inFlight, jobs) => meter.tick(fulfilled, inFlight, jobs)),
      // A fail-fast call resolves with values only; spawn reads every outcome.
      policy === 'fail-fast' && kind !== 'spawn',
    ).then((result) => {
      this.#ended(parsed, meter, kind, result.record, taskNames(list));
      return result;
    });
    this.#track(call);
    return call;
  }

  /**
   * A call's end: its last progress report, its stats and its trace, each called whatever
   * another of its callbacks threw (the first error is the call's: see CallbackGuard).
   */
  #ended(
    parsed: ParsedCall,
    meter: ProgressMeter | undefined,
    kind: CallKind,
    record: CallRecord,
    taskOf: (job: JobKey) => string | undefined,
    deps?: CallTrace['deps'],
  ): void {
    const { callbacks, onStats, onTrace } = parsed;
    meter?.final();
    if (onStats) callbacks.once(() => onStats(callStats(record, this.threads)));
    if (!onTrace) return;
    callbacks.once(() =>
      onTrace(
        new CallTrace({
          kind,
          started: record.started,
          ended: record.ended,
          threads: this.threads,
          attempts: record.attempts ?? [],
          deps,
          taskOf,
        }),
      ),
    );
  }

  #failFast(list: JobList, { record, outcomes, values }: CallResult): unknown {
    if (record.aborted) throw record.aborted.reason;
    const failed = record.stoppedBy?.outcome;
    if (failed?.status === 'rejected') throw failed.reason;
    return shape(
      list,
      values ?? outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined)),
    );
  }

  #report(error: TaskError | Error): void {
    try {
      if (this.#onError) this.#onError(error);
      else if (this.listenerCount('error') > 0) this.emit('error', error);
      else process.emitWarning(error);
    } catch (thrown) {
      // A throwing handler must not turn detached work into an unhandled rejection.
      process.emitWarning(`fanout: the error handler threw: ${String(thrown)}`);
    }
  }
}

/** What was thrown, as an Error: itself, or one made of it that says who threw it. */
function asError(error: unknown, who: string): Error {
  return isError(error)
    ? error
    : new Error(`${who} threw ${describeValue(error)}`, { cause: error });
}

/** Creates a runner: a pool of worker threads, one per core by default. */
export function createRunner(options?: RunnerOptions): Runner {
  return new Runner(options);
}
