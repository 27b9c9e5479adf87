#!/bin/bash
# Prepares what a device run (bench/device/run.sh: the scaling curve on a many-core
# machine) carries beside the built dist/: the runtime packages the bench needs, from
# the npm registry or its cache (a few MB, where node_modules is ~200), and this machine's node, compressed,
# in case the device has none. Then: device run with carry ["dist", ".device"] and the
# command `bash bench/device/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build
rm -rf .device && mkdir -p .device/slim
deps=$(node -e '
  const p = require("./package.json");
  const all = { ...p.dependencies, ...p.devDependencies };
  const keep = ["piscina", "comlink", "commander", "cli-progress", "tinybench", "tinypool", "workerpool", "poolifier"];
  console.log(JSON.stringify({ name: "device", private: true, dependencies: Object.fromEntries(keep.map((k) => [k, all[k]])) }));
')
echo "$deps" > .device/slim/package.json
(cd .device/slim && npm install --prefer-offline --ignore-scripts --no-audit --no-fund --silent)
mv .device/slim/node_modules .device/node_modules && rm -rf .device/slim
xz -T0 -6 -c "$(command -v node)" > .device/node.xz
du -sh .device
