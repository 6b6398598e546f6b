#!/usr/bin/env bash
# The one device script: builds native/ with CMake, runs the correctness checks, runs the benchmarks,
# prints a short table last. Logs go under $OUT (the device tool's return folder; /tmp/vg_out here).
#
#   tools/device/run.sh [stage ...]     stages: build check bench fp8gelu sage ncu ncuprepass ncurows engine compile wanquant flux fluxcompile qwen qwencompile peer components awkward pipeline editing budget e2e e2eflux e2eqwen quant goldens (default: build check bench)
#
# carry (tools/device/prepare_carry.sh builds them): .third_party (cudnn-frontend headers, or cudnn-frontend.tar.xz of them: native/ needs them), and for later stages
#   .publish (the self-contained .NET publish: engine stage), .peer (copy of shared/peer: peer stage).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/vg_out}
mkdir -p "$OUT"
STAGES=${*:-build check bench}
LIB=${VG_LIB:-native/build/libvisualgen_native.so}
status=0
has() { [[ " $STAGES " == *" $1 "* ]]; }
# a stage that reads a carried conformance fixture (tokenizers, goldens) and finds it missing says so and is skipped
need_fixture() {
  [ -d ".peer/conformance/$2/checkpoint" ] && return 0
  echo "$1: skipped: the $2 fixture is not in the carry (tools/device/prepare_carry.sh ... $2)"; status=1; return 1
}

# Nsight Compute's command (the ncu and ncuprepass stages), empty where the machine has none
ncu_path() { command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1; }

# SM clock, power and throttle reasons every 200 ms while a stage runs (is sustained load throttled? the board's cap is
# 700 W): clocks_start FILE before, clocks_report FILE after (prints the samples under load)
clocks_start() {
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active \
    --format=csv,noheader,nounits -lms 200 > "$1" 2>&1 &
  SMI_PID=$!
}
clocks_report() {
  kill "$SMI_PID" 2>/dev/null
  python3 - "$1" <<'PY'
import sys, statistics
rows = [l.split(", ") for l in open(sys.argv[1]) if l.count(",") >= 4]
busy = [r for r in rows if r[2].replace(".", "", 1).isdigit() and float(r[2]) > 300]  # samples under load (> 300 W)
if busy:
    clk = [float(r[1]) for r in busy]; pw = [float(r[2]) for r in busy]
    reasons = sorted({r[4].strip() for r in busy})
    print(f"clocks under load (> 300 W, {len(busy)} of {len(rows)} samples): SM MHz median {statistics.median(clk):.0f}, "
          f"min {min(clk):.0f}, max {max(clk):.0f}; power median {statistics.median(pw):.0f} W, max {max(pw):.0f} W; "
          f"max temp {max(float(r[3]) for r in busy):.0f} C; throttle reasons seen {reasons}")
PY
}

# Carried archives (the carried tree is capped at 64 MiB): cudnn-frontend's headers and the conformance fixtures travel
# xz-compressed and are unpacked here.
[ -f .third_party/cudnn-frontend.tar.xz ] && [ ! -d .third_party/cudnn-frontend/include ] && tar xJf .third_party/cudnn-frontend.tar.xz -C .third_party
[ -f .third_party/cutlass.tar.xz ] && [ ! -d .third_party/cutlass/include ] && tar xJf .third_party/cutlass.tar.xz -C .third_party
[ -f .peer/fixtures.tar.xz ] && [ ! -d .peer/conformance ] && mkdir -p .peer/conformance && tar xJf .peer/fixtures.tar.xz -C .peer/conformance
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$OUT/gpu.txt" 2>&1
echo "gpu: $(cat "$OUT/gpu.txt")"

if has build; then
  t0=$(date +%s)
  CUDNN_HINT=$(python3 -c "import nvidia.cudnn, os; print(list(nvidia.cudnn.__path__)[0])" 2>/dev/null || true)
  { nvcc --version | tail -2; ls /usr/include/x86_64-linux-gnu/cudnn*.h /usr/lib/x86_64-linux-gnu/libcudnn.so* 2>&1 | head; } > "$OUT/build.log" 2>&1
  if cmake -S native -B native/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUDNN_HINT="$CUDNN_HINT" >> "$OUT/build.log" 2>&1 &&
     cmake --build native/build -j 16 >> "$OUT/build.log" 2>&1; then
    echo "build: ok in $(( $(date +%s) - t0 )) s ($LIB)"
    grep -E "spill" "$OUT/build.log" | grep -v " 0 bytes spill" | head -5 || true
    # the wgmma attention kernel: its registers, and any ptxas note that it serialized the asynchronous MMAs
    grep -A2 "Compiling entry function '.*sage_attend_wgmma.*sm_90a" "$OUT/build.log" | grep -E "registers" | head -2 || true
    grep -iE "wgmma|setmaxnreg" "$OUT/build.log" | grep -iE "warn|serializ" | head -5 || true
    echo "exports: $(nm -D --defined-only "$LIB" | grep -c ' T vg_') vg_* functions, $(nm -D --defined-only "$LIB" | grep -vc ' vg_') other symbols"
  else
    echo "build: FAILED"; grep -E "error|Error" "$OUT/build.log" | head -40; tail -20 "$OUT/build.log"; exit 1
  fi
fi

if has check; then
  native/build/abi_smoke > "$OUT/abi_smoke.log" 2>&1 || { status=1; echo "abi_smoke FAILED"; tail -5 "$OUT/abi_smoke.log"; }
  python3 native/tests/check_kernels.py --lib "$LIB" > "$OUT/check.log" 2>&1 || status=1
  grep -E "^(FAIL|correctness)" "$OUT/check.log"; tail -3 "$OUT/check.log" | grep -i -E "error|Traceback" || true
fi

if has bench; then
  python3 tools/bench/bench_native.py --lib "$LIB" --md "$OUT/results.md" > "$OUT/bench.log" 2>&1 || status=1
  # Attention from plain C, no PyTorch in the process (the C# engine's situation: system cuDNN).
  if [ -x native/build/abi_smoke ]; then
    native/build/abi_smoke bench > "$OUT/abi_smoke.log" 2>&1 || status=1
    grep "abi_smoke" "$OUT/abi_smoke.log" | sed 's/^/    /' >> "$OUT/results.md"
  fi
fi

# Sage-style quantized attention alone (issue 13): its correctness checks (vs its own fp32 emulation and fp32 SDPA, cosine
# at Wan's shape, K smoothing) and its benchmark against cuDNN bf16 and per-tensor FP8 at Wan 1.3B and FLUX shapes.
if has sage; then
  python3 native/tests/sage_fragments.py | tail -1 || status=1
  python3 native/tests/check_kernels.py --lib "$LIB" --only sage > "$OUT/sage_check.log" 2>&1 || status=1
  grep -E "^(PASS|FAIL|INFO|correctness)" "$OUT/sage_check.log"; tail -3 "$OUT/sage_check.log" | grep -i -E "error|Traceback" || true
  python3 tools/bench/bench_native.py --lib "$LIB" --only sage --md "$OUT/sage_results.md" > "$OUT/sage_bench.log" 2>&1 || status=1
  if [ -f "$OUT/sage_results.md" ]; then cat "$OUT/sage_results.md"; else tail -20 "$OUT/sage_bench.log"; fi
fi

