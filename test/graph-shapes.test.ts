// graph() resolves with every node's result, each node having received its dependencies'
// results by name: diamond, chain, wide fan-out and fan-in, disconnected parts, empty.
import { describe, expect, it } from 'vitest';
import { executors } from './helpers/executors.js';
import { double, label, sum } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('graph shapes on $name', ({ options }) => {
  it('is planned from the dependencies as given: changing a deps array after the call changes nothing', async () => {
    const runner = createRunner(options);
    const deps = ['root'];
    const result = runner.graph({
      root: { task: double, input: 5 },
      other: { task: double, input: 1 },
      left: { task: double, input: (d) => d.root as number, deps },
    });
    deps.push('other');
    deps[0] = 'other';
    await expect(result).resolves.toEqual({ root: 10, other: 2, left: 20 });
  });

  it('a diamond: both branches get the root, the join gets both branches', async () => {
    const runner = createRunner(options);
    const result = await runner.graph({
      root: { task: double, input: 5 },
      left: { task: double, input: (d) => d.root as number, deps: ['root'] },
      right: { run: async (d) => (d.root as number) + 1, deps: ['root'] },
      join: {
        task: sum,
        input: (d) => [d.left as number, d.right as number],
        deps: ['left', 'right'],
      },
    });
    expect(result).toEqual({ root: 10, left: 20, right: 11, join: 31 });
  });

  it('a node named __proto__ is a node like any other, for its dependents and in the result', async () => {
    const runner = createRunner(options);
    const nodes = JSON.parse('{"__proto__":{"input":5},"b":{"deps":["__proto__"]}}') as Record<
      string,
      Record<string, unknown>
    >;
    const proto = '__proto__'; // an own key here (JSON.parse), never the accessor
    Object.assign(nodes[proto]!, { task: double });
    Object.assign(nodes.b!, {
      run: async (d: Record<string, unknown>) => [Object.keys(d), d[proto]],
    });
    const result = (await runner.graph(nodes as never)) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['__proto__', 'b']);
    expect(result.b).toEqual([['__proto__'], 10]);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toBe(10);
    const report = (await runner.graph(nodes as never, { policy: 'settle' })) as {
      results: Record<string, { status: string }>;
    };
    expect(Object.keys(report.results)).toEqual(['__proto__', 'b']);
  });

  it('a chain: each link gets the one before', async () => {
    const runner = createRunner(options);
    const nodes: Record<string, { task: typeof label; input: unknown; deps?: string[] }> = {};
    for (let i = 0; i < 20; i++) {
      nodes[`n${i}`] =
        i === 0
          ? { task: label, input: { name: 'n0', from: [] } }
          : {
              task: label,
              input: (d: Record<string, unknown>) => ({ name: `n${i}`, from: [d[`n${i - 1}`]] }),
              deps: [`n${i - 1}`],
            };
    }
    const result = (await runner.graph(nodes as never)) as Record<string, string>;
    expect(result.n3).toBe('n3(n2(n1(n0())))');
    expect(result.n19?.startsWith('n19(n18(')).toBe(true);
  });

  it('a wide fan-out and fan-in', async () => {
    const runner = createRunner(options);
    const width = 50;
    const nodes: Record<string, object> = { source: { run: () => 3 } };
    const names: string[] = [];
    for (let i = 0; i < width; i++) {
      names.push(`w${i}`);
      nodes[`w${i}`] = {
        task: double,
        input: (d: { source: number }) => d.source + i,
        deps: ['source'],
      };
    }
    nodes.total = {
      task: sum,
      input: (d: Record<string, number>) => names.map((n) => d[n]!),
      deps: names,
    };
    const result = (await runner.graph(nodes as never)) as Record<string, number>;
    const expected = names.reduce((acc, _, i) => acc + 2 * (3 + i), 0);
    expect(result.total).toBe(expected);
    expect(Object.keys(result)).toHaveLength(width + 2);
  });

  it('a node waiting for a thread adds no abort listener of its own to a shared signal', async () => {
    const runner = createRunner(options);
    // Adding one to an AbortSignal costs as many steps as it has: one per node waiting
    // made a graph 20,000 nodes wide quadratic (11.7 s against 0.5 s as one all()).
    const most = new Map<EventTarget, number>();
    const add = EventTarget.prototype.addEventListener;
    const remove = EventTarget.prototype.removeEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, ...args) {
      if (this instanceof AbortSignal) most.set(this, (most.get(this) ?? 0) + 1);
      return add.apply(this, args as Parameters<typeof add>);
    };
    EventTarget.prototype.removeEventListener = function (this: EventTarget, ...args) {
      if (this instanceof AbortSignal) most.set(this, (most.get(this) ?? 0) - 1);
      return remove.apply(this, args as Parameters<typeof remove>);
    };
    let result: Record<string, number>;
    let peak = 0;
    const nodes = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`n${i}`, { task: double, input: i }]),
    );
    try {
      const graph = runner.graph(nodes as never);
      // Once the whole width is waiting.
      await new Promise<void>((resolve) => setImmediate(resolve));
      peak = Math.max(...most.values());
      result = (await graph) as Record<string, number>;
    } finally {
      EventTarget.prototype.addEventListener = add;
      EventTarget.prototype.removeEventListener = remove;
    }
    expect(result.n1999).toBe(3998);
    expect(peak).toBeLessThan(20);
  });

  it('disconnected parts each run', async () => {
    const runner = createRunner(options);
    const result = await runner.graph({
      a1: { task: double, input: 1 },
      a2: { task: double, input: (d) => d.a1 as number, deps: ['a1'] },
      b1: { run: () => 'b' },
      b2: { run: (d) => `${d.b1}!`, deps: ['b1'] },
      lone: { task: double, input: 100 },
    });
    expect(result).toEqual({ a1: 2, a2: 4, b1: 'b', b2: 'b!', lone: 200 });
  });

  it('an empty graph resolves at once, in both policies', async () => {
    const runner = createRunner(options);
    await expect(runner.graph({})).resolves.toEqual({});
    const report = await runner.graph({}, { policy: 'settle' });
    expect(report.results).toEqual({});
    expect(report.counts).toEqual({ total: 0, fulfilled: 0, rejected: 0, skipped: 0 });
    expect(report.stats.jobs).toBe(0);
  });

  it('keeps the declaration order of the nodes in its result', async () => {
    const runner = createRunner(options);
    const result = await runner.graph({
      z: { run: (d) => d.y, deps: ['y'] },
      y: { run: () => 1 },
      x: { run: (d) => d.z, deps: ['z'] },
    });
    expect(Object.keys(result)).toEqual(['z', 'y', 'x']);
  });
});
