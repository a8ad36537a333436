/*
 * model.cu: m3's estimator on the GPU as one object (config, parameters on
 * the device, activations and input buffers allocated once at create), the
 * CUDA twin of native/model.c's inference path. The forward mirrors
 * m4_model_forward with train = 0 op by op:
 *
 *   feature rows -> [norm] -> empty buckets := const_tensor      (load_rows)
 *   rows 1..H-1 -> Linear(feat_dim, dim) + bias                   (gemm)
 *     -> n_layers x [h = x + Wo attn(rope(Wq n(x)), rope(Wk n(x)), Wv n(x));
 *                    x = h + W2 (silu(W1 n(h)) * W3 n(h))]        (n = RMSNorm)
 *     -> RMSNorm -> Linear(dim, dim) -> mean over rows = context
 *   [row 0, context] -> Linear+ReLU -> Linear+ReLU -> Linear -> + 1
 *
 * Wq, Wk, Wv are adjacent in the flat parameter layout, so one GEMM computes
 * q, k, v side by side; W1 and W3 are not, so set_params copies them into one
 * (2*hidden, dim) matrix and one GEMM computes both halves of SwiGLU's input.
 * Every output element is still its own fp32 dot product, as on the CPU.
 */
#include "m4cuda.h"
#include "m4cuda_internal.cuh"
#include "model_layout.h" /* native/: the config check and tensor layout model.c uses */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct m4cuda_model {
    m4_model_config c;
    int dev, max_batch, max_rows, hd, sms;
    size_t n_params;
    int n_tensors;
    m4i_tensor_def *tensors;
    m4i_tensor_index ti;

    /* device */
    float *params; /* n_params, m4_model_params' layout */
    float *w13;    /* n_layers x (2*hidden, dim): [W1; W3] */
    float *norm;   /* feat_dim shifts then feat_dim scales */
    int has_norm;
    float *rope; /* cos then sin tables, (max_seq, hd/2) each */
    float *xin, *mlpin, *x, *h, *xn, *qkv, *ao, *a13, *g, *y, *h1, *h2, *out;
    float *feat;
    uint8_t *empty;
    int *idx; /* tstart (batch+1) then the destination of each input row */
    unsigned long long *bad;

    /* host */
    int *h_idx;
    float *h_out;
    unsigned long long h_bad;
    cudaStream_t st;
    cudaEvent_t ev[4];
    float last_total, last_kernels;
    int has_times;
    char kernel[320];
    char err[256];
};

const char *m4cuda_version(void) { return M4CUDA_VERSION_STRING; }

/* ------------------------------------------------------------------------ */
/* errors                                                                   */
/* ------------------------------------------------------------------------ */

static int status_of(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return M4CUDA_OK;
    case cudaErrorMemoryAllocation:
        return M4CUDA_ERR_NO_MEMORY;
    case cudaErrorInsufficientDriver:
    case cudaErrorStubLibrary:
    case cudaErrorInitializationError:
    case cudaErrorSystemDriverMismatch:
        return M4CUDA_ERR_NO_DRIVER;
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
        return M4CUDA_ERR_NO_DEVICE;
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorInvalidDeviceFunction:
        return M4CUDA_ERR_UNSUPPORTED;
    default:
        return M4CUDA_ERR_CUDA;
    }
}

