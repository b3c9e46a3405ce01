/* failsync: an LD_PRELOAD fault-injection shim for the chaos tests. It
 * makes fsync/fdatasync, or write/pwrite/writev/pwritev, fail with EIO on
 * files under one folder while a trigger file exists (or with another
 * errno, e.g. ENOSPC for a full disk). Test-only: never linked into a
 * program, never installed.
 *
 * Environment:
 *   FAILSYNC_DIR      absolute folder; only fds whose path starts with it
 *   FAILSYNC_TRIGGER  while this file exists, faults are on; its first word
 *                     says which calls fail: "sync" (fsync, fdatasync),
 *                     "write" (write, pwrite, writev, pwritev) or "both";
 *                     an optional number after it fails only that many
 *                     calls per trigger file (e.g. "sync 1": the next one,
 *                     like Linux reporting a writeback error once).
 *   FAILSYNC_COUNT    a file the shim appends one line to per failed call
 *                     ("sync" or "write"), so the test can see it bite.
 *   FAILSYNC_ERRNO    the errno a failed call sets, as a number (default
 *                     EIO; 28 is ENOSPC on Linux).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_SYNC 1
#define S_WRITE 2

static ino_t s_trigger_ino;         /* trigger file the budget belongs to */
static struct timespec s_trigger_t; /* and its mtime */
static long s_failed;               /* calls failed for that trigger */

/* Reads the trigger through raw syscalls: the shim must not recurse into
 * its own write or depend on stdio's locks inside a write. */
static int
s_mode(long *limit) {
    const char *trig = getenv("FAILSYNC_TRIGGER");
    char buf[64];
    struct stat st;
    long n;
    int fd, mode = 0;

    *limit = -1;
    if (!trig || stat(trig, &st) != 0)
        return 0;
    fd = (int)syscall(SYS_openat, AT_FDCWD, trig, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = (long)syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    if (strncmp(buf, "sync", 4) == 0)
        mode = S_SYNC;
    else if (strncmp(buf, "write", 5) == 0)
        mode = S_WRITE;
    else if (strncmp(buf, "both", 4) == 0)
        mode = S_SYNC | S_WRITE;
    if (mode) {
        char *sp = strchr(buf, ' ');
        if (sp)
            *limit = strtol(sp + 1, NULL, 10);
    }
    if (st.st_ino != s_trigger_ino || st.st_mtim.tv_sec != s_trigger_t.tv_sec ||
        st.st_mtim.tv_nsec != s_trigger_t.tv_nsec) {
        s_trigger_ino = st.st_ino;
        s_trigger_t = st.st_mtim;
        s_failed = 0;
    }
    return mode;
}

static int
s_under_dir(int fd) {
    const char *dir = getenv("FAILSYNC_DIR");
    char link[64], path[4096];
    ssize_t n;
    if (!dir || !*dir)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    return strncmp(path, dir, strlen(dir)) == 0;
}

static void
s_note(const char *what) {
    const char *cnt = getenv("FAILSYNC_COUNT");
    int fd;
    if (!cnt)
        return;
    fd = (int)syscall(SYS_openat, AT_FDCWD, cnt,
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    syscall(SYS_write, fd, what, strlen(what));
    syscall(SYS_close, fd);
}

/* 1 (errno = EIO, or FAILSYNC_ERRNO) when this call on fd must fail. */
static int
s_fail(int fd, int kind) {
    int saved = errno;
    long limit;
    int mode = s_mode(&limit);
    if (!(mode & kind) || !s_under_dir(fd)) {
        errno = saved;
        return 0;
    }
    if (limit >= 0 && s_failed >= limit) {
        errno = saved;
        return 0;
    }
    s_failed++;
    s_note(kind == S_SYNC ? "sync\n" : "write\n");
    {
        const char *e = getenv("FAILSYNC_ERRNO");
        long v = e ? strtol(e, NULL, 10) : 0;
        errno = v > 0 ? (int)v : EIO;
    }
    return 1;
}

#define S_REAL(ret, name, ...)                                                 \
    static ret (*real)(__VA_ARGS__);                                           \
    if (!real)                                                                 \
        *(void **)&real = dlsym(RTLD_NEXT, name);

int
fsync(int fd) {
    S_REAL(int, "fsync", int)
    if (s_fail(fd, S_SYNC))
        return -1;
    return real(fd);
}

int
fdatasync(int fd) {
    S_REAL(int, "fdatasync", int)
    if (s_fail(fd, S_SYNC))
        return -1;
    return real(fd);
}

ssize_t
write(int fd, const void *buf, size_t n) {
    S_REAL(ssize_t, "write", int, const void *, size_t)
    if (s_fail(fd, S_WRITE))
        return -1;
    return real(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off) {
    S_REAL(ssize_t, "pwrite", int, const void *, size_t, off_t)
    if (s_fail(fd, S_WRITE))
        return -1;
    return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off) {
    S_REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t)
    if (s_fail(fd, S_WRITE))
        return -1;
    return real(fd, buf, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt) {
    S_REAL(ssize_t, "writev", int, const struct iovec *, int)
    if (s_fail(fd, S_WRITE))
        return -1;
    return real(fd, iov, cnt);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
    S_REAL(ssize_t, "pwritev", int, const struct iovec *, int, off_t)
    if (s_fail(fd, S_WRITE))
        return -1;
    return real(fd, iov, cnt, off);
}
