// `npm run demo`: the same CPU-bound work run sequentially on the main thread and then in
// parallel with fanout, in one run, with the speedup it bought.
import { builtins, createRunner } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { countPrimes } from '../workers/workloads.js';

// About half a second of sequential work: long enough that this machine's noise and the
// messages to the threads do not blur the ratio.
const RANGES = 128;
const SPAN = 400_000;
const inputs = Array.from({ length: RANGES }, (_, i) => ({
  from: 10_000_000 + i * SPAN,
  to: 10_000_000 + (i + 1) * SPAN,
}));

function sequential(): { ms: number; result: number[] } {
  const t0 = performance.now();
  const result = inputs.map(countPrimes);
  return { ms: performance.now() - t0, result };
}

await using runner = createRunner();
console.log(`fanout demo on ${describeMachine()}`);
console.log(`work: count the primes in ${RANGES} ranges of ${SPAN.toLocaleString()} numbers\n`);

// Warm up both sides (JIT, worker start-up, module loading) outside the measurement.
sequential();
await runner.all(builtins.countPrimes, inputs);

const rounds = 5;
const ratios: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const seq = sequential();
  const t0 = performance.now();
  const par = await runner.all(builtins.countPrimes, inputs);
  const parMs = performance.now() - t0;
  if (par.some((count, i) => count !== seq.result[i])) {
    throw new Error('the parallel results differ from the sequential ones');
  }
  ratios.push(seq.ms / parMs);
  console.log(
    `round ${round}: sequential ${seq.ms.toFixed(0)} ms, fanout on ${runner.threads} threads ${parMs.toFixed(0)} ms, speedup ${(seq.ms / parMs).toFixed(2)}x`,
  );
}
const median = ratios.sort((a, b) => a - b)[Math.floor(rounds / 2)] ?? 0;
console.log(
  `\nmedian speedup ${median.toFixed(2)}x on ${runner.threads} threads (ceiling ${runner.threads}.00x), efficiency ${((median / runner.threads) * 100).toFixed(0)}%; results identical`,
);
