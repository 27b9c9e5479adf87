// How many items travel in one message. A message costs tens of microseconds (more when
// it wakes a sleeping thread), so items cheaper than that must travel in chunks. After
// joblib's auto batching: start with one item, measure what items cost inside the
// worker, aim each chunk at a target duration, grow at most 2x a step, and shrink at the
// tail of a known-length input so that no thread idles while another finishes a big chunk.

import type { TaskRef } from './protocol.js';

export interface ChunkSizerOptions {
  /** A fixed chunk size; undefined for automatic sizing. */
  readonly fixed?: number | undefined;
  /** Smallest automatic chunk. @default 1 */
  readonly min?: number;
  /** Largest automatic chunk. @default 100000 */
  readonly max?: number;
  /**
   * What an automatic chunk aims to cost inside the worker, in ms. Each message costs a
   * thread a wake-up (about 0.5 ms on a busy 2-core VM), so 50 ms keeps that near 1%;
   * the tail rule keeps the last chunks small. @default 50
   */
  readonly targetMs?: number;
  /** Threads sharing the work: the tail is split so each gets a part. */
  readonly threads: number;
}

/** What an automatic chunk aims to cost by default (ms): see ChunkSizerOptions.targetMs. */
export const DEFAULT_TARGET_MS = 50;

/** Weight of the newest measurement in the smoothed cost per item. */
const SMOOTHING = 0.3;
/**
 * At the tail, a chunk holds at most this fraction of what remains per thread. Measured
 * on 2 cores (bench medians, 50 µs and 2 ms items): 2 beats 4 and 8, whose many small
 * tail chunks each cost a round trip (~0.3 ms here), and equals 1.
 */
const TAIL_SHARE = 2;

export class ChunkSizer {
  readonly #fixed: number | undefined;
  readonly #min: number;
  readonly #max: number;
  readonly #targetMs: number;
  readonly #threads: number;
  /** Smoothed cost of one item (ms); undefined until a chunk has been measured. */
  #perItemMs: number | undefined;
  /** The largest chunk measured so far: a new chunk is at most twice as big. */
  #largest: number;

  constructor(options: ChunkSizerOptions) {
    this.#fixed = options.fixed;
    this.#min = options.min ?? 1;
    this.#max = Math.max(this.#min, options.max ?? 100_000);
    this.#targetMs = options.targetMs ?? DEFAULT_TARGET_MS;
    this.#threads = Math.max(1, options.threads);
    this.#largest = this.#min;
  }

  /**
   * Starts from a cost measured earlier (by an earlier call of the same task), if nothing
   * is measured yet: the first chunk then aims at half the target instead of one item,
   * and later ones still grow at most 2x a step.
   */
  seed(perItemMs: number): void {
    if (this.#perItemMs !== undefined || !(perItemMs >= 0) || this.#fixed !== undefined) return;
    this.#perItemMs = perItemMs;
    const ideal = perItemMs > 0 ? Math.floor(this.#targetMs / perItemMs) : this.#max;
    this.#largest = Math.max(this.#min, Math.min(this.#max, Math.floor(ideal / 4)));
  }

  /** The smoothed cost per item (ms), once measured. */
  get perItemMs(): number | undefined {
    return this.#perItemMs;
  }

  /**
   * The size of the next chunk. `remaining` is how many items are left to dispatch
   * including this chunk, when known (undefined for a stream whose end is not in sight).
   */
  next(remaining?: number): number {
    if (this.#fixed !== undefined)
      return Math.max(1, Math.min(this.#fixed, remaining ?? this.#fixed));
    let size = this.#min;
    if (this.#perItemMs !== undefined) {
      const ideal = this.#perItemMs > 0 ? Math.floor(this.#targetMs / this.#perItemMs) : this.#max;
      size = Math.min(ideal, 2 * this.#largest, this.#max);
    }
    if (remaining !== undefined) {
      size = Math.min(size, Math.ceil(remaining / (TAIL_SHARE * this.#threads)), remaining);
    }
    size = Math.max(this.#min, size);
    if (remaining !== undefined) size = Math.min(size, remaining);
    return Math.max(1, size);
  }

  /** Feeds back a finished chunk: how many items, and the ms they spent running. */
  observe(items: number, busyMs: number): void {
    if (items <= 0 || !(busyMs >= 0)) return;
    if (items > this.#largest) this.#largest = items;
    const cost = busyMs / items;
    this.#perItemMs =
      this.#perItemMs === undefined ? cost : (1 - SMOOTHING) * this.#perItemMs + SMOOTHING * cost;
  }
}

/** How many tasks a runner remembers the cost of; the least recently used go first. */
const REMEMBERED_TASKS = 256;

/**
 * What one item of each task cost when it last ran, kept by a runner across calls: a
 * later call of the same task starts its chunks near the right size instead of at one
 * item (as joblib keeps its batch size across calls of one Parallel).
 */
export class TaskCosts {
  readonly #costs = new Map<string, number>();

  get(task: TaskRef): number | undefined {
    return this.#costs.get(costKey(task));
  }

  set(task: TaskRef, perItemMs: number): void {
    const key = costKey(task);
    this.#costs.delete(key);
    this.#costs.set(key, perItemMs);
    if (this.#costs.size > REMEMBERED_TASKS) {
      this.#costs.delete(this.#costs.keys().next().value as string);
    }
  }
}

const costKey = (task: TaskRef) => `${task.export}\u0000${task.module}`;
