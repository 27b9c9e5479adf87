// How the engine holds jobs between the source and the threads. A job's first attempt
// waits in a FreshQueue (its spec, and runs of indexes: no object per job) and travels in
// a Chunk of such specs and runs; a job that needs state of its own (a retry, an isolated
// item after a crash, a main-thread function) is an Item.
import type { JobSpec } from './call.js';
import type { JobKey } from './errors.js';
import type { TaskRef } from './protocol.js';

/** An item that travels alone (see Item.isolate). */
export const ALONE: unique symbol = Symbol('alone');

/** A job waiting for, or going through, its next attempt. */
export interface Item {
  readonly index: number;
  /** Replaced when a failed attempt sends back an input whose buffers it had taken. */
  spec: JobSpec;
  /** The number of the attempt to make next. */
  attempt: number;
  /** When the item became ready for this attempt. */
  readyAt: number;
  /**
   * Set after its chunk crashed: the item travels alone from then on (ALONE), or, from a
   * big chunk, only with the other items of its part (an object of each part's own).
   */
  isolate: false | typeof ALONE | object;
  firstQueued: number | undefined;
  runMs: number;
  waitMs: number;
}

export type TaskSpec = JobSpec & { readonly task: TaskRef; readonly input: unknown };
export type TaskItem = Item & { spec: TaskSpec };

export function newItem<S extends JobSpec>(
  index: number,
  spec: S,
  readyAt: number,
): Item & { spec: S } {
  return {
    index,
    spec,
    attempt: 1,
    readyAt,
    isolate: false,
    firstQueued: undefined,
    runMs: 0,
    waitMs: 0,
  };
}

/**
 * First attempts waiting for a thread, in pull order. No object per job: on the hot path of
 * a map over tiny items the main thread keeps a job's input and nothing else. A queue of
 * one task (a map, `all(task, inputs)`) keys each job by its index; any other keeps each
 * job's key and task beside its input. A job's index and the time it became ready are kept
 * per run of jobs read together (consecutive indexes, one timestamp), which is thousands
 * of jobs at a time for an array. An item is made only when a job needs one (it failed, it
 * must wait for a retry, its chunk crashed).
 */
export class FreshQueue {
  /**
   * The queued inputs are `inputs[head]` to `inputs[end - 1]`: in an array of the queue's
   * own, or, while a queue of one task is fed runs of one array in order (a map or all()
   * over an array), in that array itself, borrowed and never written: queuing a run then
   * costs nothing per input.
   */
  inputs: readonly unknown[] = [];
  head = 0;
  end = 0;
  /** Each job's key and task, unless the queue has one task and keys jobs by index. */
  keys: JobKey[] | undefined;
  tasks: TaskRef[] | undefined;
  readonly #task: TaskRef | undefined;
  #borrowed = false;
  /** The position of inputs[0] since the queue began: run starts are such positions. */
  #base = 0;
  /** Each run: where it starts (position), the index of its first job, when it was read. */
  #runStart: number[] = [];
  #runIndex: number[] = [];
  #runTime: number[] = [];
  /** A run at or before the one holding the head. */
  #runHead = 0;
  #nextIndex = -1;
  #lastTime = Number.NaN;

  /** `task`: the one task of every job, each keyed by its index; else push specs. */
  constructor(task?: TaskRef) {
    this.#task = task;
    if (!task) {
      this.keys = [];
      this.tasks = [];
    }
  }

  get size(): number {
    return this.end - this.head;
  }

