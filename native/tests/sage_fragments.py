"""Host emulation of one warp's data flow in native/src/attention_sage.cu (no GPU, no numpy): the PTX fragment layouts of
mma.sync.aligned.m16n8k32 (8-bit A/B, 32-bit C), ldmatrix.x4 on 8-bit rows, the address pattern the kernel gives
ldmatrix for K ([key][d]) and for V transposed ([d][key], keys permuted per 16 by key_perm), and the packing of S's
accumulator fragments into P's A fragments. Checks S = Q·Kᵀ and O = P·V exactly on small integers, for every
(head_dim, block_k) the kernel is compiled for. This proves the layouts agree with each other as written down from the
PTX ISA; it cannot prove the PTX ISA was read right (the GPU check does).

    python3 native/tests/sage_fragments.py
"""
import random


def zeros(r, c):
    return [[0] * c for _ in range(r)]


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def transpose(a):
    return [list(r) for r in zip(*a)]


def key_perm(p):
    """Position p (0..15) of a 16-key group of vt holds key key_perm(p) (attention_sage.cu)."""
    return 8 * ((p & 3) >> 1) + 2 * (p >> 2) + (p & 1)


def ldmatrix_x4(mem, addr):
    """mem[row][byte]; addr[lane] = (row, byte) of the row that lane gives. Returns r[lane][matrix] = 4 bytes: lane l
    receives bytes 4·(l & 3) .. +3 of row l >> 2 of each 8x16-byte matrix (lanes 8j .. 8j+7 address matrix j)."""
    out = [[None] * 4 for _ in range(32)]
    for j in range(4):
        rows = [addr[8 * j + i] for i in range(8)]
        for lane in range(32):
            r, c = rows[lane >> 2]
            out[lane][j] = [mem[r][c + 4 * (lane & 3) + b] for b in range(4)]
    return out


def mma_m16n8k32(c_frag, a_frag, b0, b1):
    """c_frag[lane][4] += A·B with the PTX fragment layouts (g = lane >> 2, t = lane & 3):
    A 16x32: a_frag[lane][reg][byte], element i = 4·reg + byte at row g (+8 for i in 4..7, 12..15), column 4t + (i & 3)
    (+16 for i >= 8); B 32x8: b0/b1[lane][byte], element i at row 4t + (i & 3) (+16 for i >= 4), column g;
    C 16x8: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)."""
    a, b = zeros(16, 32), zeros(32, 8)
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for i in range(16):
            row = g if (i < 4 or 8 <= i < 12) else g + 8
            col = 4 * t + (i & 3) + (16 if i >= 8 else 0)
            a[row][col] = a_frag[lane][i // 4][i % 4]
        for i in range(8):
            b[4 * t + (i & 3) + (16 if i >= 4 else 0)][g] = (b0 if i < 4 else b1)[lane][i % 4]
    c = matmul(a, b)
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for e, (r, col) in enumerate(((g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1))):
            c_frag[lane][e] += c[r][col]


def accumulators_to_matrix(frags, cols):
    m = zeros(16, cols)
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for j in range(cols // 8):
            f = frags[lane][j]
            m[g][8 * j + 2 * t], m[g][8 * j + 2 * t + 1] = f[0], f[1]
            m[g + 8][8 * j + 2 * t], m[g + 8][8 * j + 2 * t + 1] = f[2], f[3]
    return m


def check(d, bk, rng):
    q = [[rng.randint(-127, 127) for _ in range(d)] for _ in range(16)]
    k = [[rng.randint(-127, 127) for _ in range(d)] for _ in range(bk)]
    v = [[rng.randint(-20, 20) for _ in range(d)] for _ in range(bk)]
    # Q's A fragments as the kernel reads them from global memory
    def q_frag(lane, c):
        g, t = lane >> 2, lane & 3
        return [[q[g][c * 32 + 4 * t + x] for x in range(4)], [q[g + 8][c * 32 + 4 * t + x] for x in range(4)],
                [q[g][c * 32 + 16 + 4 * t + x] for x in range(4)], [q[g + 8][c * 32 + 16 + 4 * t + x] for x in range(4)]]
    qa = [[q_frag(lane, c) for c in range(d // 32)] for lane in range(32)]
    acc = [[[0] * 4 for _ in range(bk // 8)] for _ in range(32)]
    for c in range(d // 32):
        for np_ in range(bk // 16):
            addr = [(np_ * 16 + (lane & 7) + (lane >> 4) * 8, c * 32 + ((lane >> 3) & 1) * 16) for lane in range(32)]
            r = ldmatrix_x4(k, addr)
            for jt, (i0, i1) in ((2 * np_, (0, 1)), (2 * np_ + 1, (2, 3))):
                mma_m16n8k32([acc[lane][jt] for lane in range(32)], [qa[lane][c] for lane in range(32)],
                             [r[lane][i0] for lane in range(32)], [r[lane][i1] for lane in range(32)])
    assert accumulators_to_matrix(acc, bk) == matmul(q, transpose(k)), f"S wrong for D={d} BK={bk}"

    # P: any values in the S accumulator layout; packed into A fragments as the kernel packs them
    p = [[rng.randint(0, 15) for _ in range(bk)] for _ in range(16)]
    pa = [[[[0] * 4 for _ in range(4)] for _ in range(bk // 32)] for _ in range(32)]
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for j in range(bk // 8):
            kc, jj = j // 4, j % 4
            reg, half = (jj >> 1) * 2, (jj & 1) * 2
            pa[lane][kc][reg][half], pa[lane][kc][reg][half + 1] = p[g][8 * j + 2 * t], p[g][8 * j + 2 * t + 1]
            pa[lane][kc][reg + 1][half], pa[lane][kc][reg + 1][half + 1] = p[g + 8][8 * j + 2 * t], p[g + 8][8 * j + 2 * t + 1]
    # vt as sage_quantize_v stores it: [d][position], position 16·grp + p holding key 16·grp + key_perm(p)
    vt = [[v[16 * (pos // 16) + key_perm(pos % 16)][dd] for pos in range(bk)] for dd in range(d)]
    o = [[[0] * 4 for _ in range(d // 8)] for _ in range(32)]
    for dp in range(d // 16):
        for kc in range(bk // 32):
            addr = [(dp * 16 + (lane & 7) + (lane >> 4) * 8, kc * 32 + ((lane >> 3) & 1) * 16) for lane in range(32)]
            r = ldmatrix_x4(vt, addr)
            for jt, (i0, i1) in ((2 * dp, (0, 1)), (2 * dp + 1, (2, 3))):
                mma_m16n8k32([o[lane][jt] for lane in range(32)], [pa[lane][kc] for lane in range(32)],
                             [r[lane][i0] for lane in range(32)], [r[lane][i1] for lane in range(32)])
    assert accumulators_to_matrix(o, d) == matmul(p, v), f"O wrong for D={d} BK={bk}"
    print(f"OK D={d} BK={bk}: S = Q·Kᵀ and O = P·V through the fragment layouts")


if __name__ == "__main__":
    assert sorted(key_perm(i) for i in range(16)) == list(range(16))
    rng = random.Random(0)
    for d in (64, 128):
        for bk in (64, 128):
            check(d, bk, rng)
