// Chunks of records cross between threads by column (pack/unpack in protocol.ts). What a
// worker receives, and what comes back, must be exactly what structured cloning gives.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Column, fromWire, pack, readerOf, toWire, unpack } from '../src/protocol.js';
import { rng } from '../workers/workloads.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

const ODD_VALUES: readonly unknown[] = [
  0,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -1.5,
  2 ** 53,
  '',
  'héllo',
  true,
  false,
  null,
  undefined,
  10n,
];
/** Numbers that an array of them and a Float64Array must both carry exactly. */
const NUMBERS_THERE: readonly number[] = [0, -0, Number.NaN, -1.5, 2 ** 53, 2 ** 31, 1e-300, -7];
const NAMES = ['id', 'b', 'a', '10', '2', 'constructor', 'with space', 'é'];

/** `count` records with the same keys (assigned in the same order) and primitive values. */
function records(random: () => number, count: number): Record<string, unknown>[] {
  const keys = NAMES.filter(() => random() < 0.5);
  return Array.from({ length: count }, (_, i) => {
    const record: Record<string, unknown> = {};
    for (const key of keys) {
      record[key] =
        random() < 0.5
          ? ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]
          : `${i}:${key}`.repeat(Math.floor(random() * 3));
    }
    return record;
  });
}

/** Exactly the same: prototype, keys in order, and each value by Object.is (-0, NaN). */
function expectSame(actual: unknown, expected: unknown): void {
  expect(Object.getPrototypeOf(actual)).toBe(Object.getPrototypeOf(expected));
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  expect(Object.keys(a)).toEqual(Object.keys(e));
  for (const key of Object.keys(e)) {
    if (!Object.is(a[key], e[key])) {
      expect.fail(`key ${key}: got ${String(a[key])}, expected ${String(e[key])}`);
    }
  }
}

