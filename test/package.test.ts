// The package as a user installs it: the files `npm pack` ships (and those alone), in a
// project's node_modules beside its dependencies, loaded by `import`, by `require` (Node's
// require of an ES module, from 20.19) and through the `fanout` command.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from './helpers/scratch.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(
  execFileSync('npm', ['pkg', 'get', 'dependencies', 'bin'], { cwd: root, encoding: 'utf8' }),
) as { dependencies: Record<string, string>; bin: Record<string, string> };

const project = scratchDir('package');
const installed = join(project, 'node_modules', 'fanout');

let shipped: string[] = [];

beforeAll(() => {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    }),
  ) as [{ files: { path: string }[] }];
  shipped = packed.files.map(({ path }) => path);
  for (const { path } of packed.files) {
    mkdirSync(dirname(join(installed, path)), { recursive: true });
    cpSync(join(root, path), join(installed, path));
  }
  for (const name of Object.keys(manifest.dependencies)) {
    const at = join(project, 'node_modules', name);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), at);
  }
  writeFileSync(join(project, 'package.json'), '{ "name": "app", "private": true }\n');
  writeFileSync(join(project, 'task.mjs'), 'export default function square(x) { return x * x; }\n');
}, 60_000);

const node = (args: string[], input?: string) =>
  spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', input });

describe('the installed package', () => {
  it('holds its license, and no source maps (they name sources it does not hold)', () => {
    expect(shipped).toContain('LICENSE');
    expect(shipped).toContain('dist/workers/host.js');
    expect(shipped.filter((path) => path.endsWith('.map'))).toEqual([]);
  });

  it('is imported by name, and runs its tasks on worker threads', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      `import { createRunner, defineTask } from 'fanout';
const square = defineTask(new URL('./task.mjs', import.meta.url));
const runner = createRunner({ threads: 2 });
console.log(JSON.stringify(await runner.all(square, [1, 2, 3])));
await runner.close();
`,
    );
    const { status, stdout, stderr } = node(['esm.mjs']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toBe('[1,4,9]\n');
  });

  it.runIf(Number(process.versions.node.split('.')[0]) >= 22 || process.features.require_module)(
    'is required by name from CommonJS',
    () => {
      writeFileSync(
        join(project, 'cjs.cjs'),
        `const { createRunner, defineTask } = require('fanout');
const square = defineTask(require('node:path').join(__dirname, 'task.mjs'));
const runner = createRunner({ threads: 2 });
runner.map(square, [4, 5]).toArray().then(async (values) => {
  console.log(JSON.stringify(values));
  await runner.close();
});
`,
      );
      const { status, stdout, stderr } = node(['cjs.cjs']);
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(stdout).toBe('[16,25]\n');
    },
  );

  it('runs the fanout command over a file', () => {
    const bin = join(installed, manifest.bin.fanout!);
    const { status, stdout } = node([bin, 'run', 'task.mjs', '--quiet'], '1\n2\n3\n');
    expect(status).toBe(0);
    expect(stdout).toBe('1\n4\n9\n');
  });
});