  /** The queue's own array of inputs, to add to (copying what it borrowed first). */
  #own(): unknown[] {
    if (this.#borrowed) {
      this.inputs = this.inputs.slice(this.head, this.end);
      this.#base += this.head;
      this.end -= this.head;
      this.head = 0;
      this.#borrowed = false;
    }
    return this.inputs as unknown[];
  }

  /** Queues a job of the queue's one task. */
  push(input: unknown, index: number, time: number): void {
    const inputs = this.#own();
    this.#run(index, time, 1);
    inputs.push(input);
    this.end++;
  }

  /**
   * Queues jobs of the queue's one task: `inputs[from]` to `inputs[to - 1]`, whose indexes
   * follow from `index`, read at `time`. The queue borrows `inputs` when it is empty or
   * already borrows them up to `from`: their values are read only as chunks take them.
   */
  pushRun(inputs: readonly unknown[], from: number, to: number, index: number, time: number): void {
    if (to <= from) return;
    const follows = this.#borrowed && this.inputs === inputs && this.end === from;
    if (follows || (this.head === this.end && this.#task !== undefined)) {
      if (!follows) {
        // inputs[from] takes the position the next input would have had.
        this.#base += this.end - from;
        this.inputs = inputs;
        this.head = this.end = from;
        this.#borrowed = true;
      }
      this.#run(index, time, to - from);
      this.end = to;
      return;
    }
    const queued = this.#own();
    this.#run(index, time, to - from);
    for (let i = from; i < to; i++) queued.push(inputs[i]);
    this.end = queued.length;
  }

  /** Queues a job of a queue made without a task. */
  pushSpec(spec: TaskSpec, index: number, time: number): void {
    const inputs = this.#own();
    this.#run(index, time, 1);
    inputs.push(spec.input);
    this.end++;
    this.keys!.push(spec.key);
    this.tasks!.push(spec.task);
  }

  /** Notes `count` jobs about to be queued, from `index`, read at `time`. */
  #run(index: number, time: number, count: number): void {
    if (index !== this.#nextIndex || time !== this.#lastTime) {
      this.#runStart.push(this.#base + this.end);
      this.#runIndex.push(index);
      this.#runTime.push(time);
      this.#lastTime = time;
    }
    this.#nextIndex = index + count;
  }

  /** The task of the job at `position` in `inputs`. */
  taskAt(position: number): TaskRef {
    return this.#task ?? this.tasks![position]!;
  }

  /** The run holding the head (there must be one), remembered for the next call. */
  #headRun(): number {
    const at = this.#base + this.head;
    let r = this.#runHead;
    while (r + 1 < this.#runStart.length && this.#runStart[r + 1]! <= at) r++;
    this.#runHead = r;
    return r;
  }

  /** The index of the first job; the queue must not be empty. */
  get headIndex(): number {
    const r = this.#headRun();
    return this.#runIndex[r]! + (this.#base + this.head - this.#runStart[r]!);
  }

  /** The first entry as an item (taking it), or undefined when empty. */
  shiftItem(): TaskItem | undefined {
    if (this.head >= this.end) return undefined;
    // headIndex (read first) moves #runHead to the head's run.
    const index = this.headIndex;
    const spec: TaskSpec = {
      key: this.keys ? this.keys[this.head]! : index,
      task: this.taskAt(this.head),
      input: this.inputs[this.head],
    };
    const item = newItem(index, spec, this.#runTime[this.#runHead]!);
    this.head++;
    this.compact();
    return item;
  }

  /** Takes every entry, as nothing; returns how many there were. */
  clear(): number {
    const count = this.end - this.head;
    this.head = this.end;
    this.compact();
    return count;
  }

  /** Takes entries up to `end` (exclusive), all of `task`, as a chunk of first attempts. */
  take(end: number, task: TaskRef): Chunk {
    const from = this.#base + this.head;
    const to = this.#base + end;
    const runs: number[] = [];
    for (let r = this.#headRun(); r < this.#runStart.length && this.#runStart[r]! < to; r++) {
      const start = Math.max(this.#runStart[r]!, from);
      runs.push(start - from, this.#runIndex[r]! + (start - this.#runStart[r]!), this.#runTime[r]!);
    }
    const inputs = this.inputs.slice(this.head, end);
    // A borrowed array that its owner shortened meanwhile: what is gone reads as undefined
    // (as a hole does), and no job is lost.
    while (inputs.length < end - this.head) inputs.push(undefined);
    const chunk: Chunk = {
      task,
      items: undefined,
      inputs,
      keys: this.keys?.slice(this.head, end),
      runs,
    };
    this.head = end;
    this.compact();
    return chunk;
  }

  /** Drops the entries (and runs) already taken from the front, once they are many. */
  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.end) {
      // (A borrowed array is not the queue's to shorten.)
      if (!this.#borrowed) {
        this.inputs = this.inputs.slice(this.head, this.end);
        this.keys = this.keys?.slice(this.head);
        this.tasks = this.tasks?.slice(this.head);
        this.#base += this.head;
        this.end -= this.head;
        this.head = 0;
      }
      const r = this.head < this.end ? this.#headRun() : this.#runStart.length - 1;
      if (r > 64) {
        this.#runStart = this.#runStart.slice(r);
        this.#runIndex = this.#runIndex.slice(r);
        this.#runTime = this.#runTime.slice(r);
        this.#runHead = 0;
      }
    }
  }
}