# Nsight Compute on the wgmma kernel at Wan's self-attention shape (its first launch): pipe utilizations, stall reasons,
# memory throughput, to $OUT/ncu_sage.txt (details) and ncu_sage_raw.csv.
if has ncu; then
  NCU=$(ncu_path)
  if [ -z "$NCU" ]; then echo "ncu: not on this machine"; else
    VG_SAGE_BENCH=wgmma timeout 240 "$NCU" --set full -k regex:sage_attend_wgmma -c 1 -f -o "$OUT/ncu_sage" \
      python3 tools/bench/bench_native.py --lib "$LIB" --only sage > "$OUT/ncu_run.log" 2>&1 || { echo "ncu run failed:"; grep -iE "err|warn" "$OUT/ncu_run.log" | head -5; }
    if [ -f "$OUT/ncu_sage.ncu-rep" ]; then
      "$NCU" --import "$OUT/ncu_sage.ncu-rep" --page details --print-details all > "$OUT/ncu_sage.txt" 2>&1
      "$NCU" --import "$OUT/ncu_sage.ncu-rep" --page raw --csv > "$OUT/ncu_sage_raw.csv" 2>&1
      # per SASS instruction: executions and warp-stall samples by reason (which instruction the warps wait at, and why)
      "$NCU" --import "$OUT/ncu_sage.ncu-rep" --page source --print-source sass --csv > "$OUT/ncu_sage_sass.csv" 2>&1 ||
        echo "ncu: no source page ($(head -c 200 "$OUT/ncu_sage_sass.csv"))"
      grep -E "Duration|SM Frequency|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|L1/TEX Hit|Issue Slots Busy|Issued Ipc|Warp Cycles Per Issued|No Eligible|Registers Per|Achieved Occupancy" "$OUT/ncu_sage.txt" | head -20
      python3 - "$OUT/ncu_sage_raw.csv" <<'PY' | grep -E "\.avg\.|ratio" | head -40
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
hdr = next((r for r in rows if "Kernel Name" in r or "ID" in r), None)
data = rows[-1] if rows else []
if hdr:
    for name, val in zip(hdr, data):
        if any(x in name for x in ("pipe_", "stall", "inst_executed_pipe", "gmma", "lts__t_bytes.sum.per_second", "dram__bytes")) and ("pct" in name or "ratio" in name or "per_second" in name):
            try:
                if float(val.replace(",", "")) >= 1.0: print(f"  {name} = {val}")
            except ValueError:
                pass
PY
      rm -f "$OUT/ncu_sage.ncu-rep"
    fi
  fi
fi

# The forward's memory-bound row kernels (residual + norm -> FP8 rows, q/k RMSNorm + RoPE, per-row FP8 quantize of x
# and of GELU(x)) once each at Wan 1.3B's shape under Nsight Compute: duration, DRAM rate, registers, occupancy.
if has ncurows; then
  NCU=$(ncu_path)
  if [ -z "$NCU" ]; then echo "ncurows: not on this machine"; else
    timeout 150 "$NCU" --kernel-name regex:"norm_modulate_kernel|rmsnorm_rope_kernel|row_quantize" --section SpeedOfLight \
      --section Occupancy --section LaunchStats python3 tools/device/norm_once.py "$LIB" > "$OUT/ncu_rows.txt" 2>&1 || echo "ncurows failed"
    grep -E "^  [a-z_]+.*\(|DRAM Throughput|Duration|Registers Per|Achieved Occupancy" "$OUT/ncu_rows.txt" | sed 's/(<unnamed>.*\|(const .*//'
  fi
fi

# Nsight Compute on the Sage pre-pass at Wan's self-attention shape (its first five kernels: K/V statistics, their
# finalize, Q, K and V quantization): duration, DRAM throughput and achieved occupancy per kernel, to $OUT/ncu_prepass.csv.
if has ncuprepass; then
  NCU=$(ncu_path)
  if [ -z "$NCU" ]; then echo "ncuprepass: not on this machine"; else
    VG_SAGE_BENCH=wgmma timeout 240 "$NCU" --section SpeedOfLight --section Occupancy -k "regex:sage_(kv_|quantize_)" -c 5 \
      --csv python3 tools/bench/bench_native.py --lib "$LIB" --only sage > "$OUT/ncu_prepass.csv" 2> "$OUT/ncu_prepass.log" ||
      { echo "ncuprepass failed:"; tail -5 "$OUT/ncu_prepass.log"; }
    python3 - "$OUT/ncu_prepass.csv" <<'PY'
import csv, re, sys
rows = list(csv.reader(open(sys.argv[1])))
at = next((i for i, r in enumerate(rows) if "Metric Name" in r and "Kernel Name" in r), None)
if at is None:
    sys.exit("ncuprepass: no ncu table in the output")
hdr = rows[at]
data = [r for r in rows[at + 1:] if len(r) > hdr.index("Metric Value")]  # metric rows stop after the value (rule rows are longer)
col = {n: i for i, n in enumerate(hdr)}
want = ("Duration", "DRAM Throughput", "Memory Throughput", "Achieved Occupancy")
seen = {}
for r in data:
    found = re.search(r"sage_\w+", r[col["Kernel Name"]])
    name = found.group(0) if found else r[col["Kernel Name"]][:40]
    if r[col["Metric Name"]] in want:
        seen.setdefault((r[col["ID"]], name), {})[r[col["Metric Name"]]] = f'{r[col["Metric Value"]]} {r[col["Metric Unit"]]}'
print("| kernel | " + " | ".join(want) + " |")
print("| --- |" + " ---: |" * len(want))
for (kid, name), m in seen.items():
    print(f"| {name} | " + " | ".join(m.get(w, "") for w in want) + " |")
PY
  fi
fi

# The native CUDA engine end to end (carry .publish = self-contained tools/bench/VisualGen.Bench, .peer = shared/peer
# with conformance/wan21_t2v): conformance golden, the 1.3B config vs PyTorch bf16, benchmark, second-process load.
W=${VG_WORK:-/tmp/vgwork}
if has engine || has compile; then
  mkdir -p /tmp/py "$W" && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
  export PYTHONPATH=/tmp/py PYTHONUNBUFFERED=1 VISUALGEN_NATIVE_LIB="$PWD/$LIB" DOTNET_gcServer=1
fi
if has engine; then
  B=.publish/visualgen-bench
  [ -x $B ] || { echo "engine: $B missing (carry .publish)"; exit 1; }
  clocks_start "$OUT/clocks.csv"
  $B conformance .peer/conformance/wan21_t2v 2>&1 | tee "$OUT/conformance.log" | grep -E "conformance|FAIL|rror" || status=1
  python3 tools/bench/wan_peer.py make "$W" 2>&1 | tee "$OUT/peer_make.log" | grep -vE "^\s*$" | tail -8 || status=1
  $B wan "$W/wan13b" "$W/io" "$W/cache" 2>&1 | tee "$OUT/engine.log" | tail -60 || status=1
  python3 tools/bench/wan_peer.py compare "$W" 2>&1 | tee -a "$OUT/engine.log" | tail -3 || status=1
  $B load "$W/wan13b" "$W/cache" 2>&1 | tee -a "$OUT/engine.log" | tail -5 || status=1
  clocks_report "$OUT/clocks.csv"
fi
if has compile; then
  [ -f "$W/wan13b/transformer/config.json" ] || VG_NO_EAGER=1 python3 tools/bench/wan_peer.py make "$W" > "$OUT/peer_make.log" 2>&1
  python3 tools/bench/wan_peer.py compile "$W" 2>&1 | tee "$OUT/compile.log" | grep -E "torch|rror" || status=1