describe('pack and unpack', () => {
  it('give what structured cloning gives, for 300 random chunks of records', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      // (Both packers: the one for any keys, and from 64 records the one made for theirs.)
      const values = records(random, 8 + Math.floor(random() * 120));
      const packed = pack(values);
      expect(packed, `seed ${seed}`).toBeDefined();
      const received = unpack(structuredClone(packed!));
      const cloned = structuredClone(values);
      expect(received).toHaveLength(values.length);
      for (let i = 0; i < values.length; i++) expectSame(received[i], cloned[i]);
    }
  });

  it('leave out symbol keys and properties that are not enumerable, as cloning does', () => {
    const hidden = Symbol('hidden');
    const values = Array.from({ length: 10 }, (_, i) => {
      const value: Record<string | symbol, unknown> = { i, [hidden]: 'no' };
      Object.defineProperty(value, 'secret', { value: 'no', enumerable: false });
      return value;
    });
    const received = unpack(structuredClone(pack(values)!));
    const cloned = structuredClone(values);
    for (let i = 0; i < values.length; i++) expectSame(received[i], cloned[i]);
    expect(Object.getOwnPropertySymbols(received[0])).toEqual([]);
  });

  const eight = () => Array.from({ length: 8 }, (_, i): unknown => ({ a: i, b: `${i}` }));
  const withOne = (odd: unknown) => {
    const values = eight();
    values[5] = odd;
    return values;
  };
  function argumentsOf(..._: unknown[]): unknown {
    // biome-ignore lint/complexity/noArguments: the arguments object is the case under test
    return arguments;
  }
  class Point {
    a = 1;
    b = '1';
  }
  it.each([
    ['fewer than 8 values', eight().slice(0, 7)],
    ['numbers', Array.from({ length: 8 }, (_, i) => i)],
    ['arrays', Array.from({ length: 8 }, (_, i) => [i, i])],
    [
      'an object without a prototype',
      withOne(Object.assign(Object.create(null), { a: 5, b: '5' })),
    ],
    ['a class instance', withOne(new Point())],
    ['a Map', withOne(new Map([['a', 5]]))],
    ['a proxy of a record', withOne(new Proxy({ a: 5, b: '5' }, {}))],
    ['arguments objects', Array.from({ length: 8 }, (_, i) => argumentsOf(i, `${i}`))],
    ['keys in another order', withOne({ b: '5', a: 5 })],
    ['a missing key', withOne({ a: 5 })],
    ['an extra key', withOne({ a: 5, b: '5', c: 5 })],
    ['an object value', withOne({ a: { n: 5 }, b: '5' })],
    ['an array value', withOne({ a: [5], b: '5' })],
    ['a Date value', withOne({ a: new Date(5), b: '5' })],
    ['a function value', withOne({ a: () => 5, b: '5' })],
    ['a symbol value', withOne({ a: Symbol('5'), b: '5' })],
    ['a null', withOne(null)],
  ])('send %s as they are', (_, values) => {
    expect(pack(values)).toBeUndefined();
  });

  const NUMBERS: readonly number[] = [
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1.5,
    2 ** 53,
    2 ** 31,
    -(2 ** 31) - 1,
    1e-300,
    Number.MAX_VALUE,
  ];

  it('send a column of 32-bit integers as an Int32Array, other numbers as a Float64Array, exactly', () => {
    const random = rng(3);
    const values = Array.from({ length: 40 }, (_, i) => ({
      n: NUMBERS[Math.floor(random() * NUMBERS.length)]!,
      s: `${i}`,
      mixed: i % 5 === 0 ? 'five' : NUMBERS[i % NUMBERS.length]!,
      i: i - 20,
      // -0 is no 32-bit integer: an Int32Array would give 0 back.
      zero: i === 7 ? -0 : 0,
      // Columns that start as integers and later need more.
      widens: i === 30 ? 0.5 : i,
      late: i === 30 ? 'late' : i,
    }));
    const packed = pack(values)!;
    expect(packed.columns.map((column) => column.constructor.name)).toEqual([
      'Float64Array',
      'Array',
      'Array',
      'Int32Array',
      'Float64Array',
      'Float64Array',
      'Array',
    ]);
    const received = unpack(structuredClone(packed));
    const cloned = structuredClone(values);
    for (let i = 0; i < values.length; i++) expectSame(received[i], cloned[i]);
  });

  it('send bare numbers as one typed array, exactly, and anything else as it is', () => {
    const integers = Array.from({ length: 20 }, (_, i) => (i - 10) * 2 ** 27);
    for (const [numbers, kind] of [
      [[...NUMBERS, ...NUMBERS], Float64Array],
      [integers, Int32Array],
    ] as const) {
      const wire = toWire(numbers, false);
      expect(wire).toBeInstanceOf(kind);
      const received = fromWire(structuredClone(wire));
      expect(received).toHaveLength(numbers.length);
      numbers.forEach((n, i) => {
        if (!Object.is(received[i], n)) expect.fail(`${i}: got ${received[i]}, expected ${n}`);
      });
    }
    const mixed = [...NUMBERS.slice(0, 8), '9'];
    expect(toWire(mixed, false)).toBe(mixed);
    expect(toWire(integers.slice(0, 7), false)).toEqual(integers.slice(0, 7));
    // A call that transfers sends its values as they are (their buffers are looked for).
    expect(toWire(integers, true)).toBe(integers);
  });

  it('fill a column by kind: 32-bit integers, then any numbers, then anything, keeping what came', () => {
    const filled = (capacity: number, values: unknown[]) => {
      const column = new Column(capacity);
      for (const value of values) column.push(value);
      return column.values;
    };
    const ints = [1, -2, 2 ** 31 - 1, -(2 ** 31), 0, 5, 6, 7, 8];
    expect(filled(ints.length, ints)).toEqual(Int32Array.from(ints));
    const widened = filled(9, [...ints.slice(0, 4), 0.5, -0, 2 ** 31, 1, 2]);
    expect(widened).toBeInstanceOf(Float64Array);
    expect(Array.from(widened)).toEqual([...ints.slice(0, 4), 0.5, -0, 2 ** 31, 1, 2]);
    expect(Object.is(widened[5], -0)).toBe(true);
    const mixed = [...ints.slice(0, 3), 0.25, 'four', undefined, 6, 7, 8];
    expect(filled(mixed.length, mixed)).toEqual(mixed);
    expect(Array.isArray(filled(mixed.length, mixed))).toBe(true);
    // Too few to pay for a typed array: an array, as cloning would send.
    expect(filled(3, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(Array.isArray(filled(3, [1, 2, 3]))).toBe(true);
    // Starting with a float, or with something else; nothing pushed.
    expect(filled(8, [0.5, 1, 2, 3, 4, 5, 6, 7])).toBeInstanceOf(Float64Array);
    expect(filled(8, ['a', 1, 2, 3, 4, 5, 6, 7])).toEqual(['a', 1, 2, 3, 4, 5, 6, 7]);
    expect(filled(8, [])).toEqual([]);
  });

  /** Keys a record builder must quote rightly: none of them may be read as code. */
  const QUOTED = [
    'a"b',
    'back\\slash',
    'line\u2028sep',
    '$' + '{x}',
    '`',
    "');throw 1;('",
    '',
    '0',
  ];

  it('make records whose keys need quoting, exactly as cloning does', () => {
    const values = Array.from({ length: 12 }, (_, i) =>
      Object.fromEntries(QUOTED.map((key, k) => [key, k % 2 ? i : `${key}${i}`])),
    );
    const received = unpack(structuredClone(pack(values)!));
    const cloned = structuredClone(values);
    for (let i = 0; i < values.length; i++) expectSame(received[i], cloned[i]);
  });

  it('read one value at a time as fromWire gives them all, a record made anew at each read', () => {
    const records = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `n${i}`, half: i / 2 }));
    const wires = [records, records.map((r) => r.half), records.map((r) => r.id)].map((values) =>
      structuredClone(toWire(values, false)),
    );
    expect(wires.map((wire) => ArrayBuffer.isView(wire) || !Array.isArray(wire))).toEqual([
      true,
      true,
      true,
    ]);
    for (const wire of [...wires, ['a', 1, null]]) {
      const read = readerOf(wire);
      const all = fromWire(wire);
      expect(Array.from({ length: all.length }, (_, i) => read(i))).toEqual([...all]);
    }
    const read = readerOf(wires[0]!);
    expect(read(3)).not.toBe(read(3));
  });

  it('make records of the hidden class a cloned record has (a task given both stays monomorphic)', async () => {
    const protocol = fileURLToPath(new URL('../dist/src/protocol.js', import.meta.url));
    const script = `
      const { pack, unpack } = await import(${JSON.stringify(protocol)});
      const values = Array.from({ length: 10 }, (_, i) => ({ id: i, name: 'n' + i, 'a"b': i / 2 }));
      const received = unpack(structuredClone(pack(values)));
      const cloned = structuredClone(values);
      console.log(JSON.stringify([%HaveSameMap(received[3], cloned[3]), %HaveSameMap(received[3], { x: 1 })]));`;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--allow-natives-syntax',
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(JSON.parse(stdout)).toEqual([true, false]);
  });

  it('make the same records where code cannot be made from strings', async () => {
    const protocol = fileURLToPath(new URL('../dist/src/protocol.js', import.meta.url));
    const script = `
      const { pack, unpack } = await import(${JSON.stringify(protocol)});
      let generated = true;
      try { new Function('return 1'); } catch { generated = false; }
      const values = Array.from({ length: 10 }, (_, i) => ({ id: i, name: 'n' + i, 'a"b': -i - 1 }));
      const received = unpack(structuredClone(pack(values)));
      console.log(JSON.stringify({ generated, received }));`;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--disallow-code-generation-from-strings',
      '--input-type=module',
      '-e',
      script,
    ]);
    const { generated, received } = JSON.parse(stdout);
    expect(generated).toBe(false);
    expect(received).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ id: i, name: `n${i}`, 'a"b': -i - 1 })),
    );
  });

  it('make keys that Object.prototype has own keys, as cloning does, even where it is frozen or has a setter', async () => {
    const protocol = fileURLToPath(new URL('../dist/src/protocol.js', import.meta.url));
    // Each case in a process of its own: a frozen Object.prototype stays frozen.
    const run = async (prepare: string) => {
      const script = `
        const { pack, unpack } = await import(${JSON.stringify(protocol)});
        let setterRan = 0;
        ${prepare}
        const values = Array.from({ length: 10 }, (_, i) =>
          JSON.parse('{"__proto__":' + i + ',"toString":"t' + i + '","a":' + i + ',"constructor":true}'));
        const received = unpack(structuredClone(pack(values)));
        const cloned = structuredClone(values);
        console.log(JSON.stringify({
          packed: pack(values) !== undefined,
          keys: Object.keys(received[3]),
          own: Object.getOwnPropertyNames(received[3]).map((k) => [k, received[3][k]]),
          prototype: Object.getPrototypeOf(received[3]) === Object.prototype,
          sameMap: %HaveSameMap(received[3], cloned[3]),
          setterRan,
        }));`;
      const { stdout } = await promisify(execFile)(process.execPath, [
        '--allow-natives-syntax',
        '--input-type=module',
        '-e',
        script,
      ]);
      return JSON.parse(stdout);
    };
    const expected = {
      packed: true,
      keys: ['__proto__', 'toString', 'a', 'constructor'],
      own: [
        ['__proto__', 3],
        ['toString', 't3'],
        ['a', 3],
        ['constructor', true],
      ],
      prototype: true,
      sameMap: true,
      setterRan: 0,
    };
    expect(await run('')).toEqual(expected);
    expect(await run('Object.freeze(Object.prototype);')).toEqual(expected);
    // A setter added to Object.prototype after records of these keys were made once.
    expect(
      await run(`unpack(structuredClone(pack(Array.from({ length: 10 }, (_, i) => ({ a: i })))));
        Object.defineProperty(Object.prototype, 'a', { set() { setterRan++; }, configurable: true });`),
    ).toEqual(expected);
  });

  it('read each value once, as cloning does: a getter runs once', () => {
    let reads = 0;
    const values = Array.from({ length: 10 }, (_, i) => ({
      a: i,
      get b() {
        reads++;
        return i;
      },
    }));
    const received = unpack(structuredClone(pack(values)!));
    expect(reads).toBe(10);
    expect(received).toEqual(structuredClone(values));
  });

  it('throw what a getter throws, as cloning does', () => {
    const values = Array.from({ length: 10 }, (_, i) => ({
      get a() {
        if (i === 4) throw new Error('getter 4');
        return i;
      },
    }));
    expect(() => structuredClone(values)).toThrow('getter 4');
    expect(() => pack(values)).toThrow('getter 4');
  });

  // One record unlike the others, anywhere in a chunk, sends the chunk as it is. Checked
  // both with the packer made for the keys and, where code cannot be made from strings,
  // with the one for any keys (in a process of its own).
  const ODD_RECORDS = `[
    ['a key missing', () => ({ id: 1 })],
    ['a key more', () => ({ id: 1, name: 'n', more: 2 })],
    ['keys in another order', () => ({ name: 'n', id: 1 })],
    ['an object value', () => ({ id: 1, name: {} })],
    ['a function value', () => ({ id: 1, name: () => 1 })],
    ['a symbol value', () => ({ id: 1, name: Symbol('s') })],
    ['a class instance', () => new (class { constructor() { this.id = 1; this.name = 'n'; } })()],
    ['no prototype', () => Object.assign(Object.create(null), { id: 1, name: 'n' })],
    ['an own __proto__ key', () => JSON.parse('{"id":1,"name":"n","__proto__":3}')],
    ['an array', () => [1, 'n']],
    ['null', () => null],
    ['a number', () => 7],
    ['a proxy', () => new Proxy({ id: 1, name: 'n' }, {})],
    // (Cloning skips the key the getter deleted, as the walk of the keys does.)
    ['a getter that deletes a later key', () => ({ get id() { delete this.name; return 1; }, name: 'n' })],
  ]`;
  const refusedAt = (protocol: string) => `
    const { pack } = await import(${JSON.stringify(protocol)});
    const refused = [];
    for (const [why, odd] of ${ODD_RECORDS}) {
      for (const at of [0, 40, 79]) {
        const values = Array.from({ length: 80 }, (_, i) => ({ id: i, name: 'n' + i }));
        values[at] = odd();
        if (pack(values) === undefined) refused.push(why + ' at ' + at);
      }
    }
    const plain = Array.from({ length: 80 }, (_, i) => ({ id: i, name: 'n' + i }));
    const packsPlain = pack(plain) !== undefined;`;
  const allRefused = [
    'a key missing',
    'a key more',
    'keys in another order',
    'an object value',
    'a function value',
    'a symbol value',
    'a class instance',
    'no prototype',
    'an own __proto__ key',
    'an array',
    'null',
    'a number',
    'a proxy',
    'a getter that deletes a later key',
  ].flatMap((why) => [0, 40, 79].map((at) => `${why} at ${at}`));

  it('send a chunk as it is when any one record has another shape', async () => {
    const protocol = fileURLToPath(new URL('../dist/src/protocol.js', import.meta.url));
    const script = `${refusedAt(protocol)}
      let generated = true;
      try { new Function('return 1'); } catch { generated = false; }
      console.log(JSON.stringify({ generated, refused, packsPlain }));`;
    for (const flags of [
      [],
      ['--disallow-code-generation-from-strings'],
      // (Where `__proto__` cannot be read: the packer for any keys, which does not.)
      ['--disable-proto=throw'],
      ['--disable-proto=delete'],
    ]) {
      const { stdout } = await promisify(execFile)(process.execPath, [
        ...flags,
        '--input-type=module',
        '-e',
        script,
      ]);
      const { generated, refused, packsPlain } = JSON.parse(stdout);
      expect(generated).toBe(!flags.includes('--disallow-code-generation-from-strings'));
      expect(refused).toEqual(allRefused);
      expect(packsPlain).toBe(true);
    }
  });

  it('send records as they are when Object.prototype has an enumerable key', () => {
    expect(pack(eight())).toBeDefined();
    let packed: unknown;
    Object.defineProperty(Object.prototype, 'polluted', {
      value: 1,
      enumerable: true,
      configurable: true,
    });
    try {
      packed = pack(eight());
    } finally {
      // Before asserting: vitest's own code does not expect the key there.
      delete (Object.prototype as { polluted?: unknown }).polluted;
    }
    expect(packed).toBeUndefined();
  });
});