__attribute__((format(printf, 3, 4))) static void put_err(char *err, size_t len, const char *fmt,
                                                          ...) {
    if (!err || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* cuda_err writes "what: cudaErrorX (text)" into err and returns its status. */
static int cuda_err(char *err, size_t len, cudaError_t e, const char *what) {
    put_err(err, len, "%s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
    return status_of(e);
}

__attribute__((format(printf, 3, 4))) static int fail(m4cuda_model *m, int st, const char *fmt,
                                                      ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return st;
}

#define CK(m, call)                                                                    \
    do {                                                                               \
        cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) return cuda_err((m)->err, sizeof (m)->err, e_, #call);  \
    } while (0)

/* ------------------------------------------------------------------------ */
/* devices                                                                  */
/* ------------------------------------------------------------------------ */

int m4cuda_device_count(int32_t *n, char *err, size_t err_len) {
    if (!n) return M4CUDA_ERR_INVALID_ARGUMENT;
    *n = 0;
    int c = 0;
    cudaError_t e = cudaGetDeviceCount(&c);
    if (e != cudaSuccess) return cuda_err(err, err_len, e, "cudaGetDeviceCount");
    if (c < 1) {
        put_err(err, err_len, "the CUDA driver reports no device");
        return M4CUDA_ERR_NO_DEVICE;
    }
    *n = c;
    return M4CUDA_OK;
}

int m4cuda_device_info(int32_t dev, m4cuda_device *info, char *err, size_t err_len) {
    if (!info) return M4CUDA_ERR_INVALID_ARGUMENT;
    memset(info, 0, sizeof *info);
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess) return cuda_err(err, err_len, e, "cudaGetDeviceProperties");
    snprintf(info->name, sizeof info->name, "%s", p.name);
    info->cc_major = p.major;
    info->cc_minor = p.minor;
    info->sm_count = p.multiProcessorCount;
    int v = 0;
    if (cudaDriverGetVersion(&v) == cudaSuccess) info->driver_version = v;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) info->runtime_version = v;
    if ((e = cudaSetDevice(dev)) != cudaSuccess) return cuda_err(err, err_len, e, "cudaSetDevice");
    size_t fr = 0, tot = 0;
    if ((e = cudaMemGetInfo(&fr, &tot)) != cudaSuccess) return cuda_err(err, err_len, e, "cudaMemGetInfo");
    info->total_bytes = tot;
    info->free_bytes = fr;
    return M4CUDA_OK;
}

/* ------------------------------------------------------------------------ */
/* tensor table: model_layout.h's, the one native/model.c uses              */
/* ------------------------------------------------------------------------ */

static int build_tensors(m4cuda_model *m) {
    int n = m4i_num_tensors(&m->c);
    m->tensors = (m4i_tensor_def *)calloc((size_t)n, sizeof(m4i_tensor_def));
    if (!m->tensors) return 0;
    m->n_params = m4i_layout(&m->c, m->tensors, &m->ti);
    m->n_tensors = n;
    return 1;
}

static float *P(const m4cuda_model *m, int t) { return m->params + m->tensors[t].offset; }
static int LT(const m4cuda_model *m, int l, int j) { return m->ti.layer0 + l * L_COUNT + j; }

size_t m4cuda_model_num_params(const m4cuda_model *m) { return m ? m->n_params : 0; }
int32_t m4cuda_model_num_tensors(const m4cuda_model *m) { return m ? m->n_tensors : 0; }

int m4cuda_model_tensor(const m4cuda_model *m, int32_t i, char *name, size_t name_len,
                        size_t *offset, size_t *size) {
    if (!m || i < 0 || i >= m->n_tensors) return M4CUDA_ERR_INVALID_ARGUMENT;
    if (name && name_len > 0) snprintf(name, name_len, "%s", m->tensors[i].name);
    if (offset) *offset = m->tensors[i].offset;
    if (size) *size = m->tensors[i].size;
    return M4CUDA_OK;
}

const char *m4cuda_model_error(const m4cuda_model *m) { return m ? m->err : ""; }
const char *m4cuda_model_kernel(const m4cuda_model *m) { return m ? m->kernel : ""; }

/* ------------------------------------------------------------------------ */
/* create / destroy                                                         */
/* ------------------------------------------------------------------------ */

void m4cuda_model_destroy(m4cuda_model *m) {
    if (!m) return;
    cudaSetDevice(m->dev);
    void *dev_bufs[] = {m->params, m->w13, m->norm, m->rope, m->xin, m->mlpin, m->x,
                        m->h,      m->xn,  m->qkv,  m->ao,   m->a13, m->g,     m->y,
                        m->h1,     m->h2,  m->out,  m->feat, m->empty, m->idx, m->bad};
    for (size_t i = 0; i < sizeof dev_bufs / sizeof dev_bufs[0]; i++)
        if (dev_bufs[i]) cudaFree(dev_bufs[i]);
    for (int i = 0; i < 4; i++)
        if (m->ev[i]) cudaEventDestroy(m->ev[i]);
    if (m->st) cudaStreamDestroy(m->st);
    free(m->tensors);
    free(m->h_idx);
    free(m->h_out);
    free(m);
}

static int dalloc(m4cuda_model *m, void **p, size_t bytes, const char *what) {
    cudaError_t e = cudaMalloc(p, bytes > 0 ? bytes : 4);
    if (e != cudaSuccess) {
        *p = NULL;
        cudaGetLastError(); /* clear the non-sticky allocation error */
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        put_err(m->err, sizeof m->err, "out of GPU memory allocating %s (%.1f MB; %.1f of %.1f MB free): %s", what,
                bytes / 1e6, fr / 1e6, tot / 1e6, cudaGetErrorName(e));
        return status_of(e);
    }
    return M4CUDA_OK;
}

static int setup(m4cuda_model *m) {
    const m4_model_config *c = &m->c;
    size_t R = (size_t)m->max_rows, B = (size_t)m->max_batch, D = (size_t)c->dim;
    size_t Hd = (size_t)c->hidden_dim, F = (size_t)c->feat_dim, S = (size_t)c->max_seq;
    size_t in_rows = R + B, L = (size_t)c->n_layers;
    cudaDeviceProp p;
    CK(m, cudaSetDevice(m->dev));
    CK(m, cudaGetDeviceProperties(&p, m->dev));
    m->sms = p.multiProcessorCount;
    size_t smem = m4c_attention_smem(c->max_seq, m->hd);
    if (smem > p.sharedMemPerBlockOptin)
        return fail(m, M4CUDA_ERR_UNSUPPORTED,
                    "attention over %d positions of head size %d needs %zu bytes of shared memory; %s has %zu",
                    c->max_seq, m->hd, smem, p.name, (size_t)p.sharedMemPerBlockOptin);
    snprintf(m->kernel, sizeof m->kernel, "cuda-fp32 sgemm (%s, sm_%d%d)", p.name, p.major, p.minor);
    CK(m, cudaStreamCreateWithFlags(&m->st, cudaStreamNonBlocking));
    for (int i = 0; i < 4; i++) CK(m, cudaEventCreate(&m->ev[i]));

    struct {
        void **p;
        size_t bytes;
        const char *what;
    } plan[] = {
        {(void **)&m->params, sizeof(float) * m->n_params, "the parameters"},
        {(void **)&m->w13, sizeof(float) * (L ? L : 1) * 2 * Hd * D, "W1|W3"},
        {(void **)&m->norm, sizeof(float) * 2 * F, "the input normalisation"},
        {(void **)&m->rope, sizeof(float) * S * (size_t)m->hd, "the RoPE tables"},
        {(void **)&m->xin, sizeof(float) * R * F, "the transformer's input rows"},
        {(void **)&m->mlpin, sizeof(float) * B * (F + D), "the MLP's input rows"},
        {(void **)&m->x, sizeof(float) * R * D, "activations x"},
        {(void **)&m->h, sizeof(float) * R * D, "activations h"},
        {(void **)&m->xn, sizeof(float) * R * D, "activations n(x)"},
        {(void **)&m->qkv, sizeof(float) * R * 3 * D, "activations q|k|v"},
        {(void **)&m->ao, sizeof(float) * R * D, "attention outputs"},
        {(void **)&m->a13, sizeof(float) * R * 2 * Hd, "SwiGLU inputs"},
        {(void **)&m->g, sizeof(float) * R * Hd, "SwiGLU outputs"},
        {(void **)&m->y, sizeof(float) * R * D, "transformer outputs"},
        {(void **)&m->h1, sizeof(float) * B * (size_t)c->mlp_hidden1, "MLP hidden 1"},
        {(void **)&m->h2, sizeof(float) * B * (size_t)c->mlp_hidden2, "MLP hidden 2"},
        {(void **)&m->out, sizeof(float) * B * (size_t)c->out_dim, "outputs"},
        {(void **)&m->feat, sizeof(float) * in_rows * F, "the input features"},
        {(void **)&m->empty, in_rows * (size_t)(c->n_buckets_in ? c->n_buckets_in : 1), "the empty-bucket flags"},
        {(void **)&m->idx, sizeof(int) * (B + 1 + in_rows), "the row index"},
        {(void **)&m->bad, sizeof(unsigned long long), "the input check"},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        int st = dalloc(m, plan[i].p, plan[i].bytes, plan[i].what);
        if (st != M4CUDA_OK) return st;
    }
    m->h_idx = (int *)malloc(sizeof(int) * (B + 1 + in_rows));
    m->h_out = (float *)malloc(sizeof(float) * B * (size_t)c->out_dim);
    float *rt = (float *)malloc(sizeof(float) * S * (size_t)m->hd);
    if (!m->h_idx || !m->h_out || !rt) {
        free(rt);
        return fail(m, M4CUDA_ERR_NO_MEMORY, "out of host memory");
    }
    size_t half = (size_t)m->hd / 2;
    m4i_rope_tables(rt, rt + S * half, c->max_seq, m->hd, c->rope_theta);
    cudaError_t e = cudaMemcpy(m->rope, rt, sizeof(float) * S * (size_t)m->hd, cudaMemcpyHostToDevice);
    free(rt);
    if (e != cudaSuccess) return cuda_err(m->err, sizeof m->err, e, "cudaMemcpy (RoPE tables)");
    CK(m, cudaMemset(m->params, 0, sizeof(float) * m->n_params));
    CK(m, cudaMemset(m->w13, 0, sizeof(float) * (L ? L : 1) * 2 * Hd * D));
    if (smem > 48 * 1024) CK(m, m4c_attention_prepare(smem));
    /* run one kernel now, so that a build without code for this device fails
     * here (M4CUDA_ERR_UNSUPPORTED) rather than at the first forward */
    CK(m, cudaMemset(m->x, 0, sizeof(float) * D));
    CK(m, m4c_rmsnorm(m->st, m->xn, m->x, P(m, m->ti.norm_w), 1, c->dim, c->norm_eps));
    CK(m, cudaStreamSynchronize(m->st));
    return M4CUDA_OK;
}

int m4cuda_model_create(m4cuda_model **out, const m4_model_config *cfg, int32_t dev,
                        int32_t max_batch, int32_t max_rows, char *err, size_t err_len) {
    if (!out || !cfg) return M4CUDA_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!m4i_config_ok(cfg)) {
        put_err(err, err_len, "invalid model config");
        return M4CUDA_ERR_INVALID_ARGUMENT;
    }
    if (max_batch < 1 || max_batch > 65535 || max_rows < 0) {
        put_err(err, err_len, "batch of at most %d scenarios, %d rows: want 1..65535 scenarios", (int)max_batch,
                (int)max_rows);
        return M4CUDA_ERR_INVALID_ARGUMENT;
    }
    if (max_rows == 0) {
        long r = (long)max_batch * cfg->max_seq;
        max_rows = r > (1L << 30) ? -1 : (int32_t)r;
    }
    if (max_rows < max_batch || (long)max_rows * (cfg->hidden_dim + cfg->feat_dim) > (1L << 31)) {
        put_err(err, err_len, "%d transformer rows for %d scenarios: out of range", (int)max_rows, (int)max_batch);
        return M4CUDA_ERR_INVALID_ARGUMENT;
    }
    m4cuda_model *m = (m4cuda_model *)calloc(1, sizeof(*m));
    if (!m) return M4CUDA_ERR_NO_MEMORY;
    m->c = *cfg;
    m->dev = dev;
    m->max_batch = max_batch;
    m->max_rows = max_rows;
    m->hd = cfg->dim / cfg->n_heads;
    int st = build_tensors(m) ? setup(m) : fail(m, M4CUDA_ERR_NO_MEMORY, "out of host memory");
    if (st != M4CUDA_OK) {
        put_err(err, err_len, "%s", m->err);
        m4cuda_model_destroy(m);
        return st;
    }
    m->err[0] = 0;
    *out = m;
    return M4CUDA_OK;
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */
/* ------------------------------------------------------------------------ */

int m4cuda_model_set_params(m4cuda_model *m, const float *src, size_t n) {
    if (!m || !src || n != m->n_params) return M4CUDA_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(src[i])) {
            int t = 0;
            while (t + 1 < m->n_tensors && m->tensors[t + 1].offset <= i) t++;
            return fail(m, M4CUDA_ERR_INVALID_INPUT, "parameters: tensor %s: element %zu is %s",
                        m->tensors[t].name, i - m->tensors[t].offset, isnan(src[i]) ? "NaN" : "Inf");
        }
    const m4_model_config *c = &m->c;
    CK(m, cudaSetDevice(m->dev));
    CK(m, cudaMemcpy(m->params, src, n * sizeof(float), cudaMemcpyHostToDevice));
    size_t hd = (size_t)c->hidden_dim * (size_t)c->dim;
    for (int l = 0; l < c->n_layers; l++) {
        float *dst = m->w13 + (size_t)l * 2 * hd;
        CK(m, cudaMemcpy(dst, P(m, LT(m, l, L_W1)), hd * sizeof(float), cudaMemcpyDeviceToDevice));
        CK(m, cudaMemcpy(dst + hd, P(m, LT(m, l, L_W3)), hd * sizeof(float), cudaMemcpyDeviceToDevice));
    }
    CK(m, cudaDeviceSynchronize());
    m->has_times = 0;
    return M4CUDA_OK;
}

