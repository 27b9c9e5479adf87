#!/usr/bin/env bash
# `npm run test:node -- 22 24`: the test suite on other Node.js versions, each fetched from
# the npm registry (the node-<platform>-<arch> packages hold the official binaries) into
# node_modules/.cache/fanout-node, then run with that `node` first on the PATH. Without a
# version: the newest of each line fanout supports beside the installed one (22, 24).
# Linux and macOS, x64 and arm64. The build and the test runner stay as installed.
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -s)" in
  Linux) platform=linux ;;
  Darwin) platform=darwin ;;
  *) echo "test:node: no Node.js package for $(uname -s)" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "test:node: no Node.js package for $(uname -m)" >&2; exit 2 ;;
esac
cache=node_modules/.cache/fanout-node
mkdir -p "$cache"
npm run build >/dev/null
failed=()
for wanted in "${@:-22 24}"; do
  for major in $wanted; do
    package="node-$platform-$arch@$major"
    # One version, or an array of them (in the registry's order, not by version).
    version=$(npm view "$package" version --json |
      node -e '
        let s = "";
        process.stdin.on("data", (d) => { s += d; }).on("end", () => {
          const all = s.trim() === "" ? [] : [JSON.parse(s)].flat();
          const n = (v) => v.split(".").map(Number);
          all.sort((a, b) => { const [x, y] = [n(a), n(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
          if (all.length === 0) { console.error(`test:node: no release of ${process.argv[1]}`); process.exit(1); }
          console.log(all.at(-1));
        });' "$package")
    dir="$cache/$version"
    if [ ! -x "$dir/package/bin/node" ]; then
      echo "test:node: fetching $package ($version)"
      rm -rf "$dir" && mkdir -p "$dir"
      tarball=$(npm pack "node-$platform-$arch@$version" --pack-destination "$dir" --silent | tail -n 1)
      tar -xzf "$dir/$tarball" -C "$dir" && rm "$dir/$tarball"
    fi
    echo "test:node: Node.js $("$dir/package/bin/node" --version)"
    if ! PATH="$PWD/$dir/package/bin:$PATH" npx vitest run; then failed+=("$version"); fi
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:node: failed on Node.js ${failed[*]}" >&2
  exit 1
fi