fi
if has engine || has compile; then
  echo; echo "| what | ms (CUDA graphs) | ms (no graphs) | notes |"; echo "| --- | ---: | ---: | --- |"
  cat "$W/io/torch_table.txt" "$W/io/ours_table.txt" 2>/dev/null | sed 's/^TABLE //; s/^/| /; s/$/ |/'
fi
# Issue 13: the Wan 2.1 1.3B CFG forward at 480p with quantized linears and attention (carry .publish, .peer):
# PyTorch eager bf16 (wan_peer.py make, 480p only; an existing $W/wan13b is reused), ours per WAN_QUANT_VARIANTS
# (LINEARS/ATTENTION, see tools/bench/VisualGen.Bench/WanQuant.cs) with cosine against our bf16 and PyTorch's output,
# then torch.compile at 480p unless WAN_QUANT_COMPILE=0.
# The FFN up projection writing the down projection's FP8 codes (CUTLASS epilogue) against cuBLASLt + the GELU/quantize
# pass, at Wan 1.3B's CFG shape, each CUTLASS configuration in its own process (VG_FP8_GELU_TILE read once).
if has fp8gelu; then
  python3 native/tests/check_kernels.py --lib "$LIB" --only fp8gelu > "$OUT/check_fp8gelu.log" 2>&1 || status=1
  grep -E "^(FAIL|correctness)" "$OUT/check_fp8gelu.log"; grep -E "FFN down" "$OUT/check_fp8gelu.log"
  # TILE:RASTER:SWIZZLE (fp8_gemm_gelu.cu's VG_FP8_GELU_* switches); the first with the accuracy comparison
  first=1
  for c in ${FP8_GELU_CONFIGS:-5:0:1 0:0:1 10:0:1}; do
    IFS=: read -r t r z <<< "$c"
    VG_FP8_GELU_TILE=$t VG_FP8_GELU_RASTER=$r VG_FP8_GELU_SWIZZLE=$z VISUALGEN_NATIVE_LIB="$PWD/$LIB" \
      python3 tools/device/fp8_gelu_bench.py $([ $first = 1 ] || echo --no-accuracy --rounds 2) > "$OUT/fp8gelu_${t}_${r}_${z}.log" 2>&1 || status=1
    [ $first = 1 ] && grep -vE "^TABLE" "$OUT/fp8gelu_${t}_${r}_${z}.log" | tail -8
    first=0
  done
  grep -h "^TABLE" "$OUT"/fp8gelu_*.log
fi
if has wanquant; then
  mkdir -p /tmp/py "$W" && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
  export PYTHONPATH=/tmp/py PYTHONUNBUFFERED=1 VISUALGEN_NATIVE_LIB="$PWD/$LIB" DOTNET_gcServer=1 WAN_RES=480
  rm -f "$W/io/torch_table.txt"
  [ -f "$W/wan13b/transformer/config.json" ] && [ -f "$W/io/ref_480.safetensors" ] || python3 tools/bench/wan_peer.py make "$W" 2>&1 | tee "$OUT/wanquant_make.log" | grep -E "params|torch|rror" || status=1
  clocks_start "$OUT/clocks_wanquant.csv"
  .publish/visualgen-bench wan-quant "$W/wan13b" "$W/io" "$W/cache" "${WAN_QUANT_VARIANTS:-bf16/bf16,bf16/fp8,fp8/bf16,fp8/fp8,nvfp4/bf16}" > "$OUT/wanquant.log" 2>&1 || status=1
  clocks_report "$OUT/clocks_wanquant.csv" | tee -a "$OUT/wanquant.log"
  grep -E "^[a-z0-9_]+/[a-z0-9]+:|rror" "$OUT/wanquant.log" | grep -v "^TABLE"
  if [ "${WAN_QUANT_COMPILE:-1}" != 0 ]; then python3 tools/bench/wan_peer.py compile "$W" 2>&1 | tee -a "$OUT/wanquant.log" | grep -E "torch|rror" || status=1; fi
  echo; echo "| what | ms (CUDA graphs) | ms (no graphs) | notes |"; echo "| --- | ---: | ---: | --- |"
  cat "$W/io/torch_table.txt" "$W/io/ours_quant_table.txt" 2>/dev/null | sed 's/^TABLE //; s/^/| /; s/$/ |/'
fi
# Image DiTs at 1024x1024 with the real widths and a reduced depth (DIT_LAYERS): FLUX (FLUX.1-dev) and Qwen-Image.
# Stage <name> (flux, qwen): PyTorch eager, ours (bf16 and FP8 attention), comparison; <name>compile: torch.compile (a
# separate call: compiling takes minutes). Carry .publish and .peer.
for name in flux qwen; do
  if has $name || has ${name}compile; then
    mkdir -p /tmp/py "$W" && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
    export PYTHONPATH=/tmp/py PYTHONUNBUFFERED=1 VISUALGEN_NATIVE_LIB="$PWD/$LIB" DOTNET_gcServer=1
  fi
  if has $name; then
    rm -f "$W/io/${name}_torch_table.txt"
    python3 tools/bench/dit_peer.py make $name "$W" 2>&1 | tee "$OUT/${name}_make.log" | grep -E "params|torch|PyTorch|rror" || status=1
    .publish/visualgen-bench dit "$W/$name" "$W/io" "$W/cache" $name 2>&1 | tee "$OUT/$name.log" \
      | grep -E "1024x1024|rror|built|skipped|glue by op" | grep -v "^TABLE" || status=1
    python3 tools/bench/dit_peer.py compare $name "$W" 2>&1 | tee -a "$OUT/$name.log" | tail -4 || status=1
  fi
  if has ${name}compile; then
    python3 tools/bench/dit_peer.py compile $name "$W" 2>&1 | tee -a "$OUT/$name.log" | grep -E "torch|rror" || status=1
  fi
  if has $name || has ${name}compile; then
    echo; echo "| what | ms (CUDA graphs) | ms (no graphs) | notes |"; echo "| --- | ---: | ---: | --- |"
    cat "$W/io/${name}_torch_table.txt" "$W/io/${name}_ours_table.txt" 2>/dev/null | sed 's/^TABLE //; s/^/| /; s/$/ |/'
  fi
done

# The diffusers peer: carry .peer (a copy of shared/peer); diffusers' src is unpacked from its tarball.
if has peer; then
  if [ -f .peer/diffusers_src.tar.xz ]; then
    mkdir -p /tmp/py && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
    PYTHONPATH=/tmp/py python3 .peer/bench_torch_wan.py > "$OUT/peer.log" 2>&1 || status=1
    tail -12 "$OUT/peer.log"
  else
    echo "peer: .peer/diffusers_src.tar.xz missing (carry .peer)"; status=1
  fi
fi

