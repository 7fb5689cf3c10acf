/* The compile server on the core's side: LLVM runs in a process of its own
 * (tensorjit-llvm-server, jit/server/main.c), started at the first compile from scratch and kept
 * for the process's life. The process using tensorjit then never maps libLLVM, and a crash
 * inside LLVM fails one compile (reported; the function runs in the reference executor) instead
 * of taking the user's process down.
 *
 * One server per process; compiles take turns on it (each compiles its groups on several
 * threads inside the server). The server is found beside the plugin (jit/backend.c's paths) or
 * named by $TJ_COMPILE_SERVER; "off" there compiles in this process through the plugin, as does
 * a server that cannot be found or started (the caller's fallback). A child made by fork() never
 * talks to its parent's server: it starts its own. */
#include "backend.h"
#include "digest.h"
#include "jit.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jit_build_id.h"

#define SERVER "tensorjit-llvm-server"

extern char **environ;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int fd;        /* the socket to the server, -1: none running */
    pid_t pid;     /* the server */
    pid_t owner;   /* the process that started it */
    bool given_up; /* no server could be started: compile in process from now on */
    char why[1024];
} S = {.fd = -1};

static const tj_allocator libc_mem; /* the greeting is the process's, not a context's */

/* Closes the socket and reaps the server: it exits when its socket closes, and a server whose
 * end we found closed is exiting already; kill_it for one that may hang (no greeting). Returns
 * whether it exited by itself with status 0 (on EOF or when idle, not a crash). */
