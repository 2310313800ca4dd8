/*
 * A fake libcuda.so with one "GPU" whose memory is host memory, for testing the
 * CUDA device's driver calls on machines without a GPU. Modules are the PTX
 * text; the only kernel it can run is `vadd` (out[i] = a[i] + b[i] over
 * float64 1-D arrays in the slot ABI), which it runs on the host from the
 * kernel parameters exactly as cuLaunchKernel receives them: one pointer per
 * 64-bit slot. Like the real driver, it refuses more than 48 KiB of dynamic
 * shared memory unless the function was opted in. A module whose text
 * mentions __hypersonic_status has a status word, and its vadd "raises"
 * exceptions[0] (status 1) when an element of `a` is NaN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
enum {
    OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_PTX = 218,
    INVALID_HANDLE = 400, NOT_FOUND = 500, LAUNCH_OUT_OF_RESOURCES = 701
};

static int the_context;
static struct { uint64_t base, size; } allocs[4096];
static int dynamic_optin;

CUresult cuInit(unsigned flags) { (void)flags; return OK; }
CUresult cuDriverGetVersion(int *v) { *v = 12040; return OK; }
CUresult cuGetErrorName(CUresult e, const char **s) {
    switch (e) {
    case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
    case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
    case INVALID_PTX: *s = "CUDA_ERROR_INVALID_PTX"; break;
    case INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; break;
    case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
    case LAUNCH_OUT_OF_RESOURCES: *s = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; break;
    default: *s = "CUDA_ERROR_UNKNOWN";
    }
    return OK;
}
CUresult cuGetErrorString(CUresult e, const char **s) {
    switch (e) {
    case INVALID_VALUE: *s = "invalid argument"; break;
    case OUT_OF_MEMORY: *s = "out of memory"; break;
    case INVALID_PTX: *s = "a PTX JIT compilation failed"; break;
    case INVALID_HANDLE: *s = "invalid resource handle"; break;
    case NOT_FOUND: *s = "named symbol not found"; break;
    default: *s = "unknown error";
    }
    return OK;
}
CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
CUresult cuDeviceGet(int *d, int ordinal) { *d = ordinal; return ordinal == 0 ? OK : INVALID_VALUE; }
CUresult cuDeviceGetName(char *name, int len, int dev) { (void)dev; strncpy(name, "Fake GPU", len); return OK; }
CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
    (void)dev;
    switch (attr) {
    case 1: case 2: case 3: *v = 1024; break;  /* threads per block, block x, y */
    case 4: *v = 64; break;
    case 5: *v = 2147483647; break;
    case 6: case 7: *v = 65535; break;
    case 8: *v = 49152; break;                  /* shared memory per block */
    case 10: *v = 32; break;                    /* warp size */
    case 16: *v = 108; break;                   /* multiprocessors */
    case 75: *v = 8; break;                     /* compute capability 8.0 */
    case 76: *v = 0; break;
    case 97: *v = 166912; break;                /* shared memory with opt-in */
    default: *v = 0;
    }
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = (size_t)40 << 30; return OK; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = &the_context; return OK; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &the_context ? OK : INVALID_VALUE; }
CUresult cuCtxSynchronize(void) { return OK; }

CUresult cuMemAlloc_v2(uint64_t *p, size_t n) {
    if (n == 0) return INVALID_VALUE;
    if (n > ((size_t)1 << 40)) return OUT_OF_MEMORY;
    void *m = aligned_alloc(256, (n + 255) / 256 * 256);
    if (!m) return OUT_OF_MEMORY;
    for (int i = 0; i < 4096; i++)
        if (allocs[i].base == 0) { allocs[i].base = (uint64_t)m; allocs[i].size = n; break; }
    *p = (uint64_t)m;
    return OK;
}
CUresult cuMemFree_v2(uint64_t p) {
    for (int i = 0; i < 4096; i++)
        if (allocs[i].base == p) { allocs[i].base = 0; free((void *)p); return OK; }
    return INVALID_VALUE;
}
CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t n, void *s) { (void)s; memcpy((void *)dst, src, n); return OK; }
CUresult cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t n, void *s) { (void)s; memcpy(dst, (void *)src, n); return OK; }
CUresult cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void *s) { (void)s; memmove((void *)dst, (void *)src, n); return OK; }
CUresult cuMemsetD8Async(uint64_t dst, unsigned char v, size_t n, void *s) { (void)s; memset((void *)dst, v, n); return OK; }
CUresult cuPointerGetAttribute(void *data, int attr, uint64_t p) {
    if (attr != 9) return INVALID_VALUE;        /* device ordinal */
    for (int i = 0; i < 4096; i++)
        if (allocs[i].base && p >= allocs[i].base && p < allocs[i].base + allocs[i].size) {
            *(int *)data = 0;
            return OK;
        }
    return INVALID_VALUE;
}

