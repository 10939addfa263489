/* Full-batch gradient descent on one ReLU MLP in float32: many epochs per call, no allocation,
 * no dispatch (mgdl_core/core/native.py builds this file with the system's C compiler and calls
 * it through ctypes; its docstring says when and why).
 *
 * One epoch is eq. (2), W <- W - lr dF/dW, with F = 1/(2N) sum ||y - N(x)||^2 (eq. (1)):
 *   forward   Z_i = H_{i-1} W_i + b_i,  H_i = ReLU(Z_i)          (H_0 = x; the last layer is affine)
 *   backward  G_L = (out - y) / N,  G_{i-1} = (G_i W_i^T) * ReLU'(Z_{i-1})
 *   update    W_i -= lr H_{i-1}^T G_i,  b_i -= lr sum_rows G_i   (every gradient before any update)
 * with ReLU'(0) = c (0: PyTorch's convention, 1/2: JAX's jnp.maximum, the authors' training).
 *
 * Layout: row-major, samples in rows, W_i of shape [w_{i-1}, w_i] (as mgdl_core.core.nets).
 * Every product is one register-blocked kernel, gemm(): C = A B (+ bias), A read through strides
 * (A or A^T without a copy), with the ReLU or its derivative applied as the tile is stored. It is
 * written with GCC/Clang vector extensions (8 floats), so the compiler maps it onto AVX2/FMA,
 * AVX-512 or NEON, whichever -march=native finds. Sums run in another order than MKL's, so this
 * path rounds differently from the reference step (tests/test_native.py bounds the difference).
 */
#include <stdint.h>

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t i8v __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16)));
#define LOAD(p) (*(const v8 *)(p))
#define STORE(p, v) (*(v8 *)(p) = (v))
#define MR 6 /* rows per register tile: 6 x 16 columns = 12 accumulators */

enum epilogue { PLAIN = 0, RELU = 1, MASK_H = 2, MASK_Z = 3 };

/* One stored 8-wide piece of a tile: the epilogue on v (C = v, or ReLU(v) with Z kept, or
 * v * ReLU'(z) from the layer's H (c = 0) or Z (any c)). */
static inline void put(float *c, v8 v, int ep, float *z, const float *mask, float cz) {
    if (ep == RELU) {
        if (z) STORE(z, v);
        i8v neg = v < (v8){0};
        v = (v8)((i8v)v & ~neg); /* NaN stays NaN, as torch.relu */
    } else if (ep == MASK_H) {
        i8v off = LOAD(mask) <= (v8){0};
        v = (v8)((i8v)v & ~off); /* threshold_backward: 0 where h <= 0 (a NaN h passes g on) */
    } else if (ep == MASK_Z) {
        v8 zz = LOAD(mask), one = (v8){0} + 1.0f, cv = (v8){0} + cz;
        i8v pos = zz > (v8){0}, zero = zz == (v8){0};
        v = v * (v8)(((i8v)one & pos) | ((i8v)cv & zero));
    }
    STORE(c, v);
}

/* The sum of a vector's 8 lanes as a tree (3 dependent additions, not 7). */
static inline float hsum(v8 v) {
    v4 h = (v4){v[0], v[1], v[2], v[3]} + (v4){v[4], v[5], v[6], v[7]};
    return (h[0] + h[2]) + (h[1] + h[3]);
}

static inline float put1(float v, int ep, float *z, const float *mask, float cz) {
    if (ep == RELU) {
        if (z) *z = v;
        return v < 0.0f ? 0.0f : v;
    }
    if (ep == MASK_H) return *mask <= 0.0f ? 0.0f : v;
    if (ep == MASK_Z) return v * (*mask > 0.0f ? 1.0f : (*mask == 0.0f ? cz : 0.0f));
    return v;
}

