// How many items travel in one message. A message costs tens of microseconds (more when
// it wakes a sleeping thread), so items cheaper than that must travel in chunks. After
// joblib's auto batching: start with one item (or from what the task cost in an earlier
// call), measure what items cost inside the worker, aim each chunk at a target duration,
// grow at most 2x a step, and shrink at the tail of a known-length input so that no
// thread idles while another finishes a big chunk: items that cost evenly get their
// share at once, uneven ones in smaller and smaller parts, never below a few round trips
// of work.

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
  /**
   * What one message costs a thread (ms), sending and answering, before any is measured:
   * the tail does not cut chunks shorter than a few of these. @default 0.5
   */
  readonly roundTripMs?: number;
}

/**
 * What a task's items cost: on average (ms), how unevenly (coefficient of variation), and
 * what each cost the main thread (ms), once measured (see MAIN_BUDGET_MS).
 */
export interface ItemCost {
  readonly perItemMs: number;
  readonly spread: number | undefined;
  readonly mainPerItemMs?: number | undefined;
}

/** What an automatic chunk aims to cost by default (ms): see ChunkSizerOptions.targetMs. */
export const DEFAULT_TARGET_MS = 50;

/** The largest automatic chunk by default: see ChunkSizerOptions.max. */
export const DEFAULT_MAX_CHUNK = 100_000;

/** Weight of the newest measurement in the smoothed cost per item. */
const SMOOTHING = 0.3;
/**
 * At the tail, a chunk holds at most this fraction of what remains per thread, when items
 * cost unevenly. Measured on 2 cores (bench medians, 50 µs and 2 ms items): 2 beats 4 and
 * 8, whose many small tail chunks each cost a round trip (~0.3 ms here).
 */
const TAIL_SHARE = 2;
/**
 * Items whose costs vary less than this (coefficient of variation, measured inside
 * chunks) count as even: the tail then gives each thread all of its share at once, as a
 * static split would, instead of halving it chunk after chunk.
 */
const EVEN_SPREAD = 0.25;
/**
 * The tail stops shrinking chunks at this many round trips of work: smaller chunks cost
 * their thread more in messages than they save in balance. Measured on 2 cores (medians
 * of 10 interleaved runs, floors of 0, 1, 2 and 4): 2 took 1 µs x 10k items from 0.19x
 * to 0.34x, 50 µs x 1000 from 1.50x to 1.59x, Mandelbrot rows (uneven) from 1.41x to
 * 1.51x, and was within noise elsewhere; 4 made the last chunks of uneven items too big.
 */
const TAIL_FLOOR_ROUND_TRIPS = 2;
/** The least a round-trip sample may exceed twice the estimate by (ms). */
const ROUND_TRIP_STEP_MS = 0.1;
/**
 * The most one chunk may cost the main thread (ms), which packs its inputs, takes its
 * answer in and hands over its outcomes each in one go, its event loop waiting meanwhile:
 * items that cost it microseconds each (records of many keys, settle outcomes, failures)
 * come in smaller chunks. Bare values of tiny items cost it ~0.1 µs each: they are not
 * held back.
 */
export const MAIN_BUDGET_MS = 10;
/** The fewest items that budget leaves a chunk. */
const MAIN_FLOOR_ITEMS = 16;
/**
 * Weight of a new measurement of the main thread's cost of an item. A chunk that cost more
 * than the budget sets the estimate to what it measured, at least: its items cost that
 * much, or more (a small first chunk of an earlier call, or of cheaper items, said less).
 */
