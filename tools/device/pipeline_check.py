"""Runs the CLI on conformance fixtures with --engine native-cuda (every component the native engine runs on the GPU,
the rest on ONNX Runtime CPU) and compares --save-tensors with the float32 diffusers goldens. bf16 on the GPU: the bar is
cosine >= 0.999 (the conformance README's reduced-precision rule); max abs error is reported too.

    python3 tools/device/pipeline_check.py "CLI COMMAND" [--attention bf16|fp8] [--vae-dtype fp32|bf16] [--reference ort-cpu]
        FIXTURE_DIR [FIXTURE_DIR ...]

--reference ort-cpu compares with the same call on ONNX Runtime CPU instead of the goldens: for calls the goldens do not
describe, e.g. VG_PIPELINE_EXTRA="--quant-algo FP8" (a quantized transformer: the CPU runs the graph's exact dequantized
math, the GPU FP8 tensor cores with activations quantized too), where the bar is VG_PIPELINE_BAR (default 0.999).
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".peer"))
import st  # noqa: E402  (copy of shared/tools/conformance/st.py, carried in .peer)

RENAMED = {"num_frames": "--frames", "num_inference_steps": "--steps"}
# tensors --save-tensors writes and the goldens they are compared with (the audio pair only where the family has audio: LTX-2)
OUTPUTS = (("pipeline.latents_final", "latents"), ("pipeline.output", "output"),
           ("pipeline.audio_latents_final", "audio_latents"), ("pipeline.audio", "audio"))


def flag_value(v):
    """A call argument as the CLI reads it: lists comma-separated, booleans true/false (as cli_fixture.py passes them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def run(cli, fx, attention, vae, reference="golden"):
    meta = json.load(open(os.path.join(fx, "golden.json")))
    gold = st.read(os.path.join(fx, "golden.safetensors"))
    tmp = tempfile.mkdtemp()
    lat = os.path.join(tmp, "latents.safetensors")
    if "pipeline.latents_init" not in gold:   # a component fixture (quant_ops, quantized checkpoints): no pipeline call
        return True
    init = {"latents": gold["pipeline.latents_init"]}
    if "pipeline.audio_latents_init" in gold:
        init["audio_latents"] = gold["pipeline.audio_latents_init"]
    st.write(lat, init)
    fam = os.path.basename(fx.rstrip("/"))

    def generate(engine):
        out = os.path.join(tmp, engine + ".safetensors")
        args = cli.split() + ["generate", "--model", os.path.join(fx, "checkpoint"), "--engine", engine,
                "--engine-cache", "/tmp/vgcache", "--latents", lat, "--save-tensors", out,
                "--output", os.path.join(tmp, "out_" + engine), "--format", "png", "--vae-dtype", vae]
        if engine == "native-cuda":
            args += ["--attention", attention]
        # VG_PIPELINE_EXTRA: more CLI flags for every fixture (e.g. a Cache-DiT at threshold 0, which must still meet the goldens)
        args += os.environ.get("VG_PIPELINE_EXTRA", "").split()
        for k, v in meta["call"].items():
            if k == "image":
                args += ["--image", os.path.join(fx, v)]
            elif k not in ("latents", "audio_latents"):
                args += [RENAMED.get(k, "--" + k.replace("_", "-")), flag_value(v)]
        t0 = time.time()
        p = subprocess.run(args, capture_output=True, text=True)
        secs = time.time() - t0
        if p.returncode != 0:
            text = (p.stdout + p.stderr).strip()
            # the failing process's whole output beside the other logs ($OUT on the device machine), and its first error line here
            log = os.path.join(os.environ.get("OUT", tmp), f"pipeline_{fam}_{engine}_{attention}.log")
            with open(log, "w") as f:
                f.write(" ".join(args) + "\n" + text + "\n")
            first = next((l for l in text.splitlines() if "xception" in l or "rror" in l), text.splitlines()[-1] if text else "")
            print(f"| {fam}, {engine}, {attention} attention{vae_label(vae)} | FAILED ({p.returncode}) | | | {first.strip()[:200]} (log: {log}) |")
            return None
        return p, out, secs

    bar = 0.999
    if reference == "ort-cpu":
        cpu = generate("ort-cpu")
        if cpu is None:
            return False
        ref_tensors = st.read(cpu[1])
        gold = {golden: ref_tensors[name] for golden, name in OUTPUTS if name in ref_tensors}
        bar = float(os.environ.get("VG_PIPELINE_BAR", "0.999"))
    ran = generate("native-cuda")
    if ran is None:
        return False
    p, out, secs = ran
    got = st.read(out)
    ok = True
    cells = []
    for ref, name in OUTPUTS:
        if ref not in gold:
            continue
        if name not in got:
            ok = False
            cells.append(f"{name} missing")
            continue
        label = "" if name in ("latents", "output") else name + ": "
        if list(gold[ref][0]) != list(got[name][0]):
            ok = False
            cells.append(f"{label}shape {list(got[name][0])} != {list(gold[ref][0])}")
            continue
        r, g = gold[ref][2], got[name][2]
        c = cosine(r, g)
        m = max(abs(x - y) for x, y in zip(r, g))
        ok &= c >= bar
        cells.append(f"{label}cos {c:.6f}, max abs {m:.2e}")
    built = "engines built" if "building transformer with native-cuda" in p.stderr else "engines from the cache"
    # a GPU memory budget (--gpu-memory in VG_PIPELINE_EXTRA) that made room by releasing engines says so in the log
    releases = (p.stdout + p.stderr).count("releasing ")
    if releases:
        built += f"; {releases} engine release{'s' if releases > 1 else ''} for the budget"
    # audio families add their audio latents and waveform to the output cell
    against = "" if reference == "golden" else f" vs {reference}"
    print(f"| {fam}, {attention} attention{vae_label(vae)}{against} | {'ok' if ok else 'FAIL'} | {cells[0]} | {'; '.join(cells[1:])} | {secs:.1f} s ({built}) |")
    return ok


def vae_label(vae):
    return "" if vae == "fp32" else f", {vae} VAE"


def main():
    cli, fixtures = sys.argv[1], sys.argv[2:]
    attention, vae, reference = "bf16", "fp32", "golden"
    while fixtures[:1] in (["--attention"], ["--vae-dtype"], ["--reference"]):
        if fixtures[0] == "--attention":
            attention = fixtures[1]
        elif fixtures[0] == "--vae-dtype":
            vae = fixtures[1]
        else:
            reference = fixtures[1]
        fixtures = fixtures[2:]
    bar = os.environ.get("VG_PIPELINE_BAR", "0.999") if reference != "golden" else "0.999"
    print(f"| fixture | cos >= {bar} | latents_final | output | time |")
    print("| --- | --- | --- | --- | --- |")
    results = [run(cli, fx, attention, vae, reference) for fx in fixtures]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
