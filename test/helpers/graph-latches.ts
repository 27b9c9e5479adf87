// Latches for the graph and trace tests: SharedArrayBuffer cells that worker tasks signal,
// awaited without blocking the main thread; and promises for main-thread nodes. No sleeps.

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

/** Resolves once `cells[index]` reaches `atLeast`. */
export async function reached(cells: Int32Array, index: number, atLeast = 1): Promise<void> {
  for (let seen = Atomics.load(cells, index); seen < atLeast; seen = Atomics.load(cells, index)) {
    await waitAsync(cells, index, seen).value;
  }
}

/** The ids the `mark` fixture recorded, in the order the tasks started. */
export function marks(cells: Int32Array): number[] {
  return Array.from(cells.subarray(1, 1 + Atomics.load(cells, 0)));
}

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Resolves after the event loop turns once: not a sleep, it waits for no amount of time. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
