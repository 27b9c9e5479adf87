// Ctrl-C stops `fanout run` cleanly: threads stopped, output flushed up to the last
// complete result, exit status 130.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { collect, start } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const tasks = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
const dir = scratchDir('interrupt');

it('exits with 130 on SIGINT, leaving only complete results', async () => {
  const child = start(['run', tasks, '-e', 'double', '-t', '2']);
  // An input that never ends: the run can only stop by the signal.
  let n = 0;
  const feed = () => {
    while (child.stdin?.write(`${n++}\n`)) if (n % 1000 === 0) break;
  };
  child.stdin?.on('drain', feed);
  child.stdin?.on('error', () => {});
  feed();
  const firstOutput = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const result = collect(child);
  await firstOutput; // it is really running
  child.kill('SIGINT');
  const { code, stdout, stderr } = await result;
  expect(code).toBe(130);
  expect(stderr).toContain('interrupted');
  // (Its stopped attempts count from when they were sent: no speedup is told.) The signal
  // may come right after the first result: "1 item".
  expect(stderr).toMatch(/\b\d+ items?, 0 failed/);
  expect(stderr).not.toContain('speedup');
  const lines = stdout.split('\n');
  expect(lines.at(-1)).toBe(''); // ends with a complete line
  const values = lines.slice(0, -1).map(Number);
  expect(values.length).toBeGreaterThan(0);
  expect(values).toEqual(values.map((_, i) => 2 * i));
});

it('streams results and stops on SIGINT with --threads 0 too, whose tasks run on its own thread', async () => {
  const input = join(dir, 'slow.jsonl');
  // 200 items that keep the thread busy 20 ms each: 4 s in all.
  writeFileSync(input, '20\n'.repeat(200));
  const child = start(['run', tasks, '-e', 'busyFor', '-i', input, '-t', '0']);
  const firstOutput = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const result = collect(child);
  // Results come as they are made, not all at the end.
  await firstOutput;
  child.kill('SIGINT');
  const { code, stdout, stderr } = await result;
  expect(code).toBe(130);
  expect(stderr).toContain('interrupted');
  const lines = stdout.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.length - 1).toBeGreaterThan(0);
  expect(lines.length - 1).toBeLessThan(200);
});

it('takes two SIGINTs that come together as one, as `timeout -s INT` sends them (to the process, then its group)', async () => {
  const input = join(dir, 'slow.json');
  // 200 items that keep a thread busy 20 ms each: 2 s on 2 threads.
  writeFileSync(input, JSON.stringify(Array.from({ length: 200 }, () => 20)));
  const child = start(['run', tasks, '-e', 'busyFor', '-i', input, '-f', 'json', '-t', '2']);
  const firstOutput = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const result = collect(child);
  await firstOutput;
  const stopping = new Promise<void>((resolve) => {
    let said = '';
    child.stderr?.on('data', (data: Buffer) => {
      said += data.toString();
      if (said.includes('Ctrl-C again')) resolve();
    });
  });
  child.kill('SIGINT');
  await stopping; // the first was taken: the second comes as `timeout`'s does, soon after
  child.kill('SIGINT');
  const { code, stdout, stderr } = await result;
  expect(code).toBe(130);
  // The run ended as an interrupted one: told, and its JSON array closed.
  expect(stderr).toContain('interrupted');
  const values = JSON.parse(stdout) as number[];
  expect(values.length).toBeGreaterThan(0);
  expect(values.length).toBeLessThan(200);
  expect(new Set(values)).toEqual(new Set([20]));
});
