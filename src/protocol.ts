// The messages between the scheduler (main thread) and the worker host. Both sides
// import this module and nothing else of each other, so it must stay free of runtime imports
// other than Node's own.
import { inspect, types } from 'node:util';
import type { MessagePort } from 'node:worker_threads';

/** Where a task lives: an ES module URL and the name of one of its exports. */
export interface TaskRef {
  readonly module: string;
  readonly export: string;
}

/**
 * A chunk of inputs for one task, as sent to a worker: one attempt of each of several
 * jobs. Items smaller than a message's cost travel together; a single job is a chunk of one.
 */
export interface TaskRequest {
  readonly module: string;
  readonly export: string;
  readonly inputs: readonly unknown[];
  /**
   * Move the buffers of outputs back instead of copying them, and send failed items'
   * inputs back (the call's `transfer`).
   */
  readonly transfer?: boolean | undefined;
  /** The attempt number of each item (1 = first try); left out when all are first tries. */
  readonly attempts?: readonly number[] | undefined;
  /**
   * Where `ctx.progress(value)` reports, through comlink: `report(itemIndex, value)`.
   * Only sent when the caller listens, so progress costs nothing otherwise.
   */
  readonly progress?: MessagePort | undefined;
  /**
   * Read the clock once per this many items instead of once per item, each item of a group
   * getting an equal share of its time (a failed item ends its group). A reading costs
   * ~50 ns, 5% of an item of 1 µs: asked for tiny items whose caller keeps no time of its
   * own for each (no trace, bare values). Left out: 1.
   */
  readonly stride?: number | undefined;
  /**
   * End the chunk at its first item that succeeds (a call that any success ends: `any`),
   * instead of running the items after it; the response says how many ran.
   */
  readonly untilFulfilled?: boolean | undefined;
  /**
   * End the chunk at its first item that fails on this attempt or a later one, instead of
   * running the items after it: sent by a call that such a failure stops (fail-fast: its
   * last attempt), which would stop them anyway. The response says how many ran.
   */
  readonly finalAttempt?: number | undefined;
  /**
   * Set (to non-zero, its first Int32) when the call stops: the chunk ends after the item
   * running (a chunk not started yet runs none), instead of its thread being terminated,
   * and the response says how many ran.
   * Sent with chunks of more than one item. (An executor that sends requests out of the
   * process, where no memory is shared, may leave it out: its chunks then run to their
   * end or are stopped by the signal.)
   */
  readonly stop?: SharedArrayBuffer | undefined;
  /**
   * An Int32 of `stop` (by index) that is set when the chunk should end early, after the
   * item running and at least one item, so that the items it has not run go to a thread
   * that is idle (see the scheduler's `rebalance`); the response says how many ran.
   */
  readonly cut?: number | undefined;
  /** Told (an empty message) once the task is loaded and about to run (see onStart). */
  readonly started?: MessagePort | undefined;
  /**
   * The call's timeout (ms), sent with `clock`: an item that ran longer, by the clock of
   * the thread that ran it, fails as timed out (kind `timeout`) even where nothing stopped
   * it (a task on the calling thread, an answer already on its way).
   */
  readonly timeout?: number | undefined;
  /**
   * Sent with `timeout` in chunks of more than one item: four Int32s through which the
   * thread tells which item runs and since when, so that the main thread can time each out
   * on its own: before each item, [0] its start and then [1] its index (Atomics.store, in
   * that order); [2] the first item's start. Starts are in CLOCK_UNITS_PER_MS after
   * `clockBase` (ms, on the clock of `now()`). [3] is set by the main thread when it gave
   * the chunk up: the chunk ends after the item running (where its thread could not be
   * stopped).
   */
  readonly clock?: SharedArrayBuffer | undefined;
  readonly clockBase?: number | undefined;
}

/**
 * The units of TaskRequest.clock's starts: 1/64 ms, so that an Int32 holds 9.3 hours of a
 * chunk (the scheduler keeps chunks within that: see CLOCK_SPAN_MS).
 */
export const CLOCK_UNITS_PER_MS = 64;
/** How long after its sending a clocked chunk's items may start: what an Int32 holds. */
export const CLOCK_SPAN_MS = (2 ** 31 - 1) / CLOCK_UNITS_PER_MS;

