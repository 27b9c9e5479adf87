#!/bin/bash
# One prepared device run (see prepare.sh): the spin rows and the scaling sweep on every
# core of the device, then bench:core and bench:memory, each under its own time limit;
# results under $OUT.
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "== $(date -u)"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2
echo "which node: $(command -v node || echo none)"; node -v 2>/dev/null
if ! command -v node >/dev/null || ! node -v | grep -q '^v2[0-9]'; then
  (xz -dc .device/node.xz 2>/dev/null ||
    python3 -c "import lzma,sys;sys.stdout.buffer.write(lzma.open('.device/node.xz').read())") >/tmp/node
  chmod +x /tmp/node
  export PATH=/tmp:$PATH
  echo "carried node: $(node -v)"
fi
rm -rf node_modules && mv .device/node_modules node_modules
node -e "const os=require('os');console.log('availableParallelism', os.availableParallelism(), 'cpus', os.cpus().length)"
mkdir -p "$OUT/suite"
timeout "${SUITE_T:-330}" node dist/src/cli.js bench -w spin -c fanout split --no-chart -o "$OUT/suite"
echo "== suite rc $? $(date -u)"
timeout "${CORE_T:-150}" node dist/bench/core.js >"$OUT/core.txt" 2>&1
echo "== core rc $? $(date -u)"
tail -30 "$OUT/core.txt"
timeout "${MEMORY_T:-60}" node --expose-gc dist/bench/memory.js
echo "== memory rc $? $(date -u)"
