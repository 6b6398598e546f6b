#!/usr/bin/env bash
# Compiles native/src's CUDA sources for sm_90a with a real nvcc on a development machine that has no GPU and no CUDA
# toolkit, and prints each kernel's registers and any spills: a blind kernel change gets ptxas's verdict (inline PTX,
# register pressure, wgmma serialization warnings) before device time is spent on it. It goes further than
# ../typecheck/check.sh (g++ with stand-in headers: C++ errors only) but is still only a compile: whether a kernel is
# right or fast is for the device.
#
# The compiler is Debian 13's nvidia-cuda-toolkit (CUDA 12.4; the device machines have 13.0), unpacked, not installed,
# under $VG_CUDA124 (default /opt/cuda124) on first use (about 1 GB from Debian's archive, a minute). CUDA 12.4 lacks
# two things the library takes from 12.5+: a shim header declares cudaGetDriverEntryPointByVersion and a copy of cuda.h
# says 12.5 so the wgmma kernel's host part is compiled (nothing is linked or run). cuDNN's header is
# ../typecheck/include's stand-in, libcu++'s <nv/target> comes from $VG_CCCL (a checkout of NVIDIA/cccl).
#
#   VG_CCCL=/path/to/cccl bash tools/device/compilecheck/check.sh [FILE.cu ...]   (default: every native/src/*.cu)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cuda=${VG_CUDA124:-/opt/cuda124}
shim="$cuda/shim"

if [ ! -x "$cuda/usr/bin/nvcc" ]; then
  echo "compilecheck: unpacking Debian 13's nvidia-cuda-toolkit into $cuda"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  echo "deb http://deb.debian.org/debian trixie main contrib non-free" > "$apt_dir/sources.list"
  o=(-oDir::State::Lists="$apt_dir/lists" -oDir::Etc::SourceList="$apt_dir/sources.list" -oDir::Etc::SourceParts=/dev/null
     -oDir::Cache="$apt_dir/cache" -oAcquire::AllowInsecureRepositories=true -oAPT::Get::AllowUnauthenticated=true)
  apt-get "${o[@]}" update > "$apt_dir/update.log" 2>&1 || { echo "compilecheck: apt-get update failed"; tail -3 "$apt_dir/update.log"; exit 1; }
  (cd "$apt_dir/debs" && apt-get "${o[@]}" download nvidia-cuda-toolkit nvidia-cuda-dev libnvvm4 > ../download.log 2>&1) ||
    { echo "compilecheck: download failed"; tail -3 "$apt_dir/download.log"; exit 1; }
  mkdir -p "$cuda" && for f in "$apt_dir"/debs/*.deb; do dpkg -x "$f" "$cuda"; done
  rm -rf "$apt_dir"
fi
# Debian's nvcc finds cicc, libdevice and its profile under /usr/lib/nvidia-cuda-toolkit and /etc/nvcc.profile
[ -e /usr/lib/nvidia-cuda-toolkit ] || ln -s "$cuda/usr/lib/nvidia-cuda-toolkit" /usr/lib/nvidia-cuda-toolkit
[ -e /etc/nvcc.profile ] || cp "$cuda/etc/nvcc.profile" /etc/nvcc.profile

if [ ! -f "$shim/nv/target" ]; then
  cccl=${VG_CCCL:-}
  [ -n "$cccl" ] || { echo "compilecheck: set VG_CCCL to a checkout (or bare git directory) of NVIDIA/cccl for <nv/target>"; exit 1; }
  mkdir -p "$shim/nv/detail"
  for f in nv/target nv/detail/__preprocessor nv/detail/__target_macros; do
    if [ -d "$cccl/libcudacxx" ]; then cp "$cccl/libcudacxx/include/$f" "$shim/$f"
    else git --git-dir="$cccl" show "HEAD:libcudacxx/include/$f" > "$shim/$f"; fi
  done
fi
mkdir -p "$shim/cudnn"
cp "$root/tools/device/typecheck/include/cudnn.h" "$shim/cudnn/cudnn.h"
sed 's/#define CUDA_VERSION 12040/#define CUDA_VERSION 12050/' "$cuda/usr/include/cuda.h" > "$shim/cuda.h"
cat > "$shim/shim.h" <<'H'
// compilecheck: CUDA 12.5's entry-point lookup, declared for CUDA 12.4's headers (compiled, never linked or run)
#pragma once
#include <cuda_runtime_api.h>
extern __host__ cudaError_t cudaGetDriverEntryPointByVersion(const char*, void**, unsigned int, unsigned long long,
                                                              cudaDriverEntryPointQueryResult*);
H

export PATH="$cuda/usr/bin:$PATH"
files=("$@"); [ ${#files[@]} -gt 0 ] || files=("$root"/native/src/*.cu)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
status=0
for f in "${files[@]}"; do
  b=$(basename "$f" .cu)
  if ! nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -I"$shim" -I"$shim/cudnn" -I"$cuda/usr/include" \
       -I"$root/native/include" -I"$root/native/src" -include "$shim/shim.h" -Xptxas -v -c "$f" -o "$work/$b.o" \
       > "$work/$b.log" 2>&1; then
    echo "compilecheck: $b.cu FAILED"; grep -E "error" "$work/$b.log" | head -10; status=1; continue
  fi
  grep -iE "warning" "$work/$b.log" | grep -v "Wno-deprecated" | head -5
  # one line per kernel: registers, and spills where there are any
  python3 - "$work/$b.log" "$b" <<'PY'
import re, subprocess, sys
text = open(sys.argv[1]).read().split("Compiling entry function '")[1:]
rows = []
for part in text:
    name = part.split("'")[0]
    regs = re.search(r"Used (\d+) registers", part)
    spill = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", part)
    rows.append((name, int(regs.group(1)) if regs else -1, (int(spill.group(1)), int(spill.group(2))) if spill else (0, 0)))
names = subprocess.run(["c++filt"], input="\n".join(r[0] for r in rows), capture_output=True, text=True).stdout.split("\n")
spilling = [(n, r) for n, r in zip(names, rows) if r[2] != (0, 0)]
print(f"compilecheck: {sys.argv[2]}.cu: {len(rows)} kernels, at most {max((r[1] for r in rows), default=0)} registers, "
      f"{len(spilling)} spilling")
for n, r in spilling:
    print(f"  spills {r[2][0]}/{r[2][1]} bytes (stores/loads), {r[1]} registers: {n[:160]}")
PY
done
exit $status
