/* ctlproxy: stands in front of a renrakud's control socket for drill.sh, so
 * that a test can lose the answer to a send. Not a tool for anything else.
 *
 *   ctlproxy DIR DAEMON_EP MODE [TEXT]
 *
 * Binds ipc://DIR/control.sock (the daemon's own socket moved aside to
 * DAEMON_EP) and passes every request to the daemon and its answer back,
 * except a "send", which MODE decides:
 *   lose-answer  passed to the daemon, which carries it out; its answer is
 *                dropped, so the client never gets one
 *   hold         never passed on, never answered
 *   refuse TEXT  answered {"ok": false, "error": TEXT}
 *   freeze       passed on and answered, as every other request; but once
 *                it has answered a "roster" (the drill's first request)
 *                and seen that client leave, it stops itself (SIGSTOP,
 *                after printing "frozen"): a daemon that is stopped, its
 *                socket file there, on which no connection completes
 * Prints one line per send on stdout ("send MODE request=R msg=M"), flushed,
 * and runs until SIGTERM or SIGINT. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_TIMEOUT_MS 10000
#define S_MONITOR_EP "inproc://ctlproxy-monitor"

static volatile sig_atomic_t s_stop = 0;

static void
s_on_stop(int sig) {
    (void)sig;
    s_stop = 1;
}

/* Passes text to the daemon at ep; its answer (malloc'd), or NULL. */
static char *
s_forward(void *ctx, const char *ep, const char *text, size_t len) {
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int t = S_TIMEOUT_MS, linger = 0;
    zmq_msg_t m;
    char *out = NULL;
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &t, sizeof t);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &t, sizeof t);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_msg_init(&m);
    if (zmq_connect(s, ep) == 0 && zmq_send(s, text, len, 0) >= 0 &&
        zmq_msg_recv(&m, s, 0) >= 0 && (out = malloc(zmq_msg_size(&m) + 1))) {
        memcpy(out, zmq_msg_data(&m), zmq_msg_size(&m));
        out[zmq_msg_size(&m)] = '\0';
    }
    zmq_msg_close(&m);
    zmq_close(s);
    return out;
}

/* Answers the client whose routing id is id. */
static void
s_reply(void *router, zmq_msg_t *id, const char *text) {
    zmq_msg_send(id, router, ZMQ_SNDMORE);
    zmq_send(router, "", 0, ZMQ_SNDMORE);
    zmq_send(router, text, strlen(text), 0);
}

int
main(int argc, char **argv) {
    const char *mode = argc > 3 ? argv[3] : "";
    char ep[4200];
    void *ctx, *router, *mon = NULL;
    struct sigaction sa;
    int linger = 0, freeze = 0;

    if (argc < 4 ||
        (strcmp(mode, "lose-answer") && strcmp(mode, "hold") &&
         strcmp(mode, "refuse") && strcmp(mode, "freeze")) ||
        (!strcmp(mode, "refuse") && argc != 5)) {
        fprintf(stderr, "usage: ctlproxy DIR DAEMON_EP "
                        "lose-answer|hold|refuse TEXT|freeze\n");
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    snprintf(ep, sizeof ep, "ipc://%s/control.sock", argv[1]);
    ctx = zmq_ctx_new();
    router = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(router, ep) != 0) {
        fprintf(stderr, "ctlproxy: cannot bind %s: %s\n", ep,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    /* freeze: the client that got the roster has left once its
     * connection is gone, so its answer went out before the stop. */
    if (!strcmp(mode, "freeze") &&
        (zmq_socket_monitor(router, S_MONITOR_EP, ZMQ_EVENT_DISCONNECTED) !=
             0 ||
         !(mon = zmq_socket(ctx, ZMQ_PAIR)) ||
         zmq_connect(mon, S_MONITOR_EP) != 0)) {
        fprintf(stderr, "ctlproxy: cannot monitor %s: %s\n", ep,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    while (!s_stop) {
        zmq_pollitem_t it[2] = {{router, 0, ZMQ_POLLIN, 0},
                                {mon, 0, ZMQ_POLLIN, 0}};
        zmq_msg_t id, empty, body;
        json_t *req;
        const char *cmd, *request;
        char *text, *answer;
        if (zmq_poll(it, mon ? 2 : 1, 200) <= 0)
            continue;
        if (it[1].revents & ZMQ_POLLIN) {
            zmq_msg_t ev;
            zmq_msg_init(&ev);
            while (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0 &&
                   zmq_msg_more(&ev))
                ; /* the event and its endpoint */
            zmq_msg_close(&ev);
            if (freeze == 1) {
                freeze = 2;
                printf("frozen\n");
                fflush(stdout);
                raise(SIGSTOP);
            }
        }
        if (!(it[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_init(&id);
        zmq_msg_init(&empty);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, router, 0) < 0 ||
            zmq_msg_recv(&empty, router, 0) < 0 ||
            zmq_msg_recv(&body, router, 0) < 0) {
            zmq_msg_close(&id);
            zmq_msg_close(&empty);
            zmq_msg_close(&body);
            continue;
        }
        text = strndup(zmq_msg_data(&body), zmq_msg_size(&body));
        req = text ? json_loads(text, 0, NULL) : NULL;
        cmd = json_string_value(json_object_get(req, "cmd"));
        request = json_string_value(json_object_get(req, "request_id"));
        if (cmd && !strcmp(cmd, "send") && !strcmp(mode, "hold")) {
            printf("send hold request=%s\n", request ? request : "-");
        } else if (cmd && !strcmp(cmd, "send") && !strcmp(mode, "refuse")) {
            json_t *j = json_pack("{s:b,s:s}", "ok", 0, "error", argv[4]);
            char *t = json_dumps(j, JSON_COMPACT);
            s_reply(router, &id, t ? t : "{}");
            printf("send refuse request=%s\n", request ? request : "-");
            free(t);
            json_decref(j);
        } else if (cmd && !strcmp(cmd, "send") &&
                   !strcmp(mode, "lose-answer")) {
            json_t *a;
            answer = s_forward(ctx, argv[2], text, strlen(text));
            a = answer ? json_loads(answer, 0, NULL) : NULL;
            printf("send lose-answer request=%s msg=%s\n",
                   request ? request : "-",
                   json_string_value(json_object_get(a, "msg_id"))
                       ? json_string_value(json_object_get(a, "msg_id"))
                       : "-");
            json_decref(a);
            free(answer);
        } else if (text &&
                   (answer = s_forward(ctx, argv[2], text, strlen(text)))) {
            s_reply(router, &id, answer);
            free(answer);
            if (cmd && !strcmp(cmd, "send"))
                printf("send %s request=%s\n", mode, request ? request : "-");
            if (cmd && !strcmp(cmd, "roster") && mon && !freeze)
                freeze = 1;
        }
        fflush(stdout);
        json_decref(req);
        free(text);
        zmq_msg_close(&id);
        zmq_msg_close(&empty);
        zmq_msg_close(&body);
    }
    if (mon)
        zmq_close(mon);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}
