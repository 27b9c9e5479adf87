// A chunk reads its call's stop flag (TaskRequest.stop) between items, and before its first:
// a chunk that reaches its thread after the call stopped (queued behind another task, or
// sent just before the stop) runs none of its items.
import { describe, expect, it } from 'vitest';
import { runRequest } from '../workers/task-host.js';
import { fixtures } from './helpers/tasks.js';

const chunk = (sab: SharedArrayBuffer, stop: SharedArrayBuffer) => ({
  module: fixtures.href,
  export: 'count',
  inputs: [{ sab }, { sab }, { sab }],
  stop,
});

describe("a chunk and its call's stop flag", () => {
  it('runs every item while the flag is clear', async () => {
    const counter = new SharedArrayBuffer(4);
    const response = await runRequest(chunk(counter, new SharedArrayBuffer(4)));
    expect(response.ran).toBeUndefined();
    expect(new Int32Array(counter)[0]).toBe(3);
    expect(response.values).toHaveLength(3);
  });

  it('runs none of its items when the flag is set before it starts, and says so', async () => {
    const counter = new SharedArrayBuffer(4);
    const stop = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(stop), 0, 1);
    const response = await runRequest(chunk(counter, stop));
    expect(response.ran).toBe(0);
    expect(new Int32Array(counter)[0]).toBe(0);
    expect(response.failures).toBeUndefined();
  });
});
