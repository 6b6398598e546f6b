#!/usr/bin/env bash
# Builds the git-ignored folders that tools/device/run.sh needs on the GPU machine, sized for the device tool's 64 MiB
# carried-tree cap (repository ~3 MB + these ~62 MB):
#   .publish      self-contained single-file visualgen-bench (the library, CLI code, bench commands; ~40 MB) with
#                 libonnxruntime.so xz-compressed (run.sh unpacks it)
#   .peer         ../shared/peer (diffusers' source tarball, the peer scripts), st.py, and fixtures.tar.xz: the
#                 conformance fixtures FIXTURES names (run.sh unpacks them into .peer/conformance)
#   .third_party  cudnn-frontend.tar.xz: cudnn-frontend's headers (CUDNN_FRONTEND_DIR = a checkout of
#                 NVIDIA/cudnn-frontend at v1.16.0, e.g. from the fetch tool; skipped when the archive exists), and
#                 cutlass.tar.xz: CUTLASS's headers (CUTLASS_DIR = a checkout of NVIDIA/cutlass at v4.7.0; ~1 MB of xz)
# Then: run(command="bash tools/device/run.sh build check components pipeline", carry=[".publish", ".peer", ".third_party"]).
#
#   tools/device/prepare_carry.sh [FIXTURES]     default: flux1 qwenimage and every Wan fixture
#   tools/device/prepare_carry.sh flux2 ltx2 cosmos3_t2i cosmos3_t2v cosmos3_i2v
#                                                 the newer families, in a run of their own: their fixtures are ~6.6 MB of
#                                                 xz beside the default set's ~12.6 MB, and all thirteen overshoot the cap
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
FIXTURES=${*:-flux1 qwenimage wan21_t2v wan21_t2v_euler wan21_i2v wan22_t2v_a14b wan22_i2v_a14b wan22_ti2v_5b}

rm -rf .publish
dotnet publish tools/bench/VisualGen.Bench -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
  -p:EnableCompressionInSingleFile=true -o .publish > /tmp/prepare_carry_publish.log
rm -f .publish/*.pdb
xz -T0 -6 .publish/libonnxruntime.so

rm -rf .peer && mkdir -p .peer
cp "$SHARED"/peer/* .peer/
cp "$SHARED"/tools/conformance/st.py "$SHARED"/tools/conformance/quant_check.py .peer/
(cd "$SHARED/conformance" && tar cf - $FIXTURES) | xz -T0 -9e > .peer/fixtures.tar.xz

mkdir -p .third_party
if [ ! -f .third_party/cudnn-frontend.tar.xz ]; then
  : "${CUDNN_FRONTEND_DIR:?set CUDNN_FRONTEND_DIR to a cudnn-frontend checkout (v1.16.0)}"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/cudnn-frontend"
  git -C "$CUDNN_FRONTEND_DIR" archive v1.16.0 include LICENSE.txt | tar x -C "$tmp/cudnn-frontend"
  tar cf - -C "$tmp" cudnn-frontend | xz -T0 -9 > .third_party/cudnn-frontend.tar.xz
  rm -rf "$tmp"
fi

if [ ! -f .third_party/cutlass.tar.xz ]; then
  : "${CUTLASS_DIR:?set CUTLASS_DIR to a CUTLASS checkout (v4.7.0)}"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/cutlass"
  git -C "$CUTLASS_DIR" archive v4.7.0 include LICENSE.txt | tar x -C "$tmp/cutlass"
  tar cf - -C "$tmp" cutlass | xz -T0 -9 > .third_party/cutlass.tar.xz
  rm -rf "$tmp"
fi

total=$(( $(du -cb .publish .peer .third_party | tail -1 | cut -f1) + $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) ))
echo "carried tree: $(( total / 1048576 )) MiB of 64 MiB (.publish $(du -sh .publish | cut -f1), .peer $(du -sh .peer | cut -f1), .third_party $(du -sh .third_party | cut -f1))"
[ "$total" -le $(( 64 * 1048576 )) ] || { echo "over the 64 MiB cap: pass fewer fixtures"; exit 1; }
