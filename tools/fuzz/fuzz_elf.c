/* libFuzzer target (d): the ELF loader (jit/elf_load.c), which links the objects of the disk
 * cache without LLVM and must turn every damaged object into an error, never a crash or a leak.
 * The loaded code is never called (nor read): only the loader's own work is fuzzed.
 *
 * An input is a 3-byte header, the lengths of all objects but the last, and the objects:
 *
 *   byte 0     the number of objects: 1 + b % 3
 *   byte 1     the allocator: 0 the C library's (mem NULL); 1..16 a counting hook whose b-th
 *              allocation fails (only that one); 17..255 the hook, never failing
 *   byte 2     bits 0-1 the resolver: 0 the runtime table (jit/runtime_symbols.h) with real
 *                       addresses, 1 none (NULL), 2 the table's names at fake addresses far
 *                       (2^45) from everything (PC32/PLT32 go through stubs), 3 at fake low
 *                       addresses (0x1000 * (k + 1): R_X86_64_32 fits)
 *              bit 2    also ask for a name no object defines ("tjk_absent_0")
 *              bit 3    ask for the first name found twice (both must get the same address)
 *              bit 4    also ask for a NULL name (TJ_ERR_INVALID)
 *              bit 5    ask for nothing (n = 0, syms and addrs NULL)
 *              bits 6-7 the error buffer: 0 256 bytes, 1 none (NULL, 0), 2 1 byte, 3 12 bytes
 *   then       (objects - 1) little-endian uint16 lengths, then the objects back to back; the
 *              last takes the rest, a length past the end is cut to what is left.
 *
 * The symbols asked for are the first 8 distinct NUL-terminated identifiers "tjk_..." (letters,
 * digits and '_', at most 80 characters) found in the objects' bytes, as the cache's kernels are
 * named (tjk_<digest>_<i>; LLVM's local labels tjk_..._0.row... are not asked for), plus the
 * extras of byte 2. Each object is copied into a block of exactly its size, so ASan catches
 * a read past its end. Checked (abort otherwise), as jit/elf_load.h promises:
 *   - success: an image; a name asked for twice has one address; after tjJ_image_free every
 *     block of the hook is back (addresses are not required to be non-NULL or distinct: an
 *     absolute symbol may be 0, two names may alias, and the header promises neither);
 *   - failure: no image, every addrs[] NULL, the status TJ_ERR_JIT, TJ_ERR_NOMEM (only when the
 *     hook refused a block or mmap failed; a refused block always gives it) or TJ_ERR_INVALID
 *     (only with a NULL name), a NUL-terminated message within the buffer, nothing allocated.
 * LeakSanitizer (after each input in the fuzz build) catches blocks of the C library kept.
 *
 *   make fuzz FUZZ_TARGETS=elf                       (docs/RELIABILITY.md)
 *   build/tools/fuzz/fuzz-elf-replay FILE_OR_DIR...  replay inputs with the normal compiler (ctest)
 * Seeds in tests/fuzz/elf/: objects of a real disk cache (.tjo files of examples/logreg and of a
 * graph calling sin and fmod/fmodf, 1-3 objects each) and two objects clang made from C (GOT,
 * R_X86_64_64 in .data, .bss, a weak undefined symbol, .eh_frame; PIC and not), with several
 * headers. */
#include "elf_load.h"
#include "runtime_symbols.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_OBJS = 3, MAX_FOUND = 8, MAX_NAME = 80, MAX_SYMS = MAX_FOUND + 3, NFAIL = 16 };
#define NRUNTIME (sizeof tjJ_runtime_symbols / sizeof *tjJ_runtime_symbols)

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz-elf: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* ---- the counting allocator ------------------------------------------------------------------ */

typedef struct {
    unsigned calls, fail_at; /* fail_at: the 1-based call that fails; 0 none */
    bool refused;
    long live; /* blocks handed out and not freed */
} counter;

static void *count_malloc(void *user, size_t size)
{
    counter *c = user;
    if (++c->calls == c->fail_at) {
        c->refused = true;
        return NULL;
    }
    void *p = malloc(size);
    c->live += p != NULL;
    return p;
}

static void *count_realloc(void *user, void *ptr, size_t size)
{
    counter *c = user;
    if (++c->calls == c->fail_at) {
        c->refused = true;
        return NULL;
    }
    void *p = realloc(ptr, size);
    c->live += p && !ptr;
    return p;
}

static void count_free(void *user, void *ptr)
{
    counter *c = user;
    CHECK(ptr); /* tjC_mem_free never hands the hook NULL */
    c->live--;
    free(ptr);
}

/* ---- the resolver ---------------------------------------------------------------------------- */

static int resolver_mode; /* byte 2 bits 0-1; libFuzzer runs one input at a time */

static void *resolve(const char *name)
{
    for (size_t k = 0; k < NRUNTIME; k++) {
        if (strcmp(tjJ_runtime_symbols[k].name, name))
            continue;
        uintptr_t a = (uintptr_t)tjJ_runtime_symbols[k].addr;
        return resolver_mode == 2   ? (void *)(a ^ ((uintptr_t)1 << 45))
               : resolver_mode == 3 ? (void *)(uintptr_t)(0x1000 * (k + 1))
                                    : (void *)a;
    }
    return NULL;
}

