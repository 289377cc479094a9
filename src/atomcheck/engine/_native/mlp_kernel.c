/* Native fast path of atomcheck's seed-batched engine: whole SGD epochs of dense MLPs.
 *
 * Plain C99, no Python or torch headers; loaded with ctypes by atomcheck/engine/native.py.
 * One call trains every row (one configuration x seed) through every step of one epoch.
 * Rows are independent and processed one after another, so a row's weights stay in the
 * L1/L2 cache for the whole epoch and no arithmetic ever mixes rows.
 *
 * Layout (all arrays C-contiguous, REAL = float or double):
 *   dims[0..L]   layer sizes: inputs, hidden widths..., outputs (L = linear layers)
 *   x            (rows, n, dims[0] + 1)  this epoch's shuffled inputs, last column 1.0
 *   labels       (rows, n) int64 class indices (needed by cross-entropy rows) or NULL
 *   targets      (rows, n, dims[L]) regression / one-hot targets (mse rows) or NULL
 *   weights[l]   (rows, dims[l] + 1, dims[l+1]) weight with the bias as its last row
 *   bufs[l]      momentum buffers shaped like weights[l], or NULL when every row is SGD
 *   act, loss, opt: per-row codes; lr, momentum: per-row values
 *   diverged     out: per row -1, or the step whose minibatch loss was not finite (the
 *                row's weights are left as they were before that step)
 *
 * Compile without -ffast-math: NaN/inf detection relies on IEEE semantics.
 */
#ifndef MLPK_BODY
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ACT_IDENTITY = 0, ACT_RELU = 1, ACT_LEAKY = 2, ACT_TANH = 3, ACT_SIGMOID = 4 };
enum { LOSS_CE = 0, LOSS_MSE = 1 };
enum { OPT_SGD = 0, OPT_MOMENTUM = 1, OPT_NESTEROV = 2 };
enum { ERR_ARGS = -1, ERR_NOMEM = -2, ERR_LABEL = -3 };
#define MLPK_MAX_LAYERS 64

int atomcheck_kernel_version(void) { return 1; }

/* Register-blocked inner kernels, expanded once per REAL and block width BW (a multiple of
 * the vector width); each keeps its accumulators in registers. */

/* Four rows h0..h3 of a layer input times W[:, o0:o0+BW] into z0..z3. */
#define FWD_BLOCK4(BW)                                                                    \
    for (; o0 + (BW) <= out; o0 += (BW)) {                                                \
        REAL a0[BW] = {0}, a1[BW] = {0}, a2[BW] = {0}, a3[BW] = {0};                      \
        for (int64_t i = 0; i < in1; i++) {                                               \
            const REAL *w = W + i * out + o0;                                             \
            const REAL x0 = h0[i], x1 = h1[i], x2 = h2[i], x3 = h3[i];                    \
            for (int k = 0; k < (BW); k++) {                                              \
                a0[k] += x0 * w[k];                                                       \
                a1[k] += x1 * w[k];                                                       \
                a2[k] += x2 * w[k];                                                       \
                a3[k] += x3 * w[k];                                                       \
            }                                                                             \
        }                                                                                 \
        for (int k = 0; k < (BW); k++) {                                                  \
            z0[o0 + k] = a0[k];                                                           \
            z1[o0 + k] = a1[k];                                                           \
            z2[o0 + k] = a2[k];                                                           \
            z3[o0 + k] = a3[k];                                                           \
        }                                                                                 \
    }

/* One row h times W[:, o0:o0+BW] into z (even and odd inputs in separate accumulators). */
#define FWD_BLOCK1(BW)                                                                    \
    for (; o0 + (BW) <= out; o0 += (BW)) {                                                \
        REAL a[BW] = {0}, c[BW] = {0};                                                    \
        int64_t i = 0;                                                                    \
        for (; i + 2 <= in1; i += 2) {                                                    \
            const REAL *w = W + i * out + o0;                                             \
            const REAL x0 = h[i], x1 = h[i + 1];                                          \
            for (int k = 0; k < (BW); k++) {                                              \
                a[k] += x0 * w[k];                                                        \
                c[k] += x1 * w[k + out];                                                  \
            }                                                                             \
        }                                                                                 \
        if (i < in1) {                                                                    \
            const REAL *w = W + i * out + o0;                                             \
            const REAL x0 = h[i];                                                         \
            for (int k = 0; k < (BW); k++)                                                \
                a[k] += x0 * w[k];                                                        \
        }                                                                                 \
        for (int k = 0; k < (BW); k++)                                                    \
            z[o0 + k] = a[k] + c[k];                                                      \
    }