/* mr rows x 16 columns of C (mr <= MR, a constant where it is inlined): the register tile. */
static inline __attribute__((always_inline)) void tile16(const int mr, int K, const float *a, long sr, long sk,
                                                          const float *bp, long ldb, float *c, long ldc, v8 b0,
                                                          v8 b1, int ep, float *z, const float *mask, float cz) {
    v8 c0[MR], c1[MR];
    for (int q = 0; q < mr; q++) c0[q] = c1[q] = (v8){0};
    for (int k = 0; k < K; k++, bp += ldb, a += sk) {
        v8 x0 = LOAD(bp), x1 = LOAD(bp + 8);
        for (int q = 0; q < mr; q++) {
            float aq = a[q * sr];
            c0[q] += aq * x0;
            c1[q] += aq * x1;
        }
    }
    for (int q = 0; q < mr; q++) {
        long o = (long)q * ldc;
        put(c + o, c0[q] + b0, ep, z ? z + o : 0, mask + (mask ? o : 0), cz);
        put(c + o + 8, c1[q] + b1, ep, z ? z + o + 8 : 0, mask + (mask ? o + 8 : 0), cz);
    }
}

/* C[M, Nc] = A(M, K) B[K, Nc] (+ bias[Nc]), A(r, k) = A[r sr + k sk]; ld* are row strides.
 * Epilogue ep as put(); Z (RELU) and the mask (MASK_*) share C's shape and ldc. */
static void gemm(int M, int Nc, int K, const float *A, long sr, long sk, const float *B, long ldb,
                 float *C, long ldc, const float *bias, int ep, float *Z, const float *mask, float cz) {
    int j = 0;
    for (; j + 16 <= Nc; j += 16) {
        v8 b0 = bias ? LOAD(bias + j) : (v8){0}, b1 = bias ? LOAD(bias + j + 8) : (v8){0};
#define TILE(mr) tile16(mr, K, A + (long)r * sr, sr, sk, B + j, ldb, C + (long)r * ldc + j, ldc, b0, b1, \
                        ep, Z ? Z + (long)r * ldc + j : 0, mask ? mask + (long)r * ldc + j : 0, cz)
        int r = 0;
        for (; r + MR <= M; r += MR) TILE(MR);
        if (M - r >= 4) { TILE(4); r += 4; } /* the rows left over, in tiles of 4, 2 and 1 */
        if (M - r >= 2) { TILE(2); r += 2; }
        if (M - r >= 1) { TILE(1); r += 1; }
#undef TILE
    }
    for (; j < Nc; j++) { /* narrow outputs (the last layer's one column): a dot product per row */
        float bj = bias ? bias[j] : 0.0f;
        if (sk == 1) {
            for (int r = 0; r < M; r++) {
                const float *a = A + r * sr;
                v8 acc = (v8){0};
                int k = 0;
                if (ldb == 1)
                    for (; k + 8 <= K; k += 8) acc += LOAD(a + k) * LOAD(B + k + j);
                float s = hsum(acc);
                for (; k < K; k++) s += a[k] * B[k * ldb + j];
                long o = (long)r * ldc + j;
                C[o] = put1(s + bj, ep, Z ? Z + o : 0, mask + (mask ? o : 0), cz);
            }
        } else { /* A read down its columns (A = H^T): accumulate 8 rows of C at once */
            int r = 0;
            for (; sr == 1 && r + 8 <= M; r += 8) {
                v8 acc = (v8){0};
                const float *a = A + r;
                for (int k = 0; k < K; k++, a += sk) acc += LOAD(a) * B[k * ldb + j];
                for (int q = 0; q < 8; q++) {
                    long o = (long)(r + q) * ldc + j;
                    C[o] = put1(acc[q] + bj, ep, Z ? Z + o : 0, mask + (mask ? o : 0), cz);
                }
            }
            for (; r < M; r++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++) s += A[r * sr + k * sk] * B[k * ldb + j];
                long o = (long)r * ldc + j;
                C[o] = put1(s + bj, ep, Z ? Z + o : 0, mask + (mask ? o : 0), cz);
            }
        }
    }
}

