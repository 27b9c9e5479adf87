// The Piscina worker entry: one chunk in, one response out. Task failures are returned
// as values so nothing about them is lost crossing back (see protocol.ts).
//
// Outputs are copied back unless the call asked to transfer: moving a buffer detaches it
// here, and in V8 the first detach in a thread makes the optimized typed-array code of
// that thread slower from then on (the "array buffer detaching" protector): measured on
// 2 cores, a typed-array sieve (countPrimes) ran ~15% slower in every later task.
//
// Otherwise, inputs and outputs of the shape that packs (plain objects with the same keys and
// primitive values) cross by column, which V8 clones several times faster (see pack()).
import {
  buffersIn,
  fromWire,
  toWire,
  type WireRequest,
  type WireResponse,
} from '../src/protocol.js';
import { runRequest } from './task-host.js';

export default async function host(request: WireRequest): Promise<WireResponse> {
  const response = await runRequest({ ...request, inputs: fromWire(request.inputs) });
  if (!request.transfer) return { ...response, values: toWire(response.values, false) };
  const buffers = new Set<ArrayBuffer>();
  for (const value of response.values) buffersIn(value, buffers);
  for (const failure of response.failures ?? []) buffersIn(failure.input, buffers);
  if (buffers.size === 0) return response;
  // Loaded only here: importing Piscina in a worker costs ~25 ms, on every worker's first
  // chunk, and only a call that transfers needs it.
  const { move, transferableSymbol, valueSymbol } = await import('piscina');
  return move({
    [transferableSymbol]: [...buffers],
    [valueSymbol]: response,
  } as never) as unknown as WireResponse;
}
