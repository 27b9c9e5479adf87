// Typed handles on the fixture tasks the graph and trace tests use.
import { defineTask } from '../../src/index.js';

const tasks = new URL('../fixtures/tasks.mjs', import.meta.url);
const graphTasks = new URL('../fixtures/graph-tasks.mjs', import.meta.url);

export const double = defineTask<number, number>(tasks, 'double');
export const echo = defineTask<unknown, unknown>(tasks, 'echo');
export const flaky = defineTask<{ succeedOn: number }, number>(tasks, 'flaky');
export const spinForever = defineTask<{ sab: SharedArrayBuffer }, never>(tasks, 'spinForever');
export const barrier = defineTask<{ sab: SharedArrayBuffer; parties: number }, number>(
  tasks,
  'barrier',
);
export const mark = defineTask<{ sab: SharedArrayBuffer; id: number }, number>(graphTasks, 'mark');
export const sum = defineTask<number[], number>(graphTasks, 'sum');
export const label = defineTask<{ name: string; from: string[] }, string>(graphTasks, 'label');
export const fail = defineTask<string, never>(graphTasks, 'fail');