int m4cuda_model_set_input_norm(m4cuda_model *m, const float *shift, const float *scale) {
    if (!m || (!shift) != (!scale)) return M4CUDA_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    if (!shift) {
        m->has_norm = 0;
        return M4CUDA_OK;
    }
    int F = m->c.feat_dim;
    for (int j = 0; j < F; j++)
        if (!isfinite(shift[j]) || !isfinite(scale[j]) || !(scale[j] != 0.0f))
            return fail(m, M4CUDA_ERR_INVALID_INPUT,
                        "input normalisation: column %d: shift %g, scale %g (want finite, scale != 0)", j,
                        (double)shift[j], (double)scale[j]);
    CK(m, cudaSetDevice(m->dev));
    CK(m, cudaMemcpy(m->norm, shift, sizeof(float) * (size_t)F, cudaMemcpyHostToDevice));
    CK(m, cudaMemcpy(m->norm + F, scale, sizeof(float) * (size_t)F, cudaMemcpyHostToDevice));
    m->has_norm = 1;
    return M4CUDA_OK;
}

/* ------------------------------------------------------------------------ */
/* forward                                                                  */
/* ------------------------------------------------------------------------ */

static cudaError_t gemm(const m4cuda_model *m, int M, int N, int K, const float *A, long lda,
                        const float *W, float *C, long ldc, const float *bias, const float *res,
                        int relu, float addc) {
    m4c_epi ep = {bias, res, ldc, relu, addc};
    return m4c_gemm(m->st, m->sms, M4C_TILE_AUTO, M, N, K, A, lda, W, K, C, ldc, ep);
}

