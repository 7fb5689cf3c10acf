/* Messages between the core and its compile server (jit/remote.c and jit/server/main.c) over a
 * stream socket: a u64 byte count, then the bytes (built with lib/bytes.h).
 *
 * The server's greeting: i32 TJJ_BACKEND_ABI, blob TJ_JIT_BUILD_ID, blob "" or why it cannot
 * compile, blob its tjJ_host_id (jit/digest.h): LLVM compiles for the CPU it sees, which must be
 * the one the core's process sees (under valgrind, say, the two differ).
 *
 * A compile request: i32 TJW_COMPILE, i32 n kernels, i32 groups, blob tjK_serialize's bytes, n
 * blobs of symbol names, blob $TJ_JIT_FAULT (the core's test hook at the time of the call,
 * jit/util.c, which the server takes for that compile). The answer: i32 tj_status, blob
 * message, i32 groups, then per group the blobs IR, IR after optimization, object file.
 *
 * An assembly request: i32 TJW_ASSEMBLY, i32 groups, that many blobs of optimized IR (a
 * module's texts). The answer: i32 tj_status, blob message, blob the assembly text. */
#ifndef TJ_JIT_WIRE_H
#define TJ_JIT_WIRE_H

#include "../lib/bytes.h"
#include "../lib/kernel.h"

/* The largest message either side accepts (objects of thousands of kernels fit). */
#define TJW_MAX_MESSAGE ((size_t)1 << 30)

/* Sends b's bytes as one message; false when the peer is gone (never SIGPIPE) or b is oom. */
TJ_HIDDEN bool tjW_send(int fd, const tjY_buf *b);
/* Receives one message into a block from mem (*p, *len; free with tjC_mem_free); false when
 * the peer is gone or sent more than TJW_MAX_MESSAGE, or (*nomem, may be NULL) memory is out. */
TJ_HIDDEN bool tjW_recv(int fd, const tj_allocator *mem, unsigned char **p, size_t *len,
                        bool *nomem);

/* What a request asks for: its first i32. */
enum { TJW_COMPILE = 1, TJW_ASSEMBLY = 2 };
/* The kind of the request in msg, or 0 when it has none. */
TJ_HIDDEN int tjW_request_kind(const unsigned char *msg, size_t len);

/* A compile request, read and checked (tjW_read_request). */
typedef struct {
    int n, groups;       /* kernels, and the groups to compile them in */
    tjK_kernel **ks;     /* the n kernels, each validated (tjL_validate) */
    char **syms;         /* the n symbol names, NUL-terminated */
    char faults[256];    /* the core's $TJ_JIT_FAULT at the time of the request */
} tjW_request;

/* At most this many kernels, groups and bytes of a symbol name in a request. */
enum { TJW_MAX_KERNELS = 1 << 16, TJW_MAX_GROUPS = 64, TJW_MAX_SYMBOL = 256 };

/* Appends the request for n kernels (ser: their tjK_serialize bytes) named syms[i], compiled in
 * groups groups, under the fault list faults (may be NULL) to b. */
TJ_HIDDEN void tjW_put_request(tjY_buf *b, const unsigned char *ser, size_t serlen, int n,
                               int groups, const char *const *syms, const char *faults);
/* Reads the request in msg into *req (its memory from mem): TJ_OK, or TJ_ERR_INVALID (a
 * malformed message or kernel) / TJ_ERR_NOMEM with a sentence in err. Either way *req is left
 * for tjW_request_free. */
TJ_HIDDEN tj_status tjW_read_request(const tj_allocator *mem, const unsigned char *msg, size_t len,
                                     tjW_request *req, char *err, size_t errlen);
TJ_HIDDEN void tjW_request_free(const tj_allocator *mem, tjW_request *req);

/* Appends the assembly request for a module's ngroups optimized IR texts to b. */
TJ_HIDDEN void tjW_put_assembly_request(tjY_buf *b, char *const *ir_opt, int ngroups);
/* Reads an assembly request: its IR texts as *ngroups NUL-terminated strings in one block from
 * mem (*texts; free with tjC_mem_free), or false when it is malformed (or memory is out). */
TJ_HIDDEN bool tjW_read_assembly_request(const tj_allocator *mem, const unsigned char *msg,
                                         size_t len, char ***texts, int *ngroups);

#endif /* TJ_JIT_WIRE_H */