/* Gradient rows i..i+3, columns o0:o0+BW of H^T dZ, applied to W (and buf). */
#define UPD_BLOCK4(BW)                                                                    \
    for (; o0 + (BW) <= out; o0 += (BW)) {                                                \
        REAL g0[BW] = {0}, g1[BW] = {0}, g2[BW] = {0}, g3[BW] = {0};                      \
        for (int64_t t = 0; t < b; t++) {                                                 \
            const REAL *h = H + t * ldh + i, *d = dZ + t * out + o0;                      \
            const REAL h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3];                        \
            for (int k = 0; k < (BW); k++) {                                              \
                g0[k] += h0 * d[k];                                                       \
                g1[k] += h1 * d[k];                                                       \
                g2[k] += h2 * d[k];                                                       \
                g3[k] += h3 * d[k];                                                       \
            }                                                                             \
        }                                                                                 \
        REAL *bf = buf ? buf + i * out + o0 : NULL;                                       \
        SFX(apply)(W + i * out + o0, bf, g0, (BW), opt, lr, mom);                         \
        SFX(apply)(W + (i + 1) * out + o0, bf ? bf + out : NULL, g1, (BW), opt, lr, mom); \
        SFX(apply)(W + (i + 2) * out + o0, bf ? bf + 2 * out : NULL, g2, (BW), opt, lr,   \
                   mom);                                                                  \
        SFX(apply)(W + (i + 3) * out + o0, bf ? bf + 3 * out : NULL, g3, (BW), opt, lr,   \
                   mom);                                                                  \
    }

#define MLPK_BODY
#define REAL double
#define SFX(name) name##_f64
#define EXP exp
#define LOG log
#define TANH tanh
#define OB 8
#include __FILE__
#undef REAL
#undef SFX
#undef EXP
#undef LOG
#undef TANH
#undef OB

#define REAL float
#define SFX(name) name##_f32
#define EXP expf
#define LOG logf
#define TANH tanhf
#define OB 16
#include __FILE__

#else /* MLPK_BODY: everything below is compiled once per REAL */

/* Sum of OB values as a balanced tree (fixed order; each level vectorises). */
static inline REAL SFX(hsum)(REAL *a)
{
#if OB == 16
    for (int k = 0; k < 8; k++)
        a[k] += a[k + 8];
#endif
    for (int k = 0; k < 4; k++)
        a[k] += a[k + 4];
    for (int k = 0; k < 2; k++)
        a[k] += a[k + 2];
    return a[0] + a[1];
}

/* Z[t*ldz + o] = sum_{i < in1} H[t*ldh + i] * W[i*out + o] for t < b, o < out. */
static void SFX(forward)(const REAL *restrict H, int64_t ldh, int64_t b, int64_t in1,
                         const REAL *restrict W, int64_t out, REAL *restrict Z, int64_t ldz,
                         REAL *restrict WT)
{
    int64_t t = 0;
    if (out < OB && WT != NULL && in1 >= OB) { /* narrow output: dot products over inputs */
        for (int64_t o = 0; o < out; o++)
            for (int64_t i = 0; i < in1; i++)
                WT[o * in1 + i] = W[i * out + o];
        for (; t < b; t++) {
            const REAL *h = H + t * ldh;
            for (int64_t o = 0; o < out; o++) {
                const REAL *w = WT + o * in1;
                REAL acc[OB] = {0};
                int64_t i0 = 0;
                for (; i0 + OB <= in1; i0 += OB)
                    for (int k = 0; k < OB; k++)
                        acc[k] += h[i0 + k] * w[i0 + k];
                REAL s = SFX(hsum)(acc);
                for (; i0 < in1; i0++)
                    s += h[i0] * w[i0];
                Z[t * ldz + o] = s;
            }
        }
        return;
    }
    for (; t + 4 <= b; t += 4) {
        const REAL *h0 = H + t * ldh, *h1 = h0 + ldh, *h2 = h1 + ldh, *h3 = h2 + ldh;
        REAL *z0 = Z + t * ldz, *z1 = z0 + ldz, *z2 = z1 + ldz, *z3 = z2 + ldz;
        int64_t o0 = 0;
        FWD_BLOCK4(2 * OB)
        FWD_BLOCK4(OB)
        for (; o0 < out; o0++) {
            REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int64_t i = 0; i < in1; i++) {
                const REAL w = W[i * out + o0];
                s0 += h0[i] * w;
                s1 += h1[i] * w;
                s2 += h2[i] * w;
                s3 += h3[i] * w;
            }
            z0[o0] = s0;
            z1[o0] = s1;
            z2[o0] = s2;
            z3[o0] = s3;
        }
    }
    for (; t < b; t++) {
        const REAL *h = H + t * ldh;
        REAL *z = Z + t * ldz;
        int64_t o0 = 0;
        FWD_BLOCK1(4 * OB)
        FWD_BLOCK1(OB)
        for (; o0 < out; o0++) {
            REAL s = 0;
            for (int64_t i = 0; i < in1; i++)
                s += h[i] * W[i * out + o0];
            z[o0] = s;
        }
    }
}