/* the kernels of one forward, enqueued on m->st */
static int enqueue(m4cuda_model *m, int B, int R, int in_rows, const int *tstart, const int *dst,
                   const uint8_t *empty) {
    const m4_model_config *c = &m->c;
    int F = c->feat_dim, D = c->dim, Hd = c->hidden_dim, S = c->max_seq;
    const float *cos_t = m->rope, *sin_t = m->rope + (size_t)S * (m->hd / 2);
    CK(m, m4c_load_rows(m->st, m->xin, m->mlpin, F + D, m->feat, empty, dst, in_rows, F,
                        c->n_buckets_in, c->n_pct, m->has_norm ? m->norm : NULL,
                        m->has_norm ? m->norm + F : NULL, P(m, m->ti.cvec), m->bad));
    CK(m, gemm(m, R, D, F, m->xin, F, P(m, m->ti.emb_w), m->x, D, P(m, m->ti.emb_b), NULL, 0, 0.0f));
    for (int l = 0; l < c->n_layers; l++) {
        CK(m, m4c_rmsnorm(m->st, m->xn, m->x, P(m, LT(m, l, L_ATT_NORM)), R, D, c->norm_eps));
        /* Wq, Wk, Wv are one (3D, D) matrix in the flat layout */
        CK(m, gemm(m, R, 3 * D, D, m->xn, D, P(m, LT(m, l, L_WQ)), m->qkv, 3 * D, NULL, NULL, 0, 0.0f));
        CK(m, m4c_attention(m->st, m->ao, m->qkv, tstart, B, c->n_heads, m->hd, D, S, cos_t, sin_t));
        CK(m, gemm(m, R, D, D, m->ao, D, P(m, LT(m, l, L_WO)), m->h, D, NULL, m->x, 0, 0.0f));
        CK(m, m4c_rmsnorm(m->st, m->xn, m->h, P(m, LT(m, l, L_FFN_NORM)), R, D, c->norm_eps));
        CK(m, gemm(m, R, 2 * Hd, D, m->xn, D, m->w13 + (size_t)l * 2 * Hd * D, m->a13, 2 * Hd, NULL,
                   NULL, 0, 0.0f));
        CK(m, m4c_swiglu(m->st, m->g, m->a13, R, Hd));
        CK(m, gemm(m, R, D, Hd, m->g, Hd, P(m, LT(m, l, L_W2)), m->x, D, NULL, m->h, 0, 0.0f));
    }
    CK(m, m4c_rmsnorm(m->st, m->xn, m->x, P(m, m->ti.norm_w), R, D, c->norm_eps));
    CK(m, gemm(m, R, D, D, m->xn, D, P(m, m->ti.out_w), m->y, D, NULL, NULL, 0, 0.0f));
    CK(m, m4c_meanpool(m->st, m->mlpin + F, F + D, m->y, tstart, B, D));
    CK(m, gemm(m, B, c->mlp_hidden1, F + D, m->mlpin, F + D, P(m, m->ti.mlp_w[0]), m->h1,
               c->mlp_hidden1, P(m, m->ti.mlp_b[0]), NULL, 1, 0.0f));
    CK(m, gemm(m, B, c->mlp_hidden2, c->mlp_hidden1, m->h1, c->mlp_hidden1, P(m, m->ti.mlp_w[1]),
               m->h2, c->mlp_hidden2, P(m, m->ti.mlp_b[1]), NULL, 1, 0.0f));
    CK(m, gemm(m, B, c->out_dim, c->mlp_hidden2, m->h2, c->mlp_hidden2, P(m, m->ti.mlp_w[2]), m->out,
               c->out_dim, P(m, m->ti.mlp_b[2]), NULL, 0, 1.0f));
    return M4CUDA_OK;
}

