// Typed arrays and ArrayBuffers move between threads instead of being copied: inputs when
// `transfer: true` (the caller's views are detached), outputs always.
import { afterEach, describe, expect, it } from 'vitest';
import { createRunner, defineTask, type Runner } from '../src/index.js';

const fixtures = new URL('./fixtures/buffer-tasks.mjs', import.meta.url);
const scale = defineTask<{ data: Float32Array; by: number }, Float32Array>(fixtures, 'scale');
const byteSum = defineTask<ArrayBuffer, number>(fixtures, 'byteSum');

let runner: Runner | undefined;
afterEach(async () => {
  await runner?.destroy();
  runner = undefined;
});

describe.each([
  { name: 'threads', threads: 2 },
  { name: 'inline', threads: 0 },
])('transfer on $name', ({ threads }) => {
  it('moves input buffers when asked: they arrive intact and are detached here', async () => {
    runner = createRunner({ threads });
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
    runner = createRunner({ threads });
    const buffer = Uint8Array.from([1, 2, 3, 4]).buffer;
    expect(await runner.run(byteSum, buffer)).toBe(10);
    expect(buffer.byteLength).toBe(4);
  });

  it('moves a bare ArrayBuffer input when asked', async () => {
    runner = createRunner({ threads });
    const buffer = Uint8Array.from([5, 6, 7]).buffer;
    expect(await runner.all(byteSum, [buffer], { transfer: true })).toEqual([18]);
    expect(buffer.byteLength).toBe(0);
  });
});
