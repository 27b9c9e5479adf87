// `npm run bench:cli-memory [-- lines]`: generates a big JSONL file (3 million records of
// ~120 bytes by default), runs `fanout run` over it with the heap capped at 64 MB, and
// prints the input size, the peak heap the CLI reported, and the throughput.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '../src/machine.js';

const lines = Number(process.argv[2] ?? 3_000_000);
const heapMiB = 64;
const dir = mkdtempSync(join(tmpdir(), 'fanout-cli-memory-'));
const input = join(dir, 'big.jsonl');
const task = join(dir, 'task.mjs');

const out = createWriteStream(input);
const pad = 'x'.repeat(100);
for (let i = 0; i < lines; i++) {
  if (!out.write(`{"id":${i},"pad":"${pad}"}\n`)) {
    await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
}
await new Promise<void>((resolve) => out.end(() => resolve()));
const taskFile = createWriteStream(task);
taskFile.end(
  'export function size(record) { return record.pad.length + String(record.id).length; }\n',
);
await new Promise<void>((resolve) => taskFile.on('finish', () => resolve()));

console.log(`machine: ${describeMachine()}`);
console.log(
  `input: ${lines.toLocaleString()} records, ${(statSync(input).size / 2 ** 20).toFixed(0)} MiB`,
);
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const child = spawn(
  process.execPath,
  [
    `--max-old-space-size=${heapMiB}`,
    cli,
    'run',
    task,
    '-e',
    'size',
    '-i',
    input,
    '-o',
    '/dev/null',
    '-v',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (d: string) => {
  stderr += d;
});
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
console.log(stderr.trim());
console.log(`exit status ${code} with the heap capped at ${heapMiB} MiB`);
rmSync(dir, { recursive: true, force: true });
if (code !== 0) process.exitCode = 1;
