/*
 * m4cuda.h: the C API of libm4cuda.so, m4's CUDA backend for the model.
 *
 * The library runs the forward pass of m3's estimator (native/m4.h, section
 * "model") on an NVIDIA GPU with m4's own kernels (fp32 storage, fp32
 * accumulation; no cuBLAS): the same parameters in the same flat layout as
 * m4_model_params, the same inputs and the same outputs as m4_model_forward
 * with training off. Training stays on the CPU.
 *
 * The ABI is flat so that any FFI can call it (Go's purego, Python's ctypes):
 * pointers, ints, floats and one plain struct (m4_model_config of m4.h).
 * Every entry point that can fail returns an m4cuda_status; objects come in
 * create/destroy pairs and are owned by the caller; there is no global state
 * beyond what the CUDA runtime itself keeps. A model object is not safe for
 * concurrent use. The CUDA runtime is linked statically: the library needs
 * only the NVIDIA driver (libcuda.so.1) at run time, and says so when it is
 * missing (M4CUDA_ERR_NO_DRIVER) instead of failing to load.
 */
#ifndef M4CUDA_H
#define M4CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "m4.h" /* m4_model_config */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define M4CUDA_API __attribute__((visibility("default")))
#else
#define M4CUDA_API
#endif

#define M4CUDA_VERSION_STRING "0.1.0"

/* Status codes: 1, 2, 3 and 7 mean what the m4_status of the same value
 * means; the others are the GPU's own. */
typedef enum {
    M4CUDA_OK = 0,
    M4CUDA_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad size or config value */
    M4CUDA_ERR_INVALID_INPUT = 2,    /* a NaN/Inf feature or a bad row count; see the error text */
    M4CUDA_ERR_NO_MEMORY = 3,        /* device or host memory exhausted */
    M4CUDA_ERR_UNSUPPORTED = 7,      /* the device cannot run this build or this config */
    M4CUDA_ERR_NO_DRIVER = 8,        /* no NVIDIA driver, or one too old for this build */
    M4CUDA_ERR_NO_DEVICE = 9,        /* a driver but no usable CUDA device */
    M4CUDA_ERR_CUDA = 10             /* any other CUDA error; the text names it */
} m4cuda_status;

/* m4cuda_version returns M4CUDA_VERSION_STRING as compiled into the library. */
M4CUDA_API const char *m4cuda_version(void);

/* One CUDA device as the runtime sees it. */
typedef struct {
    char name[256];
    int32_t cc_major, cc_minor; /* compute capability */
    int32_t sm_count;
    int32_t driver_version, runtime_version; /* e.g. 13000 for CUDA 13.0 */
    uint64_t total_bytes, free_bytes;
} m4cuda_device;

/* m4cuda_device_count stores the number of CUDA devices in *n. Without a
 * driver it returns M4CUDA_ERR_NO_DRIVER, without a device
 * M4CUDA_ERR_NO_DEVICE; err (may be NULL) gets the reason in words. */
M4CUDA_API int m4cuda_device_count(int32_t *n, char *err, size_t err_len);

/* m4cuda_device_info describes device dev (0-based). */
M4CUDA_API int m4cuda_device_info(int32_t dev, m4cuda_device *info, char *err, size_t err_len);

typedef struct m4cuda_model m4cuda_model;

/* m4cuda_model_create allocates a model of cfg on device dev for batches of
 * up to max_batch scenarios holding up to max_rows transformer rows in all
 * (0 means max_batch * max_seq), as m4_model_create does for inference. Its
 * parameters start at zero (load them with m4cuda_model_set_params). On
 * failure *out is NULL and err (may be NULL) says why. */
M4CUDA_API int m4cuda_model_create(m4cuda_model **out, const m4_model_config *cfg, int32_t dev,
                                   int32_t max_batch, int32_t max_rows, char *err, size_t err_len);
M4CUDA_API void m4cuda_model_destroy(m4cuda_model *m);

M4CUDA_API size_t m4cuda_model_num_params(const m4cuda_model *m);
M4CUDA_API int32_t m4cuda_model_num_tensors(const m4cuda_model *m);
/* m4cuda_model_tensor describes tensor i of the flat parameter layout (the
 * one m4_model_tensor gives): its name (copied into name, name_len bytes),
 * offset and size in floats. */
M4CUDA_API int m4cuda_model_tensor(const m4cuda_model *m, int32_t i, char *name, size_t name_len,
                                   size_t *offset, size_t *size);

/* m4cuda_model_set_params copies n = num_params floats (m4_model_params'
 * layout) to the device; NaN or Inf is M4CUDA_ERR_INVALID_INPUT naming the
 * tensor, as on the CPU. */
M4CUDA_API int m4cuda_model_set_params(m4cuda_model *m, const float *src, size_t n);

/* m4cuda_model_set_input_norm is m4_model_set_input_norm: x[j] = (x[j] -
 * shift[j]) * scale[j] on every feature row; NULL, NULL removes it. */
M4CUDA_API int m4cuda_model_set_input_norm(m4cuda_model *m, const float *shift, const float *scale);

/* m4cuda_model_forward is m4_model_forward with train = 0: n_rows[b] = H of
 * scenario b (2..max_seq+1), feat sum(n_rows) rows of feat_dim floats, empty
 * (may be NULL) sum(n_rows) x n_buckets_in flags, out batch x out_dim
 * estimates. On M4CUDA_ERR_INVALID_INPUT the error text names the scenario,
 * row and column as the CPU's does, and out is left untouched. */
M4CUDA_API int m4cuda_model_forward(m4cuda_model *m, int32_t batch, const int32_t *n_rows,
                                    const float *feat, const uint8_t *empty, float *out);

/* m4cuda_model_last_ms gives the device time of the last successful forward
 * in milliseconds (CUDA events): *total from the first copy to the device to
 * the last copy back, *kernels the kernels alone. */
M4CUDA_API int m4cuda_model_last_ms(const m4cuda_model *m, float *total, float *kernels);

/* m4cuda_model_error returns the text of the model's last error ("" if none). */
M4CUDA_API const char *m4cuda_model_error(const m4cuda_model *m);

/* m4cuda_model_kernel names the kernels in use and the device, e.g.
 * "cuda-fp32 sgemm (NVIDIA H100 80GB HBM3, sm_90)". */
M4CUDA_API const char *m4cuda_model_kernel(const m4cuda_model *m);

/* m4cuda_bench_sgemm times m4's GEMM kernel C (M,N) = A (M,K) @ B (N,K)^T on
 * device dev with random operands, median of reps launches, and returns
 * GFLOP/s (< 0 on error, with err set). */
M4CUDA_API double m4cuda_bench_sgemm(int32_t dev, int32_t M, int32_t N, int32_t K, int32_t reps,
                                     char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif /* M4CUDA_H */
