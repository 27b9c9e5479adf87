// Every node of a settled graph ends in exactly one state, consistent with its
// dependencies: fulfilled only after its dependencies fulfilled (unless `all-done`),
// skipped only when one of them did not, rejected only when it ran and failed. Each node
// that ran, ran once.
import { describe, expect, it } from 'vitest';
import type { CallTrace, GraphNode, NodeOutcome } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { double, fail } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

/** A deterministic pseudo-random DAG: each node depends on up to three earlier ones. */
function randomGraph(size: number, seed: number) {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const nodes: Record<string, GraphNode> = {};
  const failing = new Set<string>();
  const calls = new Map<string, number>();
  for (let i = 0; i < size; i++) {
    const name = `n${i}`;
    const deps = [
      ...new Set(Array.from({ length: Math.floor(random() * 4) }, () => Math.floor(random() * i))),
    ]
      .filter((d) => d < i)
      .map((d) => `n${d}`);
    const when = random() < 0.15 ? 'all-done' : 'all-fulfilled';
    const fails = random() < 0.2;
    if (fails) failing.add(name);
    if (random() < 0.5) {
      nodes[name] = (
        fails ? { task: fail, input: name, deps, when } : { task: double, input: i, deps, when }
      ) as GraphNode;
    } else {
      nodes[name] = {
        run: () => {
          calls.set(name, (calls.get(name) ?? 0) + 1);
          if (fails) throw new Error(name);
          return i;
        },
        deps,
        when,
      } as GraphNode;
    }
  }
  return { nodes, failing, calls };
}

describe.each(executors)('graph states on $name', ({ options }) => {
  it.each([1, 2, 3])('accounts for every node once (graph %i)', async (seed) => {
    const runner = createRunner(options);
    const { nodes, failing, calls } = randomGraph(60, seed);
    let trace: CallTrace | undefined;
    const report = await runner.graph(nodes, { policy: 'settle', onTrace: (t) => (trace = t) });
    const results = report.results as Record<string, NodeOutcome>;
    expect(Object.keys(results)).toEqual(Object.keys(nodes));
    const counts = { fulfilled: 0, rejected: 0, skipped: 0 };
    for (const [name, node] of Object.entries(nodes)) {
      const outcome = results[name]!;
      counts[outcome.status]++;
      const deps = (node.deps ?? []).map((d) => results[d]!);
      const allFulfilled = deps.every((d) => d.status === 'fulfilled');
      if (node.when === 'all-done' || allFulfilled) {
        expect(outcome.status).toBe(failing.has(name) ? 'rejected' : 'fulfilled');
      } else {
        expect(outcome.status).toBe('skipped');
        if (outcome.status !== 'skipped') continue;
        expect(node.deps).toContain(outcome.dependency);
        expect(results[outcome.dependency]!.status).not.toBe('fulfilled');
        expect(results[outcome.failed]!.status).toBe('rejected');
      }
    }
    expect(report.counts).toEqual({ total: 60, ...counts });
    expect(counts.rejected > 0 && counts.skipped > 0).toBe(true); // not vacuous
    expect(report.stats.jobs).toBe(counts.fulfilled + counts.rejected);
    // Each node that ran made exactly one attempt; skipped ones made none.
    const attempted = trace!.attempts.map((a) => a.job).sort();
    const ran = Object.keys(results)
      .filter((n) => results[n]!.status !== 'skipped')
      .sort();
    expect(attempted).toEqual(ran);
    for (const count of calls.values()) expect(count).toBe(1);
  });
});