/** What the main thread exposes on `TaskRequest.progress`. */
export interface ProgressReceiver {
  report(item: number, value: unknown): void;
  /** The chunk is over: every report was sent before this, on the same port. */
  done(): void;
}

/**
 * An error as it crosses a thread boundary. Structured clone keeps only `message`
 * and `stack` of an Error (and Piscina loses more: piscina#141), so the worker
 * flattens everything a caller may match on.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly code?: unknown;
  /** Own enumerable properties, what of them clones (see sendable). */
  readonly props?: Record<string, unknown> | undefined;
  readonly cause?: SerializedError | undefined;
  /** An AggregateError's `errors` (not enumerable: no prop), each flattened as a cause is. */
  readonly errors?: readonly SerializedError[] | undefined;
  /** Present when the thrown value was not an Error (a string, null, a number...). */
  readonly thrown?: { readonly value: unknown } | undefined;
}

/**
 * Why an item failed inside the worker: `task`, it threw; `load`, its module threw while
 * loading; `not-found`, no such module or export; `data-clone`, its output cannot be sent;
 * `timeout`, it ran longer than the request's `timeout`.
 */
export type FailureKind = 'task' | 'load' | 'not-found' | 'data-clone' | 'timeout';

/** One item's failure. Failures travel as values, never as throws, so nothing is lost. */
export interface ItemFailure {
  /** The item's position in its chunk. */
  readonly index: number;
  readonly kind: FailureKind;
  readonly error: SerializedError;
  /**
   * The item's input, sent back (its buffers transferred) when the call transfers: they
   * moved to the worker with the chunk, and a retry needs them.
   */
  readonly input?: unknown;
}

/**
 * A worker's answer to a chunk. Kept flat (arrays, not an object per item) because
 * cloning it is paid on the main thread for every item.
 */
export interface TaskResponse {
  /** Each item's output; undefined where the item failed. */
  readonly values: Values;
  /** The items that failed, if any. */
  readonly failures: ItemFailure[] | undefined;
  /**
   * Start and end of each item, flattened: [start0, end0, start1, end1, ...] (see now()).
   * Under a `stride`, those of a group's items are equal shares of the group's time.
   */
  readonly times: Float64Array;
  /** The thread that ran the chunk (0: the main thread). */
  readonly thread: number;
  /**
   * How many items ran, when fewer than the chunk's (see `untilFulfilled`, `finalAttempt`
   * and `stop`).
   */
  readonly ran?: number | undefined;
  /**
   * What taking the answer in cost the main thread (ms), where the executor timed it
   * (making outputs sent by column objects again): the scheduler counts it with what the
   * chunk cost there.
   */
  readonly receivedMs?: number | undefined;
}

/**
 * Set to `stderr` in the environment a worker thread starts with, it writes its standard
 * output to standard error: `fanout run` does so when its results go to standard output,
 * where a task's console.log would land among the records.
 */
export const TASK_STDOUT_ENV = 'FANOUT_TASK_STDOUT';

/**
 * Values packed by column: plain objects that all have the same keys, in the same order, and
 * only primitive values, sent as their keys once and one array per key. V8 clones a plain
 * object by writing each of its keys, and reads it back one property at a time: ~0.2 µs to
 * send and ~0.35–0.6 µs to receive a two-key object on a 2-core machine, where its columns
 * take under 0.1 µs in all. Rows of a data file and argument records are of this shape.
 * A column of numbers only goes as a typed array ({@link Numbers}), which V8 copies as one
 * block: an array of numbers costs it ~10 ns a number each way.
 */
export interface Packed {
  readonly keys: readonly string[];
  readonly columns: readonly (unknown[] | Numbers)[];
  readonly length: number;
}

/**
 * Numbers as one block: an Int32Array when every one is a 32-bit integer (not -0), else a
 * Float64Array. Integers must come back out of an Int32Array: V8 reads every element of a
 * Float64Array as a heap number, even 3, and the records holding them then store doubles
 * (with records built by an object literal, this made spin items of 50 µs run at 1.76x on
 * 2 threads instead of 1.92x).
 */