if has bench && [ -f "$OUT/results.md" ]; then echo; cat "$OUT/results.md"; elif has bench; then tail -30 "$OUT/bench.log"; fi
# Wan 2.1 1.3B end to end at full size (random weights; carry .publish, .peer with diffusers_src.tar.xz, bench_e2e_wan.py
# and conformance/wan21_t2v's tokenizer): diffusers (bench_e2e_wan.py) and ours (visualgen-bench e2e) in one call, the
# 480x832x17 4-step configuration (ours from an empty engine cache: the cold first run) and 480x832x81 50 steps.
# E2E_CONFIGS overrides the list ("H W FRAMES STEPS" separated by commas), E2E_ATTENTION the attention precisions of
# our runs (bf16 default; "bf16,fp8" runs both in one process, "bf16,fp8,sage" all three, sharing the text encoder and VAE;
# "bf16,fp8/sage" adds FP8 linears with Sage attention). VG_E2E_STEP_CACHES
# (e.g. "teacache:0.08,cachedit") adds warm runs with those step caches: speed-up, steps computed, PSNR and cosine of
# the output against the uncached run (issue 13's TeaCache / Cache-DiT benchmark). E2E_SKIP_DIFFUSERS=1 runs ours only.
# VG_E2E_PROFILE=0 skips the decode profile after our runs (a second VAE engine and two more decodes).
# The end-to-end stages' setup: diffusers' source on PYTHONPATH, ONNX Runtime unpacked, the native library; GPU memory
# sampled every 250 ms into $1 ($GPUMEM). `samples` counts the samples so far; `peak N` is the peak after the N-th.
e2e_setup() {
  mkdir -p /tmp/py "$W" && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
  [ -f .publish/libonnxruntime.so ] || xz -dk .publish/libonnxruntime.so.xz
  export PYTHONPATH=/tmp/py PYTHONUNBUFFERED=1 VISUALGEN_NATIVE_LIB="$PWD/$LIB" DOTNET_gcServer=1
  GPUMEM=$1
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$GPUMEM" 2>/dev/null &
  SMI_PID=$!
}
samples() { wc -l < "$GPUMEM"; }
# marked LOG TEXT FILE [TEXT FILE ...] -- COMMAND...: runs COMMAND with its output in LOG; when an output line starts with
# a TEXT, the GPU memory sample count at that moment goes into its FILE (for peaks of a part of the run)
marked() {
  local log=$1; shift
  local -a marks=()
  local i line
  while [ "$1" != -- ]; do marks+=("$1" "$2"); shift 2; done
  shift
  "$@" 2>&1 | while IFS= read -r line; do
    printf '%s\n' "$line"
    for ((i = 0; i < ${#marks[@]}; i += 2)); do if [[ $line == "${marks[i]}"* ]]; then samples > "${marks[i + 1]}"; fi; done
  done > "$log"
}
# the peak of the samples after line $1 (and up to line $2 when given)
peak() { awk -v a="$1" -v b="${2:-0}" 'NR > a && (b == 0 || NR <= b) && $1 > m { m = $1 } END { printf "%.1f GiB", m / 1024 }' "$GPUMEM"; }
if has e2e && need_fixture e2e wan21_t2v; then
  e2e_setup "$OUT/gpumem.csv"
  export VG_TOKENIZER="$PWD/.peer/conformance/wan21_t2v/checkpoint/tokenizer"
  t0=$(date +%s); python3 .peer/bench_e2e_wan.py make "$W" 2>&1 | tail -2 | tee "$OUT/e2e.log"
  echo "checkpoint: $(du -sb "$W/wan13b_full" | awk '{printf "%.2f GB", $1/1e9}') (made in $(( $(date +%s) - t0 )) s)" | tee -a "$OUT/e2e.log"
  IFS=',' read -ra CONFIGS <<< "${E2E_CONFIGS:-480 832 17 4,480 832 81 50}"
  for cfg in "${CONFIGS[@]}"; do
    read -r H Wd F S <<< "$cfg"
    if [ "${E2E_SKIP_DIFFUSERS:-0}" != 1 ]; then
      a=$(samples); python3 .peer/bench_e2e_wan.py run "$W" $H $Wd $F $S 2>&1 | grep -E "diffusers e2e|Error|error" | tee -a "$OUT/e2e.log"
      echo "  diffusers GPU memory used (nvidia-smi peak): $(peak $a)" | tee -a "$OUT/e2e.log"
    fi
    a=$(samples); t0=$(date +%s)
    .publish/visualgen-bench e2e "$W/wan13b_full" /tmp/e2ecache $H $Wd $F $S "${E2E_ATTENTION:-bf16}" > "$OUT/e2e_ours_${F}.log" 2>&1 || { status=1; tail -5 "$OUT/e2e_ours_${F}.log"; }
    grep -E "^TABLE|peak host|decode profile|decode bf16|one later chunk" "$OUT/e2e_ours_${F}.log" | tee -a "$OUT/e2e.log"
    echo "  ours: process wall $(( $(date +%s) - t0 )) s, GPU memory used (nvidia-smi peak) $(peak $a); engine cache $(du -sb /tmp/e2ecache | awk '{printf "%.2f GB", $1/1e9}')" | tee -a "$OUT/e2e.log"
    # E2E_GPU_MEMORY="GiB ..." (or "auto": the budget the run above printed, which forces stages to load and release):
    # the first precision again under each budget in a new process, then without one, outputs compared
    for budget in ${E2E_GPU_MEMORY:-}; do
      [ "$budget" = auto ] && budget=$(sed -n 's/^offload budget: \([0-9.]*\) GiB.*/\1/p' "$OUT/e2e_ours_${F}.log" | tail -1)
      grep -E "^engines on|^offload budget" "$OUT/e2e_ours_${F}.log" | tee -a "$OUT/e2e.log"
      a=$(samples); att=${E2E_ATTENTION:-bf16}; mw=/tmp/offload_warm_mark; mr=/tmp/offload_ref_mark; rm -f $mw $mr
      marked "$OUT/e2e_offload_${F}_${budget}.log" "offload: warm run starts" $mw "offload: reference run starts" $mr -- \
        env VG_E2E_OFFLOAD_COMPARE=1 .publish/visualgen-bench e2e "$W/wan13b_full" /tmp/e2ecache $H $Wd $F $S "${att%%,*}" "$budget" ||
        { status=1; tail -5 "$OUT/e2e_offload_${F}_${budget}.log"; }
      grep -E "^TABLE|^offload" "$OUT/e2e_offload_${F}_${budget}.log" | grep -v "run starts" | cut -c1-300 | tee -a "$OUT/e2e.log"
      echo "  ours under --gpu-memory $budget: GPU memory used (nvidia-smi peak) $([ -f $mr ] && peak $a "$(cat $mr)" || echo ?) both budgeted runs, $([ -f $mw ] && [ -f $mr ] && peak "$(cat $mw)" "$(cat $mr)" || echo ?) the warm one" | tee -a "$OUT/e2e.log"
    done
  done
  # E2E_WARM="H W FRAMES STEPS": one more process of ours on the cache the runs above filled (a warm start: process start
  # to first step done, no export or build)
  if [ -n "${E2E_WARM:-}" ]; then
    read -r H Wd F S <<< "$E2E_WARM"
    .publish/visualgen-bench e2e "$W/wan13b_full" /tmp/e2ecache $H $Wd $F $S bf16 > "$OUT/e2e_ours_warm.log" 2>&1 || { status=1; tail -5 "$OUT/e2e_ours_warm.log"; }
    grep -E "^TABLE ours first run" "$OUT/e2e_ours_warm.log" | sed 's/first run/second process, warm cache/' | tee -a "$OUT/e2e.log"
  fi
  kill $SMI_PID 2>/dev/null
fi
# FLUX.1-dev end to end at full size (random weights, real configs: the 12B transformer, T5-XXL, CLIP-L, the VAE; carry
# .publish with libonnxruntime.so.xz, .peer with diffusers_src.tar.xz and fixtures.tar.xz (conformance/flux1's
# tokenizers); the peer script is tools/bench/bench_e2e_flux.py in the checkout): the folder is made once in
# $VG_WORK/flux1dev_full (~34 GB of bf16 safetensors: mind the 64 GB disk next to Wan's 13 GB folder; an existing folder
# is reused), then per configuration diffusers' FluxPipeline (bench_e2e_flux.py run) and ours (visualgen-bench e2e-flux,
# from an empty engine cache on the first configuration). E2E_FLUX_CONFIGS overrides the list ("H W STEPS" separated by
# commas, default "1024 1024 28"); E2E_ATTENTION the attention precisions of our runs as in the e2e stage; E2E_VAE_DTYPE
# (fp32 | bf16) our VAE's precision (diffusers' FluxPipeline decodes in bf16). Part "compiled" (not in the default list)
# runs diffusers again with the transformer under torch.compile (its ms/step: the compiled full-depth forward). One device
# command has 10 minutes: E2E_FLUX_PARTS (default "make diffusers ours") runs a subset, so make + diffusers and ours can
# be two calls on the same warm machine ($VG_WORK and /tmp/e2efluxcache stay while it is held).
if has e2eflux && need_fixture e2eflux flux1; then
  fpart() { [[ " ${E2E_FLUX_PARTS:-make diffusers ours} " == *" $1 "* ]]; }
  e2e_setup "$OUT/gpumem_flux.csv"
  export VG_FLUX_TOKENIZERS="$PWD/.peer/conformance/flux1/checkpoint"
  echo "disk before: $(df -h --output=avail "$W" | tail -1) free in $W" | tee "$OUT/e2eflux.log"
  # model_index.json is written last: its presence means a complete folder
  if [ -f "$W/flux1dev_full/model_index.json" ]; then
    echo "checkpoint: reusing $W/flux1dev_full ($(du -sb "$W/flux1dev_full" | awk '{printf "%.2f GB", $1/1e9}'))" | tee -a "$OUT/e2eflux.log"
  elif fpart make; then
    t0=$(date +%s); python3 tools/bench/bench_e2e_flux.py make "$W" > "$OUT/e2eflux_make.log" 2>&1 || { status=1; tail -5 "$OUT/e2eflux_make.log"; }
    grep -E "^made|Error|error" "$OUT/e2eflux_make.log" | tail -3 | tee -a "$OUT/e2eflux.log"
    echo "checkpoint: $(du -sb "$W/flux1dev_full" | awk '{printf "%.2f GB", $1/1e9}') (made in $(( $(date +%s) - t0 )) s); disk left $(df -h --output=avail "$W" | tail -1)" | tee -a "$OUT/e2eflux.log"
  else
    echo "e2eflux: $W/flux1dev_full missing and make not in E2E_FLUX_PARTS"; status=1
  fi
  IFS=',' read -ra CONFIGS <<< "${E2E_FLUX_CONFIGS:-1024 1024 28}"
  for cfg in "${CONFIGS[@]}"; do
    read -r H Wd S <<< "$cfg"
    if fpart diffusers; then
      a=$(samples); python3 tools/bench/bench_e2e_flux.py run "$W" $H $Wd $S > "$OUT/e2eflux_diffusers_${H}x${Wd}_${S}.log" 2>&1 || status=1
      grep -E "diffusers e2e|Error|error" "$OUT/e2eflux_diffusers_${H}x${Wd}_${S}.log" | tail -5 | tee -a "$OUT/e2eflux.log"
      echo "  diffusers GPU memory used (nvidia-smi peak): $(peak $a)" | tee -a "$OUT/e2eflux.log"
    fi
    if fpart compiled; then
      a=$(samples); FLUX_COMPILE=1 python3 tools/bench/bench_e2e_flux.py run "$W" $H $Wd $S > "$OUT/e2eflux_compiled_${H}x${Wd}_${S}.log" 2>&1 || status=1
      grep -E "diffusers.* e2e|Error|error" "$OUT/e2eflux_compiled_${H}x${Wd}_${S}.log" | tail -5 | tee -a "$OUT/e2eflux.log"
      echo "  diffusers+torch.compile GPU memory used (nvidia-smi peak): $(peak $a)" | tee -a "$OUT/e2eflux.log"
    fi
    fpart ours || continue
    a=$(samples); t0=$(date +%s)
    VG_E2E_VAE_DTYPE=${E2E_VAE_DTYPE:-} .publish/visualgen-bench e2e-flux "$W/flux1dev_full" /tmp/e2efluxcache $H $Wd $S "${E2E_ATTENTION:-bf16}" > "$OUT/e2eflux_ours_${H}x${Wd}_${S}.log" 2>&1 || { status=1; tail -5 "$OUT/e2eflux_ours_${H}x${Wd}_${S}.log"; }
    grep -E "^TABLE|peak host|^VAE" "$OUT/e2eflux_ours_${H}x${Wd}_${S}.log" | tee -a "$OUT/e2eflux.log"
    grep -A16 "^decode profile" "$OUT/e2eflux_ours_${H}x${Wd}_${S}.log" | cut -c1-220
    echo "  ours: process wall $(( $(date +%s) - t0 )) s, GPU memory used (nvidia-smi peak) $(peak $a); engine cache $(du -sb /tmp/e2efluxcache | awk '{printf "%.2f GB", $1/1e9}')" | tee -a "$OUT/e2eflux.log"
  done
  kill $SMI_PID 2>/dev/null
fi
# Qwen-Image end to end at 1024² (issue 11; random weights, real configs: the QwenImageTransformer2DModel with
# QWEN_LAYERS of its 60 blocks, Qwen2.5-VL-7B, the Qwen-Image VAE; carry .publish with libonnxruntime.so.xz, .peer with
# diffusers_src.tar.xz and fixtures.tar.xz (conformance/qwenimage's tokenizer and scheduler); the peer script is
# tools/bench/bench_e2e_qwen.py in the checkout). The folder is made once in $VG_WORK/qwenimage_full (an existing one is
# reused, whatever its depth) with as many transformer blocks as the free disk allows (text encoder 16.6 GB + VAE
# 0.35 GB + 0.68 GB a block, 3 GB to spare; another 16.6 GB when the text encoder runs on ONNX Runtime, whose export
# copies it) unless QWEN_LAYERS says; then per configuration (E2E_QWEN_CONFIGS, "H W STEPS" separated by commas, default
# "1024 1024 50") diffusers' QwenImagePipeline, ours (visualgen-bench e2e-qwen; empty engine cache on the first
# configuration), and ours again in a new process under a GPU memory budget (E2E_QWEN_GPU_MEMORY GiB, default the budget
# our run printed: the largest engine fits alone, the text encoder and the transformer do not fit together) with its
# cost against the run without one. The text encoder (Qwen2.5-VL) runs on native-cuda as Runtime.NativeClasses says;
# VG_E2E_NATIVE_CLASSES adds classes not in that list. E2E_QWEN_PARTS
# (default "make diffusers ours offload") runs a subset: one device command has 10 minutes.
if has e2eqwen && need_fixture e2eqwen qwenimage; then
  qpart() { [[ " ${E2E_QWEN_PARTS:-make diffusers ours offload} " == *" $1 "* ]]; }
  e2e_setup "$OUT/gpumem_qwen.csv"
  export VG_QWEN_FIXTURE="$PWD/.peer/conformance/qwenimage/checkpoint"
  export VG_E2E_NATIVE_CLASSES=${VG_E2E_NATIVE_CLASSES-}
  Q="$W/qwenimage_full"
  echo "disk before: $(df -h --output=avail "$W" | tail -1) free in $W" | tee "$OUT/e2eqwen.log"
  if [ -f "$Q/model_index.json" ]; then
    echo "checkpoint: reusing $Q ($(du -sb "$Q" | awk '{printf "%.2f GB", $1/1e9}'))" | tee -a "$OUT/e2eqwen.log"
  elif qpart make; then
    if [ -z "${QWEN_LAYERS:-}" ]; then
      te_copies=1   # the native engine's entry references the checkpoint's weights (ONNX Runtime would copy them)
      QWEN_LAYERS=$(df -B1 --output=avail "$W" | tail -1 | awk -v c=$te_copies '{ n = int(($1 / 1e9 - 16.6 * c - 0.35 - 3) / 0.68); print (n > 60 ? 60 : n) }')
    fi
    export QWEN_LAYERS
    if [ "$QWEN_LAYERS" -lt 1 ]; then
      echo "e2eqwen: not enough disk in $W for the text encoder and one transformer block (free $(df -h --output=avail "$W" | tail -1))" | tee -a "$OUT/e2eqwen.log"; status=1
    else
      t0=$(date +%s); python3 tools/bench/bench_e2e_qwen.py make "$W" > "$OUT/e2eqwen_make.log" 2>&1 || { status=1; tail -5 "$OUT/e2eqwen_make.log"; }
      grep -E "^made|Error|error" "$OUT/e2eqwen_make.log" | tail -3 | tee -a "$OUT/e2eqwen.log"
      echo "checkpoint: $(du -sb "$Q" | awk '{printf "%.2f GB", $1/1e9}') with $QWEN_LAYERS blocks (made in $(( $(date +%s) - t0 )) s); disk left $(df -h --output=avail "$W" | tail -1)" | tee -a "$OUT/e2eqwen.log"
    fi
  else
    echo "e2eqwen: $Q missing and make not in E2E_QWEN_PARTS"; status=1
  fi
  [ -f "$Q/transformer/config.json" ] && echo "transformer blocks: $(python3 -c "import json; print(json.load(open('$Q/transformer/config.json'))['num_layers'])") of 60" | tee -a "$OUT/e2eqwen.log"
  IFS=',' read -ra CONFIGS <<< "${E2E_QWEN_CONFIGS:-1024 1024 50}"
  for cfg in "${CONFIGS[@]}"; do
    read -r H Wd S <<< "$cfg"
    tag="${H}x${Wd}_${S}"
    if qpart diffusers; then
      a=$(samples); python3 tools/bench/bench_e2e_qwen.py run "$W" $H $Wd $S > "$OUT/e2eqwen_diffusers_$tag.log" 2>&1 || status=1
      grep -E "diffusers e2e|Error|error" "$OUT/e2eqwen_diffusers_$tag.log" | tail -5 | tee -a "$OUT/e2eqwen.log"
      echo "  diffusers GPU memory used (nvidia-smi peak): $(peak $a)" | tee -a "$OUT/e2eqwen.log"
    fi
    if qpart ours; then
      a=$(samples); t0=$(date +%s)
      VG_E2E_VAE_DTYPE=${E2E_VAE_DTYPE:-} .publish/visualgen-bench e2e-qwen "$Q" /tmp/e2eqwencache $H $Wd $S "${E2E_ATTENTION:-bf16}" > "$OUT/e2eqwen_ours_$tag.log" 2>&1 || { status=1; grep -m4 -E "Exception|rror" "$OUT/e2eqwen_ours_$tag.log"; }
      grep -E "^TABLE|^VAE|^native-cuda also|^engines on|^offload budget|peak host|^decode profile|^    " "$OUT/e2eqwen_ours_$tag.log" | tee -a "$OUT/e2eqwen.log"
      echo "  ours: process wall $(( $(date +%s) - t0 )) s, GPU memory used (nvidia-smi peak) $(peak $a); engine cache $(du -sb /tmp/e2eqwencache | awk '{printf "%.2f GB", $1/1e9}')" | tee -a "$OUT/e2eqwen.log"
    fi
    qpart offload || continue
    budget=${E2E_QWEN_GPU_MEMORY:-$(sed -n 's/^offload budget: \([0-9.]*\) GiB.*/\1/p' "$OUT/e2eqwen_ours_$tag.log" 2>/dev/null | tail -1)}
    if [ -z "$budget" ]; then
      echo "e2eqwen offload: no budget (set E2E_QWEN_GPU_MEMORY, or run the ours part first: it prints one)" | tee -a "$OUT/e2eqwen.log"; status=1; continue
    fi
    att=${E2E_ATTENTION:-bf16}; att=${att%%,*}
    a=$(samples); t0=$(date +%s); mark="$OUT/e2eqwen_warm_mark_$tag"; rm -f "$mark"
    # the GPU memory sample count when the warm run starts (the first run loads engines of sizes not seen yet before
    # releasing others: its peak is a moment over the budget)
    marked "$OUT/e2eqwen_offload_$tag.log" "offload: warm run starts" "$mark" -- \
      env VG_E2E_VAE_DTYPE=${E2E_VAE_DTYPE:-} .publish/visualgen-bench e2e-qwen "$Q" /tmp/e2eqwencache $H $Wd $S "$att" "$budget" ||
      { status=1; tail -5 "$OUT/e2eqwen_offload_$tag.log"; }
    grep -E "^TABLE|^offload: nothing|peak host" "$OUT/e2eqwen_offload_$tag.log" | tee -a "$OUT/e2eqwen.log"
    echo "  ours offload: process wall $(( $(date +%s) - t0 )) s, GPU memory used (nvidia-smi peak) $(peak $a) in the process, $([ -f "$mark" ] && peak "$(cat "$mark")" || echo "?") in the warm run" | tee -a "$OUT/e2eqwen.log"
    total() { sed -n "s/^TABLE $1.*| total \([0-9.]*\) s.*/\1/p" "$2" 2>/dev/null | tail -1; }
    plain=$(total "ours warm .*$att attention" "$OUT/e2eqwen_ours_$tag.log"); offl=$(total "ours offload warm" "$OUT/e2eqwen_offload_$tag.log")
    if [ -n "$plain" ] && [ -n "$offl" ]; then
      echo "  offload cost at --gpu-memory $budget GiB: $(awk -v o="$offl" -v p="$plain" 'BEGIN { printf "%+.2f s per generation (%.2f s vs %.2f s)", o - p, o, p }')" | tee -a "$OUT/e2eqwen.log"
    else
      echo "  offload cost: needs both warm totals (ours $plain, offload $offl)" | tee -a "$OUT/e2eqwen.log"
    fi
  done
  kill $SMI_PID 2>/dev/null
fi
# Every encoder and VAE the native engine runs, against its float32 golden (carry .publish with libonnxruntime.so.xz,
# .peer = conformance fixtures): one row per component.
if has components; then
  [ -f .publish/libonnxruntime.so ] || xz -dk .publish/libonnxruntime.so.xz
  export VISUALGEN_NATIVE_LIB="$PWD/$LIB"
  echo "| fixture | component | cos >= 0.999 | vs float32 golden | time (first: build) |"; echo "| --- | --- | --- | --- | --- |"
  .publish/visualgen-bench components /tmp/vgcache-components .peer/conformance/*/ 2>&1 | tee "$OUT/components.md" | grep -E "^\||rror" || status=1
fi
# The Wan pipeline on random checkpoints with awkward sizes (head sizes and widths not multiples of 8 or 16, odd frame
# and token counts; written by the tool itself, so only .publish with libonnxruntime.so.xz is carried): ort-cpu vs
# native-cuda, one row per configuration (text encoder, VAE decode, final latents, decoded video); engine log in awkward.log.
if has awkward; then
  [ -f .publish/libonnxruntime.so ] || xz -dk .publish/libonnxruntime.so.xz
  export VISUALGEN_NATIVE_LIB="$PWD/$LIB"
  rm -rf /tmp/vgwork-awkward
  .publish/visualgen-bench awkward /tmp/vgwork-awkward 2> "$OUT/awkward.log" > "$OUT/awkward.md" || status=1
  cat "$OUT/awkward.md"; grep -E "rror|Unhandled" "$OUT/awkward.log" | head -5
  # AWKWARD_NO_TF32=1: the same again with TF32 off in cuDNN and cuBLAS (NVIDIA_TF32_OVERRIDE=0): how much of a gap is
  # the fp32 convolutions' TF32 math
  if [ "${AWKWARD_NO_TF32:-0}" = 1 ]; then
    rm -rf /tmp/vgwork-awkward
    echo "awkward, NVIDIA_TF32_OVERRIDE=0:"
    NVIDIA_TF32_OVERRIDE=0 .publish/visualgen-bench awkward /tmp/vgwork-awkward 2> "$OUT/awkward_notf32.log" > "$OUT/awkward_notf32.md" || status=1
    cat "$OUT/awkward_notf32.md"
  fi
fi
# The CLI of the carried publish in $C (.publish-cli's own, else `visualgen-bench cli`), its ONNX Runtime unpacked, and
# the native library the CLI's native-cuda engine loads.
cli_setup() {
  if [ -x .publish-cli/VisualGen.Cli ]; then C=.publish-cli/VisualGen.Cli; D=.publish-cli; else C=".publish/visualgen-bench cli"; D=.publish; fi
  [ -f $D/libonnxruntime.so ] || xz -dk $D/libonnxruntime.so.xz
  export VISUALGEN_NATIVE_LIB="$PWD/$LIB"
}

# The whole pipeline on the GPU through the CLI (carry .publish-cli = self-contained src/VisualGen.Cli, or .publish,
# whose `visualgen-bench cli` is the same CliApp; libonnxruntime.so xz-compressed to fit the carried tree, .peer =
# conformance fixtures + st.py): `generate --engine native-cuda` on each fixture, compared with the float32 goldens.
if has pipeline; then
  cli_setup
  python3 tools/device/pipeline_check.py "$C" .peer/conformance/*/ | tee "$OUT/pipeline.md" || status=1
  # PIPELINE_VAE_BF16=1 adds a pass with --vae-dtype bf16 (the VAEs in bf16 on the GPU)
  if [ "${PIPELINE_VAE_BF16:-0}" = 1 ]; then
    python3 tools/device/pipeline_check.py "$C" --vae-dtype bf16 .peer/conformance/*/ | tail -n +3 | tee -a "$OUT/pipeline.md" || status=1
  fi
  # PIPELINE_QUANT_FP8=1 adds FP8 linears (the FFN's GELU epilogue) with bf16 and with Sage attention (FP8
  # cross-attention) on every carried fixture, against ONNX Runtime CPU's exact dequantized math on the same call, bar
  # cosine 0.99
  if [ "${PIPELINE_QUANT_FP8:-0}" = 1 ]; then
    for att in bf16 sage; do
      VG_PIPELINE_EXTRA="--quant-algo FP8" VG_PIPELINE_BAR=0.99 python3 tools/device/pipeline_check.py "$C" --attention $att \
        --reference ort-cpu .peer/conformance/*/ | tail -n +3 | tee -a "$OUT/pipeline.md" || status=1
    done
  fi
  # PIPELINE_FP8=0 skips the FP8-attention pass
  if [ "${PIPELINE_FP8:-1}" != 0 ]; then
    python3 tools/device/pipeline_check.py "$C" --attention fp8 .peer/conformance/*/ | tail -n +3 | tee -a "$OUT/pipeline.md" || status=1
  fi
fi

# Image conditioning the conformance goldens do not describe, native-cuda against ort-cpu on the same call (carry as for
# pipeline): FLUX.2 editing with one and with two reference images, FLUX.1 Kontext (the flux1 fixture under a
# FluxKontextPipeline model_index, max_area the fixture's own area), Wan 2.2 TI2V with a first frame, Wan 2.2 A14B
# image-to-video with a last frame, FLUX.1 and Qwen-Image image-to-image and inpainting, FLUX.1 Fill.
if has editing; then
  cli_setup
  python3 - <<'PY'
import random, struct, zlib
def png(path, w, h, seed):
    rng = random.Random(seed)
    raw = b"".join(b"\0" + bytes(rng.randrange(256) for _ in range(w * 3)) for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png("/tmp/vg_edit_a.png", 72, 80, 1)
png("/tmp/vg_edit_b.png", 100, 64, 2)
# an inpainting mask: the left half white (repainted), the rest black
raw = b"".join(b"\0" + b"".join(b"\xff\xff\xff" if x < 36 else b"\0\0\0" for x in range(72)) for _ in range(80))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open("/tmp/vg_edit_mask.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 72, 80, 8, 2, 0, 0, 0))
                                         + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
  rm -rf /tmp/fx/flux1_kontext && mkdir -p /tmp/fx/flux1_kontext/checkpoint
  if [ -d .peer/conformance/flux1 ]; then
    for f in .peer/conformance/flux1/golden.json .peer/conformance/flux1/golden.safetensors; do ln -s "$PWD/$f" /tmp/fx/flux1_kontext/; done
    for d in .peer/conformance/flux1/checkpoint/*/; do ln -s "$PWD/$d" /tmp/fx/flux1_kontext/checkpoint/; done
    sed 's/"FluxPipeline"/"FluxKontextPipeline"/' .peer/conformance/flux1/checkpoint/model_index.json > /tmp/fx/flux1_kontext/checkpoint/model_index.json
  fi
  echo "| call | ok | latents | output | time |" | tee "$OUT/editing.md"; echo "| --- | --- | --- | --- | --- |" | tee -a "$OUT/editing.md"
  # each row on the fixtures that were carried (the 64 MiB cap leaves some for another call)
  edit_rows() {
    local extra=$1 fx=(); shift
    for f in "$@"; do [ -f "$f/golden.json" ] && fx+=("$f"); done
    if [ ${#fx[@]} -eq 0 ]; then echo "editing: $* not carried, skipped"; return; fi
    VG_PIPELINE_EXTRA="$extra" python3 tools/device/pipeline_check.py "$C" --reference ort-cpu "${fx[@]}" | tail -n +3 | tee -a "$OUT/editing.md" || status=1
  }
  edit_rows "--image /tmp/vg_edit_a.png" .peer/conformance/flux2/ .peer/conformance/wan22_ti2v_5b/
  edit_rows "--image /tmp/vg_edit_a.png --image /tmp/vg_edit_b.png" .peer/conformance/flux2/
  edit_rows "--image /tmp/vg_edit_a.png --max-area 3072" /tmp/fx/flux1_kontext/
  edit_rows "--last-image /tmp/vg_edit_b.png" .peer/conformance/wan22_i2v_a14b/
  # FLUX.1 and Qwen-Image image-to-image and inpainting (the golden's latents are the start: explicit latents)
  edit_rows "--image /tmp/vg_edit_a.png --strength 0.7" .peer/conformance/flux1/ .peer/conformance/qwenimage/
  edit_rows "--image /tmp/vg_edit_a.png --mask-image /tmp/vg_edit_mask.png" .peer/conformance/flux1/ .peer/conformance/qwenimage/
  # FLUX.1 Fill: the flux1 fixture made a Fill checkpoint (in_channels 16 + 16 + 256, a random x_embedder), as FluxFillTests makes it
  if [ -d .peer/conformance/flux1 ]; then
  rm -rf /tmp/fx/flux1_fill && mkdir -p /tmp/fx/flux1_fill/checkpoint/transformer
  for f in .peer/conformance/flux1/golden.json .peer/conformance/flux1/golden.safetensors; do ln -s "$PWD/$f" /tmp/fx/flux1_fill/; done
  for d in .peer/conformance/flux1/checkpoint/*/; do [ "$(basename "$d")" = transformer ] || ln -s "$PWD/$d" /tmp/fx/flux1_fill/checkpoint/; done
  sed 's/"FluxPipeline"/"FluxFillPipeline"/' .peer/conformance/flux1/checkpoint/model_index.json > /tmp/fx/flux1_fill/checkpoint/model_index.json
  python3 - <<'PY'
import json, torch
from safetensors.torch import load_file, save_file
src = ".peer/conformance/flux1/checkpoint/transformer/"
dst = "/tmp/fx/flux1_fill/checkpoint/transformer/"
c = json.load(open(src + "config.json")); c["in_channels"], c["out_channels"] = 288, 16
json.dump(c, open(dst + "config.json", "w"))
w = load_file(src + "diffusion_pytorch_model.safetensors")
g = torch.Generator().manual_seed(3)
w["x_embedder.weight"] = (torch.rand(w["x_embedder.weight"].shape[0], 288, generator=g) - 0.5) * 0.2
save_file({k: v.contiguous() for k, v in w.items()}, dst + "diffusion_pytorch_model.safetensors")
PY
  edit_rows "--image /tmp/vg_edit_a.png --mask-image /tmp/vg_edit_mask.png" /tmp/fx/flux1_fill/
  fi
fi

# GPU memory budgets (--gpu-memory) on the conformance fixtures, each pipeline against its goldens: BUDGETS (GiB) from
# one that refuses the stage to ones that hold every engine; the table says where a budget released engines mid-generation
# (which frees the device's shared activation arena and regrows it for the next engine: CUDA graphs recaptured).
if has budget; then
  cli_setup
  echo "| fixture | cos >= 0.999 | latents_final | output | time |" | tee "$OUT/budget.md"
  for fx in ${BUDGET_FIXTURES:-wan21_t2v ltx2}; do
    for g in ${BUDGETS:-0.005 0.01 0.02 0.03 0.04 0.05 0.07 0.1 0.2}; do
      echo -n "| --gpu-memory $g " | tee -a "$OUT/budget.md"
      VG_PIPELINE_EXTRA="--gpu-memory $g" python3 tools/device/pipeline_check.py "$C" .peer/conformance/$fx/ | tail -n 1 | tee -a "$OUT/budget.md"
    done
  done
fi

# Quantized linears (issue 13) on the native engine: the quant kernel group against the quant_ops fixture, the FP8
# GEMM rate against bf16, and the quantized checkpoints' transformer forward through the CLI's run-component
# (quant_check.py, carried in .peer) with --engine native-cuda. Carry .publish, .peer (fixtures quant_ops,
# wan21_t2v_fp8, wan21_t2v_nvfp4).
if has quant; then
  [ -f .publish/libonnxruntime.so ] || xz -dk .publish/libonnxruntime.so.xz
  export VISUALGEN_NATIVE_LIB="$PWD/$LIB"
  python3 native/tests/check_kernels.py --lib "$LIB" --only quant --fixtures .peer/conformance/quant_ops > "$OUT/quant_check.log" 2>&1 || status=1
  grep -E "^(FAIL|SKIP|correctness)" "$OUT/quant_check.log"
  [ -x native/build/fp8_block_probe ] && native/build/fp8_block_probe 2>&1 | tee "$OUT/fp8_block_probe.log"
  # whether cuBLASLt can write E4M3 codes with a GELU+bias epilogue (the FFN up projection's pass it would save)
  [ -x native/build/fp8_out_probe ] && native/build/fp8_out_probe 2>&1 | tee "$OUT/fp8_out_probe.log"
  python3 tools/bench/bench_native.py --lib "$LIB" --only fp8gemm --md "$OUT/fp8gemm.md" > "$OUT/fp8gemm.log" 2>&1 || status=1
  cat "$OUT/fp8gemm.md" 2>/dev/null || tail -5 "$OUT/fp8gemm.log"
  for fx in wan21_t2v_fp8 wan21_t2v_nvfp4; do
    echo "quant_check forward $fx --engine native-cuda:"
    python3 .peer/quant_check.py forward .peer/conformance/$fx --cli ".publish/visualgen-bench cli" --engine native-cuda 2>&1 | tail -4 || status=1
  done
fi

# Goldens the CPU tests read that need PyTorch + diffusers (carry .peer with diffusers_src.tar.xz): written to $OUT,
# committed under tests/VisualGen.Tests/Data.
if has goldens; then
  mkdir -p /tmp/py && tar xJf .peer/diffusers_src.tar.xz -C /tmp/py
  PYTHONPATH=/tmp/py python3 tools/device/cover_resize_golden.py "$OUT/cover_resize.json" 2>&1 | tail -3 || status=1
  # tiny random VAEs in diffusers format, latents and diffusers' tiled decodes: tests/VisualGen.Tests/Data/tiled_vae
  PYTHONPATH=/tmp/py python3 tools/device/tiled_vae_golden.py "$OUT/tiled_vae" 2>&1 | tail -14 || status=1
  # one file comes back more surely than a folder of them (the device tool returns a limited number of files)
  tar cf "$OUT/tiled_vae.tar" -C "$OUT" tiled_vae && rm -rf "$OUT/tiled_vae"
  # image conditioning without conformance goldens, CPU float32: FLUX.2 (image=) on the tiny flux2 fixture, FLUX.1 Kontext
  # on the flux1 one, Wan 2.2 TI2V with a first frame on wan22_ti2v_5b, for tests/VisualGen.Tests/Data/flux2_edit.json,
  # flux1_kontext.json, wan22_ti2v_image.json, and Wan 2.2 A14B image-to-video with a last frame, wan22_i2v_last_image.json
  # (prepare_carry.sh ... flux1 flux2 wan22_ti2v_5b wan22_i2v_a14b puts them in .peer)
  if [ -d .peer/conformance/flux2 ] || [ -d .peer/conformance/flux1 ] || [ -d .peer/conformance/wan22_ti2v_5b ] || [ -d .peer/conformance/wan22_i2v_a14b ]; then
    PYTHONPATH=/tmp/py python3 tools/device/edit_goldens.py .peer/conformance "$OUT/edit" 2>&1 | tail -5 || status=1
    tar cf "$OUT/edit_goldens.tar" -C "$OUT" edit && rm -rf "$OUT/edit"
  else
    echo "goldens: no .peer/conformance/flux1, flux2, wan22_ti2v_5b and wan22_i2v_a14b (prepare_carry.sh ... flux1 flux2 wan22_ti2v_5b wan22_i2v_a14b): the image-conditioning goldens are not written"
  fi
fi

exit $status