/* Activation in place on the first w columns of b rows (stride ld). NaN propagates. */
static void SFX(activate)(int act, REAL *restrict Z, int64_t ld, int64_t b, int64_t w)
{
    for (int64_t t = 0; t < b; t++) {
        REAL *z = Z + t * ld;
        switch (act) {
        case ACT_RELU:
            for (int64_t o = 0; o < w; o++)
                z[o] = z[o] < 0 ? (REAL)0 : z[o];
            break;
        case ACT_LEAKY:
            for (int64_t o = 0; o < w; o++)
                z[o] = z[o] > 0 ? z[o] : z[o] * (REAL)0.01;
            break;
        case ACT_TANH:
            for (int64_t o = 0; o < w; o++)
                z[o] = TANH(z[o]);
            break;
        case ACT_SIGMOID:
            for (int64_t o = 0; o < w; o++)
                z[o] = (REAL)1 / ((REAL)1 + EXP(-z[o]));
            break;
        default:
            break;
        }
    }
}

/* Loss gradient of the mean minibatch loss into dZ (b, nout); returns the mean loss
 * (non-finite when the row diverges) or sets *err on a bad label. */
static REAL SFX(loss_grad)(int loss, const REAL *restrict Z, int64_t b, int64_t nout,
                           const int64_t *restrict lab, const REAL *restrict tgt,
                           REAL *restrict dZ, int *err)
{
    REAL total = 0;
    if (loss == LOSS_CE) {
        const REAL inv_b = (REAL)1 / (REAL)b;
        for (int64_t t = 0; t < b; t++) {
            const REAL *z = Z + t * nout;
            REAL *d = dZ + t * nout;
            const int64_t y = lab[t];
            if (y < 0 || y >= nout) {
                *err = ERR_LABEL;
                return 0;
            }
            REAL m = z[0];
            for (int64_t o = 1; o < nout; o++)
                m = (z[o] > m || z[o] != z[o]) ? z[o] : m;
            REAL s = 0;
            for (int64_t o = 0; o < nout; o++) {
                d[o] = EXP(z[o] - m);
                s += d[o];
            }
            total += (m + LOG(s)) - z[y];
            const REAL scale = inv_b / s;
            for (int64_t o = 0; o < nout; o++)
                d[o] *= scale;
            d[y] -= inv_b;
        }
        return total / (REAL)b;
    }
    const REAL scale = (REAL)2 / (REAL)(b * nout);
    for (int64_t j = 0; j < b * nout; j++) {
        const REAL diff = Z[j] - tgt[j];
        total += diff * diff;
        dZ[j] = diff * scale;
    }
    return total / (REAL)(b * nout);
}

/* dprev[t*ldp + i] = sum_{o < out} W[i*out + o] * dZ[t*out + o] for t < b, i < in.
 * WT is scratch of (out, in) for the transposed weights (large batches). */
