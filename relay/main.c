/* renraku-relay: parse flags (and an optional JSON config file), load the
 * relay's key and the pinned coordinator key, run the relay until SIGINT or
 * SIGTERM, re-read the roster on SIGHUP. `renraku-relay stats` asks a
 * running relay for its counters, `renraku-relay nodes` for its nodes,
 * `renraku-relay probe NODE` whether one is connected. Exit
 * codes: 0 stopped cleanly, 1 could not start or failed, 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "note.h"
#include "relay.h"
#include "rk_log.h"
#include "rk_util.h"
#include "unlock.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NOT_CONNECTED 3 /* renraku-relay probe */

static const char *s_usage =
    "usage: renraku-relay --key RELAY.key --roster ROSTER.signed\n"
    "                     --coordinator VKEY|COORDINATOR.pub --data DIR "
    "[options]\n"
    "       renraku-relay --print-vkey --key RELAY.key [--origin NAME]\n"
    "       renraku-relay stats --data DIR | --control ENDPOINT\n"
    "       renraku-relay nodes --data DIR | --control ENDPOINT [--json]\n"
    "       renraku-relay probe NODE --data DIR | --control ENDPOINT "
    "[--json]\n"
    "\n"
    "Relays signed, end-to-end encrypted envelopes between the nodes of the\n"
    "roster over CurveZMQ, keeping every accepted message, delivery, expiry\n"
    "and refusal in a durable, Merkle-tree log (DIR/log, DIR/checkpoints).\n"
    "\n"
    "  --key FILE               the relay's secret key file (role relay)\n"
    "  --passphrase-file FILE   passphrase of an encrypted key file\n"
    "  --roster FILE            signed roster; re-read on SIGHUP\n"
    "  --coordinator VKEY|FILE  the pinned coordinator key\n"
    "  --data DIR               log and checkpoints (created, mode 0700)\n"
    "  --bind ENDPOINT          default tcp://127.0.0.1:7400 (port 0: any)\n"
    "  --endpoint-file FILE     write the bound endpoint there when ready\n"
    "  --control ENDPOINT       stats socket, default ipc://DIR/control.sock\n"
    "  --origin NAME            checkpoint origin, default renraku/<relay id>\n"
    "  --workers N              signature-checking threads (default: cores)\n"
    "  --window SECONDS         replay window (default 600)\n"
    "  --skew SECONDS           allowed clock skew (default 60)\n"
    "  --max-msg-size BYTES     largest message before libzmq drops\n          "
    "                 the connection (default 1118208)\n"
    "  --handshake-ms MS        CURVE handshake limit (default 5000)\n"
    "  --heartbeat-ms MS        heartbeat interval (default 5000)\n"
    "  --redeliver-ms MS        send a delivery again when its recipient\n"
    "                           has not confirmed it this long (default\n"
    "                           60000)\n"
    "  --checkpoint-every SECONDS  sign a checkpoint when grown (default 10)\n"
    "  --segment-mb MB          log segment size (default 64)\n"
    "  --rate-limit N           submits a second per node (default 50;\n"
    "                           0: no limit); more are refused\n"
    "                           rate-limited\n"
    "  --rate-burst N           submits a node may send at once (500)\n"
    "  --max-held-node-mb MB    undelivered envelopes held for one sender\n"
    "                           before it gets busy (default 256)\n"
    "  --max-held-mb MB         ... for all senders (default 4096)\n"
    "  --snapshot-every N       write DIR/state after N new records\n"
    "                           (default 100000) ...\n"
    "  --snapshot-interval SECONDS  ... at most this often (default 60)\n"
    "  --verify-at WHERE        relay (default): the relay checks every\n"
    "                           signature; recipients: it leaves that to\n"
    "                           the recipients (see docs/OPERATIONS.md)\n"
    "  --log-level LEVEL        debug, info, warn, error (default info)\n"
    "  --config FILE            JSON object with any of the options above\n"
    "                           (names without --); flags override it\n"
    "  --print-vkey             print the checkpoint verifier key and exit\n"
    "  --test-tamper-deliveries TESTS ONLY: corrupt every delivered "
    "envelope,\n"
    "                           playing a compromised relay\n"
    "  --test-refuse-receipts N TESTS ONLY: the first N receipts are\n"
    "                           not sent, as when the node's queue is "
    "full\n";

