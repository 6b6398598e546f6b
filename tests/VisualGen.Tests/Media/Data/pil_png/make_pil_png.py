"""PNGs of every colour type and bit depth, plain and Adam7-interlaced, with what PIL (diffusers' load_image) reads from
them: <case>.png and <case>.rgba (convert("RGB") bytes, then convert("RGBA")'s alpha). PngTests checks PngReader against
these. The encoder here is written from the PNG specification (filter 0 rows, zlib), independent of PngReader.

    python3 make_pil_png.py   (in this folder; needs Pillow: made with 9.4.0)
"""
import zlib, struct, random
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
def pack_row(px, depth, ch):
    # px: list of pixels (tuples of ch samples)
    if depth == 8: return bytes(v for p in px for v in p)
    if depth == 16: return b''.join(struct.pack('>H', v) for p in px for v in p)
    bits = []; out = bytearray(); acc = 0; n = 0
    for p in px:
        for v in p:
            acc = (acc << depth) | v; n += depth
            if n == 8: out.append(acc); acc = 0; n = 0
    if n: out.append(acc << (8 - n))
    return bytes(out)
def png(w, h, depth, ctype, pixels, interlace=False, plte=None, trns=None):
    ch = {0:1, 2:3, 3:1, 4:2, 6:4}[ctype]
    raw = bytearray()
    passes = [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)] if interlace else [(0,0,1,1)]
    for x0,y0,dx,dy in passes:
        xs = list(range(x0, w, dx)); ys = list(range(y0, h, dy))
        if not xs or not ys: continue
        for y in ys:
            raw.append(0); raw += pack_row([pixels[y][x] for x in xs], depth, ch)
    d = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    if plte: d += chunk(b'PLTE', plte)
    if trns: d += chunk(b'tRNS', trns)
    return d + chunk(b'IDAT', zlib.compress(bytes(raw))) + chunk(b'IEND', b'')
random.seed(2)
W, H = 13, 11
cases = {}
for depth in (1, 2, 4, 8):
    for inter in (False, True):
        px = [[(random.randrange(1 << depth),) for _ in range(W)] for _ in range(H)]
        cases[f'gray{depth}{"i" if inter else ""}'] = png(W, H, depth, 0, px, inter)
        pal = bytes(random.randrange(256) for _ in range(3 * (1 << depth)))
        cases[f'pal{depth}{"i" if inter else ""}'] = png(W, H, depth, 3, px, inter, plte=pal)
for inter in (False, True):
    for ctype, ch in ((2, 3), (4, 2), (6, 4)):
        px = [[tuple(random.randrange(65536) for _ in range(ch)) for _ in range(W)] for _ in range(H)]
        cases[f'c{ctype}_16{"i" if inter else ""}'] = png(W, H, 16, ctype, px, inter)
        px8 = [[tuple(random.randrange(256) for _ in range(ch)) for _ in range(W)] for _ in range(H)]
        cases[f'c{ctype}_8{"i" if inter else ""}'] = png(W, H, 8, ctype, px8, inter)
# 2-bit gray with a transparent value, 16-bit RGB with a transparent colour
px = [[(random.randrange(4),) for _ in range(W)] for _ in range(H)]
cases['gray2_trns'] = png(W, H, 2, 0, px, False, trns=struct.pack('>H', 1))
tr = (1000, 2000, 3000)
px = [[(tr if random.random() < 0.3 else tuple(random.randrange(65536) for _ in range(3))) for _ in range(W)] for _ in range(H)]
cases['rgb16_trns'] = png(W, H, 16, 2, px, True, trns=struct.pack('>HHH', *tr))
import io
from PIL import Image
for k, v in cases.items():
    open(f'{k}.png', 'wb').write(v)
    im = Image.open(io.BytesIO(v)); im.load()
    open(f'{k}.rgba', 'wb').write(im.convert('RGB').tobytes() + im.convert('RGBA').getchannel('A').tobytes())
print(len(cases), 'cases')