static void SFX(input_grad)(const REAL *restrict W, int64_t in, int64_t out,
                            const REAL *restrict dZ, int64_t b, REAL *restrict dprev,
                            int64_t ldp, REAL *restrict WT)
{
    if (b >= 8) { /* transpose once, then the forward kernel (no horizontal sums) */
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < out; o++)
                WT[o * in + i] = W[i * out + o];
        SFX(forward)(dZ, out, b, out, WT, in, dprev, ldp, NULL);
        return;
    }
    for (int64_t t = 0; t < b; t++) {
        const REAL *d = dZ + t * out;
        REAL *dp = dprev + t * ldp;
        if (out % OB == 0) {
            int64_t i = 0;
            for (; i + 4 <= in; i += 4) {
                const REAL *w0 = W + i * out, *w1 = w0 + out, *w2 = w1 + out, *w3 = w2 + out;
                REAL a0[OB] = {0}, a1[OB] = {0}, a2[OB] = {0}, a3[OB] = {0};
                for (int64_t o0 = 0; o0 < out; o0 += OB)
                    for (int k = 0; k < OB; k++) {
                        a0[k] += w0[o0 + k] * d[o0 + k];
                        a1[k] += w1[o0 + k] * d[o0 + k];
                        a2[k] += w2[o0 + k] * d[o0 + k];
                        a3[k] += w3[o0 + k] * d[o0 + k];
                    }
                dp[i] = SFX(hsum)(a0);
                dp[i + 1] = SFX(hsum)(a1);
                dp[i + 2] = SFX(hsum)(a2);
                dp[i + 3] = SFX(hsum)(a3);
            }
            for (; i < in; i++) {
                REAL a0[OB] = {0};
                for (int64_t o0 = 0; o0 < out; o0 += OB)
                    for (int k = 0; k < OB; k++)
                        a0[k] += W[i * out + o0 + k] * d[o0 + k];
                dp[i] = SFX(hsum)(a0);
            }
        } else {
            for (int64_t i = 0; i < in; i++) {
                REAL s = 0;
                for (int64_t o = 0; o < out; o++)
                    s += W[i * out + o] * d[o];
                dp[i] = s;
            }
        }
    }
}

/* dprev *= act'(a) element-wise, a = H (the layer input, stride ldh). */
static void SFX(act_backward)(int act, const REAL *restrict H, int64_t ldh, int64_t b,
                              int64_t w, REAL *restrict dp, int64_t ldp)
{
    for (int64_t t = 0; t < b; t++) {
        const REAL *a = H + t * ldh;
        REAL *g = dp + t * ldp;
        switch (act) {
        case ACT_RELU:
            for (int64_t i = 0; i < w; i++)
                g[i] = a[i] > 0 ? g[i] : (REAL)0;
            break;
        case ACT_LEAKY:
            for (int64_t i = 0; i < w; i++)
                g[i] = a[i] > 0 ? g[i] : g[i] * (REAL)0.01;
            break;
        case ACT_TANH:
            for (int64_t i = 0; i < w; i++)
                g[i] = g[i] * ((REAL)1 - a[i] * a[i]);
            break;
        case ACT_SIGMOID:
            for (int64_t i = 0; i < w; i++)
                g[i] = g[i] * ((REAL)1 - a[i]) * a[i];
            break;
        default:
            break;
        }
    }
}

/* Apply gradient g (len values of weight row segment w) with SGD or (Nesterov) momentum. */
static inline void SFX(apply)(REAL *restrict w, REAL *restrict bf, const REAL *restrict g,
                              int64_t len, int opt, REAL lr, REAL mom)
{
    if (opt == OPT_SGD) {
        for (int64_t k = 0; k < len; k++)
            w[k] -= lr * g[k];
    } else if (opt == OPT_MOMENTUM) {
        for (int64_t k = 0; k < len; k++) {
            bf[k] = mom * bf[k] + g[k];
            w[k] -= lr * bf[k];
        }
    } else {
        for (int64_t k = 0; k < len; k++) {
            bf[k] = mom * bf[k] + g[k];
            w[k] -= lr * (g[k] + mom * bf[k]);
        }
    }
}

