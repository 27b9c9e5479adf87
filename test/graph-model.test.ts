// graph() against the model: random graphs of worker-task and main-thread nodes, some of
// them `when: 'all-done'`, whose inputs are computed from their dependencies' results, run
// under both policies with retries and concurrency caps. The model says what every node
// gives: a value that encodes its dependencies' values, a failure, or (settle) a skip that
// goes back to the failed node. Seeded, so a failing scenario names the seed to replay.
import { describe, expect } from 'vitest';
import type { GraphOptions } from '../src/index.js';
import { executors } from './helpers/executors.js';
import {
  type Expected,
  expected,
  type Item,
  itemOnMain,
  items,
  labelled,
  modelItem,
  modelTests,
  random,
} from './helpers/model.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

interface Node {
  readonly name: string;
  readonly deps: readonly number[];
  readonly onMain: boolean;
  readonly allDone: boolean;
  /** What the node does, besides its input: fail, fail at first, end its worker. */
  readonly item: Item;
}

interface Scenario {
  readonly seed: number;
  readonly nodes: readonly Node[];
  readonly options: GraphOptions;
  /** A main-thread node with no dependencies that aborts the call when it runs, if any. */
  readonly abortAt: number | undefined;
}

const nameOf = (i: number) => `n${i}`;

function scenario(seed: number, crashes: boolean): Scenario {
  const { next, pick } = random(seed);
  const n = pick([1, 2, 5, 12, 30]);
  const edgeRate = pick([0, 0.1, 0.3]);
  const list = items(next, n, crashes);
  const nodes = list.map((item, i): Node => {
    const onMain = next() < 0.3;
    return {
      name: nameOf(i),
      deps: Array.from({ length: i }, (_, d) => d).filter(() => next() < edgeRate),
      onMain,
      allDone: next() < 0.15,
      // A main-thread node must not end the process.
      item: onMain ? { ...item, exit: false } : item,
    };
  });
  return {
    seed,
    nodes,
    options: {
      policy: pick(['fail-fast', 'settle'] as const),
      retries: pick([0, 1, 2]),
      order: pick(['critical-path', 'fifo'] as const),
      ...(next() < 0.3 ? { concurrency: pick([1, 2, 3]) } : {}),
    },
    abortAt:
      next() < 0.15
        ? pick(nodes.flatMap((node, i) => (node.deps.length === 0 ? [i] : [])))
        : undefined,
  };
}

type DepResult = { readonly status?: string; readonly value?: unknown };

/** A node's x, from what it received: its dependencies' values, or their outcomes. */
function xOf(node: Node, index: number, deps: Record<string, unknown>): number {
  const received = node.deps.map((d) => deps[nameOf(d)]);
  if (node.allDone) {
    const fulfilled = received.filter((r) => (r as DepResult).status === 'fulfilled').length;
    return index + 100 * fulfilled;
  }
  const sum = received.reduce<number>((total, v) => (total + (v as number)) % 1009, 0);
  return index + 100 * sum;
}

function graphNodes(s: Scenario, abort: () => void): Record<string, unknown> {
  return Object.fromEntries(
    s.nodes.map((node, i) => {
      const deps = node.deps.map(nameOf);
      const when = node.allDone ? { when: 'all-done' } : {};
      if (i === s.abortAt) return [node.name, { run: abort, deps }];
      if (node.onMain) {
        const run = (received: Record<string, unknown>, ctx: { attempt: number }) =>
          itemOnMain({ ...node.item, x: xOf(node, i, received) }, ctx.attempt);
        return [node.name, { run, deps, ...when }];
      }
      const input = (received: Record<string, unknown>) => ({
        ...node.item,
        x: xOf(node, i, received),
      });
      return [node.name, { task: modelItem, input, deps, ...when }];
    }),
  );
}

type ModelOutcome =
  | (Expected & { readonly skipped?: undefined })
  | {
      readonly skipped: true;
      readonly from: readonly number[];
      readonly failed: readonly number[];
    };

