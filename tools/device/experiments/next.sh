#!/usr/bin/env bash
# Stop 39's patches (row-loads-first, sage-prologues) measured in three device calls on one warm machine (a machine is
# given back after 30 s idle: issue the calls back to back). Here first:
#   git apply tools/device/experiments/{row-loads-first,sage-prologues}.patch
#   tools/device/prepare_carry.sh wan21_t2v            (the publish then has the planner's SageQPrologue/SageKPrologue)
# then run(command="bash tools/device/experiments/next.sh build", carry=[".third_party", ".publish", ".peer"]), then
# "... next.sh bench", then "... next.sh forward" (same carry). Each stage stays under the 600 s a call may take (its
# steps have their own time limits); on a fresh machine (base.so gone) bench builds both libraries first, and forward
# builds them and asks to be run again.
#
#   build (~6 min): the patches reversed on the device's copy (it arrives patched), the baseline built and kept as
#     native/build/base.so, the patches applied again and built (try.sh: one that does not build is reverted), then
#     check_kernels' norms, rope, sage and fp8 groups (norms and rope also with VG_ROW_WARP=1).
#   bench (~3 min): bench_native's fused group with the baseline, the patched library and the patched one with
#     VG_ROW_WARP=1, then its sageq group (the fused q and k steps against the unfused chains, self- and cross-attention).
#   forward (~5 min): the Wan 1.3B FP8 + Sage forward with the baseline library, then with the patched one without and
#     with the fused q step, the fused q and k steps, and Sage cross-attention on top.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
P="row-loads-first sage-prologues"
LIB=native/build/libvisualgen_native.so
BASE=native/build/base.so
stage=${1:-}

both_libraries() {  # the device's copy arrives patched: reverse, build the baseline, apply again and build
  for p in $P; do git apply -R "tools/device/experiments/$p.patch" || { echo "next: $p is not applied in this tree"; exit 2; }; done
  bash tools/device/run.sh build || exit 1
  cp "$LIB" "$BASE"
  bash tools/device/experiments/try.sh $P
}

case "$stage" in
build)
  both_libraries
  timeout 200 python3 native/tests/check_kernels.py --lib "$LIB" --only norms,rope,sage,fp8 > "$OUT/check.log" 2>&1
  echo "check_kernels: $(grep -c '^PASS' "$OUT/check.log") passed, $(grep -c '^FAIL' "$OUT/check.log") failed"
  grep -E '^FAIL|sage [qk] prologue' "$OUT/check.log" | head -24
  VG_ROW_WARP=1 timeout 60 python3 native/tests/check_kernels.py --lib "$LIB" --only norms,rope > "$OUT/check_warp.log" 2>&1
  echo "check_kernels (VG_ROW_WARP=1): $(grep -c '^PASS' "$OUT/check_warp.log") passed, $(grep -c '^FAIL' "$OUT/check_warp.log") failed"
  ;;
bench)
  [ -f "$BASE" ] || both_libraries
  for run in "$BASE 0" "$LIB 0" "$LIB 1"; do
    set -- $run
    echo "== fused, $(basename "$1"), VG_ROW_WARP=$2"
    VG_ROW_WARP=$2 timeout 80 python3 tools/bench/bench_native.py --lib "$1" --only fused 2>&1 | grep -E "^fused +ours"
  done
  timeout 150 python3 tools/bench/bench_native.py --lib "$LIB" --only sageq 2>&1 | grep -E "^sageq|rror"
  ;;
forward)
  if [ ! -f "$BASE" ]; then  # a fresh machine: the two libraries take most of a call, the forward the rest of another
    both_libraries
    echo "next: both libraries built on this fresh machine; run 'next.sh forward' again right away"
    exit 0
  fi
  VG_LIB=$BASE WAN_QUANT_COMPILE=0 WAN_QUANT_VARIANTS="fp8/sage" timeout 250 bash tools/device/run.sh wanquant
  cp "$OUT/wanquant.log" "$OUT/wanquant_base.log"
  WAN_QUANT_COMPILE=0 WAN_QUANT_VARIANTS="fp8/sage,fp8/sage+qpro,fp8/sage+qpro+kpro,fp8/sage+cross+qpro+kpro" \
    timeout 330 bash tools/device/run.sh wanquant
  ;;
*) echo "usage: next.sh build|bench|forward"; exit 2 ;;
esac