typedef struct { char *text; uint32_t status; } Module;

CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned n, int *opts, void **vals) {
    if (strstr(image, "bogus")) {
        char *log = 0; size_t size = 0;
        for (unsigned i = 0; i < n; i++) {
            if (opts[i] == 5) log = vals[i];
            if (opts[i] == 6) size = (size_t)vals[i];
        }
        if (log && size) strncpy(log, "ptxas application ptx input, line 4; error: Unknown instruction 'bogus'", size - 1);
        return INVALID_PTX;
    }
    Module *mod = calloc(1, sizeof(Module));
    mod->text = strdup(image);
    *m = mod;
    return OK;
}
CUresult cuModuleGetFunction(void **f, Module *m, const char *name) {
    if (strcmp(name, "vadd") == 0 && strstr(m->text, ".entry vadd")) { *f = m; return OK; }
    return NOT_FOUND;
}
CUresult cuModuleGetGlobal_v2(uint64_t *dptr, size_t *bytes, Module *m, const char *name) {
    if (strcmp(name, "__hypersonic_status") != 0 || !strstr(m->text, "__hypersonic_status"))
        return NOT_FOUND;
    *dptr = (uint64_t)&m->status;
    *bytes = 4;
    return OK;
}
CUresult cuModuleUnload(Module *m) { free(m->text); free(m); return OK; }
CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) { memcpy(dst, (void *)src, n); return OK; }
CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) { memcpy((void *)dst, src, n); return OK; }
CUresult cuFuncGetAttribute(int *v, int attr, void *f) {
    (void)f;
    switch (attr) {
    case 0: *v = 768; break;                    /* register-limited threads per block */
    case 4: *v = 80; break;                     /* registers */
    default: *v = 0;
    }
    return OK;
}
CUresult cuFuncSetAttribute(void *f, int attr, int v) {
    (void)f;
    if (attr == 8) dynamic_optin = v;
    return OK;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared, void *stream, void **params, void **extra) {
    (void)gy; (void)gz; (void)by; (void)bz; (void)stream; (void)extra;
    Module *m = f;
    if (!m || !strstr(m->text, ".entry vadd")) return INVALID_HANDLE;
    int has_status = strstr(m->text, "__hypersonic_status") != 0;
    if (shared > 49152 && (int)shared > dynamic_optin) return INVALID_VALUE;
    uint64_t s[9];
    for (int k = 0; k < 9; k++) s[k] = *(uint64_t *)params[k];
    int64_t n = (int64_t)s[7];
    for (int64_t i = 0; i < (int64_t)gx * bx && i < n; i++) {
        double a = *(double *)(s[0] + i * s[2]);
        if (has_status && a != a) {
            uint32_t zero = 0;
            __atomic_compare_exchange_n(&m->status, &zero, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            continue;
        }
        *(double *)(s[6] + i * s[8]) = a + *(double *)(s[3] + i * s[5]);
    }
    return OK;
}

CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = malloc(1); return OK; }
CUresult cuStreamDestroy_v2(void *s) { free(s); return OK; }
CUresult cuStreamSynchronize(void *s) { (void)s; return OK; }

typedef struct { int recorded; double t; } Event;
CUresult cuEventCreate(void **e, unsigned flags) { (void)flags; *e = calloc(1, sizeof(Event)); return OK; }
CUresult cuEventRecord(void *e, void *s) {
    (void)s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ((Event *)e)->recorded = 1;
    ((Event *)e)->t = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    return OK;
}
CUresult cuEventSynchronize(void *e) { (void)e; return OK; }
CUresult cuEventQuery(void *e) { (void)e; return OK; }
CUresult cuEventElapsedTime(float *ms, void *a, void *b) {
    if (!((Event *)a)->recorded || !((Event *)b)->recorded) return INVALID_HANDLE;
    *ms = (float)(((Event *)b)->t - ((Event *)a)->t);
    return OK;
}
CUresult cuEventDestroy_v2(void *e) { free(e); return OK; }
