// Piscina's worker entry: a CommonJS shim in front of the ES host (host.ts).
//
// Piscina loads its worker file with require() before trying import(). Where require()
// can load ES modules (Node >= 20.19 and 22.12) that path sometimes aborts the whole
// process while workers start and stop: a failed V8 assertion in
// ModuleWrap::CreateRequiredModuleFacade, or "IsGraphAsync must be used on an instantiated
// module", from require(esm) in piscina/dist/worker.js. A CommonJS file loads with a plain
// require(), and the ES host comes in through import(), the loader's asynchronous path.
import type { OpenSession, WireRequest, WireResponse } from '../src/protocol.js';

type Host = typeof import('./host.js');

// Loading starts as the worker starts, not on its first chunk: a runner's threads start
// when it is created, and its first call then does not wait for the host's modules. A
// failed load fails every chunk (the rejection is handled there, not left unhandled here).
const host: Promise<Host> = import('./host.js');
host.catch(() => {});

function entry(request: WireRequest | OpenSession): Promise<WireResponse | undefined> {
  if ('session' in request)
    return host.then((module) => module.serve(request.session, request.first));
  return host.then((module) => module.default(request));
}

export = entry;
