#!/usr/bin/env bash
# One device call for the experiments written without a GPU (carry .third_party): the baseline build and its Sage and
# fused-kernel benchmarks, then the patches (try.sh), the kernel checks with them (the Sage cases once per variant of
# VG_SAGE_WGMMA_VARIANT), the same benchmarks again, and the Sage variant sweep. About 8-9 minutes; files under $OUT:
# before.md, after.md, check.log, check_sage_variants.log, sweep.txt, try.log (with run.sh's build.log and gpu.txt:
# eight, all that a call returns).
#
#   bash tools/device/experiments/measure.sh [PATCH ...]   (default: sage-codes norm-warp-rows sage-prepass-i8)
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
LIB=native/build/libvisualgen_native.so
patches=${*:-sage-codes norm-warp-rows sage-prepass-i8}
bash tools/device/run.sh build || exit 1
VG_SAGE_BENCH=wgmma python3 tools/bench/bench_native.py --lib "$LIB" --only fused,sage --md "$OUT/before.md" > /tmp/before.log 2>&1 ||
  { echo "baseline bench failed"; tail -5 /tmp/before.log; }
bash tools/device/experiments/try.sh $patches
python3 native/tests/check_kernels.py --lib "$LIB" > "$OUT/check.log" 2>&1
echo "check_kernels: $(grep -c '^PASS' "$OUT/check.log") passed, $(grep -c '^FAIL' "$OUT/check.log") failed"; grep '^FAIL' "$OUT/check.log" | head -10
if grep -q "VG_SAGE_WGMMA_VARIANT" native/src/attention_sage_wgmma.cu; then
  for v in 1 2 6; do
    echo "== VG_SAGE_WGMMA_VARIANT=$v" >> "$OUT/check_sage_variants.log"
    VG_SAGE_WGMMA_VARIANT=$v python3 native/tests/check_kernels.py --lib "$LIB" --only sage >> "$OUT/check_sage_variants.log" 2>&1
    echo "check_kernels --only sage, variant $v: $(grep -c '^PASS' "$OUT/check_sage_variants.log") passed so far, $(grep -c '^FAIL' "$OUT/check_sage_variants.log") failed so far"
  done
  grep '^FAIL' "$OUT/check_sage_variants.log" | head -10
fi
VG_SAGE_BENCH=wgmma python3 tools/bench/bench_native.py --lib "$LIB" --only fused,sage --md "$OUT/after.md" > /tmp/after.log 2>&1 ||
  { echo "bench with the patches failed"; tail -5 /tmp/after.log; }
echo; echo "before -> after (fused and sage groups):"
paste -d'|' <(grep -E "^\| (fused|sage) " "$OUT/before.md" | cut -d'|' -f3,4) <(grep -E "^\| (fused|sage) " "$OUT/after.md" | cut -d'|' -f4) | sed 's/^/| /; s/$/ |/'
if grep -q "VG_SAGE_WGMMA_VARIANT" native/src/attention_sage_wgmma.cu; then
  VARIANT_ENV=VG_SAGE_WGMMA_VARIANT MASKS="0 1 2 6" ROUNDS=3 python3 tools/device/sage_variant_sweep.py "$LIB" > "$OUT/sweep.txt" 2>&1
  tail -12 "$OUT/sweep.txt"
fi