int m4cuda_model_forward(m4cuda_model *m, int32_t batch, const int32_t *n_rows, const float *feat,
                         const uint8_t *empty, float *out) {
    if (!m || !n_rows || !feat || !out) return M4CUDA_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    m->has_times = 0;
    const m4_model_config *c = &m->c;
    if (batch < 1 || batch > m->max_batch)
        return fail(m, M4CUDA_ERR_INVALID_ARGUMENT, "batch of %d scenarios, at most %d", (int)batch,
                    m->max_batch);
    int F = c->feat_dim, S = c->max_seq, nb = c->n_buckets_in, O = c->out_dim;
    /* layout and validation, as m4_model_forward: tstart[b] = first
     * transformer row of scenario b; input row 0 of b goes to MLP row b
     * (encoded -b-1), input row t >= 1 to transformer row tstart[b]+t-1 */
    int *tstart = m->h_idx, *dst = m->h_idx + batch + 1;
    long R = 0, in_rows = 0;
    for (int b = 0; b < batch; b++) {
        if (n_rows[b] < 2 || n_rows[b] > S + 1)
            return fail(m, M4CUDA_ERR_INVALID_INPUT,
                        "scenario %d: %d feature rows (hosts); need 2 to max_seq+1 = %d", b,
                        (int)n_rows[b], S + 1);
        R += n_rows[b] - 1;
        in_rows += n_rows[b];
    }
    if (R > m->max_rows)
        return fail(m, M4CUDA_ERR_INVALID_ARGUMENT, "%ld transformer rows in the batch, at most %d", R,
                    m->max_rows);
    long r = 0, in = 0;
    for (int b = 0; b < batch; b++) {
        tstart[b] = (int)r;
        dst[in++] = -b - 1;
        for (int t = 1; t < n_rows[b]; t++) dst[in++] = (int)(r + t - 1);
        r += n_rows[b] - 1;
    }
    tstart[batch] = (int)R;

    CK(m, cudaSetDevice(m->dev));
    cudaStream_t st = m->st;
    CK(m, cudaEventRecord(m->ev[0], st));
    CK(m, cudaMemcpyAsync(m->idx, m->h_idx, sizeof(int) * (size_t)(batch + 1 + in_rows),
                          cudaMemcpyHostToDevice, st));
    CK(m, cudaMemcpyAsync(m->feat, feat, sizeof(float) * (size_t)in_rows * F, cudaMemcpyHostToDevice, st));
    if (empty && nb > 0)
        CK(m, cudaMemcpyAsync(m->empty, empty, (size_t)in_rows * nb, cudaMemcpyHostToDevice, st));
    CK(m, cudaMemsetAsync(m->bad, 0xff, sizeof(unsigned long long), st));
    CK(m, cudaEventRecord(m->ev[1], st));
    int s = enqueue(m, batch, (int)R, (int)in_rows, m->idx, m->idx + batch + 1,
                    empty && nb > 0 ? m->empty : NULL);
    if (s != M4CUDA_OK) {
        cudaStreamSynchronize(st);
        return s;
    }
    CK(m, cudaEventRecord(m->ev[2], st));
    CK(m, cudaMemcpyAsync(m->h_out, m->out, sizeof(float) * (size_t)batch * O, cudaMemcpyDeviceToHost, st));
    CK(m, cudaMemcpyAsync(&m->h_bad, m->bad, sizeof(unsigned long long), cudaMemcpyDeviceToHost, st));
    CK(m, cudaEventRecord(m->ev[3], st));
    CK(m, cudaStreamSynchronize(st));

    if (m->h_bad != ~0ULL) {
        long i = (long)m->h_bad, row = i / F, b = 0, acc = 0;
        while (b < batch && acc + n_rows[b] <= row) acc += n_rows[b++];
        return fail(m, M4CUDA_ERR_INVALID_INPUT, "scenario %ld: feature row %ld, column %ld is %s", b,
                    row - acc, i % F, isnan(feat[i]) ? "NaN" : "Inf");
    }
    memcpy(out, m->h_out, sizeof(float) * (size_t)batch * O);
    CK(m, cudaEventElapsedTime(&m->last_total, m->ev[0], m->ev[3]));
    CK(m, cudaEventElapsedTime(&m->last_kernels, m->ev[1], m->ev[2]));
    m->has_times = 1;
    return M4CUDA_OK;
}

