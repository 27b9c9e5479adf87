// graph()'s types: each result has its node's output type, each task node's input (or what
// its input function returns) is checked against the task, deps name nodes of the graph,
// and settle gives outcomes.
// Checked by tsc (npm test type-checks the tests); the runtime part is a smoke run.
import { describe, expectTypeOf, it } from 'vitest';
import { createRunner, type NodeOutcome } from '../src/index.js';
import { double, label } from './helpers/graph-tasks.js';

describe('graph types', () => {
  it('types results per node and checks inputs against tasks', async () => {
    await using runner = createRunner({ threads: 0 });
    const result = await runner.graph({
      n: { task: double, input: 2 },
      text: { task: label, input: (d) => ({ name: 'x', from: [String(d.n)] }), deps: ['n'] },
      main: { run: async (d) => [d.n, d.text] as const, deps: ['n', 'text'] },
      outcomes: { run: (d) => Object.keys(d).length, deps: ['n'], when: 'all-done' },
    });
    expectTypeOf(result.n).toEqualTypeOf<number>();
    expectTypeOf(result.text).toEqualTypeOf<string>();
    expectTypeOf(result.main).toEqualTypeOf<readonly [unknown, unknown]>();
    expectTypeOf(result.outcomes).toEqualTypeOf<number>();

    const report = await runner.graph({ n: { task: double, input: 2 } }, { policy: 'settle' });
    expectTypeOf(report.results.n).toEqualTypeOf<NodeOutcome<number>>();

    // Never called: type errors only.
    const wrongInputs = async () => {
      // @ts-expect-error: double takes a number
      await runner.graph({ n: { task: double, input: 'two' } });
      // @ts-expect-error: nor may its input function return a string
      await runner.graph({ n: { task: double, input: () => 'two' } });
      // @ts-expect-error: double needs an input: it cannot take undefined
      await runner.graph({ n: { task: double } });
      // @ts-expect-error: an all-done node gets outcomes, not values
      await runner.graph({ a: { run: (d: Record<string, number>) => d, when: 'all-done' } });
      // @ts-expect-error: no node is named nn
      await runner.graph({ n: { task: double, input: 2 }, m: { run: () => 1, deps: ['nn'] } });
      await runner.graph({
        n: { task: double, input: 2 },
        // @ts-expect-error: nor here (a task node)
        t: { task: double, input: 1, deps: ['n', 'x'] },
      });
    };
    expectTypeOf(wrongInputs).toBeFunction();
  });
});
