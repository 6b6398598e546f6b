#!/usr/bin/env bash
# Type-checks native/src's CUDA sources with g++ where there is no nvcc (a development machine without the CUDA
# toolkit): include/ holds declaration-only stand-ins for the CUDA headers the library uses, kernel launches are cut to
# plain calls, and each file is checked twice, as the device pass (sm_90a: __CUDA_ARCH__ 900, the wgmma code included)
# and as the host pass. It catches C++ errors (names, types, template arguments, overloads) in code written blind, for
# example an experiment patch, before a device call builds it. It does not know PTX, inline-assembly constraints,
# intrinsic semantics, register or shared-memory limits: only nvcc on the device says whether a kernel builds and runs.
#
#   bash tools/device/typecheck/check.sh [PATCH ...]   (patches: names in tools/device/experiments, applied to a copy)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/native"
cp -r "$root/native/src" "$root/native/include" "$root/native/tests" "$root/native/python" "$root/native/CMakeLists.txt" "$work/native/"
for name in "$@"; do  # the patch's native/ part (a patch may touch the engine or tools too)
  (cd "$work" && git apply --include='native/*' "$root/tools/device/experiments/$name.patch") ||
    { echo "typecheck: $name does not apply"; exit 1; }
done
status=0
for f in "$work"/native/src/*.cu; do
  b=$(basename "$f" .cu)
  perl -0pe 's/<<<.*?>>>//gs' "$f" > "$work/$b.cpp"
  for pass in device host; do
    defs=(); [ $pass = device ] && defs=(-D__CUDA_ARCH__=900 -D__CUDA_ARCH_FEAT_SM90_ALL)
    if ! out=$(g++ -std=c++17 -fsyntax-only "${defs[@]}" -I"$here/include" -I"$work/native/src" -I"$work/native/include" \
                 -Wno-unknown-pragmas "$work/$b.cpp" 2>&1); then
      echo "typecheck: $b.cu ($pass pass):"; echo "$out" | grep -E "error" | head -10; status=1
    fi
  done
done
[ $status = 0 ] && echo "typecheck: $(ls "$work"/native/src/*.cu | wc -l) CUDA sources, device and host passes: no C++ errors${*:+ (with $*)}"
exit $status
