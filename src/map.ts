// runner.map(): one task over a stream of inputs (any Iterable or AsyncIterable), results
// streamed back in input order or as they complete, in bounded memory. A window caps the
// inputs read ahead, in flight and finished-but-unconsumed, so a slow consumer slows the
// reading, and leaving the loop early stops the work and frees the threads.
import { Readable } from 'node:stream';
import type {
  CallConfig,
  CallEnv,
  CallHandle,
  InputSource,
  OutcomeSink,
  ValueSink,
} from './call.js';
import { END, inputsSource, isPlainArray, startCall } from './call.js';
import { invalidType, MapConsumedError } from './errors.js';
import type { Values } from './protocol.js';
import { Line } from './queue.js';
import type { Task } from './task.js';

/** Adapts an iterable of inputs into the engine's source of one task's inputs. */
export function iterableSource(
  task: Task,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
): InputSource {
  const async = typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  if (!async && isPlainArray(inputs)) return inputsSource(task, inputs);
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  const open = () => {
    iterator ??= async
      ? (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (inputs as Iterable<unknown>)[Symbol.iterator]();
    return iterator;
  };
  const input = (result: IteratorResult<unknown>) => {
    // As in for-of and for await, a result that is no object fails the source.
    if ((typeof result !== 'object' && typeof result !== 'function') || result === null) {
      throw new TypeError(`Iterator result ${String(result)} is not an object`);
    }
    return result.done ? END : result.value;
  };
  return {
    task,
    async,
    next() {
      const result = open().next();
      // (Promise.resolve: an async iterator whose next() answers with a plain result.)
      return async ? Promise.resolve(result).then(input) : input(result as IteratorResult<unknown>);
    },
    remaining: () => undefined,
    close() {
      // A generator's finally blocks run; a stream is destroyed, at once: its iterator's
      // return() would wait for a read under way, which may never end.
      if (inputs instanceof Readable) inputs.destroy();
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
  readonly resolve: (result: IteratorResult<unknown>) => void;
  readonly reject: (error: unknown) => void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Marks an empty slot: a result itself may be `undefined`. */
const EMPTY: unique symbol = Symbol('empty');
type Slot = unknown;

/**
 * Finished results waiting for the consumer, in input order: a ring indexed by job
 * index, grown when a result lands further ahead than it holds. No per-item allocation.
 */
class OrderedBuffer {
  #slots: Slot[] = new Array(64).fill(EMPTY);
  #mask = 63;
  #next = 0;

  put(index: number, result: unknown): void {
    while (index - this.#next > this.#mask) this.#grow();
    this.#slots[index & this.#mask] = result;
  }

  /** Puts `values[from]` to `values[to - 1]`, the results of `first`, `first + 1`... */
  putRun(first: number, values: Values, from: number, to: number): void {
    while (first + (to - from) - 1 - this.#next > this.#mask) this.#grow();
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = from; i < to; i++) slots[(first + i - from) & mask] = values[i];
  }

  take(): unknown {
    const at = this.#next & this.#mask;
    const result = this.#slots[at];
    if (result !== EMPTY) {
      this.#slots[at] = EMPTY;
      this.#next++;
    }
    return result;
  }

  /** Takes every result that is next in order into `out`; returns how many. */
  takeInto(out: unknown[]): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const start = this.#next;
    let next = start;
    for (let result = slots[next & mask]; result !== EMPTY; result = slots[next & mask]) {
      out.push(result);
      slots[next & mask] = EMPTY;
      next++;
    }
    this.#next = next;
    return next - start;
  }

  #grow(): void {
    const old = this.#slots;
    const oldMask = this.#mask;
    this.#mask = oldMask * 2 + 1;
    this.#slots = new Array(this.#mask + 1).fill(EMPTY);
    for (let i = this.#next; i <= this.#next + oldMask; i++) {
      this.#slots[i & this.#mask] = old[i & oldMask];
    }
  }
}

/** Finished results in completion order: an array with a moving head. */
class ArrivalBuffer {
  readonly #line = new Line<unknown>();

  put(_index: number, result: unknown): void {
    this.#line.push(result);
  }

  putRun(_first: number, values: Values, from: number, to: number): void {
    for (let i = from; i < to; i++) this.#line.push(values[i]);
  }

  takeInto(out: unknown[]): number {
    let count = 0;
    for (let result = this.take(); result !== EMPTY; result = this.take()) {
      out.push(result);
      count++;
    }
    return count;
  }

  take(): unknown {
    // (A result may be undefined: the line's length says whether there is one.)
    return this.#line.length === 0 ? EMPTY : this.#line.shift();
  }
}

/**
 * Results collected straight into toArray()'s array: each at its index (in order, where
 * the array was made as long as the input), or each after the last (as they come). No
 * buffer and no second copy: pushing into an array of 100,000 costs ~20 ns an element
 * (V8 grows its store again and again), a store at an index of one made that long ~1 ns.
 */
class Collection {
  readonly #out: unknown[];
  readonly #ordered: boolean;
  /** Results put in all, and those of them takeInto() has counted. */
  #arrived = 0;
  #counted = 0;

  constructor(out: unknown[], ordered: boolean) {
    this.#out = out;
    this.#ordered = ordered;
  }

  put(index: number, result: unknown): void {
    this.#out[this.#ordered ? index : this.#arrived] = result;
    this.#arrived++;
  }

  putRun(first: number, values: Values, from: number, to: number): void {
    const out = this.#out;
    const at = (this.#ordered ? first : this.#arrived) - from;
    for (let i = from; i < to; i++) out[at + i] = values[i];
    this.#arrived += to - from;
  }

  take(): unknown {
    return EMPTY;
  }

  /** How many results came since it was last asked: they are in the array already. */
  takeInto(): number {
    const count = this.#arrived - this.#counted;
    this.#counted = this.#arrived;
    return count;
  }

  /** The array, as long as the results that came (a shorter input leaves no holes). */
  get collected(): unknown[] {
    this.#out.length = this.#arrived;
    return this.#out;
  }
}

/** How a map's stream ends: complete, or with the error to throw. */
type Ending = { readonly error: false } | { readonly error: true; readonly cause: unknown };

/**
 * One run of a map from the consumer's side: results go into a buffer (values in
 * fail-fast mode, whole outcomes in settle mode), the consumer takes them, and the stream
 * ends with the call, or with its failure once every thread is free.
 */
class Consumption {
  readonly handle: CallHandle;
  /** Once the call's end was reported: what the caller's callbacks threw, if one did. */
  readonly thrown: Promise<{ readonly error: unknown } | undefined>;
  readonly #buffer: OrderedBuffer | ArrivalBuffer | Collection;
  #ended = false;
  #failure: { error: unknown } | undefined;
  /** Called whenever there may be something new: a result, the end. */
  #wake: () => void = () => {};

  constructor(
    start: MapStart,
    buffer: OrderedBuffer | ArrivalBuffer | Collection,
    settle: boolean,
  ) {
    this.#buffer = buffer;
    const onValue: ValueSink = {
      one: (index, value) => {
        if (this.#failure) return;
        buffer.put(index, value);
        this.#wake();
      },
      run: (first, values, from, to) => {
        if (this.#failure) return;
        buffer.putRun(first, values, from, to);
        this.#wake();
      },
    };
    const { handle, finished } = start(
      (index, outcome, stoppedCall) => {
        if (this.#failure) return;
        if (outcome.status === 'rejected') {
          // Fail-fast ends the stream with what stopped the call: this failure, else (at
          // the end) the abort or the source's error, not a failure that came after it.
          if (!settle) {
            if (stoppedCall) this.#failure = { error: outcome.reason };
            return;
          }
          // Cancelled outcomes come once the call has stopped (abort, the consumer
          // leaving): the stream ends with that cause instead. (One that comes otherwise,
          // an executor closed under the call, is the job's outcome.)
          const stopping = this.handle === undefined || this.handle.stopped();
          if (outcome.reason.code === 'ERR_TASK_CANCELLED' && stopping) return;
        }
        buffer.put(index, outcome);
        this.#wake();
      },
      settle ? undefined : onValue,
    );
    this.handle = handle;
    this.thrown = finished.then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    void Promise.all([handle.done, finished]).then(
      ([record]) => {
        if (!this.#failure) {
          if (record.sourceError) this.#failure = { error: record.sourceError.error };
          else if (record.aborted) this.#failure = { error: record.aborted.reason };
        }
        this.#end();
      },
      (error: unknown) => {
        // The caller's onStats, onTrace, onProgress or retryOn threw: the stream fails with
        // that, even after a job's failure (as all() does), or the mistake would go unseen.
        this.#failure = { error };
        this.#end();
      },
    );
  }

  #end(): void {
    this.#ended = true;
    this.#wake();
  }

  set onWake(wake: () => void) {
    this.#wake = wake;
  }

  /**
   * The next result, or EMPTY when there is none now (see ending()). Once the stream has
   * failed, no new result comes in, but those already finished are still handed over:
   * in order, the ones before the failed item, as a loop over the inputs would have.
   */
  take(): unknown {
    const result = this.#buffer.take();
    if (result !== EMPTY) this.handle.release(1);
    return result;
  }

  /** Takes every result there is now into `out`, as take() one by one would. */
  takeInto(out: unknown[]): void {
    const count = this.#buffer.takeInto(out);
    if (count > 0) this.handle.release(count);
  }

  /**
   * How the stream ends, once take() has nothing: undefined while it goes on. A failure
   * ends it only once the call has stopped everything, so no thread is still busy. (In
   * order, a failed item leaves a gap that take() never passes.)
   */
  ending(): Ending | undefined {
    if (!this.#ended) return undefined;
    return this.#failure ? { error: true, cause: this.#failure.error } : { error: false };
  }

  get ended(): boolean {
    return this.#ended;
  }
}

/**
 * Starts the call of a map. `finished` settles once its end has been reported (stats,
 * trace): the stream ends then, or fails with what those callbacks threw.
 */
type MapStart = (
  sink: OutcomeSink,
  onValue: ValueSink | undefined,
) => { readonly handle: CallHandle; readonly finished: Promise<void> };

/**
 * The results of `runner.map()`: iterate it with `for await`, or collect it with
 * `toArray()`. The work starts when iteration starts, and stops when iteration stops.
 */
export class MapStream<T> implements AsyncIterable<T> {
  readonly #start: MapStart;
  readonly #ordered: boolean;
  readonly #settle: boolean;
  readonly #length: () => number | undefined;
  #started = false;

  /**
   * @internal `length`: how many inputs there are as iteration starts, when known before
   * reading them (an array): toArray() then makes its array that long at once.
   */
  constructor(
    start: MapStart,
    options: { ordered: boolean; settle: boolean; length: () => number | undefined },
  ) {
    this.#start = start;
    this.#ordered = options.ordered;
    this.#settle = options.settle;
    this.#length = options.length;
  }

  #begin(buffer: OrderedBuffer | ArrivalBuffer | Collection): Consumption {
    if (this.#started) throw new MapConsumedError();
    this.#started = true;
    return new Consumption(this.#start, buffer, this.#settle);
  }

  /**
   * Collects every result into an array (in input order unless `ordered: false`). It
   * collects results as they arrive, without a promise per item.
   */
  toArray(): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const length = this.#length();
      // In order, results wait in a buffer for those before them, unless the array can be
      // made as long as the input at once and take each at its index.
      const direct = !this.#ordered || length !== undefined;
      const out: unknown[] = length === undefined ? [] : new Array(length);
      const collection = direct ? new Collection(out, this.#ordered) : undefined;
      const run = this.#begin(collection ?? new OrderedBuffer());
      let over = false;
      const drain = () => {
        if (over) return;
        run.takeInto(out);
        const ending = run.ending();
        if (!ending) return;
        over = true;
        if (ending.error) reject(ending.cause);
        else resolve((collection ? collection.collected : out) as T[]);
      };
      run.onWake = drain;
      drain();
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const run = this.#begin(this.#ordered ? new OrderedBuffer() : new ArrivalBuffer());
    /** Calls of next() waiting for a result, answered in the order they came. */
    const waiters: Waiter[] = [];
    /** The end was handed over, or return() was called: every later next() is done. */
    let over = false;
    /** Settles `w` with what comes next, if anything has come. */
    const deliver = (w: Waiter): boolean => {
      if (over) {
        w.resolve(DONE);
        return true;
      }
      const result = run.take();
      if (result !== EMPTY) {
        w.resolve({ done: false, value: result });
        return true;
      }
      const ending = run.ending();
      if (!ending) return false;
      over = true;
      if (ending.error) w.reject(ending.cause);
      else w.resolve(DONE);
      return true;
    };
    run.onWake = () => {
      while (waiters.length > 0 && deliver(waiters[0]!)) waiters.shift();
    };
    return {
      // Results already here are handed over at once: one settled promise per item.
      next: () =>
        new Promise<IteratorResult<T>>((resolve, reject) => {
          const w: Waiter = { resolve: resolve as Waiter['resolve'], reject };
          if (waiters.length > 0 || !deliver(w)) waiters.push(w);
        }),
      return: async () => {
        // Leaving the loop: stop the work, wait until the threads are free. Calls of
        // next() still waiting are done.
        const told = over;
        over = true;
        for (const w of waiters.splice(0)) w.resolve(DONE);
        if (!run.ended) {
          run.handle.cancel(new Error('the map() consumer stopped reading'));
          await run.handle.done;
        }
        // A callback of the call that threw (onStats, onProgress...) is thrown here, where
        // a loop left by `break` gets it (as from a generator's `finally`), unless the
        // stream's end already told it. (A loop left by a throw keeps its own error.)
        const thrown = told ? undefined : await run.thrown;
        if (thrown) throw thrown.error;
        return DONE;
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
  sink: OutcomeSink,
  onValue?: ValueSink,
  onUnrun?: (jobs: number) => void,
): CallHandle {
  return startCall(iterableSource(task, inputs), config, env, sink, onValue, onUnrun);
}
