// How the engine holds jobs between the source and the threads. A job's first attempt
// waits in a FreshQueue (parallel arrays, no object per job) and travels in a Chunk of
// such arrays; a job that needs state of its own (a retry, an isolated item after a
// crash, a main-thread function) is an Item.
import type { JobSpec } from './call.js';
import type { TaskRef } from './protocol.js';

/** A job waiting for, or going through, its next attempt. */
export interface Item {
  readonly index: number;
  readonly spec: JobSpec;
  /** The number of the attempt to make next. */
  attempt: number;
  /** When the item became ready for this attempt. */
  readyAt: number;
  /** Set after its chunk crashed: the item travels alone from then on. */
  isolate: boolean;
  firstQueued: number | undefined;
  runMs: number;
  waitMs: number;
}

export type TaskSpec = JobSpec & { readonly task: TaskRef; readonly input: unknown };
export type TaskItem = Item & { readonly spec: TaskSpec };

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
 * First attempts waiting for a thread, in pull order. Parallel arrays, not an item per
 * job: on the hot path of a map over tiny items the main thread allocates nothing per job
 * but its slot here. An item is made only when a job needs one (it failed, it must wait
 * for a retry, its chunk crashed).
 */
export class FreshQueue {
  specs: TaskSpec[] = [];
  indexes: number[] = [];
  times: number[] = [];
  head = 0;

  get size(): number {
    return this.specs.length - this.head;
  }

  push(spec: TaskSpec, index: number, time: number): void {
    this.specs.push(spec);
    this.indexes.push(index);
    this.times.push(time);
  }

  /** The first entry as an item (taking it), or undefined when empty. */
  shiftItem(): TaskItem | undefined {
    if (this.head >= this.specs.length) return undefined;
    const at = this.head++;
    const item = newItem(this.indexes[at]!, this.specs[at]!, this.times[at]!);
    this.compact();
    return item;
  }

  /** Takes entries up to `end` (exclusive) as a chunk of first attempts. */
  take(end: number, task: TaskRef): Chunk {
    const chunk: Chunk = {
      task,
      items: undefined,
      specs: this.specs.slice(this.head, end),
      indexes: this.indexes.slice(this.head, end),
      readyAt: this.times.slice(this.head, end),
    };
    this.head = end;
    this.compact();
    return chunk;
  }

  /** Drops the entries already taken from the front, once they are many. */
  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.specs.length) {
      this.specs = this.specs.slice(this.head);
      this.indexes = this.indexes.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

/** Jobs of one task sent together: first attempts as arrays, or items (retries, isolated). */
export interface Chunk {
  readonly task: TaskRef;
  /** Set for a chunk of items; otherwise the jobs are described by the arrays below. */
  readonly items: TaskItem[] | undefined;
  readonly specs: readonly TaskSpec[];
  readonly indexes: readonly number[];
  readonly readyAt: readonly number[];
}

export const chunkLength = (chunk: Chunk): number => chunk.items?.length ?? chunk.specs.length;

/** The job at `i` of a chunk as an item, made on demand for a first attempt. */
export function itemAt(chunk: Chunk, i: number): TaskItem {
  return chunk.items?.[i] ?? newItem(chunk.indexes[i]!, chunk.specs[i]!, chunk.readyAt[i]!);
}

export function itemsChunk(items: TaskItem[]): Chunk {
  return { task: items[0]!.spec.task, items, specs: [], indexes: [], readyAt: [] };
}
