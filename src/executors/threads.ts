// Everything Piscina-specific lives here. One worker per core (min = max threads):
// CPU-bound work gains nothing from more threads than cores, and a fixed pool avoids
// paying worker start-up in the middle of a run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  MessageChannel,
  type MessagePort,
  type ResourceLimits,
  type Transferable,
  type Worker,
} from 'node:worker_threads';
import { Piscina } from 'piscina';
import { onAbort, Stop } from '../abort.js';
import { usableCores } from '../machine.js';
import {
  fromWire,
  isError,
  now,
  type OpenSession,
  type SessionMessage,
  type TaskRequest,
  type TaskResponse,
  toWire,
  type WireRequest,
  type WireResponse,
} from '../protocol.js';
import {
  ExecFailure,
  type Executor,
  type Session,
  type StopOptions,
  type StopTaking,
  TAKES_STOP,
} from './types.js';

/** Why the executor stops a task itself: no thread is left to run it. */
const STRANDED = Symbol('stranded');

/** Times in a row a stranded task is sent again before no thread is taken to be able to start. */
const STRAND_TRIES = 3;

/** The failure of a task that no thread could be started to run. */
function stranded(lastError: unknown): ExecFailure {
  const why = isError(lastError) ? lastError.message : 'each died as it started';
  const cause = new Error(`no thread could start: ${why}`, { cause: lastError });
  return new ExecFailure('worker-exited', cause.message, cause);
}

export interface ThreadsExecutorOptions {
  readonly threads?: number;
  readonly idleTimeout?: number;
  readonly resourceLimits?: ResourceLimits;
  /**
   * Hears what a thread died of when no task of it was running (an exception or a rejection
   * that a finished task left behind, on a timer): nothing else hears of it. Only once some
   * task has run: before, a thread dying is one that could not start, which the tasks
   * waiting for it fail with.
   */
  readonly onIdleDeath?: (error: unknown) => void;
}

