// The task of `npm run bench:stop`: spins `iterations`, and fails when told to.
import { type SpinInput, spin } from '../workers/workloads.js';

export function spinOrFail(input: SpinInput & { readonly fail?: boolean }): number {
  if (input.fail) throw new Error(`item ${input.seed} was marked to fail`);
  return spin(input);
}
