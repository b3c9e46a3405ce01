/* renrakud: the partner node daemon. Parses flags, loads the key and the
 * pinned coordinator key, runs the daemon until SIGINT/SIGTERM. Exit
 * codes: 0 stopped cleanly, 1 could not start or failed, 2 usage error. */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "payload.h"
#include "rk_log.h"
#include "rk_util.h"
#include "unlock.h"

static const char *s_usage =
    "usage: renrakud --key NODE.key --roster ROSTER.signed\n"
    "                --coordinator VKEY|COORDINATOR.pub --state DIR\n"
    "                --relay [ID=]tcp://HOST:PORT... [options]\n"
    "\n"
    "Runs a partner node: keeps the outbox and inbox in DIR (mode 0700),\n"
    "talks to the relay over CurveZMQ and to `renraku` over\n"
    "ipc://DIR/control.sock.\n"
    "\n"
    "  --key FILE               this node's secret key file\n"
    "  --passphrase-file FILE   passphrase of an encrypted key file\n"
    "  --roster FILE            signed roster (newer ones come from the "
    "relay)\n"
    "  --coordinator VKEY|FILE  the pinned coordinator key\n"
    "  --state DIR              outbox, inbox, quarantine, state\n"
    "  --relay [ID=]ENDPOINT    a relay, e.g. tcp://127.0.0.1:7400; repeat\n"
    "                           for independent relays (up to 8), naming\n"
    "                           each by its roster id: relay.a=tcp://...\n"
    "  --relay-id ID            the relay's roster id (default: the only\n"
    "                           relay in the roster)\n"
    "  --hook COMMAND           run for each new notice, its JSON on stdin\n"
    "  --hook-timeout-ms MS     kill a hook (and what it started) running\n"
    "                           longer (default 30000)\n"
    "  --auto-ack-comm-check    answer communication checks \"received\"\n"
    "  --auto-answer STATUS     simulated participant (rehearsals): answer\n"
    "                           drill injects and comm checks with STATUS\n"
    "  --answer-delay-ms MS     ... this long after they arrive (default 0)\n"
    "  --credit N               deliveries in flight (default 64)\n"
    "  --heartbeat-ms MS        heartbeat interval (default 5000)\n"
    "  --resubmit-ms MS         resubmit, this often, what was queued that "
    "long ago\n"
    "                           and is still unanswered (default 30000)\n"
    "  --checkpoint-idle-ms MS  sync the inbox's files and empty the journal\n"
    "                           after this long without deliveries (default\n"
    "                           1000)\n"
    "  --log-level LEVEL        debug, info, warn, error (default info)\n";

static volatile sig_atomic_t s_stop = 0;

