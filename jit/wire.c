/* Framed messages over a stream socket (jit/wire.h). */
#include "wire.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* All n bytes sent (out) or received; false when the peer is gone. A send to a closed peer is
 * an error here, never SIGPIPE in the user's process. */
static bool transfer(int fd, void *p, size_t n, bool out)
{
    char *c = p;
    while (n > 0) {
        ssize_t k = out ? send(fd, c, n, MSG_NOSIGNAL) : recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

bool tjW_send(int fd, const tjY_buf *b)
{
    uint64_t len = b->len;
    return !b->oom && transfer(fd, &len, sizeof len, true) && transfer(fd, b->p, b->len, true);
}

bool tjW_recv(int fd, const tj_allocator *mem, unsigned char **p, size_t *len, bool *nomem)
{
    uint64_t n;
    *p = NULL;
    *len = 0;
    if (nomem)
        *nomem = false;
    if (!transfer(fd, &n, sizeof n, false) || n > TJW_MAX_MESSAGE)
        return false;
    unsigned char *buf = tjC_mem_malloc(mem, n ? (size_t)n : 1);
    if (!buf) { /* the message is left unread: the caller cannot use this socket any more */
        if (nomem)
            *nomem = true;
        return false;
    }
    if (!transfer(fd, buf, (size_t)n, false)) {
        tjC_mem_free(mem, buf);
        return false;
    }
    *p = buf;
    *len = (size_t)n;
    return true;
}
