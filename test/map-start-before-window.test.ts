// A stream whose threads are idle starts them on a chunk each before reading on: the
// work does not wait for a whole window of inputs to be read, even when the runner knows
// the task's items are cheap (which makes it read far ahead).
import { expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { threads } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const countAndNotify = defineTask<{ sab: SharedArrayBuffer }, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'countAndNotify',
);
const createRunner = trackRunners();

it('runs the first items while the source is still being read', async () => {
  const runner = createRunner(threads.options);
  const sab = new SharedArrayBuffer(4);
  // A first call teaches the runner that these items are cheap.
  await runner
    .map(
      countAndNotify,
      Array.from({ length: 1_000 }, () => ({ sab })),
    )
    .toArray();
  const ran = new Int32Array(sab);
  let waited: string | undefined;
  function* inputs(): Generator<{ sab: SharedArrayBuffer }> {
    for (let i = 0; i < 1_000; i++) {
      // Late in the window, the reading waits (blocking the main thread) until a task of
      // this call has run: only a chunk sent before this point can end the wait. The
      // limit only keeps a broken build from hanging.
      if (i === 900) waited = Atomics.wait(ran, 0, 1_000, 30_000);
      yield { sab };
    }
  }
  const out = await runner.map(countAndNotify, inputs(), { window: 1_000 }).toArray();
  expect(out).toHaveLength(1_000);
  expect(waited).not.toBe('timed-out');
});
