// Why a run took as long as it did, in the work-span model: the work (all task time), the
// span (the longest chain of tasks that had to run one after another), the bound they set
// on P threads, max(work / P, span), and how close the measured wall time came to it.
import type { AttemptRecord } from './call.js';
import { type Deps, heaviestPath, topologicalOrder } from './dag.js';
import { invalidType, invalidValue, type JobKey } from './errors.js';
import { counted } from './machine.js';
import { integerOption, knownKeys, numberOption, objectOption } from './options.js';

/** What an explanation is computed from: a call's attempts, as a CallTrace holds them. */
export interface ExplainInput {
  readonly attempts: readonly AttemptRecord[];
  /** Each node's dependencies, for a graph; left out for a call of independent jobs. */
  readonly deps?: Deps | undefined;
  /** The call's measured wall time (ms). */
  readonly wallMs: number;
  /** Threads the call could use. */
  readonly threads: number;
  /** When the call started (ms since the epoch, like the attempts' times): adds `idle`. */
  readonly started?: number | undefined;
}

export interface ExplainOptions {
  /**
   * The same work measured run sequentially (ms), for example with
   * `createRunner({ threads: 0 })` in the same process: adds the measured speedup.
   */
  readonly sequentialMs?: number | undefined;
  /** Threads to compute the bound for. @default the threads the call could use */
  readonly threads?: number | undefined;
}

/** One job on the critical path, with its run time (ms, every attempt). */
export interface CriticalStep {
  readonly job: JobKey;
  readonly ms: number;
}

export interface Explanation {
  /** Jobs that made at least one attempt. */
  readonly jobs: number;
  readonly attempts: number;
  readonly threads: number;
  /** Task run time summed over every attempt (ms): what one thread would have spent. */
  readonly workMs: number;
  /**
   * The critical path's length (ms): the heaviest chain of jobs that had to run one after
   * another (for a call of independent jobs, its longest job, retries included). No number
   * of threads finishes sooner.
   */
  readonly spanMs: number;
  /** max(workMs / threads, spanMs): the shortest wall time possible on `threads` threads. */
  readonly boundMs: number;
  /** Which term sets the bound: the threads (work / threads) or the span. */
  readonly limitedBy: 'threads' | 'span';
  /** Measured from the call's start to its end (ms). */
  readonly wallMs: number;
  /** wallMs - boundMs: time lost to dispatch, queueing, idle threads and scheduling order. */
  readonly overheadMs: number;
  /** workMs / wallMs: the speedup over running the same attempts one after another. */
  readonly speedup: number;
  /** workMs / boundMs: the best speedup possible on `threads` threads. */
  readonly maxSpeedup: number;
  /** workMs / spanMs: the best speedup possible on any number of threads. */
  readonly parallelism: number;
  /** speedup / threads. */
  readonly efficiency: number;
  /** The sequential time given in the options (ms). */
  readonly sequentialMs: number | undefined;
  /** sequentialMs / wallMs, when a sequential time was given. */
  readonly measuredSpeedup: number | undefined;
  /**
   * workMs / sequentialMs, when a sequential time was given: how much longer the same work
   * took spread over threads than run alone. Above 1, the threads slowed each other down
   * (cores shared with other processes, memory bandwidth, caches, clock speed), and
   * `speedup` (over the work) flatters the run; `measuredSpeedup` does not.
   */
  readonly workGrowth: number | undefined;
  /** The jobs on the critical path, first to last. */
  readonly criticalPath: readonly CriticalStep[];
  /**
   * When the worker threads had no attempt running, a mean over them (ms); undefined when
   * no attempt ran on a worker thread or the call's start is not known.
   */
  readonly idle: IdleTime | undefined;
}

/**
 * When the worker threads of a call had no attempt running (ms, a mean over the threads;
 * a thread that ran nothing is idle from the call's start to the last attempt's end). With
 * every attempt on a worker, the four add up to wallMs - workMs / threads.
 */