static volatile sig_atomic_t s_stop = 0;
static volatile sig_atomic_t s_reload = 0;

static void
s_on_stop(int sig) {
    (void)sig;
    s_stop = 1;
}

static void
s_on_hup(int sig) {
    (void)sig;
    s_reload = 1;
}

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_fail(const char *fmt, ...) {
    va_list ap;
    fputs("renraku-relay: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Every option, by name, as strings: from the config file, then flags. */
typedef struct {
    const char *name;
    const char *value;
} opt_t;

static opt_t s_opts[] = {
    {"key", NULL},
    {"passphrase-file", NULL},
    {"roster", NULL},
    {"coordinator", NULL},
    {"data", NULL},
    {"bind", NULL},
    {"endpoint-file", NULL},
    {"control", NULL},
    {"origin", NULL},
    {"workers", NULL},
    {"window", NULL},
    {"skew", NULL},
    {"max-msg-size", NULL},
    {"handshake-ms", NULL},
    {"heartbeat-ms", NULL},
    {"redeliver-ms", NULL},
    {"checkpoint-every", NULL},
    {"segment-mb", NULL},
    {"verify-at", NULL},
    {"snapshot-every", NULL},
    {"rate-limit", NULL},
    {"max-held-mb", NULL},
    {"max-held-node-mb", NULL},
    {"rate-burst", NULL},
    {"snapshot-interval", NULL},
    {"log-level", NULL},
    {"config", NULL},
    {"print-vkey", NULL},
    {"test-tamper-deliveries", NULL},
    {"test-refuse-receipts", NULL},
};
#define N_OPTS (sizeof s_opts / sizeof s_opts[0])

static opt_t *
s_opt(const char *name) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (strcmp(s_opts[i].name, name) == 0)
            return &s_opts[i];
    return NULL;
}

static const char *
s_val(const char *name) {
    return s_opt(name)->value;
}

/* Reads the JSON config; values stay alive in the returned json_t. */
static json_t *
s_load_config(const char *path) {
    json_error_t jerr;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *k;
    json_t *v;
    if (!o) {
        s_fail("config %s: line %d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        s_fail("config %s: not a JSON object", path);
        json_decref(o);
        return NULL;
    }
    json_object_foreach(o, k, v) {
        opt_t *opt = s_opt(k);
        if (!opt || !strcmp(k, "config") || !strcmp(k, "print-vkey") ||
            !strcmp(k, "test-tamper-deliveries") ||
            !strcmp(k, "test-refuse-receipts")) {
            s_fail("config %s: unknown option \"%s\"", path, k);
            json_decref(o);
            return NULL;
        }
        if (json_is_string(v))
            opt->value = json_string_value(v);
        else if (json_is_integer(v)) {
            char *num = malloc(32);
            if (!num)
                return NULL;
            snprintf(num, 32, "%lld", (long long)json_integer_value(v));
            json_object_set_new(o, k, json_string(num));
            free(num);
            opt->value = json_string_value(json_object_get(o, k));
        } else {
            s_fail("config %s: \"%s\" must be a string or an integer", path, k);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Parses a non-negative number option within [lo, hi]. */
static int
s_num(const char *name, uint64_t lo, uint64_t hi, uint64_t *out) {
    const char *v = s_val(name);
    char *end;
    unsigned long long n;
    if (!v)
        return 0;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || !*v || n < lo || n > hi) {
        s_fail("--%s %s: not a number from %llu to %llu", name, v,
               (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* Prints `nodes`' answer as a table: one line a node of the roster. */
static int
s_print_nodes(const char *reply, size_t len) {
    json_error_t jerr;
    json_t *root = json_loadb(reply, len, 0, &jerr), *nodes, *n;
    size_t i, connected = 0, others = 0;
    int selfconn = 0;
    if (!root || !json_is_array(nodes = json_object_get(root, "nodes"))) {
        s_fail("the relay's answer is not a node list: %s",
               root ? "no \"nodes\" array" : jerr.text);
        json_decref(root);
        return EXIT_FAIL;
    }
    printf("%-24s %-10s %-10s %-9s %-24s %-24s %s\n", "NODE", "ROLE", "STATUS",
           "CONNECTED", "HELLO", "LAST SEEN", "QUEUED");
    json_array_foreach(nodes, i, n) {
        const char *hello = json_string_value(json_object_get(n, "hello"));
        const char *seen = json_string_value(json_object_get(n, "last_seen"));
        int conn = json_is_true(json_object_get(n, "connected"));
        int me = json_is_true(json_object_get(n, "this_relay"));
        connected += conn && !me;
        others += !me;
        selfconn |= conn && me;
        printf("%-24s %-10s %-10s %-9s %-24s %-24s %" JSON_INTEGER_FORMAT "\n",
               json_string_value(json_object_get(n, "id")),
               json_string_value(json_object_get(n, "role")),
               json_string_value(json_object_get(n, "status")),
               me && conn ? "SELF!"
               : me       ? "self"
               : conn     ? "yes"
               : hello    ? "no"
                          : "never",
               hello ? hello : "-", seen ? seen : "-",
               json_integer_value(json_object_get(n, "queued")));
    }
    printf("%zu of %zu nodes connected (roster serial %" JSON_INTEGER_FORMAT
           ")\n",
           connected, others,
           json_integer_value(json_object_get(root, "roster_serial")));
    if (selfconn)
        printf("warning: a node is connected with this relay's own key "
               "(SELF! above): the relay never connects to itself; if no "
               "one here did this, treat the relay's key as stolen\n");
    json_decref(root);
    return 0;
}

/* Prints `probe`'s answer (unless quiet); returns 0 when the node is
 * connected, EXIT_NOT_CONNECTED when not. */
static int
s_print_probe(const char *reply, size_t len, int quiet) {
    json_error_t jerr;
    json_t *root = json_loadb(reply, len, 0, &jerr);
    const char *node = json_string_value(json_object_get(root, "node"));
    const char *r = json_string_value(json_object_get(root, "result"));
    int rc = EXIT_NOT_CONNECTED;
    if (!node || !r) {
        s_fail("the relay's answer is not a probe result: %s",
               root ? "no \"node\" and \"result\"" : jerr.text);
        json_decref(root);
        return EXIT_FAIL;
    }
    if (quiet)
        rc = strcmp(r, "connected") == 0 || strcmp(r, "full") == 0
                 ? 0
                 : EXIT_NOT_CONNECTED;
    else if (strcmp(r, "connected") == 0) {
        printf("%s: connected (its connection took a pong just now)\n", node);
        rc = 0;
    } else if (strcmp(r, "full") == 0) {
        printf("%s: connected, but its queue in the relay is full (it reads "
               "too slowly)\n",
               node);
        rc = 0;
    } else if (strcmp(r, "gone") == 0)
        printf("%s: gone (its connection had closed; now counted as "
               "disconnected)\n",
               node);
    else
        printf("%s: not connected\n", node);
    json_decref(root);
    return rc;
}

/* Names an option getopt_long refused (rk_opt_refused). */
static void
s_bad_option(const char *cmd, char **argv, const struct option *opts,
             int missing) {
    char why[300];
    rk_opt_refused(why, sizeof why, argv, opts, missing);
    s_fail("%s: %s", cmd, why);
}

/* `renraku-relay stats|nodes|probe`: asks the running relay on its control
 * socket and prints the answer, whatever its size. */
static int
s_query(const char *cmd, int argc, char **argv) {
    enum { S_Q_DATA = 256, S_Q_CONTROL, S_Q_JSON, S_Q_HELP };
    static const struct option opts[] = {
        {"data", required_argument, 0, S_Q_DATA},
        {"control", required_argument, 0, S_Q_CONTROL},
        {"json", no_argument, 0, S_Q_JSON},
        {"help", no_argument, 0, S_Q_HELP},
        {0, 0, 0, 0}};
    const char *data = NULL, *control = NULL, *node = NULL;
    int nodes = strcmp(cmd, "nodes") == 0, probe = strcmp(cmd, "probe") == 0;
    int as_json = !nodes && !probe;
    char ep[600], req[128];
    void *ctx, *sock;
    zmq_msg_t reply;
    int c, rc = 0, timeout = 3000, linger = 0;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == S_Q_DATA)
            data = optarg;
        else if (c == S_Q_CONTROL)
            control = optarg;
        else if (c == S_Q_JSON)
            as_json = 1; /* stats: JSON anyway */
        else if (c == S_Q_HELP) {
            if (nodes)
                printf("usage: renraku-relay nodes --data DIR | --control "
                       "ENDPOINT [--json]\nLists every node of the roster "
                       "in force: role, status, whether it is connected now "
                       "(yes; no: it was, and left; never: not since the "
                       "relay started; self: this relay's own entry), its "
                       "last hello, the last frame read from it, and the "
                       "messages waiting for it.\n");
            else if (probe)
                printf("usage: renraku-relay probe NODE --data DIR | "
                       "--control ENDPOINT [--json]\nAsks whether NODE is "
                       "connected right now: the relay sends its connection "
                       "a pong (which nodes ignore) or finds it gone. Exit 0 "
                       "connected, 3 not connected, 1 no answer.\n");
            else
                printf("usage: renraku-relay stats --data DIR | --control "
                       "ENDPOINT\nPrints the running relay's counters as "
                       "JSON: accepted, refused by reason, delivered, "
                       "queued per node, fsync batch size and latency.\n");
            return 0;
        } else {
            s_bad_option(cmd, argv, opts, c == ':');
            return EXIT_USAGE;
        }
    }
    if (probe && optind < argc)
        node = argv[optind++];
    if (optind < argc) {
        s_fail("%s: unexpected argument %s", cmd, argv[optind]);
        return EXIT_USAGE;
    }
    if (probe && !node) {
        s_fail("probe needs the NODE to ask about");
        return EXIT_USAGE;
    }
    if (node && strlen(node) > 100) {
        s_fail("probe: %s is not a node id", node);
        return EXIT_USAGE;
    }
    if (!data && !control) {
        s_fail("%s needs --data DIR or --control ENDPOINT", cmd);
        return EXIT_USAGE;
    }
    if (!control && rk_folder_kind(data) == RK_FOLDER_NODE) {
        /* Its control socket is renrakud's, which would answer in kind. */
        s_fail("--data %s is a node's state folder (renrakud --state), not "
               "a relay's data folder: give the relay's --data",
               data);
        return EXIT_FAIL;
    }
    if (control)
        snprintf(ep, sizeof ep, "%s", control);
    else
        snprintf(ep, sizeof ep, "ipc://%s/control.sock", data);
    snprintf(req, sizeof req, "%s%s%s", cmd, node ? " " : "", node ? node : "");
    ctx = zmq_ctx_new();
    sock = zmq_socket(ctx, ZMQ_REQ);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_msg_init(&reply);
    if (zmq_connect(sock, ep) != 0 || zmq_send(sock, req, strlen(req), 0) < 0 ||
        zmq_msg_recv(&reply, sock, 0) < 0) {
        s_fail("no relay answers on %s: %s", ep, zmq_strerror(errno));
        rc = EXIT_FAIL;
    } else if (zmq_msg_size(&reply) > 9 &&
               memcmp(zmq_msg_data(&reply), "{\"error\":", 9) == 0) {
        s_fail("the relay on %s refused `%s`: %.*s", ep, req,
               (int)zmq_msg_size(&reply), (const char *)zmq_msg_data(&reply));
        rc = EXIT_FAIL;
    } else if (as_json) {
        printf("%.*s\n", (int)zmq_msg_size(&reply),
               (const char *)zmq_msg_data(&reply));
        if (probe)
            rc = s_print_probe(zmq_msg_data(&reply), zmq_msg_size(&reply), 1);
    } else if (probe)
        rc = s_print_probe(zmq_msg_data(&reply), zmq_msg_size(&reply), 0);
    else
        rc = s_print_nodes(zmq_msg_data(&reply), zmq_msg_size(&reply));
    zmq_msg_close(&reply);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

int
main(int argc, char **argv) {
    static struct option longopts[N_OPTS + 2];
    relay_config_t cfg;
    identity_t *ident = NULL;
    relay_t *relay = NULL;
    json_t *conf = NULL;
    char err[512], warn[600];
    uint64_t n;
    int c, status = EXIT_FAIL;

    rk_malloc_keep();
    if (sodium_init() < 0) {
        s_fail("libsodium failed to initialise");
        return EXIT_FAIL;
    }
    if (argc > 1 &&
        (strcmp(argv[1], "stats") == 0 || strcmp(argv[1], "nodes") == 0 ||
         strcmp(argv[1], "probe") == 0))
        return s_query(argv[1], argc - 1, argv + 1);
    for (size_t i = 0; i < N_OPTS; i++) {
        longopts[i].name = s_opts[i].name;
        longopts[i].has_arg = (strcmp(s_opts[i].name, "print-vkey") &&
                               strcmp(s_opts[i].name, "test-tamper-deliveries"))
                                  ? required_argument
                                  : no_argument;
        longopts[i].val = 1000 + (int)i;
    }
    longopts[N_OPTS].name = "help";
    longopts[N_OPTS].val = 'h';
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(s_usage, stdout);
            return 0;
        }
        if (c < 1000) {
            fprintf(stderr, "%s", "renraku-relay: see --help\n");
            return EXIT_USAGE;
        }
        s_opts[c - 1000].value = optarg ? optarg : "1";
    }
    if (optind != argc) {
        s_fail("unexpected argument \"%s\" (see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (s_val("config")) {
        /* Flags win: remember them, load the file, put them back. */
        const char *flags[N_OPTS];
        for (size_t i = 0; i < N_OPTS; i++)
            flags[i] = s_opts[i].value;
        conf = s_load_config(s_val("config"));
        if (!conf)
            return EXIT_USAGE;
        for (size_t i = 0; i < N_OPTS; i++)
            if (flags[i])
                s_opts[i].value = flags[i];
    }
    if (s_val("log-level") && rk_log_set_level(s_val("log-level")) != 0) {
        s_fail("--log-level %s: use debug, info, warn or error",
               s_val("log-level"));
        goto done_usage;
    }
    relay_config_defaults(&cfg);
    if (!s_val("key")) {
        s_fail("--key is required (the relay's secret key file)");
        goto done_usage;
    }
    if (unlock_identity(s_val("key"), s_val("passphrase-file"), &ident, warn,
                        sizeof warn, err, sizeof err) != RK_OK) {
        s_fail("%s", err);
        goto done;
    }
    if (warn[0])
        log_warn("event=key_not_encrypted key=%s reason=\"%s\"", s_val("key"),
                 warn);
    if (identity_role(ident) != IDENTITY_ROLE_RELAY) {
        s_fail("--key %s: a %s key; the relay needs a key of role relay",
               s_val("key"), identity_role_name(identity_role(ident)));
        goto done;
    }
    if (s_val("print-vkey")) {
        char origin[300], *vkey = NULL;
        snprintf(origin, sizeof origin, "%s",
                 s_val("origin") ? s_val("origin") : "");
        if (!origin[0])
            snprintf(origin, sizeof origin, "renraku/%s", identity_id(ident));
        if (note_vkey_format(origin, identity_public(ident)->sign_pk, &vkey) !=
            RK_OK) {
            s_fail("--origin %s: not a valid key name", origin);
            goto done;
        }
        printf("%s\n", vkey);
        free(vkey);
        status = 0;
        goto done;
    }
    if (!s_val("roster") || !s_val("coordinator") || !s_val("data")) {
        s_fail("--roster, --coordinator and --data are required (see "
               "--help)");
        goto done_usage;
    }
    if (unlock_verifier(s_val("coordinator"), &cfg.coordinator, err,
                        sizeof err) != RK_OK) {
        s_fail("--coordinator %s", err);
        goto done_usage;
    }
    cfg.identity = ident;
    cfg.roster_path = s_val("roster");
    cfg.data_dir = s_val("data");
    if (s_val("bind"))
        cfg.bind = s_val("bind");
    cfg.control = s_val("control");
    cfg.origin = s_val("origin");
    {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.workers = cores > 0 ? (size_t)cores : 1;
    }
    n = cfg.workers;
    if (s_num("workers", 1, 256, &n))
        goto done_usage;
    cfg.workers = (size_t)n;
    n = cfg.window_ms / 1000;
    if (s_num("window", 1, 7 * 24 * 3600, &n))
        goto done_usage;
    cfg.window_ms = n * 1000;
    n = cfg.skew_ms / 1000;
    if (s_num("skew", 0, 24 * 3600, &n))
        goto done_usage;
    cfg.skew_ms = n * 1000;
    n = (uint64_t)cfg.max_msg_size;
    if (s_num("max-msg-size", 1024, 64 * 1024 * 1024, &n))
        goto done_usage;
    cfg.max_msg_size = (int64_t)n;
    n = (uint64_t)cfg.handshake_ms;
    if (s_num("handshake-ms", 100, 600000, &n))
        goto done_usage;
    cfg.handshake_ms = (int)n;
    n = cfg.redeliver_ms;
    if (s_num("redeliver-ms", 500, 24 * 3600 * 1000, &n))
        goto done_usage;
    cfg.redeliver_ms = n;
    n = (uint64_t)cfg.heartbeat_ms;
    if (s_num("heartbeat-ms", 100, 600000, &n))
        goto done_usage;
    cfg.heartbeat_ms = (int)n;
    n = cfg.checkpoint_ms / 1000;
    if (s_num("checkpoint-every", 1, 86400, &n))
        goto done_usage;
    cfg.checkpoint_ms = n * 1000;
    n = 64;
    if (s_num("segment-mb", 1, 4096, &n))
        goto done_usage;
    cfg.segment_bytes = n * 1024 * 1024;
    n = cfg.max_held_node >> 20;
    if (s_num("max-held-node-mb", 1, 1048576, &n))
        goto done_usage;
    cfg.max_held_node = n << 20;
    n = cfg.max_held >> 20;
    if (s_num("max-held-mb", 1, 1048576, &n))
        goto done_usage;
    cfg.max_held = n << 20;
    n = (uint64_t)cfg.rate_limit;
    if (s_num("rate-limit", 0, 1000000, &n))
        goto done_usage;
    cfg.rate_limit = (double)n;
    n = cfg.rate_burst;
    if (s_num("rate-burst", 1, 1000000, &n))
        goto done_usage;
    cfg.rate_burst = (uint32_t)n;
    n = cfg.snapshot_records;
    if (s_num("snapshot-every", 1, 1000000000, &n))
        goto done_usage;
    cfg.snapshot_records = n;
    n = cfg.snapshot_ms / 1000;
    if (s_num("snapshot-interval", 0, 86400, &n))
        goto done_usage;
    cfg.snapshot_ms = n * 1000;
    if (s_val("verify-at")) {
        if (strcmp(s_val("verify-at"), "recipients") == 0)
            cfg.verify_at_recipients = 1;
        else if (strcmp(s_val("verify-at"), "relay") != 0) {
            s_fail("--verify-at %s: expected relay or recipients",
                   s_val("verify-at"));
            goto done_usage;
        }
    }
    if (cfg.verify_at_recipients)
        log_warn("event=verify_at_recipients reason=\"--verify-at "
                 "recipients: the relay does not check signatures; a forged "
                 "envelope from an authenticated node is logged and "
                 "delivered, and refused only by its recipients\"");
    if (s_val("test-tamper-deliveries")) {
        cfg.test_tamper_deliveries = 1;
        log_warn("event=test_mode reason=\"--test-tamper-deliveries: every "
                 "delivered envelope is corrupted on purpose (tests only)\"");
    }
    if (s_val("test-refuse-receipts")) {
        n = 0;
        if (s_num("test-refuse-receipts", 1, 1000000, &n))
            goto done_usage;
        cfg.test_refuse_receipts = n;
        log_warn("event=test_mode reason=\"--test-refuse-receipts: the "
                 "first %" PRIu64 " receipts are refused as by a full "
                 "queue (tests only)\"",
                 n);
    }

    {
        /* Before the endpoint file says we are up. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = s_on_hup;
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    relay = relay_new(&cfg, err, sizeof err);
    if (!relay) {
        s_fail("%s", err);
        goto done;
    }
    if (s_val("endpoint-file")) {
        const char *ep = relay_endpoint(relay);
        char line[300];
        int rc;
        snprintf(line, sizeof line, "%s\n", ep);
        rc = rk_write_file(s_val("endpoint-file"), line, strlen(line), 0644, 0);
        if (rc != RK_OK) {
            s_fail("--endpoint-file %s: %s", s_val("endpoint-file"),
                   rk_strerror(rc));
            goto done;
        }
    }
    status = relay_run(relay, &s_stop, &s_reload) == RK_OK ? 0 : EXIT_FAIL;
done:
    relay_destroy(&relay);
    identity_destroy(&ident);
    json_decref(conf);
    return status;
done_usage:
    identity_destroy(&ident);
    json_decref(conf);
    return EXIT_USAGE;
}
