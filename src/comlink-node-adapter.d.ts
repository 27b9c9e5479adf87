// comlink ships its Node adapter as an .mjs file whose types sit in a .d.ts that
// NodeNext resolution does not pick up for an .mjs import.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(port: unknown): Endpoint;
}