const MAIN_SMOOTHING = 0.5;

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
  /** Smoothed cost of one message to a thread and back, beyond its items (ms). */
  #roundTripMs: number;
  /** Smoothed coefficient of variation of item costs inside chunks; undefined until measured. */
  #spread: number | undefined;
  /**
   * Every item measured in this call, whatever its chunk: how many, their ms and the sum of
   * the squares of their ms. Items whose cost depends on where they are in the input (the
   * rows of an image, ranges of growing numbers) vary little inside a chunk and a lot
   * between chunks: only these totals see it.
   */
  #count = 0;
  #totalMs = 0;
  #totalSquares = 0;
  /** Estimated cost of one item to the main thread (ms): see MAIN_BUDGET_MS. */
  #mainPerItemMs: number | undefined;

  constructor(options: ChunkSizerOptions) {
    this.#fixed = options.fixed;
    this.#min = options.min ?? 1;
    this.#max = Math.max(this.#min, options.max ?? DEFAULT_MAX_CHUNK);
    this.#targetMs = options.targetMs ?? DEFAULT_TARGET_MS;
    this.#threads = Math.max(1, options.threads);
    this.#largest = this.#min;
    this.#roundTripMs = options.roundTripMs ?? 0.5;
  }

  /**
   * Starts from a cost measured earlier (by an earlier call of the same task), if nothing
   * is measured yet: the first chunk then aims at half the target instead of one item,
   * and later ones still grow at most 2x a step.
   */
  seed({ perItemMs, spread, mainPerItemMs }: ItemCost): void {
    if (this.#perItemMs !== undefined || !(perItemMs >= 0) || this.#fixed !== undefined) return;
    this.#perItemMs = perItemMs;
    this.#spread = spread;
    this.#mainPerItemMs ??= mainPerItemMs;
    const ideal = perItemMs > 0 ? Math.floor(this.#targetMs / perItemMs) : this.#max;
    this.#largest = Math.max(this.#min, Math.min(this.#max, Math.floor(ideal / 4)));
  }

  /** The smoothed cost per item (ms), once measured. */
  get perItemMs(): number | undefined {
    return this.#perItemMs;
  }

  /** The smoothed cost of one message to a thread and back, beyond its items (ms). */
  get roundTripMs(): number {
    return this.#roundTripMs;
  }

  /**
   * What items cost, once measured: to remember for a later call of the same task. The
   * mean and spread of every item measured in this call, not the smoothed ones, which
   * follow the last chunks (and those may be the cheap end of an input).
   */
  get cost(): ItemCost | undefined {
    const mainPerItemMs = this.#mainPerItemMs;
    if (this.#count === 0) {
      return this.#perItemMs === undefined
        ? undefined
        : { perItemMs: this.#perItemMs, spread: this.#spread, mainPerItemMs };
    }
    return {
      perItemMs: this.#totalMs / this.#count,
      spread: this.#overallSpread(),
      mainPerItemMs,
    };
  }

  /** The coefficient of variation of every item measured in this call, if any. */
  #overallSpread(): number | undefined {
    if (this.#count < 2 || !(this.#totalMs > 0)) return undefined;
    const { sqrt, max } = Math;
    return sqrt(max(0, (this.#count * this.#totalSquares) / (this.#totalMs * this.#totalMs) - 1));
  }

  /**
   * How unevenly items cost, for the tail: the larger of the smoothed spread inside chunks
   * and the spread over every item measured in this call.
   */
  #unevenness(): number | undefined {
    const overall = this.#overallSpread();
    if (overall === undefined) return this.#spread;
    return this.#spread === undefined ? overall : Math.max(this.#spread, overall);
  }

  /**
   * The size of the next chunk. `remaining` is how many items are left to dispatch
   * including this chunk, when known (undefined for a stream whose end is not in sight);
   * `pending`, about how many the other threads have still to run of what they were sent.
   */
  next(remaining?: number, pending = 0): number {
    if (this.#fixed !== undefined)
      return Math.max(1, Math.min(this.#fixed, remaining ?? this.#fixed));
    let size = this.#min;
    if (this.#perItemMs !== undefined) {
      const ideal = this.#perItemMs > 0 ? Math.floor(this.#targetMs / this.#perItemMs) : this.#max;
      size = Math.min(ideal, 2 * this.#largest, this.#max);
    }
    const main = this.#mainPerItemMs;
    if (main !== undefined && main > 0) {
      size = Math.min(size, Math.max(MAIN_FLOOR_ITEMS, Math.floor(MAIN_BUDGET_MS / main)));
    }
    if (remaining !== undefined) {
      // Even items: a share such that every thread ends together, counting what the others
      // still have to run. Uneven ones: a part of that share, so the end can balance.
      const share = Math.ceil((remaining + pending) / this.#threads);
      let tail = this.#wholeShare(share)
        ? share
        : Math.ceil(remaining / (TAIL_SHARE * this.#threads));
      if (this.#perItemMs !== undefined && this.#perItemMs > 0) {
        // Never more than a thread's share, though, counting what the others still have
        // to run: no thread may go without work (and items that wait for each other, such
        // as a barrier, must not share a chunk).
        tail = Math.max(tail, Math.min(this.#floorItems(this.#perItemMs), share));
      }
      size = Math.min(size, tail, remaining);
    }
    size = Math.max(this.#min, size);
    if (remaining !== undefined) size = Math.min(size, remaining);
    return Math.max(1, size);
  }

  /** The fewest items the tail cuts a chunk to: a few round trips of work. */
  #floorItems(perItemMs: number): number {
    return Math.ceil((TAIL_FLOOR_ROUND_TRIPS * this.#roundTripMs) / perItemMs);
  }

  /**
   * Whether each thread gets its whole share of the tail (`share` items) at once. Items
   * that cost evenly do. Otherwise a share of k items differs from another thread's by
   * about spread × √k × the cost of an item (the spread of a sum of k costs), while
   * halving the tail instead costs a round trip per halving, down to the floor: whichever
   * costs less wins. Identical items that a busy machine delays now and then (which
   * inflates their measured spread) still go as whole shares; a few items 100x heavier
   * than the rest do not.
   */
  #wholeShare(share: number): boolean {
    const spread = this.#unevenness();
    const perItemMs = this.#perItemMs;
    if (spread === undefined) return false;
    if (spread < EVEN_SPREAD) return true;
    if (perItemMs === undefined || perItemMs <= 0) return false;
    const imbalanceMs = spread * Math.sqrt(share) * perItemMs;
    const halvings = Math.log2(Math.max(1, share / this.#floorItems(perItemMs)));
    return imbalanceMs <= halvings * this.#roundTripMs;
  }

  /**
   * Feeds back what a chunk of `items` cost the main thread (ms): sending it, taking its
   * answer in and handing over its outcomes, the caller's callbacks not included. Divided
   * per item, a chunk's own cost makes a small chunk's items look dearer; the cap that
   * follows is still above the chunk unless the chunk itself cost more than the budget.
   */
  observeMain(items: number, ms: number): void {
    if (items <= 0 || !(ms >= 0)) return;
    const cost = ms / items;
    const was = this.#mainPerItemMs;
    const smoothed = was === undefined ? cost : was + MAIN_SMOOTHING * (cost - was);
    this.#mainPerItemMs = ms > MAIN_BUDGET_MS ? Math.max(smoothed, cost) : smoothed;
  }

  /**
   * Feeds back what sending a chunk of `items` cost the main thread (ms), before its answer
   * says the rest: where that alone was over the budget, the estimate is at least that (so
   * the chunks sent meanwhile, on other threads, are not sized by a cheaper past).
   */
  observeSent(items: number, ms: number): void {
    if (items <= 0 || !(ms > MAIN_BUDGET_MS)) return;
    this.#mainPerItemMs = Math.max(this.#mainPerItemMs ?? 0, ms / items);
  }

  /**
   * Feeds back a finished chunk: how many items, the ms they spent running, and, when
   * known, the ms its message cost beyond them (from sending to answer, less the items)
   * and the sum of the squares of the items' ms (for how evenly they cost).
   */
  observe(items: number, busyMs: number, overheadMs?: number, squaresMs?: number): void {
    if (overheadMs !== undefined && overheadMs >= 0) {
      // A spike (a worker loading the task's module, a busy main thread) counts at most
      // twice the estimate: it takes a few slow messages, not one, to raise it.
      const sample = Math.min(overheadMs, 2 * this.#roundTripMs + ROUND_TRIP_STEP_MS);
      this.#roundTripMs = (1 - SMOOTHING) * this.#roundTripMs + SMOOTHING * sample;
    }
    if (items <= 0 || !(busyMs >= 0)) return;
    if (squaresMs !== undefined) {
      this.#count += items;
      this.#totalMs += busyMs;
      this.#totalSquares += squaresMs;
    }
    if (items > 1 && busyMs > 0 && squaresMs !== undefined) {
      const spread = Math.sqrt(Math.max(0, (items * squaresMs) / (busyMs * busyMs) - 1));
      this.#spread =
        this.#spread === undefined ? spread : (1 - SMOOTHING) * this.#spread + SMOOTHING * spread;
    }
    if (items > this.#largest) this.#largest = items;
    const cost = busyMs / items;
    this.#perItemMs =
      this.#perItemMs === undefined ? cost : (1 - SMOOTHING) * this.#perItemMs + SMOOTHING * cost;
  }
}

/** A chunk sent to a thread: when (ms), and how many items. */
export interface Flight {
  readonly at: number;
  readonly size: number;
}

/**
 * About how many items the chunks in flight have still to run at time `now`, from what
 * an item costs. A chunk starts running only a message's delay after it is sent: until
 * then it counts whole (else a thread asking just after another was sent work would take
 * half of what is left, the next thread half of that, and so on: a round trip for every
 * halving).
 */
export function itemsLeft(
  flights: Iterable<Flight>,
  now: number,
  perItemMs: number | undefined,
  roundTripMs: number,
): number {
  if (perItemMs === undefined || perItemMs <= 0) return 0;
  const started = now - roundTripMs;
  let left = 0;
  for (const { at, size } of flights)
    left += Math.max(0, size - Math.max(0, started - at) / perItemMs);
  return left;
}

/**
 * A chunk in flight may be cut short once it has this many round trips of work left, by
 * what its items were measured to cost, or once its answer is this many round trips late.
 */
const CUT_ROUND_TRIPS = 2;

/**
 * Which chunks in flight to cut short, now that a thread is idle with nothing left to send
 * (their items not yet run then go to it), and when to look again (undefined: never). A
 * chunk is cut when, by what its items were measured to cost, it has more work left than
 * a few round trips (another thread can take part of it), or when it should have answered
 * that long ago: its items cost more than those measured (a cheap start of an input and a
 * costly end, which a split by count alone puts on one thread). Chunks of one item have
 * nothing to give.
 */
export function toCut<F extends Flight>(
  flights: Iterable<F>,
  now: number,
  perItemMs: number | undefined,
  roundTripMs: number,
): { readonly cut: F[]; readonly lookAgainAt: number | undefined } {
  const margin = CUT_ROUND_TRIPS * roundTripMs;
  const cut: F[] = [];
  let lookAgainAt: number | undefined;
  for (const flight of flights) {
    if (flight.size < 2) continue;
    // (Its answer is due a round trip after its items' work.)
    const due = flight.at + roundTripMs + flight.size * (perItemMs ?? 0);
    if (due - roundTripMs - now > margin || now - due > margin) cut.push(flight);
    else lookAgainAt = Math.min(lookAgainAt ?? Number.POSITIVE_INFINITY, due + margin);
  }
  return { cut, lookAgainAt };
}

/** How many tasks a runner remembers the cost of; the least recently used go first. */
const REMEMBERED_TASKS = 256;

/**
 * What one item of each task cost when it last ran, kept by a runner across calls: a
 * later call of the same task starts its chunks near the right size instead of at one
 * item (as joblib keeps its batch size across calls of one Parallel).
 */
export class TaskCosts {
  readonly #costs = new Map<string, ItemCost>();

  get(task: TaskRef): ItemCost | undefined {
    return this.#costs.get(costKey(task));
  }

  set(task: TaskRef, cost: ItemCost): void {
    const key = costKey(task);
    this.#costs.delete(key);
    this.#costs.set(key, cost);
    if (this.#costs.size > REMEMBERED_TASKS) {
      this.#costs.delete(this.#costs.keys().next().value as string);
    }
  }
}

/** Each task's key, made once per task object (a module's URL is long to join and hash). */
const costKeys = new WeakMap<TaskRef, string>();

function costKey(task: TaskRef): string {
  let key = costKeys.get(task);
  if (key === undefined) {
    key = `${task.export}\u0000${task.module}`;
    costKeys.set(task, key);
  }
  return key;
}
