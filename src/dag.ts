// Dependency graphs as plain data: the checks done before a graph starts (unknown
// dependencies, cycles), a topological order, and longest paths. The scheduler ranks ready
// nodes by the path still ahead of them; an explanation finds the run's critical path.
import { GraphCycleError, GraphUnknownDepError } from './errors.js';

/** Each node's dependencies, by name; the map's order is the declaration order. */
export type Deps = ReadonlyMap<string, readonly string[]>;

/**
 * The nodes in an order where each comes after its dependencies (declaration order where
 * free). Throws ERR_GRAPH_UNKNOWN_DEP for a dependency that is not a node and
 * ERR_GRAPH_CYCLE, with the cycle's path, for nodes that depend on each other in a ring.
 */
export function topologicalOrder(deps: Deps): string[] {
  // Names become indices once, so the search below runs on arrays.
  const names = [...deps.keys()];
  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i]!, i);
  const edges = names.map((node) =>
    deps.get(node)!.map((dep) => {
      const at = index.get(dep);
      if (at === undefined) throw new GraphUnknownDepError(node, dep);
      return at;
    }),
  );
  // Iterative depth-first search (a long chain must not overflow the stack): a node is
  // emitted after its dependencies; meeting a node still on the path closes a cycle.
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(names.length);
  const order: string[] = [];
  const path: number[] = [];
  const next: number[] = [];
  for (let root = 0; root < names.length; root++) {
    if (state[root] !== 0) continue;
    state[root] = OPEN;
    path.push(root);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top]!;
      const list = edges[node]!;
      const i = next[top]!;
      if (i === list.length) {
        state[node] = DONE;
        order.push(names[node]!);
        path.pop();
        next.pop();
        continue;
      }
      next[top] = i + 1;
      const dep = list[i]!;
      if (state[dep] === OPEN) {
        const cycle = path.slice(path.indexOf(dep)).map((at) => names[at]!);
        throw new GraphCycleError([...cycle, names[dep]!]);
      }
      if (state[dep] === DONE) continue;
      state[dep] = OPEN;
      path.push(dep);
      next.push(0);
    }
  }
  return order;
}

/** Who depends on each node (the reverse of `deps`), in declaration order. */
export function dependentsOf(deps: Deps): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const node of deps.keys()) dependents.set(node, []);
  for (const [node, list] of deps) for (const dep of list) dependents.get(dep)?.push(node);
  return dependents;
}

/**
 * For each node, the heaviest path from it to the end of the graph, its own weight
 * included: at best, how long the graph still runs once the node starts. Ready nodes with
 * more of it ahead go first (critical-path list scheduling). `order` is topological.
 */
export function pathAhead(
  deps: Deps,
  order: readonly string[],
  weight: (node: string) => number,
): Map<string, number> {
  const dependents = dependentsOf(deps);
  const ahead = new Map<string, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    let longest = 0;
    for (const d of dependents.get(node)!) longest = Math.max(longest, ahead.get(d)!);
    ahead.set(node, weight(node) + longest);
  }
  return ahead;
}

/** The heaviest path through a graph: its weight, and its nodes from first to last. */
export interface HeaviestPath {
  readonly length: number;
  readonly nodes: readonly string[];
}

/** The heaviest path (the critical path when weights are durations); the first found on ties. */
export function heaviestPath(
  deps: Deps,
  order: readonly string[],
  weight: (node: string) => number,
): HeaviestPath {
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  let last: string | undefined;
  for (const node of order) {
    let best = 0;
    let from: string | undefined;
    for (const dep of deps.get(node)!) {
      const f = finish.get(dep)!;
      if (from === undefined || f > best) {
        best = f;
        from = dep;
      }
    }
    finish.set(node, best + weight(node));
    via.set(node, from);
    if (last === undefined || finish.get(node)! > finish.get(last)!) last = node;
  }
  const nodes: string[] = [];
  for (let node = last; node !== undefined; node = via.get(node)) nodes.push(node);
  return { length: last === undefined ? 0 : finish.get(last)!, nodes: nodes.reverse() };
}
