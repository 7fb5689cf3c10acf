/* The disk cache: compiled objects (and their IR texts) under $TJ_CACHE_DIR, one file per
 * digest, so a new process skips LLVM entirely (it does not even load it) for a graph it has
 * seen.
 *
 * A file is trusted only when everything checks: magic and format version, the digest of the
 * full key (kernels + LLVM version + host CPU + library and code generator version, module.c)
 * written inside equal to the one asked for, section sizes that add up to the file size, and
 * the SHA-256 checksum of the payload. Anything else (truncated, corrupted, foreign, another
 * version) is ignored and rebuilt. Files are written to a temporary name and renamed, so a
 * reader never sees a half-written file and concurrent writers of one digest both succeed. */
#include "objcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "TJOBJ\x01\r\n"
enum { FORMAT_VERSION = 2, MAX_GROUPS = 64 }; /* 2: SHA-256, objects kept as bytes */

typedef struct {
    char magic[8];
    uint32_t version, ngroups;
    uint8_t digest[TJJ_DIGEST_LEN];
    uint8_t checksum[TJJ_DIGEST_LEN]; /* of everything after the header */
} header;

static void hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < 16; i++) /* 128 bits name the file; the full digest is checked inside */
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool tjJ_cache_path(const char *dir, const uint8_t *digest, char *path, size_t len)
{
    if (!dir)
        return false;
    char h[33];
    hex(digest, h);
    return (size_t)snprintf(path, len, "%s/%s.tjo", dir, h) < len;
}

/* mkdir -p with private permissions; false when the directory cannot be made. */
static bool make_dirs(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return false;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST;
}

/* Section sizes per group: ir, ir_opt, object. */
static uint64_t section_size(const tjJ_artifacts *a, int g, int s)
{
    if (s == 0)
        return strlen(a->ir[g]);
    if (s == 1)
        return strlen(a->ir_opt[g]);
    return a->obj[g].len;
}

static const void *section_data(const tjJ_artifacts *a, int g, int s)
{
    return s == 0 ? (const void *)a->ir[g]
           : s == 1 ? (const void *)a->ir_opt[g]
                    : (const void *)a->obj[g].p;
}

void tjJ_cache_store(const char *path, const char *dir, const uint8_t *digest,
                     const tjJ_artifacts *a)
{
    if (!path || a->ngroups < 1 || a->ngroups > MAX_GROUPS || !make_dirs(dir))
        return;
    header h = {.version = FORMAT_VERSION, .ngroups = (uint32_t)a->ngroups};
    memcpy(h.magic, MAGIC, sizeof h.magic);
    memcpy(h.digest, digest, sizeof h.digest);
    tjJ_sha256 sum;
    tjJ_sha256_init(&sum);
    uint64_t sizes[MAX_GROUPS * 3];
    for (int g = 0; g < a->ngroups; g++)
        for (int s = 0; s < 3; s++)
            sizes[g * 3 + s] = section_size(a, g, s);
    tjJ_sha256_update(&sum, sizes, sizeof(uint64_t) * 3 * (size_t)a->ngroups);
    for (int g = 0; g < a->ngroups; g++)
        for (int s = 0; s < 3; s++)
            tjJ_sha256_update(&sum, section_data(a, g, s), sizes[g * 3 + s]);
    tjJ_sha256_final(&sum, h.checksum);

    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 &&
              fwrite(sizes, sizeof(uint64_t) * 3 * (size_t)a->ngroups, 1, f) == 1;
    for (int g = 0; ok && g < a->ngroups; g++)
        for (int s = 0; ok && s < 3; s++)
            ok = sizes[g * 3 + s] == 0 ||
                 fwrite(section_data(a, g, s), sizes[g * 3 + s], 1, f) == 1;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

static char *read_text(const tj_allocator *mem, const unsigned char *p, uint64_t n)
{
    char *s = tjC_mem_malloc(mem, n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

bool tjJ_cache_load(const tj_allocator *mem, const char *path, const uint8_t *digest,
                    tjJ_artifacts *out, bool *nomem)
{
    memset(out, 0, sizeof *out);
    *nomem = false;
    if (!path)
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char *buf = NULL;
    bool ok = false;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < (off_t)sizeof(header) ||
        st.st_size > (off_t)1 << 31)
        goto done;
    size_t n = (size_t)st.st_size;
    buf = tjC_mem_malloc(mem, n);
    *nomem = !buf;
    if (!buf || fread(buf, 1, n, f) != n)
        goto done;
    header h;
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof h.magic) != 0 || h.version != FORMAT_VERSION ||
        h.ngroups < 1 || h.ngroups > MAX_GROUPS ||
        memcmp(h.digest, digest, sizeof h.digest) != 0)
        goto done;
    size_t off = sizeof h, table = sizeof(uint64_t) * 3 * h.ngroups;
    if (n - off < table)
        goto done;
    uint64_t sizes[MAX_GROUPS * 3], total = 0;
    memcpy(sizes, buf + off, table);
    for (uint32_t i = 0; i < 3 * h.ngroups; i++) {
        if (sizes[i] > n)
            goto done;
        total += sizes[i];
    }
    if (total != n - off - table)
        goto done;
    uint8_t check[TJJ_DIGEST_LEN];
    tjJ_sha256 sum;
    tjJ_sha256_init(&sum);
    tjJ_sha256_update(&sum, buf + off, n - off);
    tjJ_sha256_final(&sum, check);
    if (memcmp(check, h.checksum, sizeof check) != 0)
        goto done;
    if (!tjJ_artifacts_alloc(mem, out, (int)h.ngroups)) {
        *nomem = true;
        goto done;
    }
    const unsigned char *p = buf + off + table;
    ok = true;
    for (uint32_t g = 0; g < h.ngroups && ok; g++) {
        out->ir[g] = read_text(mem, p, sizes[g * 3]);
        p += sizes[g * 3];
        out->ir_opt[g] = read_text(mem, p, sizes[g * 3 + 1]);
        p += sizes[g * 3 + 1];
        /* the cache fault: an object the checksum passes but the loader cannot load */
        static const char junk[] = "injected fault (TJ_JIT_FAULT=cache): not an object file";
        bool fault = tjJ_fault("cache");
        size_t len = fault ? sizeof junk : sizes[g * 3 + 2];
        if ((out->obj[g].p = tjC_mem_malloc(mem, len))) {
            memcpy(out->obj[g].p, fault ? (const unsigned char *)junk : p, len);
            out->obj[g].len = len;
        }
        p += sizes[g * 3 + 2];
        ok = out->ir[g] && out->ir_opt[g] && out->obj[g].p;
        *nomem = !ok;
    }
    if (!ok)
        tjJ_artifacts_free(out);
done:
    tjC_mem_free(mem, buf);
    fclose(f);
    return ok;
}
