// `npm run bench:core`: runner.all over CPU-bound tasks of a few milliseconds against the
// same work in a plain loop on the main thread, measured in one run with tinybench.
import { Bench } from 'tinybench';
import { builtins, createRunner } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { calibrate, countPrimes, type SpinInput, spin } from '../workers/workloads.js';

const ITEM_MS = 3;
const ITEMS = 128;

// Calibrate before any worker starts, so that start-up does not skew the measurement.
const iterations = calibrate(ITEM_MS * 1000);
const spinInputs: SpinInput[] = Array.from({ length: ITEMS }, (_, i) => ({ iterations, seed: i }));

await using runner = createRunner();
console.log(`machine: ${describeMachine()}`);
console.log(`fanout threads: ${runner.threads}\n`);
const primeInputs = Array.from({ length: ITEMS }, (_, i) => ({
  from: 20_000_000 + i * 400_000,
  to: 20_000_000 + (i + 1) * 400_000,
}));

interface Case {
  readonly name: string;
  readonly sequential: () => unknown[];
  readonly parallel: () => Promise<unknown[]>;
}

const cases: Case[] = [
  {
    name: `spin, ${ITEMS} items of ~${ITEM_MS} ms`,
    sequential: () => spinInputs.map(spin),
    parallel: () => runner.all(builtins.spin, spinInputs),
  },
  {
    name: `countPrimes, ${ITEMS} ranges of 400k`,
    sequential: () => primeInputs.map(countPrimes),
    parallel: () => runner.all(builtins.countPrimes, primeInputs),
  },
];

const rows: Record<string, string>[] = [];
for (const c of cases) {
  // A fast wrong answer is a failure: check before measuring.
  const expected = JSON.stringify(c.sequential());
  if (JSON.stringify(await c.parallel()) !== expected) {
    throw new Error(`${c.name}: fanout's results differ from the sequential loop's`);
  }
  const bench = new Bench({ iterations: 15, time: 0, warmupIterations: 3 });
  bench.add('sequential', () => {
    c.sequential();
  });
  bench.add('fanout all', async () => {
    await c.parallel();
  });
  await bench.run();
  const [seq, par] = bench.tasks.map((t) => t.result);
  if (seq?.state !== 'completed' || par?.state !== 'completed')
    throw new Error(`${c.name}: a task failed`);
  const speedup = seq.latency.p50 / par.latency.p50;
  rows.push({
    case: c.name,
    'sequential p50 (ms)': seq.latency.p50.toFixed(1),
    'fanout p50 (ms)': par.latency.p50.toFixed(1),
    'fanout ±rme': `${par.latency.rme.toFixed(1)}%`,
    speedup: `${speedup.toFixed(2)}x`,
    efficiency: `${((speedup / runner.threads) * 100).toFixed(0)}%`,
  });
}
console.table(rows);