export type Numbers = Int32Array | Float64Array;

/**
 * Values as they cross between threads: as they are, packed by column ({@link Packed}), or,
 * when they are all numbers, as {@link Numbers}.
 */
export type Wire = readonly unknown[] | Packed | Numbers;

/** Values as {@link fromWire} gives them back: an array, or numbers in a typed array. */
export type Values = readonly unknown[] | Numbers;

/** A request as it crosses to a worker: its inputs may be {@link Packed}. */
export interface WireRequest extends Omit<TaskRequest, 'inputs'> {
  readonly inputs: Wire;
}

/** A response as it crosses back: its values may be {@link Packed}. */
export interface WireResponse extends Omit<TaskResponse, 'values'> {
  readonly values: Wire;
}

/**
 * What starts a session (see Executor.open) in a worker, as a task of the pool: the port
 * its later chunks come on, and its first chunk.
 */
export interface OpenSession {
  readonly session: MessagePort;
  readonly first: WireRequest;
}

/** A chunk of a session after its first, and whether it is the last; null ends it. */
export type SessionMessage = { readonly request: WireRequest; readonly last: boolean } | null;

// Below this many values, the values go as they are: packing cannot pay for itself.
const PACK_MIN = 8;

/**
 * An object that structured cloning copies key by key. A proxy and an arguments object also
 * have Object.prototype, but cloning refuses them, and so must packing (a proxy is asked
 * nothing: its traps could run code). An arguments object is told by its own
 * Symbol.iterator, a cheaper test than asking Node; a record with one goes unpacked.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !types.isProxy(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !(Symbol.iterator in value)
  );
}

/** Whether an Int32Array holds `n` exactly (-0 would come back as 0). */
const isInt32 = (n: number): boolean => (n | 0) === n && (n !== 0 || 1 / n > 0);

/**
 * Values filled in order, to cross as one column: numbers go straight into a typed array
 * ({@link Numbers}: an Int32Array while they are 32-bit integers, then a Float64Array), and
 * the first value that is not a number turns it into an array (filled by push: one made
 * with holes clones at several times the cost).
 */
export class Column {
  /** 0: an array; 1: an Int32Array; 2: a Float64Array; 3: nothing pushed yet. */
  #kind: 0 | 1 | 2 | 3 = 3;
  #numbers: Numbers | undefined;
  #array: unknown[] | undefined;
  #length = 0;
  readonly #capacity: number;

  /** `capacity`: how many values will be pushed. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(value: unknown): void {
    if (typeof value === 'number' && (this.#kind === 1 ? isInt32(value) : this.#kind === 2)) {
      this.#numbers![this.#length++] = value;
    } else {
      this.#widen(value);
    }
  }

  /** Pushes a value that the column's kind cannot hold (or the first), changing its kind. */
  #widen(value: unknown): void {
    if (this.#kind === 3) {
      // The first value sets the kind: each value is read once (a getter runs once).
      if (typeof value !== 'number' || this.#capacity < PACK_MIN) {
        this.#kind = 0;
        this.#array = [];
      } else if (isInt32(value)) {
        this.#kind = 1;
        this.#numbers = new Int32Array(this.#capacity);
      } else {
        this.#kind = 2;
        this.#numbers = new Float64Array(this.#capacity);
      }
      this.push(value);
      return;
    }
    if (this.#kind === 1 && typeof value === 'number') {
      this.#numbers = Float64Array.from(this.#numbers!);
      this.#kind = 2;
    } else if (this.#kind !== 0) {
      this.#array = Array.from(this.#numbers!.subarray(0, this.#length));
      this.#numbers = undefined;
      this.#kind = 0;
    }
    if (this.#kind === 2) this.#numbers![this.#length] = value as number;
    else this.#array!.push(value);
    this.#length++;
  }

  /** What was pushed: numbers in a typed array, else an array. */
  get values(): unknown[] | Numbers {
    return this.#numbers ?? this.#array ?? [];
  }
}