static void
s_on_stop(int sig) {
    (void)sig;
    s_stop = 1;
}

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_fail(const char *fmt, ...) {
    va_list ap;
    fputs("renrakud: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Refuses a key file no node runs with: the relay's own key (welcomed as
 * a node, it shows in `renraku-relay nodes` as the relay's key stolen) or
 * the coordinator's (no roster node: every handshake refused). Partners,
 * controllers (drills) and auditors are roster nodes the relay admits.
 * Returns 1, after saying why, when ident is one of those. */
static int
s_refuse_role(const char *path, const identity_t *ident) {
    identity_role_t role = identity_role(ident);
    if (role == IDENTITY_ROLE_PARTNER || role == IDENTITY_ROLE_CONTROLLER ||
        role == IDENTITY_ROLE_AUDITOR)
        return 0;
    s_fail("--key %s: the key of '%s', role %s; renrakud needs a node's key "
           "(role partner, controller or auditor)%s",
           path, identity_id(ident), identity_role_name(role),
           role == IDENTITY_ROLE_RELAY
               ? ": a relay's key is for renraku-relay only"
           : role == IDENTITY_ROLE_COORDINATOR
               ? ": the coordinator's key only signs rosters"
               : "");
    return 1;
}

static int
s_int(const char *name, const char *v, long lo, long hi, long *out) {
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        s_fail("--%s %s: not a number from %ld to %ld", name, v, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

int
main(int argc, char **argv) {
    static const struct option opts[] = {{"key", 1, 0, 'k'},
                                         {"passphrase-file", 1, 0, 'p'},
                                         {"roster", 1, 0, 'r'},
                                         {"coordinator", 1, 0, 'c'},
                                         {"state", 1, 0, 's'},
                                         {"relay", 1, 0, 'R'},
                                         {"relay-id", 1, 0, 'I'},
                                         {"hook", 1, 0, 'H'},
                                         {"hook-timeout-ms", 1, 0, 'T'},
                                         {"auto-ack-comm-check", 0, 0, 'A'},
                                         {"auto-answer", 1, 0, 'a'},
                                         {"answer-delay-ms", 1, 0, 'D'},
                                         {"credit", 1, 0, 'C'},
                                         {"heartbeat-ms", 1, 0, 'B'},
                                         {"resubmit-ms", 1, 0, 'S'},
                                         {"checkpoint-idle-ms", 1, 0, 'K'},
                                         {"log-level", 1, 0, 'L'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    daemon_config_t cfg;
    const char *relay_id = NULL;
    size_t n_relays = 0;
    static char one_relay[600];
    const char *key = NULL, *pass = NULL, *coord = NULL;
    identity_t *ident = NULL;
    daemon_t *d = NULL;
    char err[600], warn[600];
    long n;
    int c, status = 1;

    rk_malloc_keep();
    if (sodium_init() < 0) {
        s_fail("libsodium failed to initialise");
        return 1;
    }
    daemon_config_defaults(&cfg);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key = optarg;
            break;
        case 'p':
            pass = optarg;
            break;
        case 'r':
            cfg.roster_path = optarg;
            break;
        case 'c':
            coord = optarg;
            break;
        case 's':
            cfg.state_dir = optarg;
            break;
        case 'R':
            if (n_relays == 0)
                cfg.n_relays = 0; /* the first --relay replaces the default */
            if (cfg.n_relays >= DAEMON_MAX_RELAYS) {
                s_fail("--relay: at most %d relays", DAEMON_MAX_RELAYS);
                return 2;
            }
            cfg.relays[cfg.n_relays++] = optarg;
            n_relays++;
            break;
        case 'I':
            relay_id = optarg;
            break;
        case 'H':
            cfg.hook = optarg;
            break;
        case 'T':
            if (s_int("hook-timeout-ms", optarg, 100, 86400000, &n))
                return 2;
            cfg.hook_timeout_ms = (int)n;
            break;
        case 'A':
            cfg.auto_ack_comm_check = 1;
            break;
        case 'a':
            if (!payload_ack_status_from_name(optarg)) {
                s_fail("--auto-answer %s: use received, acknowledged, "
                       "in-progress, resolved or denied",
                       optarg);
                return 2;
            }
            cfg.auto_answer = optarg;
            break;
        case 'D':
            if (s_int("answer-delay-ms", optarg, 0, 86400000, &n))
                return 2;
            cfg.answer_delay_ms = (int)n;
            break;
        case 'C':
            if (s_int("credit", optarg, 1, 4096, &n))
                return 2;
            cfg.credit = (uint32_t)n;
            break;
        case 'B':
            if (s_int("heartbeat-ms", optarg, 100, 600000, &n))
                return 2;
            cfg.heartbeat_ms = (int)n;
            break;
        case 'S':
            if (s_int("resubmit-ms", optarg, 100, 3600000, &n))
                return 2;
            cfg.resubmit_ms = (int)n;
            break;
        case 'K':
            if (s_int("checkpoint-idle-ms", optarg, 100, 3600000, &n))
                return 2;
            cfg.checkpoint_idle_ms = (int)n;
            break;
        case 'L':
            if (rk_log_set_level(optarg) != 0) {
                s_fail("--log-level %s: use debug, info, warn or error",
                       optarg);
                return 2;
            }
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            s_fail("unknown or incomplete option %s (see --help)",
                   argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc) {
        s_fail("unexpected argument \"%s\" (see --help)", argv[optind]);
        return 2;
    }
    if (!key || !cfg.roster_path || !coord || !cfg.state_dir) {
        s_fail("--key, --roster, --coordinator and --state are required "
               "(see --help)");
        return 2;
    }
    if (relay_id) {
        /* --relay-id names the relay of a single --relay ENDPOINT. */
        if (cfg.n_relays != 1 || strchr(cfg.relays[0], '=')) {
            s_fail("--relay-id goes with one --relay ENDPOINT; with several "
                   "relays write --relay ID=ENDPOINT");
            return 2;
        }
        snprintf(one_relay, sizeof one_relay, "%s=%s", relay_id, cfg.relays[0]);
        cfg.relays[0] = one_relay;
    }
    if (unlock_verifier(coord, &cfg.coordinator, err, sizeof err) != RK_OK) {
        s_fail("--coordinator %s", err);
        return 2;
    }
    if (unlock_identity(key, pass, &ident, warn, sizeof warn, err,
                        sizeof err) != RK_OK) {
        s_fail("%s", err);
        return 1;
    }
    if (warn[0])
        log_warn("event=key_not_encrypted key=%s reason=\"%s\"", key, warn);
    if (s_refuse_role(key, ident)) {
        identity_destroy(&ident);
        return 1;
    }
    cfg.identity = ident;
    d = daemon_new(&cfg, err, sizeof err);
    if (!d) {
        s_fail("%s", err);
        identity_destroy(&ident);
        return 1;
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    status = daemon_run(d, &s_stop) == RK_OK ? 0 : 1;
    daemon_destroy(&d);
    identity_destroy(&ident);
    return status;
}
