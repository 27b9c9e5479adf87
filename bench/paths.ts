// Worker threads load compiled JavaScript. Run from dist/ (the normal way), the peers'
// worker files sit beside this module; run from source (vitest imports the suite as
// TypeScript), the build's copies are used, which `npm test` makes before vitest runs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The absolute path of a compiled file of bench/, e.g. `peers/pool-worker.js`. */
export function compiled(relative: string): string {
  const beside = fileURLToPath(new URL(relative, import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL(`../dist/bench/${relative}`, import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`${built} is not built: run \`npm run build\` first`);
}