/* G = H^T dZ ((in1, out): H is (b, in1) with stride ldh); W -= lr * G (or momentum). */
static void SFX(update)(const REAL *restrict H, int64_t ldh, int64_t b, int64_t in1,
                        const REAL *restrict dZ, int64_t out, REAL *restrict W,
                        REAL *restrict buf, int opt, REAL lr, REAL mom)
{
    if (b == 1 && opt == OPT_SGD) { /* an outer product: stream W once */
        for (int64_t i = 0; i < in1; i++) {
            const REAL c = lr * H[i];
            REAL *w = W + i * out;
            for (int64_t o = 0; o < out; o++)
                w[o] -= c * dZ[o];
        }
        return;
    }
    const int64_t ofull = out - out % OB;
    int64_t i = 0;
    for (; i + 4 <= in1; i += 4) {
        int64_t o0 = 0;
        UPD_BLOCK4(2 * OB)
        UPD_BLOCK4(OB)
    }
    for (; i < in1; i++) { /* leftover input rows: one row, two accumulators */
        for (int64_t o0 = 0; o0 < ofull; o0 += OB) {
            REAL g0[OB] = {0}, g1[OB] = {0};
            int64_t t = 0;
            for (; t + 2 <= b; t += 2) {
                const REAL h0 = H[t * ldh + i], h1 = H[(t + 1) * ldh + i];
                const REAL *d = dZ + t * out + o0;
                for (int k = 0; k < OB; k++) {
                    g0[k] += h0 * d[k];
                    g1[k] += h1 * d[k + out];
                }
            }
            if (t < b)
                for (int k = 0; k < OB; k++)
                    g0[k] += H[t * ldh + i] * dZ[t * out + o0 + k];
            for (int k = 0; k < OB; k++)
                g0[k] += g1[k];
            SFX(apply)(W + i * out + o0, buf ? buf + i * out + o0 : NULL, g0, OB, opt, lr, mom);
        }
    }
    for (int64_t o = ofull; o < out; o++) { /* narrow columns: vectorise over inputs */
        int64_t i0 = 0;
        for (; i0 + OB <= in1; i0 += OB) {
            REAL g0[OB] = {0}, g1[OB] = {0};
            int64_t t = 0;
            for (; t + 2 <= b; t += 2) {
                const REAL d0 = dZ[t * out + o], d1 = dZ[(t + 1) * out + o];
                const REAL *h = H + t * ldh + i0;
                for (int k = 0; k < OB; k++) {
                    g0[k] += h[k] * d0;
                    g1[k] += h[k + ldh] * d1;
                }
            }
            if (t < b)
                for (int k = 0; k < OB; k++)
                    g0[k] += H[t * ldh + i0 + k] * dZ[t * out + o];
            for (int k = 0; k < OB; k++) {
                const REAL g = g0[k] + g1[k];
                SFX(apply)(W + (i0 + k) * out + o, buf ? buf + (i0 + k) * out + o : NULL, &g,
                           1, opt, lr, mom);
            }
        }
        for (; i0 < in1; i0++) {
            REAL g = 0;
            for (int64_t t = 0; t < b; t++)
                g += H[t * ldh + i0] * dZ[t * out + o];
            SFX(apply)(W + i0 * out + o, buf ? buf + i0 * out + o : NULL, &g, 1, opt, lr, mom);
        }
    }
}

/* One row through every step of the epoch; returns the diverging step, -1, or an error
 * code below -1. */
static int64_t SFX(train_row)(int64_t n, int64_t bs, int64_t L, const int64_t *dims,
                              const REAL *x, const int64_t *lab, const REAL *tgt,
                              REAL **W, REAL **B, int act, int loss, int opt, REAL lr,
                              REAL mom, REAL **hbuf, REAL *zout, REAL *d0, REAL *d1, REAL *wt)
{
    const int64_t ldx = dims[0] + 1, nout = dims[L];
    for (int64_t start = 0, step = 0; start < n; start += bs, step++) {
        const int64_t b = n - start < bs ? n - start : bs;
        const REAL *h = x + start * ldx;
        int64_t ldh = ldx;
        for (int64_t l = 0; l + 1 < L; l++) { /* hidden layers into hbuf[l] (ones column) */
            SFX(forward)(h, ldh, b, dims[l] + 1, W[l], dims[l + 1], hbuf[l], dims[l + 1] + 1, wt);
            SFX(activate)(act, hbuf[l], dims[l + 1] + 1, b, dims[l + 1]);
            h = hbuf[l];
            ldh = dims[l + 1] + 1;
        }
        SFX(forward)(h, ldh, b, dims[L - 1] + 1, W[L - 1], nout, zout, nout, wt);
        int err = 0;
        const REAL value = SFX(loss_grad)(loss, zout, b, nout, lab ? lab + start : NULL,
                                          tgt ? tgt + start * nout : NULL, d0, &err);
        if (err)
            return err;
        if (!isfinite(value))
            return step;
        REAL *dz = d0, *dn = d1;
        for (int64_t l = L - 1; l >= 0; l--) {
            const REAL *hin = l > 0 ? hbuf[l - 1] : x + start * ldx;
            const int64_t ldin = dims[l] + 1;
            if (l > 0) { /* from the old weights, before this layer's update */
                SFX(input_grad)(W[l], dims[l], dims[l + 1], dz, b, dn, dims[l], wt);
                SFX(act_backward)(act, hin, ldin, b, dims[l], dn, dims[l]);
            }
            SFX(update)(hin, ldin, b, dims[l] + 1, dz, dims[l + 1], W[l], B ? B[l] : NULL, opt,
                        lr, mom);
            REAL *tmp = dz;
            dz = dn;
            dn = tmp;
        }
    }
    return -1;
}