/* The widest layer and the largest weight matrix of widths w[0..L]. */
static void sizes(int L, const int *w, long *widest, long *params) {
    *widest = 0; *params = 0;
    for (int i = 0; i <= L; i++) *widest = w[i] > *widest ? w[i] : *widest;
    for (int i = 0; i < L; i++) *params = (long)w[i] * w[i + 1] > *params ? (long)w[i] * w[i + 1] : *params;
}

/* The floats of work space mlp_gd_epochs needs for widths w[0..L] and N samples. */
long mlp_workspace(int L, const int *w, long N) {
    long hidden = 0, widest, params;
    sizes(L, w, &widest, &params);
    for (int i = 1; i < L; i++) hidden += N * w[i];  /* N is a long: the products are too */
    /* H and Z of the hidden layers, the output, two gradients, dW, W^T, db */
    return 2 * hidden + N * w[L] + 2 * N * widest + 2 * params + widest;
}

/* `epochs` GD epochs in place on W[i] ([w_i, w_{i+1}]) and b[i] ([w_{i+1}]), i < L; c = ReLU'(0).
 * x [N, w_0] and y [N, w_L] are read only; ws holds mlp_workspace() floats. Returns 0. */
int mlp_gd_epochs(int L, const int *w, float **W, float **b, const float *x, const float *y, long N,
                  float lr, float c, long epochs, float *ws) {
    float *H[64], *Zs[64];
    if (L < 1 || L > 63) return 1;
    long widest, params;
    sizes(L, w, &widest, &params);
    float *p = ws;
    H[0] = (float *)x;
    for (int i = 1; i < L; i++) { H[i] = p; p += N * w[i]; Zs[i] = p; p += N * w[i]; }
    float *out = p; p += N * w[L];
    float *g = p; p += N * widest;
    float *gp = p; p += N * widest;
    float *dw = p; p += params;
    float *wt = p; p += params;
    float *db = p;
    const float inv_n = (float)(1.0 / (double)N);
    const int keep_z = c != 0.0f; /* with ReLU'(0) = 0 the mask h > 0 is exactly z > 0 */
    for (long e = 0; e < epochs; e++) {
        for (int i = 0; i < L; i++) {
            int last = i == L - 1;
            gemm((int)N, w[i + 1], w[i], H[i], w[i], 1, W[i], w[i + 1], last ? out : H[i + 1], w[i + 1], b[i],
                 last ? PLAIN : RELU, (!last && keep_z) ? Zs[i + 1] : 0, 0, c);
        }
        long n_out = N * w[L];
        for (long k = 0; k < n_out; k++) g[k] = (out[k] - y[k]) * inv_n;
        for (int i = L - 1; i >= 0; i--) {
            int din = w[i], dout = w[i + 1];
            if (i > 0) { /* G_{i-1} = (G W_i^T) * ReLU'(Z), with W_i as it was before its update */
                for (int a = 0; a < din; a++)
                    for (int o = 0; o < dout; o++) wt[(long)o * din + a] = W[i][(long)a * dout + o];
                gemm((int)N, din, dout, g, dout, 1, wt, din, gp, din, 0, keep_z ? MASK_Z : MASK_H, 0,
                     keep_z ? Zs[i] : H[i], c);
            }
            gemm(din, dout, (int)N, H[i], 1, din, g, dout, dw, dout, 0, PLAIN, 0, 0, c); /* H^T G */
            for (int o = 0; o < dout; o++) db[o] = 0.0f;
            for (long r = 0; r < N; r++)
                for (int o = 0; o < dout; o++) db[o] += g[r * dout + o];
            for (long k = 0; k < (long)din * dout; k++) W[i][k] -= lr * dw[k];
            for (int o = 0; o < dout; o++) b[i][o] -= lr * db[o];
            float *t = g; g = gp; gp = t;
        }
    }
    return 0;
}