/**
 * `values` by column when every one is a plain object (prototype `Object.prototype`) with
 * the same own enumerable keys, in the same order, whose values are all primitives that
 * can be cloned (not symbols); otherwise undefined, and the values go as they are. What
 * arrives is what structured cloning would give (the same keys in the same order, the same
 * values, -0 and NaN included), except that one object appearing twice arrives as two equal
 * objects, as it does when the two go in different chunks, and that an enumerable getter
 * runs again when a later record makes packing give up (the values then go as they are).
 * A getter that throws makes pack throw its error, as cloning would.
 */
export function pack(values: readonly unknown[]): Packed | undefined {
  const length = values.length;
  const first = values[0];
  if (length < PACK_MIN || !isPlainObject(first)) return undefined;
  const keys = Object.keys(first);
  const columns = keys.map(() => new Column(length));
  // (A record's own `__proto__`, which JSON.parse makes, hides its prototype from the
  // packers, which read that key for it. A small chunk gains less than finding its packer
  // costs.)
  const fill =
    (length >= PACKER_MIN && !keys.includes('__proto__') && packerFor(keys)) || fillColumns;
  if (!fill(values, keys, columns)) return undefined;
  return { keys, columns: columns.map((column) => column.values), length };
}

/**
 * Fills `columns` from `values` (see pack): false as soon as one is not a plain object with
 * exactly `keys`, in order, whose values are primitives.
 */
type Fill = (values: readonly unknown[], keys: readonly string[], columns: Column[]) => boolean;

/** Whether a record's field can be packed: a primitive that can be cloned (no symbol). */
const isField = (field: unknown): boolean =>
  typeof field === 'object'
    ? field === null
    : typeof field !== 'function' && typeof field !== 'symbol';

/** The Fill for any keys (and where no code can be made from strings). */
function fillColumns(values: readonly unknown[], keys: readonly string[], columns: Column[]) {
  const width = keys.length;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!isPlainObject(value)) return false;
    let k = 0;
    // for...in also walks inherited enumerable keys: any there make the keys differ.
    for (const key in value) {
      if (key !== keys[k]) return false;
      const field = value[key];
      if (!isField(field)) return false;
      columns[k]!.push(field);
      k++;
    }
    if (k !== width) return false;
  }
  return true;
}

/** A Fill for each list of keys seen (at most BUILDS of them); null where none can be made. */
const packers = new Map<string, Fill | null>();

/** Records in a chunk from which a packer made for their keys is used (see packerFor). */
const PACKER_MIN = 64;

/** Whether `value.__proto__` reads the prototype (not under node --disable-proto). */
const protoReads = (() => {
  try {
    // biome-ignore lint/suspicious/noProto: what is tested is whether it can be read
    return ({} as { __proto__?: unknown }).__proto__ === Object.prototype;
  } catch {
    return false;
  }
})();

/**
 * A Fill for records with these keys (not `__proto__`): each field read by name, and
 * checks of its own, so that V8 sees one shape where the shared one sees every shape a
 * program packs, and reads the prototype inline (`__proto__`; Object.getPrototypeOf is a
 * call into the runtime after isProxy's). Twice as fast as fillColumns on 2 cores (records
 * of two numbers: ~20 against ~38 ns a record), which the main thread pays for every item
 * of a map. The keys go in as JSON string literals, so no key can be read as code.
 * Undefined as for recordsFor.
 */
function packerFor(keys: readonly string[]): Fill | undefined {
  const id = JSON.stringify(keys);
  let packer = packers.get(id);
  // (As recordsFor, past BUILDS lists of keys; and where `__proto__` cannot be read, as
  // under node --disable-proto.)
  if (packer === undefined && packers.size < BUILDS && protoReads) {
    packer = null;
    const names = keys.map((_, k) => `c${k} = columns[${k}]`);
    // Each field is read as for...in reaches its key, as cloning reads it: a getter that
    // deletes a later key makes the walk skip it (and the record go unpacked).
    const fields = keys
      .map(
        (key, k) => `case ${k}: {
          if (key !== ${JSON.stringify(key)}) return false;
          const field = value[${JSON.stringify(key)}];
          if (!isField(field)) return false;
          c${k}.push(field);
          break;
        }`,
      )
      .join('\n');
    try {
      packer = new Function(
        'isProxy',
        'plain',
        'iterator',
        'isField',
        `'use strict'; return function fill(values, keys, columns) {
          ${names.length > 0 ? `const ${names.join(', ')};` : ''}
          for (let i = 0; i < values.length; i++) {
            const value = values[i];
            if (
              typeof value !== 'object' ||
              value === null ||
              isProxy(value) ||
              value.__proto__ !== plain ||
              iterator in value
            )
              return false;
            let k = 0;
            for (const key in value) {
              switch (k) {
                ${fields}
                default:
                  return false;
              }
              k++;
            }
            if (k !== ${keys.length}) return false;
          }
          return true;
        };`,
      )(types.isProxy, Object.prototype, Symbol.iterator, isField) as Fill;
    } catch {}
    packers.set(id, packer);
  }
  return packer ?? undefined;
}

