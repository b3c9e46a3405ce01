/* ctl: one REQ socket per call; simple, and a lost answer cannot wedge a
 * long-lived socket. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon.h"
#include "rk_util.h"

/* Whether anything listens on the socket file at path: a connect that
 * does not block. Returns 0 when something does, or when it cannot be
 * told (a path longer than sun_path, a backlog full: a daemon alive but
 * busy); then the call goes on and gets its full wait. Returns
 * RK_ERR_NOT_FOUND when nothing does (ECONNREFUSED: a socket file a
 * killed daemon left, or not a socket at all; ENOENT: removed since),
 * RK_ERR_IO when it may not be connected to (EACCES), with err set. */
static int
s_probe(const char *dir, const char *path, char *err, size_t errlen) {
    struct sockaddr_un sa;
    int fd, rc = 0, e;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return 0; /* libzmq has the same limit: it will say so */
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        e = errno;
        if (e == ECONNREFUSED || e == ENOENT) {
            snprintf(err, errlen,
                     "renrakud is not running for %s (nothing listens on "
                     "%s: a daemon that was killed leaves it behind); start "
                     "it, or give --state",
                     dir, path);
            rc = RK_ERR_NOT_FOUND;
        } else if (e == EACCES || e == EPERM) {
            snprintf(err, errlen,
                     "cannot connect to renrakud's control socket %s: %s "
                     "(it runs as another user?)",
                     path, strerror(e));
            rc = RK_ERR_IO;
        }
        /* EAGAIN (its backlog full), EINTR, ...: let ZeroMQ wait. */
    }
    close(fd);
    return rc;
}

int
ctl_call(const char *dir, const json_t *req, int timeout_ms, json_t **reply,
         char *err, size_t errlen) {
    int taken;
    return ctl_call_taken(dir, req, timeout_ms, reply, &taken, err, errlen);
}

int
ctl_call_taken(const char *dir, const json_t *req, int timeout_ms,
               json_t **reply, int *taken, char *err, size_t errlen) {
    char ep[3200], sock_path[3200];
    void *ctx = NULL, *s = NULL;
    int linger = 0, immediate = 1, rc = RK_OK, sent = 0;
    char *text = json_dumps(req, JSON_COMPACT);
    struct stat st;
    zmq_msg_t m;
    json_error_t jerr;

    if (taken)
        *taken = 0;
    zmq_msg_init(&m);
    if (rk_folder_kind(dir) == RK_FOLDER_RELAY) {
        /* Its control socket is the relay's, which knows no such request. */
        free(text);
        snprintf(err, errlen,
                 "%s is a relay's data folder (renraku-relay --data), not a "
                 "node's state folder: give --state the folder renrakud runs "
                 "with",
                 dir);
        return RK_ERR_NOT_FOUND;
    }
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return RK_ERR_NOMEM;
    }
    snprintf(sock_path, sizeof sock_path, "%s/control.sock", dir);
    if (stat(sock_path, &st) != 0) {
        int e = errno;
        free(text);
        if (e != ENOENT && e != ENOTDIR) {
            /* Its state folder is 0700: another user cannot even see
             * whether the socket is there, let alone whether it runs. */
            snprintf(err, errlen,
                     "cannot reach renrakud's control socket %s: %s (it "
                     "runs as another user?)",
                     sock_path, strerror(e));
            return RK_ERR_IO;
        }
        snprintf(err, errlen,
                 "renrakud is not running for %s (no %s); start it, or give "
                 "--state",
                 dir, sock_path);
        return RK_ERR_NOT_FOUND;
    }
    /* ZeroMQ would retry a socket nobody listens on until the timeout and
     * then blame a slow daemon: ask the kernel first, at once. */
    if ((rc = s_probe(dir, sock_path, err, errlen)) != RK_OK) {
        free(text);
        return rc;
    }
    daemon_control_endpoint(dir, ep, sizeof ep);
    ctx = zmq_ctx_new();
    s = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    if (!s) {
        snprintf(err, errlen, "cannot create a socket: %s",
                 zmq_strerror(errno));
        rc = RK_ERR_IO;
        goto cleanup;
    }
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    /* The request is queued only on a connection made to the daemon (its
     * handshake done), so a send that times out never reached it; by
     * default it would wait in a queue of our own, and a lost answer could
     * not be told from a request that never went out. */
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    if (zmq_connect(s, ep) != 0 || zmq_send(s, text, strlen(text), 0) < 0) {
        snprintf(err, errlen,
                 "renrakud does not answer on %s: %s before it took the "
                 "request (the request was not sent to it)",
                 ep, errno == EAGAIN ? "timed out" : zmq_strerror(errno));
        rc = RK_ERR_IO;
        goto cleanup;
    }
    sent = 1;
    if (zmq_msg_recv(&m, s, 0) < 0) {
        snprintf(err, errlen,
                 "renrakud does not answer on %s: %s after it was sent the "
                 "request (it may have carried it out)",
                 ep, errno == EAGAIN ? "timed out" : zmq_strerror(errno));
        rc = RK_ERR_IO;
        goto cleanup;
    }
    *reply = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, &jerr);
    if (!*reply) {
        snprintf(err, errlen, "renrakud answered something that is not JSON");
        rc = RK_ERR_MALFORMED;
    }
cleanup:
    if (taken)
        *taken = sent;
    zmq_msg_close(&m);
    if (s)
        zmq_close(s);
    if (ctx)
        zmq_ctx_term(ctx);
    free(text);
    return rc;
}