int m4cuda_model_last_ms(const m4cuda_model *m, float *total, float *kernels) {
    if (!m || !total || !kernels || !m->has_times) return M4CUDA_ERR_INVALID_ARGUMENT;
    *total = m->last_total;
    *kernels = m->last_kernels;
    return M4CUDA_OK;
}

/* ------------------------------------------------------------------------ */
/* benchmark                                                                */
/* ------------------------------------------------------------------------ */

__global__ void fill_kernel(float *p, long n, uint32_t seed) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        uint32_t z = (uint32_t)i * 2654435761u ^ seed;
        z ^= z >> 15;
        z *= 2246822519u;
        z ^= z >> 13;
        p[i] = (float)(z >> 8) * (1.0f / 16777216.0f) - 0.5f;
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double m4cuda_bench_sgemm(int32_t dev, int32_t M, int32_t N, int32_t K, int32_t reps, char *err,
                          size_t err_len) {
    if (M < 1 || N < 1 || K < 1 || reps < 1 || reps > 10000) {
        put_err(err, err_len, "bench sgemm: bad sizes");
        return -1;
    }
    float *A = NULL, *Bm = NULL, *C = NULL, *ts = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    double gflops = -1;
    cudaError_t e;
    cudaDeviceProp p;
    const char *what = "cudaSetDevice";
    if ((e = cudaSetDevice(dev)) != cudaSuccess) goto done;
    what = "cudaGetDeviceProperties";
    if ((e = cudaGetDeviceProperties(&p, dev)) != cudaSuccess) goto done;
    what = "cudaMalloc";
    if ((e = cudaMalloc(&A, sizeof(float) * (size_t)M * K)) != cudaSuccess ||
        (e = cudaMalloc(&Bm, sizeof(float) * (size_t)N * K)) != cudaSuccess ||
        (e = cudaMalloc(&C, sizeof(float) * (size_t)M * N)) != cudaSuccess)
        goto done;
    fill_kernel<<<1024, 256>>>(A, (long)M * K, 1u);
    fill_kernel<<<1024, 256>>>(Bm, (long)N * K, 2u);
    what = "cudaEventCreate";
    if ((e = cudaEventCreate(&e0)) != cudaSuccess || (e = cudaEventCreate(&e1)) != cudaSuccess) goto done;
    ts = (float *)malloc(sizeof(float) * (size_t)reps);
    if (!ts) {
        put_err(err, err_len, "out of host memory");
        goto done;
    }
    {
        m4c_epi ep = {NULL, NULL, 0, 0, 0.0f};
        what = "sgemm";
        for (int i = 0; i < 2; i++)
            if ((e = m4c_gemm(0, p.multiProcessorCount, M4C_TILE_AUTO, M, N, K, A, K, Bm, K, C, N, ep)) != cudaSuccess)
                goto done;
        for (int i = 0; i < reps; i++) {
            cudaEventRecord(e0, 0);
            if ((e = m4c_gemm(0, p.multiProcessorCount, M4C_TILE_AUTO, M, N, K, A, K, Bm, K, C, N, ep)) != cudaSuccess)
                goto done;
            cudaEventRecord(e1, 0);
            if ((e = cudaEventSynchronize(e1)) != cudaSuccess) goto done;
            cudaEventElapsedTime(&ts[i], e0, e1);
        }
        qsort(ts, (size_t)reps, sizeof(float), cmp_float);
        gflops = 2.0 * M * N * (double)K / (ts[reps / 2] * 1e-3) / 1e9;
    }
done:
    if (gflops < 0 && e != cudaSuccess) cuda_err(err, err_len, e, what);
    free(ts);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    cudaFree(A);
    cudaFree(Bm);
    cudaFree(C);
    return gflops;
}