int SFX(atomcheck_train_epoch)(int64_t rows, int64_t n, int64_t bs, int64_t L,
                               const int64_t *dims, const REAL *x, const int64_t *labels,
                               const REAL *targets, REAL *const *weights, REAL *const *bufs,
                               const int32_t *act, const int32_t *loss, const int32_t *opt,
                               const double *lr, const double *mom, int64_t *diverged)
{
    if (rows < 0 || n < 1 || bs < 1 || L < 1 || L > MLPK_MAX_LAYERS || !dims || !x ||
        !weights || !act || !loss || !opt || !lr || !mom || !diverged)
        return ERR_ARGS;
    if (bs > n)
        bs = n;
    int64_t maxw = 1, hsize = 0;
    for (int64_t l = 0; l <= L; l++) {
        if (dims[l] < 1)
            return ERR_ARGS;
        maxw = dims[l] > maxw ? dims[l] : maxw;
        if (l >= 1 && l < L)
            hsize += bs * (dims[l] + 1);
    }
    for (int64_t r = 0; r < rows; r++) {
        if (act[r] < ACT_IDENTITY || act[r] > ACT_SIGMOID || opt[r] < OPT_SGD ||
            opt[r] > OPT_NESTEROV || (opt[r] != OPT_SGD && !bufs) ||
            (loss[r] == LOSS_CE && !labels) || (loss[r] == LOSS_MSE && !targets) ||
            (loss[r] != LOSS_CE && loss[r] != LOSS_MSE))
            return ERR_ARGS;
    }
    REAL *scratch = malloc(sizeof(REAL) * (size_t)(hsize + bs * dims[L] + 2 * bs * maxw + maxw * maxw + 1));
    if (!scratch)
        return ERR_NOMEM;
    REAL *hbuf[MLPK_MAX_LAYERS], *p = scratch;
    for (int64_t l = 1; l < L; l++) {
        hbuf[l - 1] = p;
        for (int64_t j = 0; j < bs * (dims[l] + 1); j++)
            p[j] = (REAL)1; /* the last column stays 1: the bias input */
        p += bs * (dims[l] + 1);
    }
    REAL *zout = p, *d0 = p + bs * dims[L], *d1 = d0 + bs * maxw, *wt = d1 + bs * maxw;
    int rc = 0;
    for (int64_t r = 0; r < rows; r++) {
        REAL *W[MLPK_MAX_LAYERS], *B[MLPK_MAX_LAYERS];
        for (int64_t l = 0; l < L; l++) {
            const int64_t size = (dims[l] + 1) * dims[l + 1];
            W[l] = weights[l] + r * size;
            B[l] = bufs ? bufs[l] + r * size : NULL;
        }
        const int64_t res = SFX(train_row)(
            n, bs, L, dims, x + r * n * (dims[0] + 1), labels ? labels + r * n : NULL,
            targets ? targets + r * n * dims[L] : NULL, W, bufs ? B : NULL, act[r], loss[r],
            opt[r], (REAL)lr[r], (REAL)mom[r], hbuf, zout, d0, d1, wt);
        if (res < -1) {
            rc = (int)res;
            break;
        }
        diverged[r] = res;
    }
    free(scratch);
    return rc;
}

#endif /* MLPK_BODY */