describe.each(executors)('records between threads on $name', ({ options }) => {
  const inputs = records(rng(7), 120);

  it('arrive, and come back, with their keys, order and values intact', async () => {
    const runner = createRunner(options);
    const outputs = await runner.all(tasks.echo, inputs, { chunkSize: 30 });
    const cloned = structuredClone(inputs);
    for (let i = 0; i < inputs.length; i++) expectSame(outputs[i], cloned[i]);
  });

  it('reach the task as plain objects with their keys in order', async () => {
    const runner = createRunner(options);
    const shapes = await runner.all(tasks.shapeOf, inputs, { chunkSize: 30 });
    expect(shapes).toEqual(
      inputs.map((input) => ({ plain: true, keys: Object.keys(input).join() })),
    );
  });

  it('keep each outcome to its item when some records of a chunk fail', async () => {
    const runner = createRunner(options);
    const report = await runner.all(
      tasks.scoreRecord,
      Array.from({ length: 40 }, (_, id) => ({ id, fail: id % 7 === 3 })),
      { chunkSize: 20, policy: 'settle' },
    );
    expect(report.counts).toMatchObject({ fulfilled: 34, rejected: 6 });
    report.results.forEach((result, id) => {
      if (id % 7 === 3) {
        expect(result.status).toBe('rejected');
        expect(result.status === 'rejected' && result.reason.message).toContain(`record ${id}`);
      } else {
        expect(result).toMatchObject({
          status: 'fulfilled',
          value: { id, score: id * 2, even: id % 2 === 0 },
        });
      }
    });
  });

  it('refuse a proxy among them, as cloning does, failing only its job', async () => {
    const runner = createRunner(options);
    const inputs: unknown[] = Array.from({ length: 10 }, (_, i) => ({ id: i }));
    inputs[4] = new Proxy({ id: 4 }, {});
    const report = await runner.all(tasks.scoreRecord, inputs as { id: number }[], {
      chunkSize: 10,
      policy: 'settle',
    });
    expect(report.results.map((result) => result.status)).toEqual(
      inputs.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')),
    );
    expect(report.results[4]).toMatchObject({ reason: { code: 'ERR_DATA_CLONE', job: 4 } });
  });

  it('cross with every number exact, as records and as bare numbers', async () => {
    const runner = createRunner(options);
    const numbers = Array.from({ length: 48 }, (_, i) => NUMBERS_THERE[i % NUMBERS_THERE.length]!);
    const outputs = await runner.all(tasks.echo, numbers, { chunkSize: 24 });
    numbers.forEach((n, i) => {
      if (!Object.is(outputs[i], n)) expect.fail(`${i}: got ${outputs[i]}, expected ${n}`);
    });
    const rows = numbers.map((n, i) => ({ n, i }));
    const echoed = (await runner.all(tasks.echo, rows, { chunkSize: 24 })) as typeof rows;
    for (let i = 0; i < rows.length; i++) expectSame(echoed[i], rows[i]);
  });

  it('bring numbers back from a chunk in which some items failed, each to its own job', async () => {
    const runner = createRunner(options);
    const inputs = Array.from({ length: 40 }, (_, i) => (i % 9 === 4 ? 2 * i + 1 : 2 * i));
    const report = await runner.all(tasks.failIfOdd, inputs, { chunkSize: 20, policy: 'settle' });
    expect(report.results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual(
      inputs.map((x) => (x % 2 === 1 ? 'failed' : x)),
    );
  });

  it('cross whole when one record of a chunk has another shape', async () => {
    const runner = createRunner(options);
    const mixed: unknown[] = records(rng(11), 40);
    mixed[13] = { nested: { deep: [1, 2] }, when: new Date(0) };
    const outputs = await runner.all(tasks.echo, mixed, { chunkSize: 40 });
    expect(outputs).toEqual(structuredClone(mixed));
  });
});
