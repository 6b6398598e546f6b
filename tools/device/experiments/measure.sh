#!/usr/bin/env bash
# One device call for the experiments written without a GPU (carry .third_party), most important first so that a call
# cut at its time limit still brings back the rest: the baseline build (its library kept as /tmp/base.so), the patches
# (try.sh), the kernel checks with them (the Sage cases once more per variant of VG_SAGE_WGMMA_VARIANT), the Sage variant
# sweep, then bench_native's fused and Sage groups with the baseline library and with the patched one, side by side.
# About 8-9 minutes; every step has its own time limit (a variant that hangs costs that step, not the call). Files under $OUT: check.log, check_sage_variants.log, sweep.txt, try.log, before.md, after.md
# (with run.sh's build.log and gpu.txt: eight, all that a call returns).
#
#   bash tools/device/experiments/measure.sh [PATCH ...]   (default: sage-codes norm-warp-rows sage-prepass-i8 gelu-quantize)
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
LIB=native/build/libvisualgen_native.so
patches=${*:-sage-codes norm-warp-rows sage-prepass-i8 gelu-quantize}
bash tools/device/run.sh build || exit 1
cp "$LIB" /tmp/base.so
bash tools/device/experiments/try.sh $patches
timeout 200 python3 native/tests/check_kernels.py --lib "$LIB" > "$OUT/check.log" 2>&1 || echo "check_kernels: exit $? (124: timed out)"
echo "check_kernels: $(grep -c '^PASS' "$OUT/check.log") passed, $(grep -c '^FAIL' "$OUT/check.log") failed"
grep '^FAIL' "$OUT/check.log" | head -10
variants=$(grep -q "VG_SAGE_WGMMA_VARIANT" native/src/attention_sage_wgmma.cu && echo yes)
if [ -n "$variants" ]; then
  for v in 1 2 6; do
    echo "== VG_SAGE_WGMMA_VARIANT=$v" >> "$OUT/check_sage_variants.log"
    VG_SAGE_WGMMA_VARIANT=$v timeout 90 python3 native/tests/check_kernels.py --lib "$LIB" --only sage > /tmp/check_v.log 2>&1 ||
      echo "check_kernels --only sage, variant $v: exit $? (124: timed out)"
    cat /tmp/check_v.log >> "$OUT/check_sage_variants.log"
    echo "check_kernels --only sage, VG_SAGE_WGMMA_VARIANT=$v: $(grep -c '^PASS' /tmp/check_v.log) passed, $(grep -c '^FAIL' /tmp/check_v.log) failed"
    grep '^FAIL' /tmp/check_v.log | head -5
  done
  VARIANT_ENV=VG_SAGE_WGMMA_VARIANT MASKS="0 1 2 6" ROUNDS=3 timeout 150 python3 tools/device/sage_variant_sweep.py "$LIB" > "$OUT/sweep.txt" 2>&1 ||
    echo "sweep: exit $? (124: timed out)"
  tail -16 "$OUT/sweep.txt"
fi
# the fused and Sage groups with each library (the Sage rows run variant 0, the kept kernel, unless VG_SAGE_WGMMA_VARIANT is set)
VG_SAGE_BENCH=wgmma timeout 100 python3 tools/bench/bench_native.py --lib /tmp/base.so --only fused,sage --md "$OUT/before.md" > /tmp/before.log 2>&1 ||
  { echo "baseline bench failed"; tail -5 /tmp/before.log; }
VG_SAGE_BENCH=wgmma timeout 100 python3 tools/bench/bench_native.py --lib "$LIB" --only fused,sage --md "$OUT/after.md" > /tmp/after.log 2>&1 ||
  { echo "bench with the patches failed"; tail -5 /tmp/after.log; }
grep -E "^fused:" /tmp/after.log
echo; echo "| what | ms, baseline | ms, with the patches |"; echo "| --- | ---: | ---: |"
paste -d'|' <(grep -E "^\| (fused|sage) " "$OUT/before.md" | cut -d'|' -f3,4) <(grep -E "^\| (fused|sage) " "$OUT/after.md" | cut -d'|' -f4) | sed 's/^/|/; s/$/ |/'
