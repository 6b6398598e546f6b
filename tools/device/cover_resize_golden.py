"""Golden outputs of diffusers' Cosmos3 conditioning-image preprocessing (`_preprocess_conditioning_image`: resize to
cover with antialiased bilinear, center crop, round to 8 bits, [-1, 1]) for tests/VisualGen.Tests/Data/cover_resize.json.
The images are pseudo-random uint8 from an LCG the C# test repeats. Needs torch and diffusers' source on PYTHONPATH.

    python3 tools/device/cover_resize_golden.py OUT.json
"""
import json
import sys

import numpy as np
from PIL import Image

from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import _preprocess_conditioning_image

CASES = [  # source height, width -> target height, width
    (100, 150, 32, 48),   # shrink, same aspect
    (24, 40, 32, 48),     # enlarge, crop width
    (64, 64, 24, 48),     # shrink height more than width: crop rows
    (37, 53, 32, 48),     # odd source sizes, enlarge slightly
    (200, 90, 32, 32),    # strong shrink, crop rows
]


def lcg_image(h, w, seed):
    x, out = seed, []
    for _ in range(h * w * 3):
        x = (x * 1103515245 + 12345) % (1 << 31)
        out.append((x >> 16) & 255)
    return np.array(out, dtype=np.uint8).reshape(h, w, 3)


def main():
    cases = []
    for i, (h, w, th, tw) in enumerate(CASES):
        img = lcg_image(h, w, 1000 + i)
        t = _preprocess_conditioning_image(Image.fromarray(img), height=th, width=tw)  # [1, 3, th, tw] in [-1, 1]
        levels = ((t[0].permute(1, 2, 0) + 1.0) * 127.5).round().to(dtype=__import__("torch").int32).flatten().tolist()
        cases.append({"source": [h, w], "target": [th, tw], "seed": 1000 + i, "levels_hwc": levels})
    json.dump({"generator": "diffusers Cosmos3 _preprocess_conditioning_image", "cases": cases}, open(sys.argv[1], "w"), separators=(",", ":"))
    print(f"cover_resize golden: {len(cases)} cases -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
