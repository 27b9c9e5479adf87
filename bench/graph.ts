// `npm run bench` (part of it): critical-path priority against first-come order on an
// uneven graph, in one run, rounds interleaved. The graph: a chain of CHAIN nodes beside
// (threads - 1) x CHAIN independent nodes declared before it, every node ~ITEM_MS of CPU.
// First come, the independent nodes take every thread and the chain starts last; by
// critical path, the chain starts at once and the rest fill the other threads.
import { loadavg } from 'node:os';
import { builtins, type CallTrace, createRunner, type GraphNode } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { calibrate } from '../workers/workloads.js';
import { median } from './rounds.js';

const ITEM_MS = 20;
const CHAIN = 8;
const ROUNDS = 9;

// Calibrate before the pool exists: starting workers would slow the measurement down.
const iterations = calibrate(ITEM_MS * 1000);
await using runner = createRunner();
const threads = runner.threads;
console.log(`machine: ${describeMachine()}`);
console.log(`fanout threads: ${threads}`);
// Other processes on the machine stretch task times: say how busy it was.
console.log(`load average at start: ${loadavg()[0]!.toFixed(2)}\n`);

const nodes: Record<string, GraphNode> = {};
const wide = Math.max(1, threads - 1) * CHAIN;
for (let i = 0; i < wide; i++) {
  nodes[`side${i}`] = { task: builtins.spin, input: { iterations, seed: i } };
}
for (let i = 0; i < CHAIN; i++) {
  nodes[`chain${i}`] = {
    task: builtins.spin,
    input: (deps) => ({ iterations, seed: Number(deps[`chain${i - 1}`] ?? 0) }),
    deps: i === 0 ? [] : [`chain${i - 1}`],
  };
}
console.log(
  `graph: a chain of ${CHAIN} nodes beside ${wide} independent nodes declared first, ~${ITEM_MS} ms each\n`,
);

type Order = 'critical-path' | 'fifo';
const runs: Record<Order, CallTrace[]> = { 'critical-path': [], fifo: [] };
const once = async (order: Order) => {
  let trace: CallTrace | undefined;
  await runner.graph(nodes, { order, onTrace: (t) => (trace = t) });
  return trace!;
};

// Warm up: worker start-up, module loading and the JIT stay out of the measurement.
await once('critical-path');
await once('fifo');
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always runs on a warmer machine.
  const pair: Order[] = round % 2 === 0 ? ['critical-path', 'fifo'] : ['fifo', 'critical-path'];
  for (const order of pair) runs[order].push(await once(order));
}

const rows = (['critical-path', 'fifo'] as const).map((order) => {
  const explanations = runs[order].map((t) => t.explain());
  return {
    order,
    'wall p50 (ms)': median(explanations.map((e) => e.wallMs)).toFixed(1),
    'wall min (ms)': Math.min(...explanations.map((e) => e.wallMs)).toFixed(1),
    'work p50 (ms)': median(explanations.map((e) => e.workMs)).toFixed(1),
    // Wall time in units of the run's own mean node time: steadier under a noisy machine.
    'wall / node p50': median(explanations.map((e) => e.wallMs / (e.workMs / e.jobs))).toFixed(2),
    'bound p50 (ms)': median(explanations.map((e) => e.boundMs)).toFixed(1),
    efficiency: `${(median(explanations.map((e) => e.efficiency)) * 100).toFixed(0)}%`,
  };
});
console.table(rows);
// What list scheduling predicts from the measured node time c: by critical path, the chain
// (CHAIN x c) with the side nodes beside it; first come, the side nodes, then the chain.
const all = [...runs['critical-path'], ...runs.fifo].map((t) => t.explain());
const c = median(all.map((e) => e.workMs / e.jobs));
const model = (n: number) => `${(n * c).toFixed(0)} ms`;
console.log(
  `model (measured ${c.toFixed(1)} ms per node): critical path ~${model(Math.max(CHAIN, Math.ceil((wide + CHAIN) / threads)))}, first come ~${model(Math.ceil(wide / threads) + CHAIN)}`,
);
// Rounds ran in pairs under like conditions: compare within each pair.
const ratios = runs.fifo.map((t, i) => t.wallMs / runs['critical-path'][i]!.wallMs);
console.log(
  `critical-path priority vs first come: ${median(ratios).toFixed(2)}x faster (median of ${ROUNDS} paired rounds; range ${Math.min(...ratios).toFixed(2)}x to ${Math.max(...ratios).toFixed(2)}x)`,
);
console.log(`load average at end: ${loadavg()[0]!.toFixed(2)}\n`);
console.log(runs['critical-path'].at(-1)!.summary());
console.log();
console.log(runs.fifo.at(-1)!.summary());