/** What settle gives each node; fail-fast fails with one of the nodes this says fail. */
function model(s: Scenario): ModelOutcome[] {
  const retries = s.options.retries as number;
  const out: ModelOutcome[] = [];
  const valueOfNode = (d: number) => {
    const o = out[d]!;
    return !o.skipped && o.ok ? o.value : undefined;
  };
  s.nodes.forEach((node, i) => {
    const notFulfilled = node.deps.filter((d) => valueOfNode(d) === undefined);
    if (!node.allDone && notFulfilled.length > 0) {
      // Skipped: because of any dependency that did not fulfil, back to a failed node.
      const failed = notFulfilled.flatMap((d) => {
        const o = out[d]!;
        return o.skipped ? o.failed : [d];
      });
      out.push({ skipped: true, from: notFulfilled, failed });
      return;
    }
    const received = Object.fromEntries(
      node.deps.map((d) => {
        const v = valueOfNode(d);
        return [nameOf(d), node.allDone ? { status: v === undefined ? 'other' : 'fulfilled' } : v];
      }),
    );
    out.push(expected({ ...node.item, x: xOf(node, i, received) }, retries));
  });
  return out;
}

async function check(
  runnerGraph: (nodes: unknown, options: GraphOptions) => Promise<unknown>,
  s: Scenario,
) {
  const m = model(s);
  const failing = m.flatMap((o, i) => (!o.skipped && !o.ok ? [i] : []));
  const controller = new AbortController();
  const reason = new Error(`scenario ${s.seed} aborted`);
  const abort = () => controller.abort(reason);
  const settled = await runnerGraph(graphNodes(s, abort), {
    ...s.options,
    signal: controller.signal,
  }).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (s.abortAt !== undefined) {
    // The abort node runs unless (fail-fast) a failure stopped the call first: the call
    // rejects with the signal's reason, or with that failure.
    expect(settled.ok, 'an aborted graph rejects').toBe(false);
    const error = (settled as { error: { code?: string; job?: string } }).error;
    if (error === reason) return;
    expect(s.options.policy, `${String(error)} instead of the abort's reason`).toBe('fail-fast');
    expect(failing).toContain(Number(String(error.job).slice(1)));
    return;
  }
  if (s.options.policy !== 'settle') {
    if (failing.length === 0) {
      expect(settled.ok, 'no node fails').toBe(true);
      const values = (settled as { value: Record<string, unknown> }).value;
      expect(values).toEqual(
        Object.fromEntries(m.map((o, i) => [nameOf(i), !o.skipped && o.ok ? o.value : 'none'])),
      );
    } else {
      expect(settled.ok, 'a node fails').toBe(false);
      const error = (settled as { error: { code: string; job: string } }).error;
      const i = Number(error.job.slice(1));
      expect(failing).toContain(i);
      const o = m[i]!;
      expect(error.code).toBe(!o.skipped && !o.ok ? o.code : 'no failure');
    }
    return;
  }
  expect(settled.ok).toBe(true);
  const report = (
    settled as {
      value: {
        results: Record<string, Record<string, unknown>>;
        counts: Record<string, number>;
        stats: { jobs: number };
      };
    }
  ).value;
  const skipped = m.filter((o) => o.skipped).length;
  expect(report.counts).toEqual({
    total: s.nodes.length,
    fulfilled: m.filter((o) => !o.skipped && o.ok).length,
    rejected: failing.length,
    skipped,
  });
  expect(report.stats.jobs, 'a skipped node never becomes a job').toBe(s.nodes.length - skipped);
  m.forEach((o, i) => {
    const got = report.results[nameOf(i)]!;
    if (o.skipped) {
      expect(got.status, `${nameOf(i)} is skipped`).toBe('skipped');
      expect(o.from.map(nameOf)).toContain(got.dependency);
      expect(o.failed.map(nameOf)).toContain(got.failed);
    } else if (o.ok) {
      expect(got, nameOf(i)).toMatchObject({
        status: 'fulfilled',
        value: o.value,
        attempts: o.attempts,
      });
    } else {
      expect(got.status, `${nameOf(i)} fails`).toBe('rejected');
      expect(got.attempts).toBe(o.attempts);
      expect((got.reason as { code: string }).code).toBe(o.code);
    }
  });
}

describe.each(executors)('graph() against the model on $name', ({ name, options }) => {
  modelTests(
    'graphs',
    () => createRunner(options),
    (runner) => async (seed) => {
      const s = scenario(seed, name === 'threads');
      const graph = runner.graph.bind(runner) as (n: unknown, o: GraphOptions) => Promise<unknown>;
      try {
        await check(graph, s);
      } catch (failure) {
        const edges = s.nodes.map((node) => node.deps.join('+')).join(' ');
        throw labelled(failure, seed, {
          nodes: s.nodes.length,
          edges,
          options: s.options,
          abortAt: s.abortAt,
        });
      }
    },
  );
});
