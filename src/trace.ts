// A call's trace: when each attempt was queued, started and ended, and on which thread.
// It exports as Chrome trace event JSON (one track per thread, a complete "X" event per
// attempt; opens in Perfetto and chrome://tracing) and explains the run (src/explain.ts).
import type { AttemptRecord } from './call.js';
import type { Deps } from './dag.js';
import type { JobKey } from './errors.js';
import { type ExplainOptions, type Explanation, explain, formatExplanation } from './explain.js';

/** Which runner method made the call. */
export type CallKind = 'run' | 'all' | 'any' | 'spawn' | 'map' | 'graph';

/** One event of the Chrome trace event format (the subset fanout writes). */
export interface ChromeTraceEvent {
  readonly name: string;
  /** `'X'`: a complete event (ts + dur); `'M'`: metadata (process and thread names). */
  readonly ph: 'X' | 'M';
  /** Microseconds from the call's start. */
  readonly ts: number;
  /** Microseconds (complete events). */
  readonly dur?: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

/** A Chrome trace in the JSON object format: `JSON.stringify` it to a `.json` file. */
export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: 'ms';
  readonly otherData: Readonly<Record<string, unknown>>;
}

export interface CallTraceInit {
  readonly kind: CallKind;
  /** When the call started and ended (ms since the epoch, like the attempts' times). */
  readonly started: number;
  readonly ended: number;
  /** Threads the call could use. */
  readonly threads: number;
  readonly attempts: readonly AttemptRecord[];
  /** Each node's dependencies, for a graph. */
  readonly deps?: Deps | undefined;
  /** The task (export name) of a job, for the event names; undefined for main-thread jobs. */
  readonly taskOf?: ((job: JobKey) => string | undefined) | undefined;
}

const PID = 1;
const MAIN_THREAD = 0;
const UNKNOWN_THREAD = -1;
const us = (ms: number) => Math.round(ms * 1000 * 1000) / 1000;

/** What `onTrace` receives when a call ends. */
export class CallTrace {
  readonly kind: CallKind;
  /** When the call started (ms since the epoch). */
  readonly started: number;
  /** When the call ended (ms since the epoch). */
  readonly ended: number;
  readonly threads: number;
  /**
   * Every attempt, in order of start: job, attempt number, when it was queued, started and
   * ended (ms since the epoch), its thread (0: the main thread; -1: unknown, an attempt
   * stopped with its worker), status and error code.
   */
  readonly attempts: readonly AttemptRecord[];
  /** Each node's dependencies, for a graph; undefined for other calls. */
  readonly deps: Deps | undefined;
  readonly #taskOf: ((job: JobKey) => string | undefined) | undefined;

  constructor(init: CallTraceInit) {
    this.kind = init.kind;
    this.started = init.started;
    this.ended = init.ended;
    this.threads = init.threads;
    this.attempts = [...init.attempts].sort((a, b) => a.start - b.start);
    this.deps = init.deps;
    this.#taskOf = init.taskOf;
  }

  /** From the call's start to its end (ms). */
  get wallMs(): number {
    return this.ended - this.started;
  }

  /**
   * The trace in Chrome's trace event format: a track per thread (the main thread, each
   * worker, and one for attempts whose worker is unknown), a complete event per attempt.
   */
  toChromeTrace(): ChromeTrace {
    const ids = new Set(this.attempts.map((a) => a.thread));
    const known = [...ids].filter((id) => id !== UNKNOWN_THREAD).sort((a, b) => a - b);
    // Track ids must be distinct; put the unknown one after every real thread.
    const unknownTid = Math.max(MAIN_THREAD, ...known) + 1;
    const tid = (thread: number) => (thread === UNKNOWN_THREAD ? unknownTid : thread);
    const events: ChromeTraceEvent[] = [
      {
        name: 'process_name',
        ph: 'M',
        ts: 0,
        pid: PID,
        tid: 0,
        args: { name: `fanout ${this.kind}` },
      },
    ];
    const tracks = ids.has(UNKNOWN_THREAD) ? [...known, UNKNOWN_THREAD] : known;
    tracks.forEach((thread, index) => {
      const name =
        thread === MAIN_THREAD
          ? 'main thread'
          : thread === UNKNOWN_THREAD
            ? 'worker unknown (attempt stopped)'
            : `worker ${thread}`;
      events.push({
        name: 'thread_name',
        ph: 'M',
        ts: 0,
        pid: PID,
        tid: tid(thread),
        args: { name },
      });
      events.push({
        name: 'thread_sort_index',
        ph: 'M',
        ts: 0,
        pid: PID,
        tid: tid(thread),
        args: { sort_index: index },
      });
    });
    for (const a of this.attempts) {
      const task = this.#taskOf?.(a.job);
      const job = typeof a.job === 'number' ? `job ${a.job}` : a.job;
      events.push({
        name: a.attempt > 1 ? `${job} (attempt ${a.attempt})` : job,
        cat: a.status,
        ph: 'X',
        ts: us(a.start - this.started),
        dur: us(Math.max(0, a.end - a.start)),
        pid: PID,
        tid: tid(a.thread),
        args: {
          job: a.job,
          attempt: a.attempt,
          status: a.status,
          waitMs: Math.max(0, a.start - a.queued),
          ...(task === undefined ? {} : { task }),
          ...(a.code === undefined ? {} : { code: a.code }),
        },
      });
    }
    return {
      traceEvents: events,
      displayTimeUnit: 'ms',
      otherData: { kind: this.kind, threads: this.threads, wallMs: this.wallMs },
    };
  }

  /** Work, span, the bound they set on this many threads, and what the call achieved. */
  explain(options?: ExplainOptions): Explanation {
    return explain(
      {
        attempts: this.attempts,
        deps: this.deps,
        wallMs: this.wallMs,
        threads: this.threads,
        started: this.started,
      },
      options,
    );
  }

  /** `explain()` as a few lines of text. */
  summary(options?: ExplainOptions): string {
    return formatExplanation(this.explain(options), `fanout ${this.kind}`);
  }
}