/** `values` as {@link Numbers} when they are all numbers (and enough to pay); else undefined. */
function packNumbers(values: readonly unknown[]): Numbers | undefined {
  const length = values.length;
  if (length < PACK_MIN || typeof values[0] !== 'number') return undefined;
  const column = new Column(length);
  for (let i = 0; i < length; i++) {
    const value = values[i];
    if (typeof value !== 'number') return undefined;
    column.push(value);
  }
  return column.values as Numbers;
}

/**
 * Values as they cross between threads: all numbers as {@link Numbers}, records of one shape
 * packed by column, anything else as it is; as they are when the call transfers (its
 * buffers are found in the values). Both sides send with this.
 */
export function toWire(values: Values, transfer: boolean | undefined): Wire {
  if (transfer || !Array.isArray(values)) return values;
  return packNumbers(values) ?? pack(values) ?? values;
}

/** Values as {@link toWire} sent them. Both sides receive with this. */
export function fromWire(values: Wire): Values {
  return Array.isArray(values) || ArrayBuffer.isView(values)
    ? (values as Values)
    : unpack(values as Packed);
}

/**
 * The value at an index of values as {@link toWire} sent them. A packed record is made when
 * it is read: a worker reads each input as its item starts, so a record lives as long as
 * its task keeps it, not for the whole chunk (records made up front, and their array, were
 * half of what a worker running 1 µs items allocated, and lived through the young
 * generation's collections while their chunk ran, each collection copying them).
 */
export type Reader = (index: number) => unknown;

/** Reads values as {@link toWire} sent them, one at a time (see Reader). */
export function readerOf(values: Wire): Reader {
  if (Array.isArray(values) || ArrayBuffer.isView(values)) {
    const array = values as Values;
    return (index) => array[index];
  }
  return records(values as Packed).read;
}

/** The records of a packed chunk: one at a time, or all at once. */
interface Records {
  readonly read: Reader;
  readonly all: () => unknown[];
}

/** Makes the Records of a packed chunk from its columns and length, for one list of keys. */
type RecordsOf = (columns: Packed['columns'], length: number) => Records;

/** A RecordsOf for each list of keys seen (at most BUILDS of them); null where none can be made. */
const makers = new Map<string, RecordsOf | null>();
const BUILDS = 64;

/**
 * A RecordsOf that sets each key by name: ~4x faster than setting keys from a list (11
 * against 38–54 ns a record on a 2-core machine). Each record starts empty and gets its
 * keys in order, as structured cloning builds one, so its hidden class is the one a cloned
 * record has: a task given both (a chunk too small to pack, then packed ones) stays
 * monomorphic. (Records made by an object literal have other hidden classes, and made a
 * task calling for both 6% slower, 53 against 50 µs an item.) `all` makes them in a loop of
 * its own (a call a record made it ~25% slower). The keys go in as JSON string literals,
 * so no key can be read as code. Undefined where code cannot be made from strings (Node run
 * with --disallow-code-generation-from-strings) and for no keys at all.
 */
