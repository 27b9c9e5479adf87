// runner.map(): one task over a stream of inputs (any Iterable or AsyncIterable), results
// streamed back in input order or as they complete, in bounded memory. A window caps the
// inputs read ahead, in flight and finished-but-unconsumed, so a slow consumer slows the
// reading, and leaving the loop early stops the work and frees the threads.
import type { CallConfig, CallEnv, CallHandle, JobSource, Outcome } from './call.js';
import { startCall } from './call.js';
import { invalidType } from './errors.js';
import type { Task } from './task.js';

/** Adapts an iterable of inputs into the engine's job source. */
export function iterableSource(
  task: Task,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
): JobSource {
  const known = Array.isArray(inputs) ? inputs.length : undefined;
  let index = 0;
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  const open = () => {
    if (iterator) return iterator;
    if (typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      iterator = (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } else {
      iterator = (inputs as Iterable<unknown>)[Symbol.iterator]();
    }
    return iterator;
  };
  const spec = (result: IteratorResult<unknown>) =>
    result.done ? undefined : { key: index++, task, input: result.value };
  return {
    next() {
      const result = open().next();
      return result instanceof Promise ? result.then(spec) : spec(result);
    },
    remaining: () => (known === undefined ? undefined : known - index),
    close() {
      // A generator's finally blocks run; a stream is destroyed.
      void Promise.resolve()
        .then(() => iterator?.return?.())
        .catch(() => {});
    },
  };
}

export function assertIterable(value: unknown, what: string): void {
  const ok =
    value != null &&
    typeof value !== 'string' &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
  if (!ok) {
    throw invalidType(
      what,
      'an Iterable or AsyncIterable of inputs (an array, a generator, a stream)',
      value,
    );
  }
}

interface Waiter {
  readonly resolve: (result: IteratorResult<Outcome>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The results of `runner.map()`: iterate it with `for await`, or collect it with
 * `toArray()`. The work starts when iteration starts, and stops when iteration stops.
 */
export class MapStream<T> implements AsyncIterable<T> {
  readonly #start: (sink: (index: number, outcome: Outcome) => void) => CallHandle;
  readonly #ordered: boolean;
  readonly #settle: boolean;
  #started = false;

  /** @internal */
  constructor(
    start: (sink: (index: number, outcome: Outcome) => void) => CallHandle,
    options: { ordered: boolean; settle: boolean },
  ) {
    this.#start = start;
    this.#ordered = options.ordered;
    this.#settle = options.settle;
  }

  /** Collects every result into an array (in input order unless `ordered: false`). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const value of this) out.push(value);
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#started) throw new Error('A map() stream can be iterated only once');
    this.#started = true;
    const ordered = this.#ordered;
    const settle = this.#settle;
    const buffered = new Map<number, Outcome>(); // ordered: by index
    const arrived: Outcome[] = []; // unordered: by completion
    let nextIndex = 0;
    let waiter: Waiter | undefined;
    let ended = false;
    let failure: { error: unknown } | undefined;

    const take = (): Outcome | undefined => {
      if (!ordered) return arrived.shift();
      const outcome = buffered.get(nextIndex);
      if (outcome) {
        buffered.delete(nextIndex);
        nextIndex++;
      }
      return outcome;
    };

    const handle = this.#start((index, outcome) => {
      // Cancelled outcomes only come once the call has stopped (abort, a failure, the
      // consumer leaving): the stream ends with that cause instead.
      if (failure) return;
      if (outcome.status === 'rejected' && outcome.reason.code === 'ERR_TASK_CANCELLED') return;
      if (!settle && outcome.status === 'rejected') {
        failure = { error: outcome.reason };
      } else if (ordered) {
        buffered.set(index, outcome);
      } else {
        arrived.push(outcome);
      }
      wake();
    });

    const wake = () => {
      if (!waiter) return;
      const w = waiter;
      if (failure) {
        // Fail only once the call has stopped everything, so no thread is still busy.
        if (ended) {
          waiter = undefined;
          w.reject(failure.error);
        }
        return;
      }
      const outcome = take();
      if (outcome) {
        waiter = undefined;
        handle.release(1);
        w.resolve({ done: false, value: outcome });
      } else if (ended) {
        waiter = undefined;
        w.resolve({ done: true, value: undefined });
      }
    };

    void handle.done.then((record) => {
      ended = true;
      if (!failure) {
        if (record.sourceError) failure = { error: record.sourceError.error };
        else if (record.aborted) failure = { error: record.aborted.reason };
      }
      wake();
    });

    const next = (): Promise<IteratorResult<Outcome>> =>
      new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        wake();
      });

    return {
      next: async () => {
        const result = await next();
        if (result.done) return { done: true, value: undefined };
        const outcome = result.value;
        return {
          done: false,
          value: (settle ? outcome : (outcome as { value: unknown }).value) as T,
        };
      },
      return: async () => {
        // Leaving the loop: stop the work, wait until the threads are free.
        if (!ended) {
          handle.cancel(new Error('the map() consumer stopped reading'));
          await handle.done;
        }
        return { done: true, value: undefined };
      },
    };
  }
}

/** Starts the engine for a map over `inputs`. */
export function startMap(
  task: Task,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  config: CallConfig,
  env: CallEnv,
  sink: (index: number, outcome: Outcome) => void,
): CallHandle {
  return startCall(iterableSource(task, inputs), config, env, sink);
}
