#!/usr/bin/env bash
# The experiments written without a GPU, measured in two device calls on one warm machine (carry .third_party):
#
#   bash tools/device/experiments/measure.sh checks [PATCH ...]   the baseline build (its library kept as
#       native/build/base.so), the patches (try.sh), check_kernels.py with them, the Sage pre-pass's workspace against the
#       baseline's byte for byte (same_prepass.py), and check_kernels' Sage cases once more per
#       variant of VG_SAGE_WGMMA_VARIANT (VARIANTS, default "1 2 10 18 26"). About 7-8 minutes.
#   bash tools/device/experiments/measure.sh bench [PATCH ...]    the Sage variant sweep (MASKS, default
#       "0 1 2 6 10 18 26"), then bench_native's fused and Sage groups with the baseline library and with the patched
#       one, side by side. About 4 minutes.
#
# No default patches (stop 38 measured the last one, gelu-quantize): name them. The device copies the working tree afresh
# at every call, but keeps native/build (git-ignored) while the machine is held: `bench` re-applies the patches to the
# sources (its scripts and check_kernels' emulation come with them) and reuses both libraries; on a fresh machine (both
# libraries absent) it builds them again first. Every step has its own time limit (a variant that hangs costs that
# step, not the call). Files under $OUT: checks: build.log, gpu.txt, try.log, check.log, check_sage_variants.log;
# bench: sweep.txt, before.md, after.md.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
LIB=native/build/libvisualgen_native.so
BASE=native/build/base.so
stage=${1:-}
case "$stage" in checks|bench) shift ;; *) echo "usage: measure.sh checks|bench [PATCH ...]"; exit 2 ;; esac
patches=${*:?name the patches (tools/device/experiments/NAME.patch)}

build_both() {  # the baseline library as $BASE, then the patches applied and built (try.sh reverts one that fails)
  bash tools/device/run.sh build || exit 1
  cp "$LIB" "$BASE"
  bash tools/device/experiments/try.sh $patches
}

if [ "$stage" = checks ]; then
  build_both
  timeout 200 python3 native/tests/check_kernels.py --lib "$LIB" > "$OUT/check.log" 2>&1 || echo "check_kernels: exit $? (124: timed out)"
  echo "check_kernels: $(grep -c '^PASS' "$OUT/check.log") passed, $(grep -c '^FAIL' "$OUT/check.log") failed"
  grep '^FAIL' "$OUT/check.log" | head -10
  # the pre-pass must write the same bytes as the baseline's (sage-prepass-i8 claims the same codes)
  timeout 60 python3 tools/device/experiments/same_prepass.py "$BASE" "$LIB" || echo "same_prepass: exit $? (1: bytes differ; 124: timed out)"
  if grep -q "VG_SAGE_WGMMA_VARIANT" native/src/attention_sage_wgmma.cu; then
    for v in ${VARIANTS:-1 2 10 18 26}; do
      echo "== VG_SAGE_WGMMA_VARIANT=$v" >> "$OUT/check_sage_variants.log"
      VG_SAGE_WGMMA_VARIANT=$v timeout 75 python3 native/tests/check_kernels.py --lib "$LIB" --only sage > /tmp/check_v.log 2>&1 ||
        echo "check_kernels --only sage, variant $v: exit $? (124: timed out)"
      cat /tmp/check_v.log >> "$OUT/check_sage_variants.log"
      echo "check_kernels --only sage, VG_SAGE_WGMMA_VARIANT=$v: $(grep -c '^PASS' /tmp/check_v.log) passed, $(grep -c '^FAIL' /tmp/check_v.log) failed"
      grep '^FAIL' /tmp/check_v.log | head -5
    done
  fi
  exit 0
fi

# bench
if [ -f "$LIB" ] && [ -f "$BASE" ]; then
  for name in $patches; do  # the sources as the library was built (a patch that did not build there fails here too)
    git apply "tools/device/experiments/$name.patch" 2>/dev/null && echo "bench: $name re-applied to the sources" ||
      echo "bench: $name not re-applied"
  done
else
  echo "bench: no libraries from a checks call on this machine: building them"
  build_both
fi
if grep -q "VG_SAGE_WGMMA_VARIANT" native/src/attention_sage_wgmma.cu; then
  VARIANT_ENV=VG_SAGE_WGMMA_VARIANT MASKS="${MASKS:-0 1 2 6 10 18 26}" ROUNDS=3 timeout 200 python3 tools/device/sage_variant_sweep.py "$LIB" > "$OUT/sweep.txt" 2>&1 ||
    echo "sweep: exit $? (124: timed out)"
  tail -24 "$OUT/sweep.txt"
fi
# the fused and Sage groups with each library (the Sage rows run variant 0, the kept kernel, unless VG_SAGE_WGMMA_VARIANT is set)
VG_SAGE_BENCH=wgmma timeout 100 python3 tools/bench/bench_native.py --lib "$BASE" --only fused,sage --md "$OUT/before.md" > /tmp/before.log 2>&1 ||
  { echo "baseline bench failed"; tail -5 /tmp/before.log; }
VG_SAGE_BENCH=wgmma timeout 100 python3 tools/bench/bench_native.py --lib "$LIB" --only fused,sage --md "$OUT/after.md" > /tmp/after.log 2>&1 ||
  { echo "bench with the patches failed"; tail -5 /tmp/after.log; }
grep -E "^fused:" /tmp/after.log
echo; echo "| what | ms, baseline | ms, with the patches |"; echo "| --- | ---: | ---: |"
paste -d'|' <(grep -E "^\| (fused|sage) " "$OUT/before.md" | cut -d'|' -f3,4) <(grep -E "^\| (fused|sage) " "$OUT/after.md" | cut -d'|' -f4) | sed 's/^/|/; s/$/ |/'