function recordsFor(keys: readonly string[]): RecordsOf | undefined {
  const id = JSON.stringify(keys);
  let maker = makers.get(id);
  // (Past BUILDS lists of keys, the rest use the loop for any keys: making a function for
  // each chunk costs more than it saves.)
  if (maker === undefined && makers.size < BUILDS) {
    maker = null;
    if (keys.length > 0) {
      const names = keys.map((_, k) => `c${k} = columns[${k}]`).join(', ');
      const make = `const r = {}; ${keys.map((key, k) => `r[${JSON.stringify(key)}] = c${k}[i];`).join(' ')}`;
      try {
        maker = new Function(
          'columns',
          'length',
          `'use strict'; const ${names};
          return {
            read: (i) => { ${make} return r; },
            all: () => {
              const values = [];
              for (let i = 0; i < length; i++) { ${make} values.push(r); }
              return values;
            },
          };`,
        ) as RecordsOf;
      } catch {}
    }
    makers.set(id, maker);
  }
  return maker ?? undefined;
}

/**
 * The records that {@link pack} packed. A key that `Object.prototype` has (`toString`,
 * `__proto__`, or one added to it) is defined on each record rather than set, as cloning
 * does: setting it would call an inherited setter, fail on a frozen prototype, or (for
 * `__proto__`) change the record's prototype. Checked for each chunk, since the prototype
 * can change between two (a task that changes it while its chunk runs changes how the
 * chunk's later records are made).
 */
function records(packed: Packed): Records {
  const { keys, columns, length } = packed;
  const inherited = keys.map((key) => key in Object.prototype);
  const made = inherited.includes(true) ? undefined : recordsFor(keys);
  if (made) return made(columns, length);
  const read = (i: number) => {
    const value: Record<string, unknown> = {};
    for (let k = 0; k < keys.length; k++) {
      const field = columns[k]![i];
      if (inherited[k]) {
        Object.defineProperty(value, keys[k]!, {
          value: field,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        value[keys[k]!] = field;
      }
    }
    return value;
  };
  return {
    read,
    all: () => {
      const values: unknown[] = [];
      for (let i = 0; i < length; i++) values.push(read(i));
      return values;
    },
  };
}

/** The values that {@link pack} packed, every record made at once. */
export function unpack(packed: Packed): unknown[] {
  return records(packed).all();
}

/**
 * The ArrayBuffers to transfer for a value: its own, or those one level down in a plain
 * object or array. Node Buffers are left out: small ones share a pool that must not move.
 * Proxies are left alone (cloning refuses them without running their traps), and a getter
 * that throws ends the search (cloning then fails with its error): this never throws.
 */
export function buffersIn(value: unknown, into: Set<ArrayBuffer>): void {
  const add = (v: unknown) => {
    if (types.isProxy(v)) return;
    if (v instanceof ArrayBuffer) into.add(v);
    else if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && !Buffer.isBuffer(v)) {
      into.add(v.buffer);
    }
  };
  if (types.isProxy(value)) return;
  add(value);
  try {
    if (Array.isArray(value)) for (const v of value) add(v);
    else if (
      value !== null &&
      typeof value === 'object' &&
      Object.getPrototypeOf(value) === Object.prototype
    ) {
      for (const v of Object.values(value)) add(v);
    }
  } catch {}
}

/**
 * Whether a value holds a buffer that was transferred away (detached): the buffers that
 * {@link buffersIn} would transfer, checked the only way Node 20 allows, by viewing them.
 */
export function hasDetachedBuffer(value: unknown): boolean {
  const buffers = new Set<ArrayBuffer>();
  buffersIn(value, buffers);
  for (const buffer of buffers) if (isDetached(buffer)) return true;
  return false;
}

/**
 * The input to send again after a failed attempt of a call that transfers: `sent` as it
 * was given (the attempt's changes to it are not kept), with each buffer it moved taken
 * from `returned`, the input as the worker gave it back, at the same place (the top, or
 * one level down: where {@link buffersIn} looks). Those are copied, for a value already
 * handed over may hold them too (an output of a chunk-mate), and sending them again would
 * detach it.
 */
export function resendable(sent: unknown, returned: unknown): unknown {
  const copy = structuredClone(returned);
  const moved = (value: unknown) => {
    const buffers = new Set<ArrayBuffer>();
    buffersIn(value, buffers);
    return buffers.size > 0 && [...buffers].every(isDetached);
  };
  const take = (mine: unknown, theirs: unknown) => (moved(mine) ? theirs : mine);
  if (moved(sent) && !Array.isArray(sent) && !isPlainObject(sent)) return copy;
  if (Array.isArray(sent) && Array.isArray(copy)) return sent.map((v, i) => take(v, copy[i]));
  if (isPlainObject(sent) && isPlainObject(copy)) {
    return Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, take(v, copy[k])]));
  }
  return sent;
}