export interface IdleTime {
  /** From the call's start to a thread's first attempt: start-up and the first messages. */
  readonly beforeMs: number;
  /** Between a thread's attempts: chunks going back and forth, waiting for the main thread. */
  readonly betweenMs: number;
  /** From a thread's last attempt to the call's last: waiting while others finished theirs. */
  readonly endMs: number;
  /** From the last attempt's end to the call's end: handing over the last results. */
  readonly afterMs: number;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/** The thread of main-thread function jobs (and of every attempt on threads: 0). */
const MAIN_THREAD = 0;

/**
 * Explains a run from its attempts. Main-thread function jobs count with the time they
 * took (for I/O, time waited rather than computed).
 */
export function explain(input: ExplainInput, options: ExplainOptions = {}): Explanation {
  checkInput(input);
  const opts = objectOption('options', options);
  knownKeys('options', opts, ['sequentialMs', 'threads']);
  const sequentialMs =
    opts.sequentialMs === undefined
      ? undefined
      : numberOption('sequentialMs', opts.sequentialMs, 0);
  // (A sequential time of 0 would make every ratio to it 0 or infinite.)
  if (sequentialMs === 0) throw invalidValue('sequentialMs', 'a number of ms above 0', 0);
  const threads =
    opts.threads === undefined ? input.threads : integerOption('threads', opts.threads, 1);

  // Retries of one job run one after another: a job's time is all its attempts'.
  const runMs = new Map<JobKey, number>();
  let workMs = 0;
  for (const a of input.attempts) {
    const ms = Math.max(0, a.end - a.start);
    workMs += ms;
    runMs.set(a.job, (runMs.get(a.job) ?? 0) + ms);
  }

  let criticalPath: CriticalStep[] = [];
  if (input.deps) {
    const path = heaviestPath(input.deps, topologicalOrder(input.deps), (n) => runMs.get(n) ?? 0);
    criticalPath = path.nodes.map((job) => ({ job, ms: runMs.get(job) ?? 0 }));
  } else {
    let longest: CriticalStep | undefined;
    for (const [job, ms] of runMs) if (!longest || ms > longest.ms) longest = { job, ms };
    if (longest) criticalPath = [longest];
  }
  const spanMs = criticalPath.reduce((sum, step) => sum + step.ms, 0);
  const perThread = ratio(workMs, threads);
  const boundMs = Math.max(perThread, spanMs);
  const speedup = ratio(workMs, input.wallMs);
  return {
    jobs: runMs.size,
    attempts: input.attempts.length,
    threads,
    workMs,
    spanMs,
    boundMs,
    limitedBy: spanMs > perThread ? 'span' : 'threads',
    wallMs: input.wallMs,
    overheadMs: input.wallMs - boundMs,
    speedup,
    maxSpeedup: ratio(workMs, boundMs),
    parallelism: ratio(workMs, spanMs),
    efficiency: ratio(speedup, threads),
    sequentialMs,
    measuredSpeedup: sequentialMs === undefined ? undefined : ratio(sequentialMs, input.wallMs),
    workGrowth: sequentialMs === undefined ? undefined : ratio(workMs, sequentialMs),
    criticalPath,
    idle: input.started === undefined ? undefined : idleTime(input, input.started),
  };
}

/** An input that is not a trace fails here, naming what is wrong, not deep inside. */
function checkInput(input: unknown): asserts input is ExplainInput {
  const trace = objectOption('input', input, 'a CallTrace (or { attempts, wallMs, threads })');
  if (!Array.isArray(trace.attempts)) {
    throw invalidType('input.attempts', 'an array of attempt records', trace.attempts);
  }
  trace.attempts.forEach((a: unknown, i: number) => {
    const { start, end } = (a ?? {}) as { start?: unknown; end?: unknown };
    if (typeof start !== 'number' || typeof end !== 'number') {
      throw invalidType(`input.attempts[${i}]`, 'an attempt record { job, start, end, ... }', a);
    }
  });
  numberOption('input.wallMs', trace.wallMs, 0);
  integerOption('input.threads', trace.threads, 1);
  if (trace.started !== undefined) numberOption('input.started', trace.started, 0);
  if (trace.deps !== undefined && !(trace.deps instanceof Map)) {
    throw invalidType('input.deps', 'a Map of each node to its dependencies', trace.deps);
  }
}

/**
 * See IdleTime. Attempts on the main thread do not count. Those on no known thread (a
 * chunk stopped while it ran, a timed-out attempt) ran on a worker all the same: they
 * count as a thread of their own, not as time the threads were idle.
 */
function idleTime(input: ExplainInput, started: number): IdleTime | undefined {
  const onWorkers = input.attempts
    .filter((a) => a.thread !== MAIN_THREAD)
    .sort((a, b) => a.start - b.start);
  if (onWorkers.length === 0) return undefined;
  // A loop, not Math.max(...ends): a trace can hold more attempts than a call takes arguments.
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const a of onWorkers) if (a.end > lastEnd) lastEnd = a.end;
  const since = (from: number, to: number) => Math.max(0, to - from);
  const reached = new Map<number, number>();
  let beforeMs = 0;
  let betweenMs = 0;
  for (const a of onWorkers) {
    const at = reached.get(a.thread);
    if (at === undefined) beforeMs += since(started, a.start);
    else betweenMs += since(at, a.start);
    reached.set(a.thread, Math.max(at ?? a.end, a.end));
  }
  // A thread that ran nothing waited from the start to the end of the work.
  const lanes = Math.max(input.threads, reached.size);
  let endMs = (lanes - reached.size) * since(started, lastEnd);
  for (const at of reached.values()) endMs += since(at, lastEnd);
  const afterMs = lanes * since(lastEnd, started + input.wallMs);
  return {
    beforeMs: beforeMs / lanes,
    betweenMs: betweenMs / lanes,
    endMs: endMs / lanes,
    afterMs: afterMs / lanes,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const times = (value: number) => `${value.toFixed(2)}x`;
const percent = (value: number) => `${(value * 100).toFixed(0)}%`;
const jobName = (job: JobKey) => (typeof job === 'number' ? `job ${job}` : job);

function pathText(path: readonly CriticalStep[]): string {
  const shown = path.length > 8 ? [...path.slice(0, 4), undefined, ...path.slice(-3)] : path;
  return shown.map((s) => (s ? `${jobName(s.job)} (${ms(s.ms)})` : '…')).join(' → ');
}

/** A short, human-readable account of an explanation: what answers "why not Px faster?". */
export function formatExplanation(e: Explanation, title = 'call'): string {
  const lines = [
    `${title}: ${counted(e.jobs, 'job')}, ${counted(e.attempts, 'attempt')}, ${counted(e.threads, 'thread')}`,
    `  wall        ${ms(e.wallMs)}`,
    `  work        ${ms(e.workMs)}  (task time, summed)`,
    `  span        ${ms(e.spanMs)}  (critical path: ${pathText(e.criticalPath) || 'none'})`,
    `  bound       ${ms(e.boundMs)}  = max(work / ${counted(e.threads, 'thread')}, span): set by the ${e.limitedBy}`,
    `  speedup     ${times(e.speedup)} over the work, ${times(e.maxSpeedup)} at best here, efficiency ${percent(e.efficiency)}`,
  ];
  if (e.measuredSpeedup !== undefined && e.sequentialMs !== undefined) {
    lines.push(
      `  sequential  ${ms(e.sequentialMs)}: measured speedup ${times(e.measuredSpeedup)}; the work took ${times(e.workGrowth ?? 0)} as long spread over threads`,
    );
  }
  if (e.idle) {
    const { beforeMs, betweenMs, endMs, afterMs } = e.idle;
    lines.push(
      `  idle        a thread, on average: ${ms(beforeMs)} before its first job, ${ms(betweenMs)} between jobs, ${ms(endMs)} at the end while others ran, ${ms(afterMs)} after the last`,
    );
  }
  lines.push(`  why         ${verdict(e)}`);
  return lines.join('\n');
}

/**
 * The largest part of the idle time beyond the bound, named, when there is one that the
 * time lost can hold. Under a critical path, threads wait at the end for it by necessity
 * (boundMs - workMs / threads each): that part is the bound's, not time lost.
 */
function mostIdle(e: Explanation): string {
  const { idle } = e;
  if (!idle) return '';
  const bound = Math.max(0, e.boundMs - e.workMs / e.threads);
  const parts: [number, string][] = [
    [idle.beforeMs, 'threads waiting for their first job'],
    [idle.betweenMs, 'threads waiting between jobs (chunks going back and forth)'],
    [idle.endMs - bound, 'threads idle at the end while others finished their last jobs'],
    [idle.afterMs, 'handing over the last results'],
  ];
  const [most, what] = parts.reduce((a, b) => (b[0] > a[0] ? b : a));
  return most > 0 && most <= e.overheadMs ? `, most of it to ${what} (${ms(most)} a thread)` : '';
}

function verdict(e: Explanation): string {
  if (e.workMs === 0) return 'no task ran.';
  const ceiling = `${e.threads}x`;
  const bound =
    e.limitedBy === 'span'
      ? `the critical path is ${ms(e.spanMs)} of ${ms(e.workMs)} of work, so no number of threads beats ${times(e.parallelism)}`
      : `${counted(e.threads, 'thread')} ${e.threads === 1 ? 'shares' : 'share'} ${ms(e.workMs)} of work, so ${ms(e.boundMs)} at best`;
  const lost =
    e.overheadMs > 0
      ? `; the other ${ms(e.overheadMs)} (${percent(e.overheadMs / e.wallMs)} of the wall time) went to start-up, dispatch, queueing, idle threads and order${mostIdle(e)}`
      : '';
  // Past a little noise, work that grew in parallel is a cause of its own.
  const grew =
    e.workGrowth !== undefined && e.workGrowth > 1.1
      ? `; and the work itself took ${times(e.workGrowth)} as long as alone: the threads slowed each other (shared cores, memory, caches, other processes)`
      : '';
  return `not ${ceiling} because ${bound}${lost}${grew}.`;
}
