#!/usr/bin/env bash
# Applies experiment patches (their names in tools/device/experiments, without .patch) to the working tree one by one
# and rebuilds native/ after each (native/build must be configured: run tools/device/run.sh build first). A patch that
# does not apply or does not build is reverted, the logs of all in $OUT/try.log, and the next one is tried. The last
# line names the patches that are in.
#
#   bash tools/device/run.sh build && bash tools/device/experiments/try.sh gelu-quantize
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
[ -d native/build ] || { echo "try: native/build is not configured (run tools/device/run.sh build first)"; exit 1; }
applied=()
for name in "$@"; do
  p=tools/device/experiments/$name.patch
  log=/tmp/try_$name.log
  if ! git apply "$p" > "$log" 2>&1; then
    echo "try: $name does not apply: $(head -2 "$log" | tr '\n' ' ')"
    continue
  fi
  t0=$(date +%s)
  if cmake --build native/build -j 16 >> "$log" 2>&1; then
    applied+=("$name")
    echo "try: $name builds ($(( $(date +%s) - t0 )) s)"
    grep -iE "warn|spill" "$log" | grep -v " 0 bytes spill" | head -6
  else
    echo "try: $name does not build:"
    grep -E "error" "$log" | head -12
    git apply -R "$p" && cmake --build native/build -j 16 >> "$log" 2>&1
  fi
done
for name in "$@"; do [ -f "/tmp/try_$name.log" ] && { echo "== $name"; cat "/tmp/try_$name.log"; } >> "$OUT/try.log"; done
echo "try: applied: ${applied[*]:-none}"