/** Whether a buffer was transferred away (Node 20 has no `detached`: viewing it throws). */
export function isDetached(buffer: ArrayBuffer): boolean {
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

// Fixed for the life of a thread; reading it goes through a getter into Node every time.
const origin = performance.timeOrigin;

/** A wall-clock timestamp in ms comparable across threads (each thread has its own timeOrigin). */
export function now(): number {
  return origin + performance.now();
}

const MAX_CAUSE_DEPTH = 8;
/** The most errors of AggregateErrors that one error carries across, all levels together. */
const MAX_ERRORS = 100;

/**
 * Whether a value is an Error, of this realm or of another: one thrown in a `vm` context
 * is no `instanceof Error` here, but still an Error, with its name, message and stack.
 */
export function isError(value: unknown): value is Error {
  return types.isNativeError(value) || value instanceof Error;
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Levels of plain objects and arrays that {@link sendable} copies into, keeping what clones. */
const MAX_COPY_DEPTH = 4;

/** A value as inspect shows it at a glance: `[Function: f]`, `Symbol(s)`, `[ClientRequest]`. */
const AT_A_GLANCE = { depth: -1, customInspect: false, getters: false } as const;

/**
 * What of a value can be sent between threads: the value itself where it clones (the
 * common case: one copy, to check); else a plain object or an array copied key by key,
 * each value made sendable so, {@link MAX_COPY_DEPTH} levels deep; else a short
 * description of it as a string (a function, a symbol, a class instance holding one).
 */
function sendable(value: unknown, depth = 0): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') return glance(value);
  if (typeof value !== 'object' || value === null || cloneable(value)) return value;
  const array = Array.isArray(value) && !types.isProxy(value);
  if (depth >= MAX_COPY_DEPTH || !(array || isPlainObject(value))) return glance(value);
  const copy = sendableKeys(value, depth + 1);
  return array ? Object.assign([], copy) : copy;
}

/** An object's own enumerable keys, their values made sendable; one whose getter throws is left out. */
function sendableKeys(
  object: object,
  depth: number,
  skip?: (key: string) => boolean,
): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const key of Object.keys(object)) {
    if (skip?.(key)) continue;
    let value: unknown;
    try {
      value = (object as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    entries.push([key, sendable(value, depth)]);
  }
  return Object.fromEntries(entries);
}

function glance(value: unknown): string {
  try {
    return types.isProxy(value) ? readable(value) : inspect(value, AT_A_GLANCE);
  } catch {
    return readable(value);
  }
}

/** Keys of an Error that travel on their own, not among its props. */
const NOT_PROPS = new Set(['code', 'cause', 'message', 'stack']);

/**
 * Flattens anything thrown into a cloneable description. Never throws: a property whose
 * getter throws is left out, and a value that cannot be read at all (a revoked proxy, a
 * toString that throws) is described as such.
 */
export function serializeError(
  thrown: unknown,
  depth = 0,
  budget = { errors: MAX_ERRORS },
): SerializedError {
  try {
    return flatten(thrown, depth, budget);
  } catch (problem) {
    return {
      name: 'Error',
      message: `A value was thrown that could not be read (${readable(problem)})`,
    };
  }
}

/** Some text for anything, even what throws when read. */
function readable(value: unknown): string {
  if (types.isProxy(value)) return 'a proxy';
  try {
    return isError(value) ? value.message : String(value);
  } catch {
    return 'unreadable';
  }
}

function flatten(thrown: unknown, depth: number, budget: { errors: number }): SerializedError {
  if (types.isProxy(thrown) || !isError(thrown)) {
    return {
      name: 'NonErrorThrown',
      message: `A non-Error value was thrown: ${types.isProxy(thrown) ? 'a proxy' : describeValue(thrown)}`,
      thrown: { value: sendable(thrown) },
    };
  }
  const errors = aggregated(thrown);
  const props = sendableKeys(
    thrown,
    0,
    (key) => NOT_PROPS.has(key) || (key === 'errors' && errors !== undefined),
  );
  const code = (thrown as { code?: unknown }).code;
  const deeper = depth < MAX_CAUSE_DEPTH;
  const cause =
    'cause' in thrown && thrown.cause !== undefined && deeper
      ? serializeError(thrown.cause, depth + 1, budget)
      : undefined;
  return {
    name: readable(thrown.name),
    message: readable(thrown.message),
    stack: thrown.stack === undefined ? undefined : readable(thrown.stack),
    code: sendable(code),
    props: Object.keys(props).length > 0 ? props : undefined,
    cause,
    errors: errors && deeper ? aggregate(errors, depth, budget) : undefined,
  };
}

/**
 * The errors of an AggregateError, each flattened as a cause is, as many as the budget of
 * the whole error allows (one shared by every aggregate in it: errors that hold each other
 * would otherwise multiply at each level); a last one says how many were left out.
 */
function aggregate(
  errors: unknown[],
  depth: number,
  budget: { errors: number },
): SerializedError[] {
  const kept = errors.slice(0, Math.max(0, budget.errors));
  budget.errors -= kept.length;
  const flat = kept.map((error) => serializeError(error, depth + 1, budget));
  const left = errors.length - kept.length;
  if (left > 0) flat.push({ name: 'Error', message: `${left} more errors left out` });
  return flat;
}

/** The `errors` of an AggregateError (of this realm, or named so), if it holds an array. */
function aggregated(error: Error): unknown[] | undefined {
  if (!(error instanceof AggregateError) && error.name !== 'AggregateError') return undefined;
  const errors: unknown = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) ? errors : undefined;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds an Error from its flattened form, keeping name, message, stack, code and properties. */
/**
 * What `make` returns, with no stack captured for the errors it creates: errors made for a
 * job by the scheduler, whose stack would show only the scheduler (the task's own is their
 * cause's), or rebuilt here from another thread's (whose stack replaces the one made).
 * Capturing one costs ~3-5 µs: most of what a failed job cost the main thread.
 */
export function stackless<T>(make: () => T): T {
  let limit: number;
  try {
    limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  } catch {
    return make(); // (frozen intrinsics)
  }
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function deserializeError(data: SerializedError): Error {
  const Ctor = BUILTIN_ERRORS[data.name] ?? Error;
  const errors = data.errors?.map(deserializeError);
  const error = stackless(() =>
    errors ? new AggregateError(errors, data.message) : new Ctor(data.message),
  );
  if (error.name !== data.name) {
    Object.defineProperty(error, 'name', {
      value: data.name,
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  if (data.props) Object.assign(error, data.props);
  if (data.thrown) Object.assign(error, { thrown: data.thrown.value });
  if (data.cause) {
    Object.defineProperty(error, 'cause', {
      value: deserializeError(data.cause),
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }
  return error;
}

/**
 * A plain record as a copy of its first few keys (the rest noted), for inspect(), which
 * formats every key however few it shows: 1.1 s for a record of 1e6 keys (0.35 s now, to
 * list them).
 */
function firstKeys(value: object): object {
  if (Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const copy: Record<string, unknown> = {};
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++count > 8) {
      copy['...'] = 'more keys';
      break;
    }
    const field = Object.getOwnPropertyDescriptor(value, key);
    copy[key] = field && 'value' in field ? field.value : '[Getter]';
  }
  return copy;
}

const INSPECT_BRIEFLY = {
  depth: 1,
  maxArrayLength: 8,
  maxStringLength: 40,
  breakLength: Number.POSITIVE_INFINITY,
  getters: false,
  customInspect: false,
  compact: true,
} as const;

/** A short, safe rendering of any value for error messages: `0` (number), `"x"` (string). */
export function describeValue(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  let shown: string;
  try {
    if (typeof value === 'string') {
      shown = JSON.stringify(value.length > 80 ? value.slice(0, 80) : value);
    } else if (typeof value === 'object' && !isError(value)) {
      // Records and arrays as `{ a: 1 }`, `[]`, not `[object Object]` or nothing: their
      // first items or keys only, and no getter run.
      shown = inspect(firstKeys(value), INSPECT_BRIEFLY);
    } else {
      shown = String(value);
    }
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  const type = Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
