/* Child processes with piped stdin/stdout (proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bp_proc {
    pid_t pid;
    int in_fd, out_fd; /* our ends: we write to in_fd, read from out_fd */
    char buf[65536];
    size_t used;
    bool eof;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

bp_proc *bp_start(char *const argv[], const char *const env[], const char *log_path)
{
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0)
        return NULL;
    if (pipe2(from_child, O_CLOEXEC) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return NULL;
    }
    bp_proc *p = calloc(1, sizeof *p);
    pid_t pid = p ? fork() : -1;
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
                dup2(fd, 2);
        }
        for (int i = 0; env && env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (eq) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(env[i]);
            }
        }
        execvp(argv[0], argv);
        fprintf(stderr, "tjbench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    if (pid < 0) {
        close(to_child[1]);
        close(from_child[0]);
        free(p);
        return NULL;
    }
    p->pid = pid;
    p->in_fd = to_child[1];
    p->out_fd = from_child[0];
    return p;
}

int bp_send(bp_proc *p, const char *line)
{
    size_t n = strlen(line);
    char *msg = malloc(n + 2);
    if (!msg)
        return -1;
    memcpy(msg, line, n);
    msg[n] = '\n';
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(p->in_fd, msg + off, n + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(msg);
            return -1;
        }
        off += (size_t)w;
    }
    free(msg);
    return 0;
}

int bp_recv(bp_proc *p, double timeout_s, char *buf, size_t len)
{
    double deadline = now() + timeout_s;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->used);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            snprintf(buf, len, "%.*s", (int)n, p->buf);
            memmove(p->buf, nl + 1, p->used - n - 1);
            p->used -= n + 1;
            return 0;
        }
        if (p->eof || p->used == sizeof p->buf)
            return -1;
        double left = deadline - now();
        if (left <= 0)
            return -2;
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        ssize_t got = read(p->out_fd, p->buf + p->used, sizeof p->buf - p->used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            p->eof = true;
        else
            p->used += (size_t)got;
    }
}

static int reap(pid_t pid, double timeout_s, struct rusage *ru)
{
    double deadline = now() + timeout_s;
    int status = 0;
    struct rusage local;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, ru ? ru : &local);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now() > deadline) {
            kill(pid, SIGKILL);
            wait4(pid, &status, 0, ru ? ru : &local);
            return -1;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

void bp_stop(bp_proc *p)
{
    if (!p)
        return;
    bp_send(p, "quit");
    close(p->in_fd);
    close(p->out_fd);
    reap(p->pid, 10.0, NULL);
    free(p);
}

int bp_finish(bp_proc *p, double timeout_s, struct rusage *ru)
{
    close(p->in_fd);
    close(p->out_fd);
    int rc = reap(p->pid, timeout_s, ru);
    free(p);
    return rc;
}
