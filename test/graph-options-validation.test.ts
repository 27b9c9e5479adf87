// A graph's nodes and options are checked where they enter: TypeError for a wrong type,
// RangeError for a wrong value, each naming the node or option and the value received.
import { describe, expect, it } from 'vitest';

import { double } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

const typeError = (name: string) =>
  expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining(name) });
const rangeError = (name: string) =>
  expect.objectContaining({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining(name),
  });

const one = (): number => 1;

describe('graph validation', () => {
  it.each<[string, unknown, Error]>([
    ['not a record', [], typeError('`nodes`')],
    ['a Map', new Map(), typeError('`nodes`')],
    ['a node that is not an object', { a: 42 }, typeError('`nodes.a`')],
    ['a node with task and run', { a: { task: double, run: one } }, typeError('`nodes.a`')],
    ['a node with neither', { a: { deps: [] } }, typeError('`nodes.a`')],
    ['a task that is not one', { a: { task: 'double' } }, typeError('`nodes.a.task`')],
    ['a run that is not a function', { a: { run: 1 } }, typeError('`nodes.a.run`')],
    ['deps that are not an array', { a: { run: one, deps: 'b' } }, typeError('`nodes.a.deps`')],
    ['a dep that is not a name', { a: { run: one, deps: [1] } }, typeError('`nodes.a.deps[0]`')],
    [
      'a dep listed twice',
      { a: { run: one }, b: { run: one, deps: ['a', 'a'] } },
      rangeError('`nodes.b.deps`'),
    ],
    ['a negative cost', { a: { run: one, cost: -1 } }, rangeError('`nodes.a.cost`')],
    ['an infinite cost', { a: { run: one, cost: Infinity } }, rangeError('`nodes.a.cost`')],
    ['an unknown when', { a: { run: one, when: 'always' } }, rangeError('`nodes.a.when`')],
    ['a misspelled key', { a: { run: one, dependencies: [] } }, rangeError('`nodes.a`')],
    ['an input on a function node', { a: { run: one, input: 3 } }, rangeError('`nodes.a`')],
  ])('rejects %s', async (_, nodes, expected) => {
    const runner = createRunner({ threads: 0 });
    await expect(runner.graph(nodes as never)).rejects.toThrow(expected);
  });

  it.each<[string, unknown, Error]>([
    ['order', { order: 'random' }, rangeError('`order`')],
    ['policy', { policy: 'any' }, rangeError('`policy`')],
    ['concurrency', { concurrency: 0 }, rangeError('`concurrency`')],
    ['onTrace', { onTrace: 'yes' }, typeError('`onTrace`')],
    ['chunkSize (not a graph option)', { chunkSize: 4 }, rangeError('`options`')],
  ])('rejects a bad %s', async (_, options, expected) => {
    const runner = createRunner({ threads: 0 });
    await expect(runner.graph({ a: { run: one } }, options as never)).rejects.toThrow(expected);
  });

  it('rejects on a closed runner', async () => {
    const runner = createRunner({ threads: 0 });
    await runner.close();
    await expect(runner.graph({ a: { run: one } })).rejects.toMatchObject({
      code: 'ERR_RUNNER_CLOSED',
    });
  });
});
