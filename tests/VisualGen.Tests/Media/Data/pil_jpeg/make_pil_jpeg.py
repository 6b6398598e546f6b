"""A 4:2:0 JPEG of sharp coloured rectangles and what PIL (diffusers' load_image) decodes from it: edges.jpg and
edges.rgb (convert("RGB") bytes, 96 x 64). ImageReaderTests measures how close ffmpeg's decode comes to PIL's.

    python3 make_pil_jpeg.py   (in this folder; needs Pillow: made with 9.4.0)
"""
import random
from PIL import Image, ImageDraw

random.seed(0)
im = Image.new("RGB", (96, 64))
draw = ImageDraw.Draw(im)
for _ in range(40):
    x0, y0 = random.randrange(96), random.randrange(64)
    draw.rectangle([x0, y0, x0 + random.randrange(3, 30), y0 + random.randrange(3, 30)],
                   fill=(random.randrange(256), random.randrange(256), random.randrange(256)))
im.save("edges.jpg", quality=90)  # Pillow's default subsampling: 4:2:0
open("edges.rgb", "wb").write(Image.open("edges.jpg").convert("RGB").tobytes())