/**
 * Items in order, taken from the front. Array#shift costs time in the array's length once
 * it holds more than ~16k elements (V8 cannot trim a large backing store from the front):
 * a head index does not, and the taken slots are dropped once they are most of the array.
 */
export class Line<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The first item, left in place. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Puts `items` at the front, in their order. */
  unshift(...items: T[]): void {
    this.unshiftAll(items);
  }

  /** Puts `items` at the front, in their order (at once, however many). */
  unshiftAll(items: readonly T[]): void {
    if (items.length <= this.#head) {
      this.#head -= items.length;
      for (let i = 0; i < items.length; i++) this.#items[this.#head + i] = items[i];
      return;
    }
    this.#items = items.concat(this.#items.slice(this.#head) as T[]);
    this.#head = 0;
  }

  /** Takes every item, as nothing; returns how many there were. */
  clear(): number {
    const count = this.length;
    this.#items = [];
    this.#head = 0;
    return count;
  }
}

/** Jobs of one task sent together: first attempts (inputs and runs), or items (retries...). */
export interface Chunk {
  readonly task: TaskRef;
  /** Set for a chunk of items; otherwise the jobs are described by the three below. */
  readonly items: TaskItem[] | undefined;
  readonly inputs: readonly unknown[];
  /** The jobs' keys, when they are not their indexes. */
  readonly keys: readonly JobKey[] | undefined;
  /**
   * The runs of first attempts read together, as triples: the offset in the chunk where
   * the run starts, the index of that job (the next ones follow it), when they were read.
   */
  readonly runs: readonly number[];
}

export const chunkLength = (chunk: Chunk): number => chunk.items?.length ?? chunk.inputs.length;

/** The triple of `chunk.runs` that holds job `i` (its offset in the array). */
function runAt(runs: readonly number[], i: number): number {
  let low = 0;
  let high = runs.length / 3 - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (runs[3 * mid]! <= i) low = mid;
    else high = mid - 1;
  }
  return 3 * low;
}

/** The key of the job at `i` of a chunk. */
export function keyAt(chunk: Chunk, i: number): JobKey {
  if (chunk.items) return chunk.items[i]!.spec.key;
  if (chunk.keys) return chunk.keys[i]!;
  const r = runAt(chunk.runs, i);
  return chunk.runs[r + 1]! + (i - chunk.runs[r]!);
}

/** The job at `i` of a chunk as an item, made on demand for a first attempt. */
export function itemAt(chunk: Chunk, i: number): TaskItem {
  if (chunk.items) return chunk.items[i]!;
  const r = runAt(chunk.runs, i);
  const { runs } = chunk;
  const index = runs[r + 1]! + (i - runs[r]!);
  const spec: TaskSpec = {
    key: chunk.keys ? chunk.keys[i]! : index,
    task: chunk.task,
    input: chunk.inputs[i],
  };
  return newItem(index, spec, runs[r + 2]!);
}

export function itemsChunk(items: TaskItem[]): Chunk {
  return { task: items[0]!.spec.task, items, inputs: [], keys: undefined, runs: [] };
}
