// Latches for ordering events without sleeps: Int32Arrays over SharedArrayBuffers that
// worker tasks (and main-thread tasks) signal, and promises for main-thread function jobs.

// lib ES2023 does not declare Atomics.waitAsync (Node has it since 16).
type WaitAsync = (
  cells: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** A shared Int32Array of `length` cells, all 0. */
export function cells(length = 8): { sab: SharedArrayBuffer; cells: Int32Array } {
  const sab = new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT);
  return { sab, cells: new Int32Array(sab) };
}

/** Resolves once `cells[index]` reaches `atLeast`, without blocking the main thread. */
export async function reached(cells: Int32Array, index: number, atLeast = 1): Promise<void> {
  for (let seen = Atomics.load(cells, index); seen < atLeast; seen = Atomics.load(cells, index)) {
    await waitAsync(cells, index, seen).value;
  }
}

/** For `hold` / `holdAsync` slot `index`: resolves once the task has started. */
export function started(cells: Int32Array, index: number): Promise<void> {
  return reached(cells, 2 * index);
}

/** For `hold` / `holdAsync` slot `index`: whether the task has started. */
export function hasStarted(cells: Int32Array, index: number): boolean {
  return Atomics.load(cells, 2 * index) === 1;
}

/** For `hold` / `holdAsync` slot `index`: lets the task return. */
export function release(cells: Int32Array, index: number): void {
  Atomics.store(cells, 2 * index + 1, 1);
  Atomics.notify(cells, 2 * index + 1);
}

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Resolves after the current macrotask: by then Node has reported any unhandled rejection
 * and emitted pending process warnings (both happen once the microtask queue drains).
 * Not a sleep: it waits for no amount of time, only for the event loop to turn once.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The ids the `mark` fixture recorded, in the order the tasks started. */
export function marks(cells: Int32Array): number[] {
  return Array.from(cells.subarray(1, 1 + Atomics.load(cells, 0)));
}
