// Line: the queue of items a call takes from the front (retries, isolated items, function
// jobs). Its order must be exactly an array's under shift/push/unshift, across the
// compactions that drop taken slots.
import { describe, expect, it } from 'vitest';
import { Line } from '../src/queue.js';

/** Runs the same operations on a Line and on a plain array, checking they agree. */
function mirror() {
  const line = new Line<number>();
  const array: number[] = [];
  let next = 0;
  return {
    push(n: number) {
      for (let i = 0; i < n; i++) {
        line.push(next);
        array.push(next++);
      }
    },
    shift(n: number) {
      for (let i = 0; i < n; i++) expect(line.shift()).toBe(array.shift());
    },
    unshift(n: number) {
      const items = Array.from({ length: n }, () => next++);
      line.unshiftAll(items);
      array.unshift(...items);
    },
    check() {
      expect(line.length).toBe(array.length);
      expect(line.peek()).toBe(array[0]);
    },
    drain() {
      const out: number[] = [];
      for (let item = line.shift(); item !== undefined; item = line.shift()) out.push(item);
      expect(out).toEqual(array.splice(0));
    },
  };
}

describe('Line', () => {
  it('keeps the order of an array through pushes, shifts and unshifts at any size', () => {
    const m = mirror();
    m.push(5000);
    m.shift(3000); // past the compaction threshold
    m.check();
    m.unshift(10); // into the room left at the front
    m.check();
    m.unshift(5000); // more than that room
    m.check();
    m.shift(4000);
    m.push(100);
    m.unshift(1);
    m.check();
    m.drain();
    m.check();
  });

  it('says how many it held when cleared, and is empty after', () => {
    const line = new Line<string>();
    line.push('a');
    line.push('b');
    line.unshift('z');
    expect(line.clear()).toBe(3);
    expect(line.length).toBe(0);
    expect(line.shift()).toBeUndefined();
    expect(line.peek()).toBeUndefined();
  });
});
