// Typed arrays and ArrayBuffers move between threads instead of being copied when
// `transfer: true`: inputs (the caller's views are detached) and outputs (the worker's
// are). Otherwise both are copied.
import { describe, expect, it } from 'vitest';
import { type CallTrace, defineTask } from '../src/index.js';
import { chunkSizes } from './helpers/chunks.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const fixtures = new URL('./fixtures/buffer-tasks.mjs', import.meta.url);
const scale = defineTask<{ data: Float32Array; by: number }, Float32Array>(fixtures, 'scale');
const byteSum = defineTask<ArrayBuffer, number>(fixtures, 'byteSum');
const keepOutput = defineTask<number, Float64Array>(fixtures, 'keepOutput');
const lastOutputBytes = defineTask<undefined, number | undefined>(fixtures, 'lastOutputBytes');
const sumOrFail = defineTask<{ data: Float64Array; succeedOn?: number; exit?: boolean }, number>(
  fixtures,
  'sumOrFail',
);

const returnOrRetry = defineTask<
  { data: Uint8Array; failFirst?: boolean; log?: string[] },
  unknown
>(fixtures, 'returnOrRetry');

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
  it('retries an item with its buffers: a failed attempt sends its input back', async () => {
    const runner = createRunner(options);
    const inputs = Array.from({ length: 6 }, (_, k) => ({
      data: new Float64Array(1000).fill(k + 1),
      succeedOn: k % 2 === 0 ? 1 : 3,
    }));
    for (const chunkSize of [1, 3]) {
      const copies = inputs.map((input) => ({ ...input, data: input.data.slice() }));
      const report = await runner.all(sumOrFail, copies, {
        transfer: true,
        retries: 2,
        chunkSize,
        policy: 'settle',
      });
      expect(report.results.map((o) => o.status === 'fulfilled' && o.value)).toEqual(
        inputs.map((_, k) => 1000 * (k + 1)),
      );
      expect(report.results.map((o) => o.attempts)).toEqual(inputs.map((i) => i.succeedOn));
      // Moved, as asked: the caller's views are detached.
      expect(copies.every((c) => c.data.length === 0)).toBe(true);
    }
  });

  it('retries with the input as given, its buffers taken back, and detaches no result', async () => {
    const runner = createRunner(options);
    // Two items of one chunk share a buffer: the first returns it, the second fails once,
    // after changing its input. Its retry gets the input as given (not as changed) with
    // its buffer, which must not be the one the first item's result holds.
    const shared = Uint8Array.from([7, 8, 9]);
    const report = await runner.all(
      returnOrRetry,
      [{ data: shared }, { data: shared, failFirst: true, log: ['given'] }],
      { transfer: true, retries: 1, chunkSize: 2, policy: 'settle' },
    );
    const [first, second] = report.results;
    expect(second).toMatchObject({
      status: 'fulfilled',
      attempts: 2,
      value: { log: ['given'], length: 3, first: 7 },
    });
    expect(first!.status).toBe('fulfilled');
    expect(Array.from((first as { value: Uint8Array }).value)).toEqual([7, 8, 9]);
  });

  it('fails an input whose buffer is already detached with ERR_DATA_CLONE, sending nothing', async () => {
    const runner = createRunner(options);
    const gone = Uint8Array.from([1]);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    // Alone (it once hung the call, its message lost), and in a chunk with others.
    for (const chunkSize of [1, 3]) {
      const report = await runner.all(
        byteSum,
        [Uint8Array.from([1, 2]).buffer, gone.buffer, Uint8Array.from([3]).buffer],
        { transfer: true, chunkSize, policy: 'settle' },
      );
      expect(
        report.results.map((o) => (o.status === 'fulfilled' ? o.value : o.reason.code)),
      ).toEqual([3, 'ERR_DATA_CLONE', 3]);
    }
  });
});

// Only a worker can show what happened to its copy of an output: one thread, so the
// task that looks runs where the output was made.
describe('transferred inputs that go with their worker', () => {
  it('fail their jobs, culprit and chunk-mates alike, instead of being sent again detached', async () => {
    const runner = createRunner({ threads: 2 });
    const inputs = Array.from({ length: 9 }, (_, k) => ({
      data: new Float64Array(10).fill(k + 1),
      exit: k === 4,
    }));
    const report = await runner.all(sumOrFail, inputs, {
      transfer: true,
      retries: 1,
      chunkSize: 3,
      policy: 'settle',
    });
    const lost = [3, 4, 5]; // the chunk whose worker exited
    report.results.forEach((outcome, k) => {
      if (!lost.includes(k)) {
        expect(outcome).toMatchObject({ status: 'fulfilled', value: 10 * (k + 1), attempts: 1 });
        return;
      }
      expect(outcome.status).toBe('rejected');
      if (outcome.status !== 'rejected') return;
      expect(outcome.reason.code).toBe('ERR_WORKER_EXITED');
      expect(outcome.attempts).toBe(1);
      expect(outcome.reason.message).toContain('transferred buffers went with that attempt');
    });
    // The runner goes on with fresh workers.
    await expect(
      runner.all(sumOrFail, [{ data: new Float64Array(4).fill(2) }], { transfer: true }),
    ).resolves.toEqual([8]);
  });
});

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

describe('chunks of a call that transfers', () => {
  it('hold at most 1024 items unless maxChunk says otherwise (one transfer list each)', async () => {
    const runner = createRunner({ threads: 2 });
    const buffers = () =>
      Array.from({ length: 12_000 }, (_, i) => new Uint8Array([i % 256]).buffer);
    let trace: CallTrace | undefined;
    const sums = await runner.all(byteSum, buffers(), {
      transfer: true,
      onTrace: (t) => {
        trace = t;
      },
    });
    expect(sums).toEqual(Array.from({ length: 12_000 }, (_, i) => i % 256));
    const sizes = chunkSizes(trace!);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024);
    // Given a bigger maxChunk, the same call takes bigger chunks.
    await runner.all(byteSum, buffers(), {
      transfer: true,
      maxChunk: 100_000,
      onTrace: (t) => {
        trace = t;
      },
    });
    expect(Math.max(...chunkSizes(trace!))).toBeGreaterThan(1024);
  });
});