/* ---- the names asked for --------------------------------------------------------------------- */

/* Adds the "tjk_" identifiers of obj to found[] (distinct, at most MAX_FOUND). */
static void find_names(const uint8_t *obj, size_t len, char found[][MAX_NAME + 1], int *nfound)
{
    for (size_t i = 0; i + 4 < len && *nfound < MAX_FOUND; i++) {
        if (memcmp(obj + i, "tjk_", 4) || (i > 0 && obj[i - 1] != '\0'))
            continue;
        const uint8_t *end = obj + i + 4;
        while (end < obj + len && (isalnum(*end) || *end == '_'))
            end++;
        if (end == obj + len || *end || (size_t)(end - (obj + i)) > MAX_NAME)
            continue; /* not an identifier: a local label (tjk_..._0.row.store.unit) */
        const char *s = (const char *)obj + i;
        bool dup = false;
        for (int k = 0; k < *nfound && !dup; k++)
            dup = !strcmp(found[k], s);
        if (!dup)
            memcpy(found[(*nfound)++], s, (size_t)(end - (obj + i)) + 1);
        i = (size_t)(end - obj);
    }
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int nobj = 1 + data[0] % MAX_OBJS;
    unsigned alloc = data[1], flags = data[2];
    data += 3;
    size -= 3;

    /* the objects, each in a block of its own size */
    size_t lens[MAX_OBJS];
    for (int k = 0; k < nobj - 1; k++) {
        lens[k] = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
        data += size >= 2 ? 2 : size;
        size -= size >= 2 ? 2 : size;
    }
    uint8_t *copies[MAX_OBJS] = {NULL};
    const void *objs[MAX_OBJS];
    for (int k = 0; k < nobj; k++) {
        size_t len = k == nobj - 1 || lens[k] > size ? size : lens[k];
        copies[k] = malloc(len ? len : 1);
        if (!copies[k])
            goto out;
        memcpy(copies[k], data, len);
        objs[k] = copies[k];
        lens[k] = len;
        data += len;
        size -= len;
    }

    /* the names asked for */
    char found[MAX_FOUND][MAX_NAME + 1];
    int nfound = 0;
    for (int k = 0; k < nobj; k++)
        find_names(copies[k], lens[k], found, &nfound);
    const char *syms[MAX_SYMS];
    int n = 0;
    for (int k = 0; k < nfound; k++)
        syms[n++] = found[k];
    if (flags & 4)
        syms[n++] = "tjk_absent_0";
    if ((flags & 8) && nfound)
        syms[n++] = found[0];
    if (flags & 16)
        syms[n++] = NULL;
    bool none = flags & 32;
    if (none)
        n = 0;
    void *addrs[MAX_SYMS];
    for (int i = 0; i < MAX_SYMS; i++)
        addrs[i] = (void *)&addrs[i]; /* the loader must overwrite each of the n */

    /* the allocator, the resolver, the error buffer */
    counter count = {.fail_at = alloc <= NFAIL ? alloc : 0};
    tj_allocator hook = {count_malloc, count_realloc, count_free, &count};
    resolver_mode = (int)(flags & 3);
    static const size_t errlens[4] = {256, 0, 1, 12};
    size_t errlen = errlens[flags >> 6];
    char *err = errlen ? malloc(errlen) : NULL; /* exactly errlen: ASan sees an overrun */
    if (errlen && !err)
        goto out;
    if (err)
        memset(err, 'x', errlen);

    tjJ_image *img = (tjJ_image *)&img; /* must be overwritten */
    tj_status st = tjJ_image_load(alloc ? &hook : NULL, objs, lens, nobj,
                                  resolver_mode == 1 ? NULL : resolve, none ? NULL : syms, n,
                                  none ? NULL : addrs, &img, err, errlen);
    if (st == TJ_OK) {
        CHECK(img && img != (tjJ_image *)&img);
        CHECK(!count.refused);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                CHECK(!syms[i] || !syms[j] || strcmp(syms[i], syms[j]) || addrs[i] == addrs[j]);
        tjJ_image_free(img);
    } else {
        CHECK(img == NULL);
        for (int i = 0; i < n; i++)
            CHECK(addrs[i] == NULL);
        CHECK(st == TJ_ERR_JIT || st == TJ_ERR_NOMEM || st == TJ_ERR_INVALID);
        CHECK(st != TJ_ERR_INVALID || (flags & 16));
        bool mmap_failed = err && errlen > 12 && !strncmp(err, "could not map", 13);
        CHECK(st != TJ_ERR_NOMEM || count.refused || mmap_failed || errlen <= 12);
        CHECK(!count.refused || st == TJ_ERR_NOMEM);
        if (errlen)
            CHECK(memchr(err, '\0', errlen) && (errlen == 1 || err[0] != '\0'));
    }
    CHECK(count.live == 0);
    free(err);
out:
    for (int k = 0; k < nobj; k++)
        free(copies[k]);
    return 0;
}
