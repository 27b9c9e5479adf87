import { describe, expect, it } from 'vitest';
import { chunkLength, FreshQueue, itemAt, keyAt, type TaskSpec } from '../src/queue.js';

const task = { module: 'file:///tasks.mjs', export: 'double' };
const spec = (input: number): TaskSpec => ({ key: input, task, input }) as unknown as TaskSpec;

/** Index, input and ready time of every job of a chunk, through itemAt. */
function jobs(chunk: ReturnType<FreshQueue['take']>): number[][] {
  return Array.from({ length: chunkLength(chunk) }, (_, i) => {
    const item = itemAt(chunk, i);
    return [item.index, item.spec.input as number, item.readyAt];
  });
}

describe('FreshQueue (first attempts kept as inputs and runs of indexes)', () => {
  it('gives each job its own index and ready time across runs', () => {
    const q = new FreshQueue();
    q.pushSpec(spec(10), 0, 5);
    q.pushSpec(spec(11), 1, 5);
    q.pushSpec(spec(12), 2, 7); // read later: a new run
    q.pushSpec(spec(13), 4, 7); // index 3 went elsewhere (a function job): a new run
    q.pushSpec(spec(14), 5, 7);
    expect(q.size).toBe(5);
    expect(q.headIndex).toBe(0);
    expect(jobs(q.take(4, task))).toEqual([
      [0, 10, 5],
      [1, 11, 5],
      [2, 12, 7],
      [4, 13, 7],
    ]);
    expect(q.headIndex).toBe(5);
    const last = q.shiftItem();
    expect([last?.index, last?.spec.input, last?.readyAt]).toEqual([5, 14, 7]);
    expect(q.shiftItem()).toBeUndefined();
  });

  it('starts a chunk in the middle of a run', () => {
    const q = new FreshQueue();
    for (let i = 0; i < 6; i++) q.pushSpec(spec(i), i, 1);
    q.take(2, task);
    const chunk = q.take(5, task);
    expect(chunk.runs).toEqual([0, 2, 1]);
    expect(jobs(chunk).map(([index]) => index)).toEqual([2, 3, 4]);
  });

  it('keeps indexes and times right through compaction and after running empty', () => {
    const q = new FreshQueue();
    let index = 0;
    const seen: number[][] = [];
    // Rounds of pushes and takes, times changing every 700 jobs and a gap every 1500.
    for (let round = 0; round < 8; round++) {
      for (let n = 0; n < 1000; n++, index++) {
        if (index % 1500 === 1499) index++;
        q.pushSpec(spec(index), index, Math.floor(index / 700));
      }
      while (q.size > (round === 7 ? 0 : 300)) {
        seen.push(...jobs(q.take(Math.min(q.head + 257, q.end), task)));
      }
    }
    expect(seen).toHaveLength(8000);
    for (const [jobIndex, input, readyAt] of seen) {
      expect(input).toBe(jobIndex);
      expect(readyAt).toBe(Math.floor(jobIndex! / 700));
    }
    expect(new Set(seen.map(([i]) => i)).size).toBe(8000);
    expect(q.head).toBeLessThan(1100); // it compacted
  });

  it("keys the jobs of a queue of one task by their indexes, and keeps others' keys", () => {
    const one = new FreshQueue(task);
    for (const index of [0, 1, 2, 5, 6]) one.push(`input ${index}`, index, 1);
    const chunk = one.take(4, task);
    expect([0, 1, 2, 3].map((i) => keyAt(chunk, i))).toEqual([0, 1, 2, 5]);
    expect(itemAt(chunk, 3).spec).toEqual({ key: 5, task, input: 'input 5' });
    expect(one.shiftItem()?.spec).toEqual({ key: 6, task, input: 'input 6' });

    const other = { module: 'file:///tasks.mjs', export: 'other' };
    const keyed = new FreshQueue();
    keyed.pushSpec({ key: 'a', task, input: 1 }, 0, 1);
    keyed.pushSpec({ key: 'b', task: other, input: 2 }, 1, 1);
    expect(keyed.taskAt(keyed.head)).toBe(task);
    const first = keyed.take(1, task);
    expect([keyAt(first, 0), itemAt(first, 0).spec.key]).toEqual(['a', 'a']);
    expect(keyed.taskAt(keyed.head)).toBe(other);
    expect(keyed.shiftItem()?.spec).toEqual({ key: 'b', task: other, input: 2 });
  });
});
