// `npm run bench:memory`: streams 10 million generated items through runner.map (a tiny
// spin task each) and reports how far the main thread's heap grew above its baseline
// while it ran (peak heapUsed, garbage not yet collected included). map() reads its
// source through a bounded window, so the growth must not depend on the number of
// items: the target is under 64 MB. With --gc-every N it also forces a collection every
// N results and reports the peak of what was still live then (the window's own size).
//
//   node --expose-gc dist/bench/memory.js [--items N] [--iterations N] [--gc-every N]
import { parseArgs } from 'node:util';
import { builtins, createRunner } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { type SpinInput, spin } from '../workers/workloads.js';

const TARGET_MB = 64;
const MB = 2 ** 20;

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000000' },
    iterations: { type: 'string', default: '8' },
    'gc-every': { type: 'string', default: '0' },
  },
});
function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(
      `Expected --${name} to be an integer from ${min} and up, got \`${value}\``,
    );
  }
  return n;
}
const items = integer('items', values.items, 1);
const iterations = integer('iterations', values.iterations, 0);
const gcEvery = integer('gc-every', values['gc-every'], 0);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run node with --expose-gc (npm run bench:memory does), so the baseline is clean');
  process.exit(2);
}

function* generate(): Generator<SpinInput> {
  for (let seed = 0; seed < items; seed++) yield { iterations, seed };
}

console.log(`machine: ${describeMachine()}`);
console.log(
  `mapping ${items.toLocaleString('en-US')} generated items (spin, ${iterations} iterations each)`,
);

await using runner = createRunner();
// Start the workers and load the task before the baseline.
await runner.map(builtins.spin, [{ iterations, seed: 0 }]).toArray();

gc();
const baseline = process.memoryUsage();
let peakHeap = baseline.heapUsed;
let peakRss = baseline.rss;
let peakLive = baseline.heapUsed;
const sample = () => {
  const now = process.memoryUsage();
  if (now.heapUsed > peakHeap) peakHeap = now.heapUsed;
  if (now.rss > peakRss) peakRss = now.rss;
};
// The loop below samples every few thousand results; the timer also catches the
// moments between them (the main thread yields whenever it waits for a worker).
const timer = setInterval(sample, 20);

const started = performance.now();
let count = 0;
let checksum = 0;
for await (const value of runner.map(builtins.spin, generate())) {
  checksum = (checksum + value) % 4294967296;
  if (++count % 4096 === 0) sample();
  if (gcEvery > 0 && count % gcEvery === 0) {
    sample();
    gc();
    peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
  }
}
sample();
clearInterval(timer);
const seconds = (performance.now() - started) / 1000;
gc();
const retained = process.memoryUsage().heapUsed - baseline.heapUsed;

// A fast wrong answer is a failure: the same sum from the sequential kernel.
let expected = 0;
for (const input of generate()) expected = (expected + spin(input)) % 4294967296;
if (count !== items || checksum !== expected) {
  console.error(
    `FAILED: ${count} results (expected ${items}), checksum ${checksum} (expected ${expected})`,
  );
  process.exit(1);
}

const growthMb = (peakHeap - baseline.heapUsed) / MB;
console.log(
  `done in ${seconds.toFixed(1)} s (${((seconds * 1e6) / items).toFixed(2)} µs per item), results checked`,
);
console.log(`peak heap growth: ${growthMb.toFixed(1)} MB (target: under ${TARGET_MB} MB)`);
if (gcEvery > 0) {
  console.log(
    `peak live heap growth (after a forced collection every ${gcEvery.toLocaleString('en-US')} results): ${((peakLive - baseline.heapUsed) / MB).toFixed(1)} MB`,
  );
}
console.log(`heap still held after the run (after a collection): ${(retained / MB).toFixed(1)} MB`);
console.log(
  `peak RSS growth: ${((peakRss - baseline.rss) / MB).toFixed(1)} MB (the whole process, workers included)`,
);
if (growthMb >= TARGET_MB) {
  console.error(`FAILED: the heap grew ${growthMb.toFixed(1)} MB, over the ${TARGET_MB} MB target`);
  process.exitCode = 1;
}
