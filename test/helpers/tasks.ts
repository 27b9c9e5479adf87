// Typed handles on the fixture tasks (test/fixtures/tasks.mjs).
import { defineTask, type Task } from '../../src/index.js';

export const fixtures = new URL('../fixtures/tasks.mjs', import.meta.url);

const task = <In, Out>(name: string): Task<In, Out> => defineTask<In, Out>(fixtures, name);

export interface Latch {
  readonly sab: SharedArrayBuffer;
}

export const tasks = {
  double: task<number, number>('double'),
  heapAfterGc: task<unknown, number>('heapAfterGc'),
  whoAmI: task<unknown, number>('whoAmI'),
  doubleAsync: task<number, number>('doubleAsync'),
  echo: task<unknown, unknown>('echo'),
  attempt: task<unknown, number>('attempt'),
  ctxOf: task<{ succeedOn?: number } | null, { frozen: boolean; attempt: number }>('ctxOf'),
  writeCtx: task<unknown, number>('writeCtx'),
  flaky: task<{ succeedOn: number }, number>('flaky'),
  failWith: task<{ message: string; field: string }, never>('failWith'),
  failIfOdd: task<number, number>('failIfOdd'),
  throwString: task<unknown, never>('throwString'),
  throwNull: task<unknown, never>('throwNull'),
  failWithCause: task<unknown, never>('failWithCause'),
  throwFromVm: task<unknown, never>('throwFromVm'),
  throwAggregate: task<unknown, never>('throwAggregate'),
  throwWithUncloneableProp: task<unknown, never>('throwWithUncloneableProp'),
  exitProcess: task<number, never>('exitProcess'),
  crashAfterReturning: task<{ how: 'rejection' | 'immediate' | 'timer'; value: number }, number>(
    'crashAfterReturning',
  ),
  exhaustMemory: task<unknown, never>('exhaustMemory'),
  unclonableOutput: task<unknown, unknown>('unclonableOutput'),
  spinForever: task<Latch, never>('spinForever'),
  hold: task<Latch & { index: number; value?: unknown }, unknown>('hold'),
  holdAsync: task<Latch & { index: number; value?: unknown }, unknown>('holdAsync'),
  barrier: task<Latch & { parties: number }, number>('barrier'),
  count: task<Latch & { index?: number }, number>('count'),
  countOrFail: task<Latch & { fail?: boolean }, number>('countOrFail'),
  logAttempt: task<Latch & { id: number; failFirst?: boolean }, number>('logAttempt'),
  after: task<
    Latch & { index?: number; atLeast?: number; value?: unknown; fail?: string },
    unknown
  >('after'),
  never: task<unknown, never>('never'),
  neverOnFirstAttempt: task<unknown, number>('neverOnFirstAttempt'),
  spinOnFirstAttempt: task<Latch, number>('spinOnFirstAttempt'),
  cpu: task<number, number>('cpu'),
  busyFor: task<number, number>('busyFor'),
  cpuOrFail: task<{ n: number; fail?: boolean }, number>('cpuOrFail'),
  notAFunction: task<unknown, unknown>('notAFunction'),
  shapeOf: task<unknown, { plain: boolean; keys: string }>('shapeOf'),
  scoreRecord: task<{ id: number; fail?: boolean }, { id: number; score: number; even: boolean }>(
    'scoreRecord',
  ),
} as const;
