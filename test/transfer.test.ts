// Typed arrays and ArrayBuffers move between threads instead of being copied when
// `transfer: true`: inputs (the caller's views are detached) and outputs (the worker's
// are). Otherwise both are copied.
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const fixtures = new URL('./fixtures/buffer-tasks.mjs', import.meta.url);
const scale = defineTask<{ data: Float32Array; by: number }, Float32Array>(fixtures, 'scale');
const byteSum = defineTask<ArrayBuffer, number>(fixtures, 'byteSum');
const keepOutput = defineTask<number, Float64Array>(fixtures, 'keepOutput');
const lastOutputBytes = defineTask<undefined, number | undefined>(fixtures, 'lastOutputBytes');

const createRunner = trackRunners();

describe.each(executors)('transfer on $name', ({ options }) => {
  it('moves input buffers when asked: they arrive intact and are detached here', async () => {
    const runner = createRunner(options);
    const inputs = Array.from({ length: 8 }, (_, k) => ({
      data: Float32Array.from({ length: 1000 }, (_, i) => i + k),
      by: 2,
    }));
    const views = inputs.map((input) => input.data);
    const out = await runner.all(scale, inputs, { transfer: true });
    out.forEach((result, k) => {
      expect(result).toBeInstanceOf(Float32Array);
      expect(result.length).toBe(1000);
      expect(result[10]).toBe(2 * (10 + k));
    });
    for (const view of views) expect(view.byteLength).toBe(0);
  });

  it('copies input buffers by default: the caller keeps them', async () => {
    const runner = createRunner(options);
    const buffer = Uint8Array.from([1, 2, 3, 4]).buffer;
    expect(await runner.run(byteSum, buffer)).toBe(10);
    expect(buffer.byteLength).toBe(4);
  });

  it('moves a bare ArrayBuffer input when asked', async () => {
    const runner = createRunner(options);
    const buffer = Uint8Array.from([5, 6, 7]).buffer;
    expect(await runner.all(byteSum, [buffer], { transfer: true })).toEqual([18]);
    expect(buffer.byteLength).toBe(0);
  });
});

// Only a worker can show what happened to its copy of an output: one thread, so the
// task that looks runs where the output was made.
describe('outputs of a worker', () => {
  it('are copied by default: the worker keeps its buffer', async () => {
    const runner = createRunner({ threads: 1 });
    const [out] = await runner.all(keepOutput, [4]);
    expect(Array.from(out!)).toEqual([1, 1, 1, 1]);
    expect(await runner.run(lastOutputBytes, undefined)).toBe(32);
  });

  it('move back with transfer: true, detaching the buffer in the worker', async () => {
    const runner = createRunner({ threads: 1 });
    const [out] = await runner.all(keepOutput, [4], { transfer: true });
    expect(Array.from(out!)).toEqual([1, 1, 1, 1]);
    expect(await runner.run(lastOutputBytes, undefined)).toBe(0);
  });
});