// Compiled, the host's entry sits beside this file's output (dist/workers/entry.cjs). Run
// from source (tests, tsx), there is no entry.cjs beside src/, so use the build's. The
// entry is CommonJS so that Piscina's require() of it never goes through require(esm),
// which can abort the process (see workers/entry.cts).
function hostFilename(): string {
  const compiled = new URL('../../workers/entry.cjs', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return fileURLToPath(compiled);
  const built = new URL('../../dist/workers/entry.cjs', import.meta.url);
  if (existsSync(fileURLToPath(built))) return fileURLToPath(built);
  throw new Error(
    `fanout's worker host is not built (looked for ${fileURLToPath(built)}): run \`npm run build\``,
  );
}

function classify(error: unknown): ExecFailure {
  if (error instanceof ExecFailure) return error;
  const e = error as Error;
  if (e?.name === 'AbortError') return new ExecFailure('aborted', e.message, e);
  if (e?.name === 'DataCloneError') return new ExecFailure('data-clone', e.message, e);
  return new ExecFailure('worker-exited', e?.message ?? String(error), error);
}

/**
 * Why a request was not sent: an input could not be cloned, or a getter of one threw while
 * it was read (cloning would throw the same). The thread is fine.
 */
const unsent = (error: unknown): ExecFailure =>
  error instanceof ExecFailure
    ? error
    : new ExecFailure('data-clone', (error as Error | null)?.message ?? String(error), error);

/** A request as it crosses: objects of the same shape go by column (see protocol.ts). */
const wire = (request: TaskRequest): WireRequest => {
  try {
    return { ...request, inputs: toWire(request.inputs, request.transfer) };
  } catch (error) {
    throw unsent(error);
  }
};

/**
 * A response as the scheduler takes it: values sent by column made objects again. Throws
 * an ExecFailure if they cannot be (nothing known does that), so that no failure is lost
 * in a message handler.
 */
const unwire = (response: WireResponse): TaskResponse => {
  try {
    const start = now();
    const values = fromWire(response.values);
    return { ...response, values, receivedMs: now() - start };
  } catch (error) {
    throw new ExecFailure('data-clone', `the outputs could not be received: ${error}`, error);
  }
};

/** What a request moves rather than copies: its inputs' buffers, its progress port. */
const transferList = (
  request: TaskRequest,
  transfer: readonly ArrayBuffer[] | undefined,
): Transferable[] => [
  ...(transfer ?? []),
  ...(request.progress ? [request.progress] : []),
  ...(request.started ? [request.started] : []),
];

export class ThreadsExecutor implements Executor, StopTaking {
  readonly [TAKES_STOP] = true;
  readonly kind = 'threads';
  readonly parallelism: number;
  readonly #pool: Piscina<WireRequest | OpenSession, WireResponse | undefined>;
  #closed = false;
  /** Threads ended so far, for any reason: a task failed with none ending was never sent. */
  #ended = 0;
  /** Tasks of the pool under way, which close() waits for. */
  readonly #running = new Set<Promise<unknown>>();
  /** How to stop each task given to the pool and not yet over (see #strandedTasks). */
  readonly #stoppers = new Set<Stop>();
  /** What the last thread that died with no task of its own died of. */
  #lastError: unknown;
  /** Times in a row tasks were left queued with no thread, none run since. */
  #strandings = 0;
  #destroyed = false;
  /** Some task has run on a thread: threads can start. */
  #ran = false;
  /** A thread ended in this turn of the event loop (see the pool's 'error'). */
  #endedNow = false;

  constructor(options: ThreadsExecutorOptions = {}) {
    this.parallelism = options.threads ?? usableCores();
    this.#pool = new Piscina({
      filename: hostFilename(),
      // With an idle timeout, threads start as work comes and end when idle that long
      // (Piscina's own default, 0, would end them the moment they are idle).
      minThreads: options.idleTimeout === undefined ? this.parallelism : 0,
      maxThreads: this.parallelism,
      // Piscina's default ('sync') parks an idle worker in Atomics.wait: its event loop
      // stands still between tasks, so what a task leaves behind waits for the next one,
      // however much later. Each closed port of an attempt (the start port of one with a
      // timeout) stayed in the worker's heap (~1 KB an attempt, until the worker ran out
      // of memory), and a task's late crash (an unhandled rejection, a timer that throws)
      // waited, however long the worker idled, to fail a job of a later call (now it ends
      // the idle worker; a job sent before the crash lands still fails). Most chunks
      // travel on a session's port anyway, which never used the atomics: measured, no
      // slower (100,000 × 1 µs 1.48x with them, 1.56x without; runner.run 114–118 µs
      // against 119–122 µs).
      atomics: 'disabled',
      ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    // Piscina emits on the pool what a thread died of when no task of it was running (a
    // task's late crash, or a thread that could not start): it must not crash the process
    // as an unhandled 'error'.
    this.#pool.on('error', (error: unknown) => {
      this.#lastError = error;
      // (Piscina says so at once after the thread's end; it also emits errors that end no
      // thread, such as an answer to a task it had dropped.)
      if (this.#endedNow && this.#ran && !this.#destroyed) options.onIdleDeath?.(error);
    });
    this.#pool.on('workerDestroy', () => {
      this.#endedNow = true;
      queueMicrotask(() => {
        this.#endedNow = false;
      });
      this.#ended++;
      setImmediate(() => this.#strandedTasks());
    });
  }

  /**
   * Once no thread is left, tasks waiting in Piscina's queue would wait forever: a thread
   * that died while it started (a heap limit too small for Node to boot) made Piscina
   * start no more for the pool's minimum, and with an idle timeout the pool has none. They
   * are sent again, which starts a thread; after STRAND_TRIES times in a row with no task
   * run, they fail, as their threads' deaths.
   */
  #strandedTasks(): void {
    if (this.#destroyed || this.#pool.threads.length > 0 || this.#pool.queueSize === 0) return;
    this.#strandings++;
    for (const stopper of this.#stoppers) stopper.abort(STRANDED);
  }

  async execute(
    request: TaskRequest,
    { signal, transfer, onStart }: StopOptions,
  ): Promise<TaskResponse> {
    // The worker tells, on a port of this attempt's own, when its task starts (asked only
    // by attempts with a timeout).
    const channel = onStart ? new MessageChannel() : undefined;
    if (channel && onStart) channel.port1.once('message', onStart);
    const sent = channel ? { ...request, started: channel.port2 } : request;
    try {
      return unwire((await this.#run(wire(sent), signal, transferList(sent, transfer)))!);
    } finally {
      channel?.port1.close();
    }
  }

  open(signal: AbortSignal | Stop): Session {
    let waiting:
      | { resolve: (r: TaskResponse) => void; reject: (e: ExecFailure) => void }
      | undefined;
    let started = false;
    // Why the session is over: closed, or the failure that ended it.
    let over: ExecFailure | 'closed' | undefined;
    // Made with the first attempt that is not the last: a session of one attempt is a
    // plain task of the pool, stopped by `signal` like any other.
    let port: MessagePort | undefined;
    // A session's own stop: aborting `signal` stops its thread only while an attempt runs;
    // between attempts (its chunk answered, the call stopping) the session just ends.
    let stop: Stop | undefined;
    let unhear: (() => void) | undefined;
    const aborted = () => {
      unhear = undefined;
      if (waiting) stop?.abort(signal.reason);
      else close();
    };
    const unlisten = () => {
      unhear?.();
      unhear = undefined;
    };
    const answer = (response: WireResponse) => {
      const pending = waiting;
      waiting = undefined;
      try {
        pending?.resolve(unwire(response));
      } catch (failure) {
        pending?.reject(failure as ExecFailure);
      }
    };
    const end = (failure: ExecFailure) => {
      unlisten();
      over ??= failure;
      port?.close();
      const pending = waiting;
      waiting = undefined;
      pending?.reject(failure);
    };
    const close = () => {
      unlisten();
      if (over) return;
      port?.postMessage(null);
      over = 'closed';
    };
    // The session is a task of the pool that carries the first attempt, so stopping it
    // terminates its thread, and the thread's death (or the pool's) ends it as it would end
    // a task. The last attempt's answer is the task's result.
    const start = (first: WireRequest, last: boolean, transfer: Transferable[]) => {
      started = true;
      let task: WireRequest | OpenSession = first;
      let stopping = signal;
      if (!last) {
        const channel = new MessageChannel();
        port = channel.port1;
        port.on('message', answer);
        task = { session: channel.port2, first };
        transfer = [channel.port2, ...transfer];
        stop ??= new Stop();
        stopping = stop;
        unhear = onAbort(signal, aborted);
      }
      this.#run(task, stopping, transfer).then(
        (response) => {
          // Ended by its last attempt, or by close(). An attempt after a last one starts
          // the session again.
          unlisten();
          port?.close();
          port = undefined;
          started = false;
          if (response) answer(response);
        },
        (failure: ExecFailure) => end(failure),
      );
    };
    return {
      execute: (request, transfer, last) => {
        if (signal.aborted) return Promise.reject(new ExecFailure('aborted', 'aborted'));
        if (over === 'closed')
          return Promise.reject(new ExecFailure('closed', 'the session was closed'));
        if (over) return Promise.reject(over);
        return new Promise<TaskResponse>((resolve, reject) => {
          try {
            const wired = wire(request);
            waiting = { resolve, reject };
            if (!started) {
              start(wired, last, transferList(request, transfer));
              return;
            }
            const message: SessionMessage = { request: wired, last };
            port!.postMessage(message, transferList(request, transfer));
          } catch (error) {
            // Nothing was sent (an input that cannot be cloned, or whose getter threw): the
            // thread is fine, but the session ends with the attempt, as every failed
            // attempt ends it.
            waiting = undefined;
            reject(unsent(error));
            close();
          }
        });
      },
      close,
    };
  }

  /**
   * Runs a task of the pool; rejects only with an ExecFailure. Counted as running until
   * it settles, its thread's exit awaited included (close() waits for it: a task left in
   * the set after it settled made close() wait on it in a loop of microtasks that never
   * let that exit arrive).
   */
  #run(
    task: WireRequest | OpenSession,
    signal: AbortSignal | Stop,
    transferList: readonly Transferable[],
  ): Promise<WireResponse | undefined> {
    const running = this.#runTask(task, signal, transferList);
    this.#running.add(running);
    const settled = () => this.#running.delete(running);
    running.then(settled, settled);
    return running;
  }

  async #runTask(
    task: WireRequest | OpenSession,
    signal: AbortSignal | Stop,
    transferList: readonly Transferable[],
  ): Promise<WireResponse | undefined> {
    if (this.#closed) throw new ExecFailure('closed', 'executor is closed');
    // Piscina terminates the worker of an aborted running task but does not wait for
    // it to exit. Note the threads alive when the abort comes, before the pool hears of
    // it, so the failure is reported only once the stopped thread is gone. (The pool
    // hears of the caller's abort, or of this executor's: see #strandedTasks.)
    let before: Set<Worker> | undefined;
    let stopper: Stop | undefined;
    const unhear = onAbort(signal, () => {
      before = new Set(this.#pool.threads);
      stopper?.abort(signal.reason);
    });
    const ended = this.#ended;
    try {
      for (;;) {
        if (signal.aborted) throw new ExecFailure('aborted', 'aborted');
        // (Piscina takes a Stop for its signal, as an event emitter: see Stop.)
        const current = new Stop();
        stopper = current;
        this.#stoppers.add(current);
        try {
          const response = await this.#pool.run(task, {
            signal: current,
            ...(transferList.length > 0 ? { transferList: transferList as Transferable[] } : {}),
          });
          this.#strandings = 0; // a thread ran it: threads can start
          this.#ran = true;
          return response;
        } catch (error) {
          // Left in the queue with no thread: sent again, it makes Piscina start one,
          // unless threads died as they started that many times in a row.
          const strandedHere = current.reason === STRANDED;
          if (strandedHere && this.#strandings < STRAND_TRIES) continue;
          let failure = this.#destroyed
            ? new ExecFailure('closed', 'executor was destroyed', error)
            : strandedHere
              ? stranded(this.#lastError)
              : classify(error);
          // Piscina fails a task whose message could not be posted with what posting threw
          // (a getter's error, not only a DataCloneError), and a task whose thread died with
          // what killed it, after ending the thread: no thread ended, so it was never sent.
          if (failure.kind === 'worker-exited' && this.#ended === ended) failure = unsent(error);
          if (failure.kind === 'aborted' && before) await this.#exited(before);
          throw failure;
        } finally {
          this.#stoppers.delete(current);
        }
      }
    } finally {
      unhear();
    }
  }

  async #exited(before: Set<Worker>): Promise<void> {
    const alive = new Set(this.#pool.threads);
    const stopped = [...before].filter((w) => !alive.has(w) && w.threadId !== -1);
    await Promise.all(
      stopped.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve()))),
    );
  }

  /**
   * Waits for the tasks under way, then ends the threads. (Piscina's own close() keeps the
   * pool alive 30 s after, by a timer it never clears: a server making a runner per request
   * held every closed one's pool that long.)
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    await this.#pool.destroy();
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    this.#destroyed = true;
    await this.#pool.destroy();
  }
}
