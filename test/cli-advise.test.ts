// `fanout advise` measures a task on a sample and checks its own prediction.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { fanout } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const tasks = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
const dir = scratchDir('advise');
const sample = join(dir, 'sample.jsonl');
writeFileSync(sample, Array.from({ length: 100 }, () => '20000\n').join(''));

it('prints measurements, advice with reasons, predictions and the check', async () => {
  const result = await fanout(['advise', tasks, '-e', 'cpu', '--sample', sample, '--cores', '8']);
  expect(result.code).toBe(0);
  for (const part of [
    'cost per item',
    'one message to a worker',
    'chunk size:',
    'threads:',
    'policy: fail-fast',
    '8 cores:',
    'check on this sample',
    'predicted',
  ]) {
    expect(result.stdout).toContain(part);
  }
});

it('recommends settle when sample items fail, and speaks JSON', async () => {
  const mixed = join(dir, 'mixed.jsonl');
  writeFileSync(mixed, '1\n2\n3\n4\n');
  const result = await fanout(['advise', tasks, '-e', 'failIfOdd', '--sample', mixed, '--json']);
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout);
  expect(report.measurement).toMatchObject({ items: 4, failures: 2 });
  expect(report.advice.policy).toBe('settle');
  expect(report.advice.chunk).toBe('auto');
  expect(report.advice.autoChunk).toBeGreaterThanOrEqual(1);
  expect(report.measurement.itemMs).toBeGreaterThan(0);
  expect(report.measurement.efficiency).toBeGreaterThan(0);
  expect(report.measurement.efficiency).toBeLessThanOrEqual(1);
  expect(report.predicted[0].threads).toBeGreaterThan(0);
  expect(typeof report.check.measured).toBe('number');
});

it('needs a sample, and names a missing export', async () => {
  expect((await fanout(['advise', tasks, '-e', 'cpu'])).code).toBe(2);
  const missing = await fanout(['advise', tasks, '-e', 'nope', '--sample', sample]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('`nope`');
  const help = await fanout(['advise', '--help']);
  expect(help.code).toBe(0);
  for (const flag of ['--export', '--sample', '--format', '--cores', '--json']) {
    expect(help.stdout).toContain(flag);
  }
});

it('keeps standard output for its report: process.stdout.write in a task module goes to standard error', async () => {
  const raw = fileURLToPath(new URL('./fixtures/raw-stdout.mjs', import.meta.url));
  const sample = join(dir, 'ids.jsonl');
  writeFileSync(sample, Array.from({ length: 20 }, (_, id) => `{"id":${id}}\n`).join(''));
  const result = await fanout(['advise', raw, '-e', 'writeRaw', '--sample', sample, '--json']);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ check: expect.anything() });
  expect(result.stderr).toContain('top level\n');
  expect(result.stderr).toContain('raw 19\n');
});

it("keeps standard output for its report: a task's console.log goes to standard error", async () => {
  const logged = join(dir, 'logged.jsonl');
  writeFileSync(
    logged,
    Array.from({ length: 20 }, (_, id) => `${JSON.stringify({ id, n: 1 })}\n`).join(''),
  );
  const result = await fanout(['advise', tasks, '-e', 'logLines', '--sample', logged, '--json']);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ check: expect.anything() });
  expect(result.stderr).toContain('19:0\n');
});

it('names --sample for a sample it cannot use, and the malformed lines of one it can', async () => {
  const missing = join(dir, 'missing.jsonl');
  const absent = await fanout(['advise', tasks, '-e', 'double', '--sample', missing]);
  expect(absent.code).toBe(2);
  expect(absent.stderr).toContain(`cannot find the sample file ${missing} (--sample)`);
  // A JSON sample that does not parse has no inputs: where it stops being JSON, and why.
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '[1,\n2,,3]');
  const json = await fanout(['advise', tasks, '-e', 'double', '--sample', broken, '-f', 'json']);
  expect(json.code).toBe(2);
  expect(json.stderr).toContain(
    `the sample ${broken} (--sample) has no valid inputs: line 2 is not valid JSON: Unexpected token ','`,
  );
  // Malformed lines among valid ones are left out, and said.
  const some = join(dir, 'some.jsonl');
  writeFileSync(some, '1\nnope\n3\n{x\n');
  const told = await fanout(['advise', tasks, '-e', 'double', '--sample', some, '--json']);
  expect(told.code).toBe(0);
  expect(JSON.parse(told.stdout).measurement.items).toBe(2);
  expect(told.stderr).toContain(
    'left out of the sample (--sample): 2 lines malformed, the first: line 2 is not valid JSON',
  );
});
