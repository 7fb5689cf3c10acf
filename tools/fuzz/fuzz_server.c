/* libFuzzer target (d): the compile server's side of a request (jit/wire.h). The bytes are one
 * request as the server reads it off its socket:
 *   - tjW_read_request either refuses it with a sentence, or gives kernels that tjL_validate
 *     passed;
 *   - the kernels it gives serialize to bytes that read back to the same bytes (one canonical
 *     form: a flag byte of 2 reads as true and is written as 1);
 *   - an assembly request is read (its texts bounded by the request), not printed: parsing IR
 *     is LLVM's part, and a crash there costs the server, never the user's process;
 *   - every compile request it accepts compiles with the LLVM plugin (lowered, verified, optimized,
 *     emitted), as the server would compile it: a validated kernel that the lowering cannot
 *     handle is a bug on one side of the seam, so any failure but out-of-memory aborts.
 * The seeds in tests/fuzz/server/ are requests real functions sent, recorded by a server run
 * with TJ_COMPILE_SERVER_RECORD=DIR (jit/server/main.c).
 *
 *   make fuzz FUZZ_TARGETS=server               (docs/RELIABILITY.md)
 *   build/tools/fuzz/fuzz-server-replay FILE_OR_DIR...   replay (ctest) */
#include "backend.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tj_allocator mem; /* the C library's, as the server's */

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz-server: " __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                                 \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* serialize -> read back -> serialize gives the same bytes and the same count */
static void check_round_trip(const tjW_request *req)
{
    size_t len1 = 0, len2 = 0;
    unsigned char *ser1 = tjK_serialize(&mem, (const tjK_kernel *const *)req->ks, req->n, &len1);
    CHECK(ser1, "tjK_serialize failed on %d accepted kernels", req->n);
    int n2 = 0;
    tjK_kernel **ks2 = tjK_deserialize(&mem, ser1, len1, &n2);
    CHECK(ks2 && n2 == req->n, "the kernels' own bytes did not read back (%d of %d)", n2, req->n);
    unsigned char *ser2 = tjK_serialize(&mem, (const tjK_kernel *const *)ks2, n2, &len2);
    CHECK(ser2 && len2 == len1 && !memcmp(ser1, ser2, len1),
          "the kernels' bytes changed on a round trip (%zu -> %zu bytes)", len1, len2);
    tjC_mem_free(&mem, ser2);
    tjK_free_all(&mem, ks2, n2);
    tjC_mem_free(&mem, ser1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tjW_request_kind(data, size) == TJW_ASSEMBLY) { /* read only: LLVM's IR parser is LLVM's */
        char **texts;
        int n;
        if (tjW_read_assembly_request(&mem, data, size, &texts, &n)) {
            for (int g = 0; g < n; g++)
                CHECK(strlen(texts[g]) < size, "text %d runs past the request", g);
            tjC_mem_free(&mem, texts);
        }
        return 0;
    }
    char err[1024] = "";
    tjW_request req;
    tj_status st = tjW_read_request(&mem, data, size, &req, err, sizeof err);
    CHECK(st == TJ_OK || (st == TJ_ERR_INVALID && err[0]) || st == TJ_ERR_NOMEM,
          "a refused request gave status %d and message \"%s\"", (int)st, err);
    if (st == TJ_OK) {
        check_round_trip(&req);
        const tjJ_backend *be = tjJ_backend_get(err, sizeof err);
        CHECK(be, "the LLVM plugin did not load: %s", err);
        tjJ_artifacts art = {0};
        CHECK(tjJ_artifacts_alloc(&mem, &art, req.groups), "out of memory");
        st = be->compile((const tjK_kernel *const *)req.ks, req.n, (const char *const *)req.syms,
                         &art, err, sizeof err);
        CHECK(st == TJ_OK || st == TJ_ERR_NOMEM,
              "%d validated kernels did not compile (status %d): %s", req.n, (int)st, err);
        for (int g = 0; st == TJ_OK && g < art.ngroups; g++)
            CHECK(art.obj[g].len > 0 && art.ir[g] && art.ir_opt[g],
                  "group %d of a compile that succeeded has no object or IR", g);
        tjJ_artifacts_free(&art);
    }
    tjW_request_free(&mem, &req);
    return 0;
}
