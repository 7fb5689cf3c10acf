/* The identity of compiled code, computed without LLVM: SHA-256 and the host CPU's identity. */
#ifndef TJ_JIT_DIGEST_H
#define TJ_JIT_DIGEST_H

#include "../lib/internal.h"

#define TJJ_DIGEST_LEN 32

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
} tjJ_sha256;

TJ_HIDDEN void tjJ_sha256_init(tjJ_sha256 *s);
TJ_HIDDEN void tjJ_sha256_update(tjJ_sha256 *s, const void *data, size_t n);
TJ_HIDDEN void tjJ_sha256_final(tjJ_sha256 *s, uint8_t out[TJJ_DIGEST_LEN]);

/* The host CPU as LLVM sees it when it picks the CPU name and features to compile for: the
 * cpuid leaves and XCR0 bits its detection reads (not the per-core ones, such as APIC ids), as
 * text. Computed once per process. NULL on a host we cannot identify (then the disk cache is
 * off: its objects would not be known to fit this CPU). */
TJ_HIDDEN const char *tjJ_host_id(void);

#endif /* TJ_JIT_DIGEST_H */
