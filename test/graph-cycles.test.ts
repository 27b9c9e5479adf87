// A graph is checked before anything starts: an unknown dependency fails with
// ERR_GRAPH_UNKNOWN_DEP naming both nodes, a cycle (a self-dependency too) with
// ERR_GRAPH_CYCLE and the cycle's path in order.
import { describe, expect, it } from 'vitest';
import { GraphCycleError, GraphUnknownDepError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('graph checks on $name', ({ options }) => {
  it('rejects an unknown dependency, naming the node and the missing name', async () => {
    const runner = createRunner(options);
    let ran = false;
    // (Names known only at run time: written out, the types refuse it.)
    const deps: string[] = ['a', 'nope'];
    const error = await runner
      .graph({
        a: { run: () => (ran = true) },
        b: { run: () => (ran = true), deps },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphUnknownDepError);
    expect(error).toMatchObject({ code: 'ERR_GRAPH_UNKNOWN_DEP', node: 'b', dependency: 'nope' });
    expect(ran).toBe(false);
  });

  it('names at most 20 nodes of a long cycle in its message; `cycle` holds them all', async () => {
    const runner = createRunner(options);
    const nodes = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`n${i}`, { run: () => i, deps: [`n${(i + 1) % 30}`] }]),
    );
    const error = await runner.graph(nodes).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphCycleError);
    expect((error as GraphCycleError).cycle).toHaveLength(31);
    const { message } = error as Error;
    expect(message).toContain('n0 → n1 →');
    expect(message).toContain('n18 → … (11 more) → n0');
    expect(message).not.toContain('n19');
  });

  it('rejects a cycle with its path in order', async () => {
    const runner = createRunner(options);
    let ran = false;
    const error = await runner
      .graph({
        start: { run: () => (ran = true) },
        a: { run: () => (ran = true), deps: ['start', 'b'] },
        b: { run: () => (ran = true), deps: ['c'] },
        c: { run: () => (ran = true), deps: ['a'] },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphCycleError);
    expect(error).toMatchObject({ code: 'ERR_GRAPH_CYCLE', cycle: ['a', 'b', 'c', 'a'] });
    expect((error as Error).message).toContain('a → b → c → a');
    expect(ran).toBe(false);
  });

  it('rejects a node that depends on itself as a cycle of one', async () => {
    const runner = createRunner(options);
    const error = await runner
      .graph({ ok: { run: () => 1 }, self: { run: () => 1, deps: ['ok', 'self'] } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_GRAPH_CYCLE', cycle: ['self', 'self'] });
  });

  it('finds a cycle reached through other nodes, and leaves out the way there', async () => {
    const runner = createRunner(options);
    const error = await runner
      .graph({
        top: { run: () => 1, deps: ['mid'] },
        mid: { run: () => 1, deps: ['x'] },
        x: { run: () => 1, deps: ['y'] },
        y: { run: () => 1, deps: ['x'] },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_GRAPH_CYCLE', cycle: ['x', 'y', 'x'] });
  });

  it('checks a long chain without overflowing the stack', async () => {
    const runner = createRunner(options);
    const nodes: Record<string, { run: () => number; deps: string[] }> = {};
    const length = 50_000;
    for (let i = 0; i < length; i++) nodes[`n${i}`] = { run: () => i, deps: [`n${i + 1}`] };
    nodes[`n${length}`] = { run: () => 0, deps: ['n0'] };
    const error = await runner.graph(nodes).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_GRAPH_CYCLE' });
    expect((error as GraphCycleError).cycle).toHaveLength(length + 2);
  });
});