static bool stop_locked(bool kill_it)
{
    if (S.fd < 0)
        return false;
    close(S.fd);
    S.fd = -1;
    if (S.owner != getpid())
        return false;
    if (kill_it)
        kill(S.pid, SIGKILL);
    int status = 0;
    while (waitpid(S.pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The pid of this process's running server, 0 when none (a fork's copy is not ours). */
static int ours_locked(void) { return S.fd >= 0 && S.owner == getpid() ? (int)S.pid : 0; }

/* Whether the server has closed its end (it never writes unasked: readable means EOF). */
static bool hung_up_locked(void)
{
    struct pollfd p = {.fd = S.fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* The server's greeting: our ABI and build, no reason it cannot compile, and our CPU: LLVM in
 * the server compiles for the CPU the server sees, and a process under valgrind or an emulator
 * sees another one (valgrind hides AVX-512: code for it would be illegal instructions here). */
static bool greeted(int fd, char *why, size_t len)
{
    struct timeval limit = {.tv_sec = 30}; /* a server that never answers is not waited on */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    unsigned char *msg;
    size_t n;
    if (!tjW_recv(fd, &libc_mem, &msg, &n, NULL)) {
        snprintf(why, len, "it did not answer");
        return false;
    }
    tjY_reader r = {msg, n};
    int32_t abi = 0;
    const unsigned char *id = NULL, *reason = NULL, *host = NULL;
    size_t idlen = 0, rlen = 0, hlen = 0;
    bool ok = tjY_take(&r, &abi, sizeof abi) && tjY_take_blob(&r, &id, &idlen) &&
              tjY_take_blob(&r, &reason, &rlen) && tjY_take_blob(&r, &host, &hlen);
    const char *ours = tjJ_host_id();
    if (!ok)
        snprintf(why, len, "its greeting was malformed");
    else if (abi != TJJ_BACKEND_ABI || idlen != strlen(TJ_JIT_BUILD_ID) ||
             memcmp(id, TJ_JIT_BUILD_ID, idlen))
        snprintf(why, len, "it is from another build of tensorjit");
    else if (rlen)
        snprintf(why, len, "%.*s", (int)rlen, (const char *)reason);
    else if (hlen != (ours ? strlen(ours) : 0) || (hlen && memcmp(host, ours, hlen)))
        snprintf(why, len, "it sees another CPU than this process (valgrind or an emulator?), "
                 "so its code might not run here");
    ok = ok && !why[0];
    tjC_mem_free(&libc_mem, msg);
    limit.tv_sec = 0; /* compiles may take as long as they take */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return ok;
}

/* Starts the server at path with its socket as fd 3; appends why not to S.why. */
static bool start_at(const char *path)
{
    size_t at = strlen(S.why);
    char *why = S.why + at;
    size_t left = sizeof S.why - at;
    if (access(path, X_OK) != 0) {
        snprintf(why, left, "%s%s: %s", at ? "; " : "", path, strerror(errno));
        return false;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(why, left, "%ssocketpair: %s", at ? "; " : "", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3); /* dup2 leaves fd 3 open across exec */
    posix_spawn_file_actions_addclosefrom_np(&fa, 4); /* none of the user's files */
    char *argv[] = {(char *)SERVER, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        snprintf(why, left, "%s%s: %s", at ? "; " : "", path, strerror(rc));
        return false;
    }
    S.fd = sv[0];
    S.pid = pid;
    S.owner = getpid();
    char reason[512] = "";
    if (!greeted(S.fd, reason, sizeof reason)) {
        stop_locked(true);
        snprintf(why, left, "%s%s: %s", at ? "; " : "", path, reason);
        return false;
    }
    return true;
}

/* A running server of this process, started if need be; false: none can be (S.given_up). */
static bool running_locked(void)
{
    if (S.fd >= 0 && S.owner != getpid()) { /* a fork's copy of the parent's socket */
        close(S.fd);
        S.fd = -1;
        S.given_up = false;
    }
    if (S.fd >= 0)
        return true;
    if (S.given_up)
        return false;
    S.why[0] = '\0';
    const char *env = getenv("TJ_COMPILE_SERVER");
    if (env && !strcmp(env, "off")) { /* env is needed below too: one read, not tjC_env_off */
        snprintf(S.why, sizeof S.why, "TJ_COMPILE_SERVER=off");
    } else if (env && *env) {
        start_at(env);
    } else {
        char paths[3][4096];
        int n = tjJ_install_paths(SERVER, paths);
        for (int i = 0; i < n && S.fd < 0; i++)
            start_at(paths[i]);
    }
    S.given_up = S.fd < 0;
    return S.fd >= 0;
}

/* The answer into art (its ngroups allocated by the caller). */
static tj_status read_answer(const unsigned char *msg, size_t n, tjJ_artifacts *art, char *err,
                             size_t errlen)
{
    tjY_reader r = {msg, n};
    int32_t st, groups;
    const unsigned char *text;
    size_t len;
    if (!tjY_take(&r, &st, sizeof st) || !tjY_take_blob(&r, &text, &len) ||
        !tjY_take(&r, &groups, sizeof groups))
        return tjJ_fail(err, errlen, TJ_ERR_JIT, "the compile server's answer was malformed");
    if (st != TJ_OK)
        return tjJ_fail(err, errlen, st == TJ_ERR_NOMEM ? TJ_ERR_NOMEM : TJ_ERR_JIT, "%.*s",
                        (int)len, (const char *)text);
    if (groups != art->ngroups)
        return tjJ_fail(err, errlen, TJ_ERR_JIT, "the compile server answered with %d objects "
                        "for %d groups", groups, art->ngroups);
    for (int g = 0; g < groups; g++) {
        char **texts[2] = {&art->ir[g], &art->ir_opt[g]};
        for (int t = 0; t < 2; t++) {
            bool nomem = false;
            if (!tjY_take_str(&r, art->mem, texts[t], SIZE_MAX, &nomem))
                return nomem ? tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory for IR text")
                             : tjJ_fail(err, errlen, TJ_ERR_JIT, "the compile server's answer "
                                        "was malformed");
        }
        if (!tjY_take_blob(&r, &text, &len) || len == 0)
            return tjJ_fail(err, errlen, TJ_ERR_JIT, "the compile server sent no object");
        if (!(art->obj[g].p = tjC_mem_malloc(art->mem, len)))
            return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory for an object file");
        memcpy(art->obj[g].p, text, len);
        art->obj[g].len = len;
    }
    return TJ_OK;
}

/* Sends the request build(b, arg) writes and receives the answer (*msg from mem). A server that
 * left when idle is replaced; one that left while we asked (it was idle when the request came)
 * is asked again, once. *unavailable (TJ_ERR_JIT, nothing sent) when no server runs or can be
 * started; the request is only built once one does. */
static tj_status ask(void (*build)(tjY_buf *b, const void *arg), const void *arg,
                     const tj_allocator *mem, unsigned char **msg, size_t *len, bool *unavailable,
                     char *err, size_t errlen)
{
    tjY_buf req = {.mem = mem};
    *msg = NULL;
    *len = 0;
    *unavailable = false;
    tj_status st = TJ_OK;
    pthread_mutex_lock(&lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (ours_locked() && hung_up_locked())
            stop_locked(false);
        *unavailable = !running_locked();
        if (*unavailable) {
            st = tjJ_fail(err, errlen, TJ_ERR_JIT, "no compile server: %s", S.why);
            break;
        }
        if (!req.p)
            build(&req, arg);
        if (req.oom) {
            st = tjJ_fail(err, errlen, TJ_ERR_NOMEM,
                          "out of memory for a request to the compile server");
            break;
        }
        bool nomem = false;
        if (tjW_send(S.fd, &req) && tjW_recv(S.fd, mem, msg, len, &nomem))
            break;
        pid_t pid = S.pid;
        if (nomem) { /* the answer is left unread in the socket: this server cannot go on */
            stop_locked(true);
            st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory for the compiled code");
            break;
        }
        if (stop_locked(false) && attempt == 0) /* an idle exit: the next attempt starts one */
            continue;
        st = tjJ_fail(err, errlen, TJ_ERR_JIT,
                      "the compile server (pid %d) died during the compile; the next compile "
                      "starts a new one", (int)pid);
        break;
    }
    pthread_mutex_unlock(&lock);
    tjC_mem_free(mem, req.p);
    return st;
}

typedef struct {
    const unsigned char *ser;
    size_t serlen;
    int n, groups;
    const char *const *syms;
} compile_args;

static void build_compile(tjY_buf *b, const void *arg)
{
    const compile_args *a = arg;
    tjW_put_request(b, a->ser, a->serlen, a->n, a->groups, a->syms,
                    getenv("TJ_JIT_FAULT")); /* this call's hook, not the server's start's */
}

tj_status tjJ_remote_compile(const unsigned char *ser, size_t serlen, int n,
                             const char *const *syms, tjJ_artifacts *art, bool *unavailable,
                             char *err, size_t errlen)
{
    const tj_allocator *mem = art->mem; /* the context's, as for the rest of a compile */
    compile_args a = {ser, serlen, n, art->ngroups, syms};
    unsigned char *msg;
    size_t len;
    tj_status st = ask(build_compile, &a, mem, &msg, &len, unavailable, err, errlen);
    if (st == TJ_OK)
        st = read_answer(msg, len, art, err, errlen);
    tjC_mem_free(mem, msg);
    return st;
}

typedef struct {
    char *const *ir_opt;
    int ngroups;
} assembly_args;

static void build_assembly(tjY_buf *b, const void *arg)
{
    const assembly_args *a = arg;
    tjW_put_assembly_request(b, a->ir_opt, a->ngroups);
}

char *tjJ_remote_assembly(char *const *ir_opt, int ngroups, bool *unavailable)
{
    assembly_args a = {ir_opt, ngroups};
    unsigned char *msg;
    size_t len;
    char *text = NULL;
    if (ask(build_assembly, &a, &libc_mem, &msg, &len, unavailable, NULL, 0) == TJ_OK) {
        tjY_reader r = {msg, len};
        int32_t st;
        const unsigned char *why;
        size_t whylen;
        bool nomem;
        if (tjY_take(&r, &st, sizeof st) && st == TJ_OK && tjY_take_blob(&r, &why, &whylen))
            tjY_take_str(&r, &libc_mem, &text, SIZE_MAX, &nomem); /* libc's: free() it */
    }
    tjC_mem_free(&libc_mem, msg);
    return text;
}

int tjJ_remote_stop(void)
{
    pthread_mutex_lock(&lock);
    int pid = ours_locked();
    stop_locked(false);
    S.given_up = false;
    pthread_mutex_unlock(&lock);
    return pid;
}

int tj_compile_server_stop(void) { return tjJ_remote_stop(); }

int tjJ_remote_pid(void)
{
    pthread_mutex_lock(&lock);
    int pid = ours_locked();
    pthread_mutex_unlock(&lock);
    return pid;
}
