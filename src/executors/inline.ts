// Runs tasks one at a time in the calling thread: the sequential baseline, and the
// executor that pure-policy tests use. Inputs are structured-cloned and outputs checked
// for cloneability, as between threads, so a task behaves (and fails) the same way on
// both executors. What it cannot do: stop code that never yields (a timeout abandons the
// attempt instead), or survive process.exit() and out-of-memory in a task.

import { runRequest } from '../../workers/task-host.js';
import { onAbort, type Stop } from '../abort.js';
import type { TaskRequest, TaskResponse } from '../protocol.js';
import {
  ExecFailure,
  type Executor,
  type StopOptions,
  type StopTaking,
  TAKES_STOP,
} from './types.js';

interface Pending {
  readonly request: TaskRequest;
  /** Input buffers to move (detach on the caller's side) rather than copy, as a thread would. */
  readonly transfer: readonly ArrayBuffer[] | undefined;
  readonly signal: AbortSignal | Stop;
  /** Rejects when the attempt's signal aborts. */
  readonly aborted: Promise<never>;
  readonly onStart: (() => void) | undefined;
  readonly resolve: (response: TaskResponse) => void;
  readonly reject: (failure: ExecFailure) => void;
  /** Removes the abort listener once the attempt is over. */
  readonly done: () => void;
}

function clone<T>(value: T, what: string, transfer?: readonly ArrayBuffer[]): T {
  try {
    return structuredClone(value, transfer ? { transfer: [...transfer] } : undefined);
  } catch (error) {
    throw new ExecFailure('data-clone', `${what}: ${(error as Error).message}`, error);
  }
}

export class InlineExecutor implements Executor, StopTaking {
  readonly [TAKES_STOP] = true;
  readonly kind = 'inline';
  readonly parallelism = 1;
  readonly #queue: Pending[] = [];
  #running: Pending | undefined;
  #closed = false;
  #drained: (() => void) | undefined;

  execute(request: TaskRequest, { signal, transfer, onStart }: StopOptions): Promise<TaskResponse> {
    if (this.#closed) return Promise.reject(new ExecFailure('closed', 'executor is closed'));
    if (signal.aborted) return Promise.reject(new ExecFailure('aborted', 'aborted'));
    return new Promise<TaskResponse>((resolve, reject) => {
      let abort: () => void = () => {};
      const aborted = new Promise<never>((_, rejectAborted) => {
        abort = () => {
          const at = this.#queue.indexOf(pending);
          if (at !== -1) this.#queue.splice(at, 1);
          rejectAborted(new ExecFailure('aborted', 'aborted'));
        };
      });
      aborted.catch(reject);
      const pending: Pending = {
        request,
        transfer,
        signal,
        aborted,
        onStart,
        resolve,
        reject,
        done: onAbort(signal, abort),
      };
      this.#queue.push(pending);
      if (!this.#running) void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      this.#running = next;
      // The event loop turns before each attempt (I/O, timers, signals such as Ctrl-C):
      // attempts of synchronous tasks, each sent as the last one ends, would otherwise hold
      // it until no work is left, and results could only be written at the end.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (next.signal.aborted) {
        next.done();
        continue;
      }
      try {
        const inputs = clone(next.request.inputs, 'input', next.transfer);
        // A running attempt that is aborted is abandoned, not stopped: code in this
        // thread cannot be interrupted from outside. Its result is discarded.
        const response = await Promise.race([
          runRequest({ ...next.request, inputs }, next.onStart),
          next.aborted,
        ]);
        // The host checks a chunk of one itself; a bigger chunk whose outputs could not
        // cross a thread fails as a whole, as it would on a worker (its items are then run
        // one by one to find the culprit).
        if (inputs.length > 1) clone(response.values, 'output');
        next.resolve(response);
      } catch (error) {
        next.reject(error as ExecFailure);
      } finally {
        next.done();
      }
    }
    this.#running = undefined;
    this.#drained?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#running) return;
    await new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    const abandoned = [...this.#queue];
    this.#queue.length = 0;
    if (this.#running) abandoned.push(this.#running);
    for (const pending of abandoned) {
      pending.done();
      pending.reject(new ExecFailure('closed', 'executor was destroyed'));
    }
  }
}
