/* renraku-audit: the auditor's program. Thin: parse arguments, pin keys,
 * call audit.h and audit_compare.h, print. It reads copies of relays'
 * logs and never writes them. Exit codes: 0 verified, done or the logs
 * agree, 1 a problem was found or the operation failed, 2 usage error,
 * 3 (compare) the logs differ without contradicting each other. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "audit_compare.h"
#include "rk_log.h"
#include "rk_util.h"
#include "unlock.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_DIFFER 3
/* Bytes of segments from which verify shows progress on a terminal. */
#define S_LONG_LOG (16u * 1024u * 1024u)

static const char *s_usage =
    "usage: renraku-audit COMMAND [options]\n"
    "\n"
    "  verify LOGDIR --vkey RELAY_VKEY [--vkey RELAY_VKEY]...\n"
    "         --coordinator VKEY|FILE [--all] [--threads N]\n"
    "         check everything the log can prove (several --vkey: the\n"
    "         relay's keys before and after a rotation)\n"
    "  timeline LOGDIR [--node ID] [--kind K] [--drill ID] [--since T]\n"
    "         [--until T] [--msg HEX]   one line per record\n"
    "  export LOGDIR --format jsonl|csv [--out FILE] [filters as timeline]\n"
    "  prove LOGDIR MSG_ID --vkey RELAY_VKEY [--out FILE]\n"
    "         write a c2sp.org/tlog-proof of the message's accepted record\n"
    "  check-proof FILE --vkey RELAY_VKEY   verify a proof, print the record\n"
    "  consistency OLD_CHECKPOINT NEW_CHECKPOINT LOGDIR --vkey RELAY_VKEY\n"
    "         prove from the log that the newer checkpoint extends the older\n"
    "  replay LOGDIR [--speed 10x|max] [--since T]   the records as JSON\n"
    "         Lines, at their original pace times the speed\n"
    "  compare LOGDIR_A LOGDIR_B --vkey A_VKEY --vkey B_VKEY\n"
    "         --coordinator VKEY|FILE [--json] [--since T] [--until T]\n"
    "         [--threads N]   verify two relays' logs, then compare them\n"
    "\n"
    "LOGDIR: a copy of the relay's data folder (log/ and checkpoints/).\n"
    "RELAY_VKEY: what 'renraku-relay --print-vkey' prints, or a file with "
    "it.\n"
    "T: RFC 3339 UTC time (2027-01-01T00:00:00Z) or Unix milliseconds.\n"
    "Exit: 0 verified/done (compare: the logs agree), 1 a problem was found "
    "or the\noperation failed, 2 usage, 3 (compare) the logs differ without "
    "contradiction.\n"
    "Run 'renraku-audit COMMAND --help' for one command. docs/AUDIT.md "
    "explains what each check proves.\n";

static void s_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_err(const char *fmt, ...) {
    va_list ap;
    fputs("renraku-audit: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Flushes stdout and, when anything written to it was lost (a full disk,
 * a closed file), says so once on stderr: output that did not arrive must
 * not pass for complete. seen: the errno of a failed write already met, or
 * 0. Returns 0 or EXIT_FAIL. */
static int
s_stdout_check(int seen) {
    static bool reported;
    int e = seen;
    if (fflush(stdout) != 0)
        e = errno;
    if (!e && !ferror(stdout))
        return 0;
    if (!reported)
        s_err("writing to stdout: %s; the output is incomplete",
              e ? strerror(e) : "an earlier write failed");
    reported = true;
    return EXIT_FAIL;
}

/* Parses options; on a getopt failure prints it and returns -1. */
static int
s_getopt(int argc, char **argv, const struct option *opts) {
    int c = getopt_long(argc, argv, ":", opts, NULL);
    if (c == ':' || c == '?') {
        char why[300];
        rk_opt_refused(why, sizeof why, argv, opts, c == ':');
        s_err("%s (see --help)", why);
        return -2;
    }
    return c;
}

/* The relay's checkpoint key: a vkey, or a file whose first line is one.
 * When it is neither, says which problem: of the text (taken for a vkey
 * when it has a '+', which paths seldom have), of the file, or of the
 * vkey in the file. */
static int
s_relay_vkey(const char *arg, note_verifier_t *v) {
    uint8_t *text = NULL;
    size_t len = 0;
    char why[200], *nl;
    struct stat st;
    int rc;
    if (!arg) {
        s_err("--vkey is required (what 'renraku-relay --print-vkey' "
              "prints)");
        return EXIT_USAGE;
    }
    if (note_vkey_parse_why(arg, v, why, sizeof why) == RK_OK)
        return 0;
    if (stat(arg, &st) != 0) {
        int e = errno;
        if (strchr(arg, '+'))
            s_err("--vkey %s: not a verifier key: %s (and no file of that "
                  "name)",
                  arg, why);
        else
            s_err("--vkey %s: %s, and not a verifier key (name+hash+key) "
                  "either",
                  arg,
                  e == ENOENT || e == ENOTDIR ? "no such file" : strerror(e));
        return EXIT_FAIL;
    }
    if (S_ISDIR(st.st_mode)) {
        s_err("--vkey %s: is a directory, not a verifier key file", arg);
        return EXIT_FAIL;
    }
    if (!S_ISREG(st.st_mode)) {
        /* Not opened: a FIFO would block until a writer came. */
        s_err("--vkey %s: not a regular file, not a verifier key file", arg);
        return EXIT_FAIL;
    }
    rc = rk_read_file(arg, 4096, &text, &len);
    if (rc != RK_OK) {
        s_err("--vkey %s: %s", arg,
              rc == RK_ERR_TOO_LARGE ? "more than 4096 bytes: not a verifier "
                                       "key file"
              : rc == RK_ERR_IO      ? strerror(errno)
                                     : rk_strerror(rc));
        return EXIT_FAIL;
    }
    if ((nl = memchr(text, '\n', len)))
        *nl = 0;
    rc = note_vkey_parse_why((const char *)text, v, why, sizeof why);
    free(text);
    if (rc == RK_OK)
        return 0;
    if (!len)
        s_err("--vkey %s: the file is empty, not a verifier key", arg);
    else
        s_err("--vkey %s: the file does not hold a verifier key on its "
              "first line: %s",
              arg, why);
    return EXIT_FAIL;
}

static int
s_msg_id(const char *arg, uint8_t id[ENVELOPE_MSG_ID_LEN]) {
    if (strlen(arg) != 2 * ENVELOPE_MSG_ID_LEN ||
        rk_unhex(id, ENVELOPE_MSG_ID_LEN, arg) != RK_OK) {
        s_err("msg id %s: need 32 hex digits", arg);
        return -1;
    }
    return 0;
}

/* Counts the positional arguments left after getopt. */
static int
s_positionals(int argc, char **argv, int want, const char *what) {
    if (argc - optind != want) {
        s_err("%s (see --help)", what);
        return -1;
    }
    (void)argv;
    return 0;
}

/* ---- verify -------------------------------------------------------------- */

typedef struct {
    uint64_t shown;
} s_vstate_t;

/* "FILE offset O record R" of a problem into where (may be ""). */
static void
s_problem_where(char *where, size_t cap, const audit_problem_t *p) {
    int n = 0;
    where[0] = 0;
    if (p->file)
        n = snprintf(where, cap, "%s", p->file);
    if (p->offset >= 0 && n >= 0 && (size_t)n < cap)
        n +=
            snprintf(where + n, cap - (size_t)n, " offset %" PRId64, p->offset);
    if (p->index >= 0 && n >= 0 && (size_t)n < cap)
        snprintf(where + n, cap - (size_t)n, "%srecord %" PRId64, n ? " " : "",
                 p->index);
}

static void
s_print_problem(void *arg, const audit_problem_t *p) {
    s_vstate_t *st = arg;
    char where[160];
    s_problem_where(where, sizeof where, p);
    printf("problem: %s: %s\n", where[0] ? where : "log", p->reason);
    st->shown++;
}

static void
s_progress(void *arg, uint64_t done, uint64_t total, uint64_t records) {
    (void)arg;
    if (total < S_LONG_LOG)
        return; /* short logs finish before a progress line helps */
    fprintf(stderr, "\rverify: %3u%% %" PRIu64 " records",
            (unsigned)(done * 100 / total), records);
    if (done >= total)
        fputs("\r                                        \r", stderr);
}

#define S_VKEY_MAX 8 /* --vkey of verify: a relay's key sets (roster) */

static int
s_cmd_verify(int argc, char **argv) {
    static const struct option opts[] = {
        {"vkey", required_argument, NULL, 'v'},
        {"coordinator", required_argument, NULL, 'c'},
        {"coordinator-pub", required_argument, NULL, 'c'},
        {"all", no_argument, NULL, 'a'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *vkey = NULL, *coord = NULL, *more_vkey[S_VKEY_MAX - 1];
    size_t n_more = 0;
    audit_verify_config_t cfg;
    audit_summary_t sum;
    note_verifier_t relay, coordinator, more[S_VKEY_MAX - 1];
    s_vstate_t st = {0};
    char err[512], t1[40], t2[40], *root;
    int c, rc;

    memset(&cfg, 0, sizeof cfg);
    while ((c = s_getopt(argc, argv, opts)) != -1) {
        switch (c) {
        case 'v':
            /* Several: the relay's keys over a rotation. */
            if (!vkey)
                vkey = optarg;
            else if (n_more < S_VKEY_MAX - 1)
                more_vkey[n_more++] = optarg;
            else {
                s_err("--vkey: at most %d (the key sets of one relay)",
                      S_VKEY_MAX);
                return EXIT_USAGE;
            }
            break;
        case 'c':
            coord = optarg;
            break;
        case 'a':
            cfg.all = true;
            break;
        case 't': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 64) {
                s_err("--threads %s: a number from 1 to 64", optarg);
                return EXIT_USAGE;
            }
            cfg.threads = (unsigned)n;
            break;
        }
        case 'h':
            puts("usage: renraku-audit verify LOGDIR --vkey RELAY_VKEY "
                 "[--vkey RELAY_VKEY]...\n"
                 "       --coordinator VKEY|FILE [--all] [--threads N]\n"
                 "Checks the framing of every segment, recomputes the Merkle "
                 "tree, checks every\ncheckpoint's signature and root, that "
                 "every record decodes and sits at its index,\nevery roster "
                 "record against the coordinator key, every accepted "
                 "envelope's\nsignature against the roster of its time, and "
                 "that delivered and expired records\npoint at earlier "
                 "accepted ones and name their recipients, each once. A log "
                 "that no\ncheckpoint signed by RELAY_VKEY matches is a "
                 "problem.\nAfter a rotation of the relay's keys, give each of "
                 "its keys with --vkey (up to 8,\nall of one relay): a "
                 "checkpoint signed by any of them counts. Prints the first "
                 "problem\n(--all: every one) and "
                 "a summary. Exit: 0 verified, 1 a problem was found, 2 "
                 "usage.");
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (s_positionals(argc, argv, 1, "verify needs one LOGDIR") != 0)
        return EXIT_USAGE;
    if (!coord) {
        s_err("--coordinator is required (the coordinator's vkey or .pub "
              "file)");
        return EXIT_USAGE;
    }
    if ((rc = s_relay_vkey(vkey, &relay)) != 0)
        return rc;
    for (size_t i = 0; i < n_more; i++) {
        if ((rc = s_relay_vkey(more_vkey[i], &more[i])) != 0)
            return rc;
        if (strcmp(more[i].name, relay.name) != 0) {
            s_err("--vkey %s: a key of %s, but the first --vkey is of %s: "
                  "several --vkey are the keys of one relay over a "
                  "rotation, all of one name",
                  more_vkey[i], more[i].name, relay.name);
            return EXIT_USAGE;
        }
    }
    if (unlock_verifier(coord, &coordinator, err, sizeof err) != RK_OK) {
        s_err("--coordinator %s", err);
        return EXIT_FAIL;
    }
    cfg.dir = argv[optind];
    cfg.relay = &relay;
    cfg.relay_more = n_more ? more : NULL;
    cfg.n_relay_more = n_more;
    cfg.coordinator = &coordinator;
    cfg.problem = s_print_problem;
    cfg.problem_arg = &st;
    if (isatty(STDERR_FILENO))
        cfg.progress = s_progress;
    rc = audit_verify(&cfg, &sum, err, sizeof err);
    if (rc != RK_OK && rc != RK_ERR_MISMATCH) {
        s_err("%s", err);
        return EXIT_FAIL;
    }
    rk_time_format(t1, sizeof t1, sum.first_ms);
    rk_time_format(t2, sizeof t2, sum.last_ms);
    root = rk_b64(sum.root, sizeof sum.root);
    printf("records %" PRIu64 " (accepted %" PRIu64 ", delivered %" PRIu64
           ", expired %" PRIu64 ", refused %" PRIu64 ", roster %" PRIu64
           ", relay %" PRIu64 ", undeliverable %" PRIu64 ") in %" PRIu64
           " segments, %" PRIu64 " bytes\n",
           sum.records, sum.by_type[0], sum.by_type[1], sum.by_type[2],
           sum.by_type[3], sum.by_type[4], sum.by_type[5], sum.by_type[6],
           sum.segments, sum.bytes);
    if (sum.tail_bytes)
        printf("torn tail: %" PRIu64 " bytes at offset %" PRIu64
               " of %s, ignored (never acknowledged)\n",
               sum.tail_bytes, sum.tail_offset, sum.tail_file);
    printf("nodes %" PRIu64 "\n", sum.nodes);
    printf("checkpoints %" PRIu64 " checked, newest matching size %" PRIu64
           "\n",
           sum.checkpoints, sum.checkpoint_size);
    printf("rosters %" PRIu64 " verified, last serial %" PRIu64 "\n",
           sum.rosters, sum.roster_serial);
    printf("envelope signatures %" PRIu64 " verified", sum.signatures);
    if (sum.prev_roster)
        printf(" (%" PRIu64 " with the roster replaced in their group "
               "commit)",
               sum.prev_roster);
    printf("\n");
    if (sum.records)
        printf("time %s .. %s (relay clock)\n", t1, t2);
    printf("root %s at size %" PRIu64 "\n", root ? root : "?", sum.records);
    free(root);
    if (sum.records > sum.checkpoint_size && (cfg.all || !sum.problems))
        printf("not covered by a checkpoint: records %" PRIu64 " to %" PRIu64
               " (%" PRIu64 "): checked, but no relay signature vouches for "
               "them yet\n",
               sum.checkpoint_size, sum.records - 1,
               sum.records - sum.checkpoint_size);
    if (rc == RK_ERR_MISMATCH) {
        printf("FAILED: %" PRIu64 " problem%s found%s\n", sum.problems,
               sum.problems == 1 ? "" : "s",
               cfg.all ? "" : " (the first is shown; --all lists every one)");
        return EXIT_FAIL;
    }
    printf("verified: no problem found\n");
    return 0;
}

/* ---- timeline, export, replay ------------------------------------------ */

typedef struct {
    FILE *out;
    int format;   /* 0 line, 1 jsonl, 2 csv */
    double speed; /* replay: 0 none */
    bool replay, started;
    uint64_t t0_ms;
    struct timespec m0;
    int err;
    int sys_errno; /* of the write that failed */
} s_out_t;

static void
s_wait_until(const s_out_t *o, uint64_t time_ms) {
    struct timespec target = o->m0;
    double secs;
    if (time_ms <= o->t0_ms)
        return;
    secs = (double)(time_ms - o->t0_ms) / 1000.0 / o->speed;
    target.tv_sec += (time_t)secs;
    target.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (target.tv_nsec >= 1000000000L) {
        target.tv_sec++;
        target.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct timespec now, d;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > target.tv_sec ||
            (now.tv_sec == target.tv_sec && now.tv_nsec >= target.tv_nsec))
            return;
        d.tv_sec = target.tv_sec - now.tv_sec;
        d.tv_nsec = target.tv_nsec - now.tv_nsec;
        if (d.tv_nsec < 0) {
            d.tv_sec--;
            d.tv_nsec += 1000000000L;
        }
        nanosleep(&d, NULL);
    }
}

static int
s_emit(void *arg, const audit_event_t *ev) {
    s_out_t *o = arg;
    char *s = NULL;
    if (o->replay && o->speed > 0) {
        if (!o->started) {
            o->t0_ms = ev->time_ms;
            clock_gettime(CLOCK_MONOTONIC, &o->m0);
        } else {
            s_wait_until(o, ev->time_ms);
        }
    }
    o->started = true;
    if (o->format == 2) {
        if (audit_event_csv(ev, o->out) != RK_OK) {
            o->sys_errno = errno;
            return o->err = RK_ERR_IO;
        }
        return 0;
    }
    s = o->format == 1 ? audit_event_json(ev) : audit_event_line(ev);
    if (!s)
        return o->err = RK_ERR_NOMEM;
    fprintf(o->out, "%s\n", s);
    free(s);
    if (o->replay)
        fflush(o->out);
    if (!ferror(o->out))
        return 0;
    o->sys_errno = errno;
    return o->err = RK_ERR_IO;
}

static int
s_cmd_events(int argc, char **argv, const char *cmd) {
    static const struct option opts[] = {
        {"node", required_argument, NULL, 'n'},
        {"kind", required_argument, NULL, 'k'},
        {"drill", required_argument, NULL, 'd'},
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"msg", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"speed", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool export = !strcmp(cmd, "export"), replay = !strcmp(cmd, "replay");
    audit_filter_t f;
    s_out_t o = {stdout, 0, 10.0, replay, false, 0, {0, 0}, 0, 0};
    const char *out_path = NULL, *format = NULL;
    char err[512];
    int c, rc;

    memset(&f, 0, sizeof f);
    while ((c = s_getopt(argc, argv, opts)) != -1) {
        bool filter = c == 'n' || c == 'k' || c == 'd' || c == 'u' || c == 'm';
        if ((replay && (filter || c == 'f' || c == 'o')) ||
            (!replay && c == 'x') || (!export && (c == 'f' || c == 'o'))) {
            s_err("%s does not take %s (see --help)", cmd, argv[optind - 1]);
            return EXIT_USAGE;
        }
        switch (c) {
        case 'n':
            f.node = optarg;
            break;
        case 'k':
            if (!(f.kind = envelope_kind_from_name(optarg))) {
                s_err("--kind %s: use notice, alert, ack, status-update, "
                      "comm-check, drill-inject or drill-reply",
                      optarg);
                return EXIT_USAGE;
            }
            break;
        case 'd':
            f.drill = optarg;
            break;
        case 's':
        case 'u':
            if (audit_time_parse(optarg, c == 's' ? &f.since_ms
                                                  : &f.until_ms) != RK_OK) {
                s_err("--%s %s: use an RFC 3339 UTC time "
                      "(2027-01-01T00:00:00Z) or Unix milliseconds",
                      c == 's' ? "since" : "until", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if (s_msg_id(optarg, f.msg_id) != 0)
                return EXIT_USAGE;
            f.has_msg = true;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'x':
            if (audit_speed_parse(optarg, &o.speed) != RK_OK) {
                s_err("--speed %s: use a factor such as 10x or 0.5x, or max",
                      optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            if (replay)
                puts("usage: renraku-audit replay LOGDIR [--speed 10x|max] "
                     "[--since T]\nPlays the records back as JSON Lines in "
                     "log order, waiting between them as\nthe relay's clock "
                     "did, divided by the speed (default 10x; max: no "
                     "waiting).\nExit: 0 done, 1 the log cannot be read, 2 "
                     "usage.");
            else if (export)
                puts("usage: renraku-audit export LOGDIR --format jsonl|csv "
                     "[--out FILE] [--node ID]\n       [--kind K] [--drill "
                     "ID] [--since T] [--until T] [--msg HEX]\nOne JSON "
                     "object per line, or RFC 4180 CSV with a header row "
                     "(CRLF line ends).\nFields: time, time_ms, index, type, "
                     "from, to, kind, msg_id, drill, size,\ncreated_ms, "
                     "accepted_index, code, reason. Exit: 0 done, 1 failed, "
                     "2 usage.");
            else
                puts("usage: renraku-audit timeline LOGDIR [--node ID] "
                     "[--kind K] [--drill ID]\n       [--since T] [--until "
                     "T] [--msg HEX]\nOne line per record: time, index, "
                     "type, sender -> recipients, kind, msg id,\nsize, and "
                     "for refusals the code and reason. --node matches the "
                     "sender, a\nrecipient or the refused peer; --since is "
                     "inclusive, --until exclusive.\nExit: 0 done, 1 the log "
                     "cannot be read, 2 usage.");
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (s_positionals(argc, argv, 1, "one LOGDIR is needed") != 0)
        return EXIT_USAGE;
    if (export) {
        if (!format) {
            s_err("--format is required: jsonl or csv");
            return EXIT_USAGE;
        }
        if (!strcmp(format, "jsonl"))
            o.format = 1;
        else if (!strcmp(format, "csv"))
            o.format = 2;
        else {
            s_err("--format %s: use jsonl or csv", format);
            return EXIT_USAGE;
        }
    }
    if (replay)
        o.format = 1;
    if (out_path && !(o.out = fopen(out_path, "w"))) {
        s_err("--out %s: %s", out_path, strerror(errno));
        return EXIT_FAIL;
    }
    if (o.format == 2)
        audit_csv_header(o.out);
    rc = audit_events(argv[optind], &f, s_emit, &o, err, sizeof err);
    if (o.out != stdout && fclose(o.out) != 0 && rc == RK_OK) {
        s_err("--out %s: %s", out_path, strerror(errno));
        return EXIT_FAIL;
    }
    if (rc != RK_OK) {
        if (o.err == RK_ERR_IO && o.out == stdout) {
            (void)s_stdout_check(o.sys_errno); /* says why, once */
            return EXIT_FAIL;
        }
        if (o.err == RK_ERR_IO)
            s_err("--out %s: %s", out_path, strerror(o.sys_errno));
        else if (o.err)
            s_err("writing: %s", rk_strerror(o.err));
        else
            s_err("%s: %s", argv[optind], err);
        return EXIT_FAIL;
    }
    return 0;
}

/* ---- proofs -------------------------------------------------------------- */

static int
s_write_out(const char *path, const char *text, size_t len) {
    if (!path) {
        fwrite(text, 1, len, stdout);
        return s_stdout_check(0);
    }
    if (rk_write_file(path, text, len, 0644, 0) != RK_OK) {
        s_err("--out %s: %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    return 0;
}

static int
s_cmd_prove(int argc, char **argv) {
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL, *out = NULL;
    note_verifier_t relay;
    uint8_t id[ENVELOPE_MSG_ID_LEN];
    audit_proof_t p;
    char err[512], *text = NULL;
    size_t len = 0;
    int c, rc;

    while ((c = s_getopt(argc, argv, opts)) != -1) {
        if (c == 'v')
            vkey = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            puts("usage: renraku-audit prove LOGDIR MSG_ID --vkey RELAY_VKEY "
                 "[--out FILE]\nWrites a c2sp.org/tlog-proof@v1 (to FILE or "
                 "stdout) that the accepted record\nof MSG_ID (32 hex "
                 "digits) is in the tree of the newest checkpoint. Its "
                 "extra\nline is the record exactly as logged and hashed. "
                 "Exit: 0 written, 1 failed,\n2 usage.");
            return 0;
        } else
            return EXIT_USAGE;
    }
    if (s_positionals(argc, argv, 2, "prove needs LOGDIR and MSG_ID") != 0 ||
        s_msg_id(argv[optind + 1], id) != 0)
        return EXIT_USAGE;
    if ((rc = s_relay_vkey(vkey, &relay)) != 0)
        return rc;
    rc = audit_prove(argv[optind], &relay, id, &p, err, sizeof err);
    if (rc != RK_OK) {
        s_err("%s", err);
        return EXIT_FAIL;
    }
    rc = audit_proof_format(&p, &text, &len);
    if (rc != RK_OK) {
        s_err("formatting the proof: %s", rk_strerror(rc));
        audit_proof_clear(&p);
        return EXIT_FAIL;
    }
    rc = s_write_out(out, text, len);
    if (rc == 0 && out)
        fprintf(stderr, "proof of record %" PRIu64 " written to %s\n", p.index,
                out);
    free(text);
    audit_proof_clear(&p);
    return rc;
}

static int
s_cmd_check_proof(int argc, char **argv) {
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL, *why = NULL;
    note_verifier_t relay;
    audit_proof_t p;
    checkpoint_t cp;
    uint8_t *text = NULL;
    size_t len = 0;
    record_t *r = NULL;
    audit_event_t ev;
    char *line;
    int c, rc;

    while ((c = s_getopt(argc, argv, opts)) != -1) {
        if (c == 'v')
            vkey = optarg;
        else if (c == 'h') {
            puts("usage: renraku-audit check-proof FILE --vkey RELAY_VKEY\n"
                 "Verifies a c2sp.org/tlog-proof: the checkpoint's "
                 "signature, the leaf\nSHA-256(0x00 || extra bytes) at the "
                 "index, and the inclusion proof; then\nprints what the "
                 "record says. Exit: 0 verified, 1 not, 2 usage.");
            return 0;
        } else
            return EXIT_USAGE;
    }
    if (s_positionals(argc, argv, 1, "check-proof needs one FILE") != 0)
        return EXIT_USAGE;
    if ((rc = s_relay_vkey(vkey, &relay)) != 0)
        return rc;
    rc = rk_read_file(argv[optind], AUDIT_PROOF_MAX_BYTES, &text, &len);
    if (rc != RK_OK) {
        s_err("%s: %s", argv[optind], rk_strerror(rc));
        return EXIT_FAIL;
    }
    rc = audit_proof_parse(text, len, &p, &why);
    free(text);
    if (rc != RK_OK) {
        s_err("%s: not a tlog-proof: %s", argv[optind],
              why ? why : rk_strerror(rc));
        return EXIT_FAIL;
    }
    rc = audit_proof_check(&p, &relay, &cp, &why);
    if (rc != RK_OK) {
        s_err("%s: proof does not verify: %s", argv[optind],
              why ? why : rk_strerror(rc));
        audit_proof_clear(&p);
        return EXIT_FAIL;
    }
    printf("proof verified: record %" PRIu64 " is in the tree of size %" PRIu64
           " signed by %s\n",
           p.index, cp.size, relay.name);
    rc = record_decode(p.extra, p.extra_len, &r, &why);
    if (rc != RK_OK) {
        printf("the record is included but does not decode: %s\n",
               why ? why : rk_strerror(rc));
        audit_proof_clear(&p);
        return EXIT_FAIL;
    }
    if (r->index != p.index)
        printf("warning: the record says index %" PRIu64 ", the proof %" PRIu64
               "\n",
               r->index, p.index);
    if (audit_event_from_record(r, &ev) == RK_OK) {
        if ((line = audit_event_line(&ev)) != NULL)
            printf("%s\n", line);
        free(line);
        audit_event_clear(&ev);
    }
    record_destroy(&r);
    audit_proof_clear(&p);
    return 0;
}

static int
s_cmd_consistency(int argc, char **argv) {
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL;
    note_verifier_t relay;
    uint8_t *a = NULL, *b = NULL, proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    size_t alen = 0, blen = 0, n = 0;
    checkpoint_t ca, cb;
    char err[512];
    int c, rc;

    while ((c = s_getopt(argc, argv, opts)) != -1) {
        if (c == 'v')
            vkey = optarg;
        else if (c == 'h') {
            puts("usage: renraku-audit consistency OLD_CHECKPOINT "
                 "NEW_CHECKPOINT LOGDIR --vkey RELAY_VKEY\nChecks both "
                 "signed checkpoints, computes the RFC 9162 consistency "
                 "proof\nfrom the log and verifies it against both roots; "
                 "prints the proof hashes.\nExit: 0 consistent, 1 not (or "
                 "a checkpoint does not verify), 2 usage.");
            return 0;
        } else
            return EXIT_USAGE;
    }
    if (s_positionals(argc, argv, 3,
                      "consistency needs OLD_CHECKPOINT NEW_CHECKPOINT "
                      "LOGDIR") != 0)
        return EXIT_USAGE;
    if ((rc = s_relay_vkey(vkey, &relay)) != 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        rc = rk_read_file(argv[optind + i], NOTE_MAX_BYTES, i ? &b : &a,
                          i ? &blen : &alen);
        if (rc != RK_OK) {
            s_err("%s: %s", argv[optind + i], rk_strerror(rc));
            free(a);
            return EXIT_FAIL;
        }
    }
    rc = audit_consistency(argv[optind + 2], &relay, a, alen, b, blen, &ca, &cb,
                           proof, &n, err, sizeof err);
    free(a);
    free(b);
    if (rc != RK_OK) {
        s_err("%s", err);
        return EXIT_FAIL;
    }
    printf("consistent: the tree of size %" PRIu64 " extends the tree of "
           "size %" PRIu64 " (%zu proof hashes)\n",
           cb.size, ca.size, n);
    for (size_t i = 0; i < n; i++) {
        char *h = rk_b64(proof + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
        printf("%s\n", h ? h : "?");
        free(h);
    }
    return 0;
}

/* ---- compare ------------------------------------------------------------ */

/* One log of a comparison, as verify saw it. */
typedef struct {
    const char *name; /* "A" or "B" */
    const char *dir;
    note_verifier_t relay;
    audit_summary_t sum;
    int rc;        /* audit_verify's */
    char *problem; /* the first problem verify found, malloc'd, or NULL */
    char err[512]; /* why verify could not run, or "" */
} s_clog_t;

typedef struct {
    audit_compare_t *cmp;
    int log;
} s_feed_t;

static int
s_feed(void *arg, uint64_t pos, const record_t *r) {
    const s_feed_t *f = arg;
    return audit_compare_add(f->cmp, f->log, pos, r);
}

static void
s_keep_problem(void *arg, const audit_problem_t *p) {
    s_clog_t *l = arg;
    char where[160];
    if (l->problem)
        return;
    s_problem_where(where, sizeof where, p);
    if (asprintf(&l->problem, "%s: %s", where[0] ? where : "log", p->reason) <
        0)
        l->problem = NULL;
}

/* Verifies one log as verify does, handing every record it checks to the
 * comparison. */
static void
s_compare_verify(s_clog_t *l, int log, const note_verifier_t *coordinator,
                 unsigned threads, audit_compare_t *cmp) {
    audit_verify_config_t cfg;
    s_feed_t feed = {cmp, log};
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = l->dir;
    cfg.relay = &l->relay;
    cfg.coordinator = coordinator;
    cfg.threads = threads;
    cfg.problem = s_keep_problem;
    cfg.problem_arg = l;
    cfg.record = s_feed;
    cfg.record_arg = &feed;
    if (isatty(STDERR_FILENO))
        cfg.progress = s_progress;
    l->rc = audit_verify(&cfg, &l->sum, l->err, sizeof l->err);
}

static json_t *
s_json_time(uint64_t ms) {
    char t[40];
    rk_time_format(t, sizeof t, ms);
    return json_string(t);
}

/* The log as a JSON object (what verify said of it). */
static json_t *
s_clog_json(const s_clog_t *l) {
    json_t *o = json_object();
    if (!o)
        return NULL;
    {
        /* A folder name need not be UTF-8; JSON must be (json_string
         * would return NULL and the key would go missing). */
        char *dir = strdup(l->dir);
        if (dir)
            rk_utf8_scrub(dir);
        json_object_set_new(o, "dir", json_string(dir ? dir : "?"));
        free(dir);
    }
    json_object_set_new(o, "relay", json_string(l->relay.name));
    json_object_set_new(o, "verified", json_boolean(l->rc == RK_OK));
    if (l->rc == RK_OK || l->rc == RK_ERR_MISMATCH) {
        json_object_set_new(o, "records",
                            json_integer((json_int_t)l->sum.records));
        json_object_set_new(o, "checkpoint_size",
                            json_integer((json_int_t)l->sum.checkpoint_size));
        if (l->sum.records) {
            json_object_set_new(o, "first", s_json_time(l->sum.first_ms));
            json_object_set_new(o, "last", s_json_time(l->sum.last_ms));
        }
    }
    if (l->rc == RK_ERR_MISMATCH)
        json_object_set_new(
            o, "problem",
            json_string(l->problem ? l->problem : "a problem was found"));
    else if (l->rc != RK_OK)
        json_object_set_new(o, "error", json_string(l->err));
    return o;
}

/* Prints json's text but for its closing brace, so that more members can
 * follow. Returns 0 or EXIT_FAIL (out of memory). */
static int
s_json_open(json_t *json) {
    char *text =
        json ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t n;
    if (!text) {
        s_err("out of memory");
        return EXIT_FAIL;
    }
    n = strlen(text);
    fwrite(text, 1, n - 1, stdout); /* an object's text ends with '}' */
    free(text);
    return 0;
}

typedef struct {
    bool json;
    uint64_t n; /* findings printed */
    int err;    /* RK_ERR_NOMEM met */
} s_cout_t;

static int
s_print_finding(void *arg, const audit_compare_finding_t *f) {
    s_cout_t *o = arg;
    char *s = o->json ? audit_compare_json(f) : audit_compare_line(f);
    if (!s)
        return o->err = RK_ERR_NOMEM;
    printf("%s%s%s", o->json && o->n ? "," : "", s, o->json ? "" : "\n");
    free(s);
    o->n++;
    return 0;
}

static json_t *
s_counts_json(const audit_compare_counts_t *c) {
    json_t *o = json_object();
    if (!o)
        return NULL;
#define S_SET(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
    S_SET("messages_a", c->messages[0]);
    S_SET("messages_b", c->messages[1]);
    S_SET("in_both", c->both);
    S_SET("only_in_a", c->only[0]);
    S_SET("only_in_b", c->only[1]);
    S_SET("only_in_a_outside_b", c->only_ends[0]);
    S_SET("only_in_b_outside_a", c->only_ends[1]);
    S_SET("contradictions", c->contradictions);
    S_SET("not_reached", c->not_reached);
    S_SET("not_reached_expired", c->not_reached_expired);
    S_SET("rosters_in_both", c->rosters_both);
    S_SET("rosters_in_one", c->rosters_one);
    S_SET("info", c->info);
#undef S_SET
    return o;
}

static void
s_clog_line(const s_clog_t *l) {
    char t1[40], t2[40];
    rk_time_format(t1, sizeof t1, l->sum.first_ms);
    rk_time_format(t2, sizeof t2, l->sum.last_ms);
    printf("log %s: %s: verified, %" PRIu64 " records (%" PRIu64
           " under a checkpoint), relay %s",
           l->name, l->dir, l->sum.records, l->sum.checkpoint_size,
           l->relay.name);
    if (l->sum.records)
        printf(", %s .. %s", t1, t2);
    printf("\n");
}

/* The summary, the hints and the verdict line, after the findings. */
static void
s_compare_summary(const s_clog_t *logs, const audit_compare_counts_t *c,
                  uint64_t since, uint64_t until, const char *verdict) {
    char t[40];
    s_clog_line(&logs[0]);
    s_clog_line(&logs[1]);
    if (since || until) {
        printf("window: messages accepted");
        if (since) {
            rk_time_format(t, sizeof t, since);
            printf(" from %s", t);
        }
        if (until) {
            rk_time_format(t, sizeof t, until);
            printf(" before %s", t);
        }
        printf(" (relay clock; contradictions are found whatever the "
               "window)\n");
    }
    printf("messages: %" PRIu64 " in both, %" PRIu64 " only in A, %" PRIu64
           " only in B\n",
           c->both, c->only[0], c->only[1]);
    printf("recipients not reached: %" PRIu64 " (%" PRIu64 " expired, %" PRIu64
           " still open at the logs' ends)\n",
           c->not_reached, c->not_reached_expired,
           c->not_reached - c->not_reached_expired);
    printf("rosters: %" PRIu64 " serial%s in both, %" PRIu64
           " in one log only\n",
           c->rosters_both, c->rosters_both == 1 ? "" : "s", c->rosters_one);
    printf("contradictions: %" PRIu64 "\n", c->contradictions);
    for (int i = 0; i < 2; i++) {
        const s_clog_t *o = &logs[!i];
        char t2[40];
        if (!c->only_ends[i])
            continue;
        rk_time_format(t, sizeof t, o->sum.first_ms);
        rk_time_format(t2, sizeof t2, o->sum.last_ms + 1);
        printf("note: %" PRIu64 " message%s only in %s fall%s outside the "
               "time log %s covers; --since %s --until %s compares only "
               "that time\n",
               c->only_ends[i], c->only_ends[i] == 1 ? "" : "s", logs[i].name,
               c->only_ends[i] == 1 ? "s" : "", o->name, t, t2);
    }
    if (!strcmp(verdict, "agree") && !c->messages[0] && !c->messages[1])
        printf("agree: no message to compare (neither log holds one%s), "
               "no contradiction%s\n",
               since || until ? " in the window" : "",
               c->info ? " (informational findings above)" : "");
    else if (!strcmp(verdict, "agree"))
        printf("agree: every message is in both logs with the same bytes, "
               "every recipient was delivered by a relay, no "
               "contradiction%s\n",
               c->info ? " (informational findings above)" : "");
    else if (!strcmp(verdict, "differ"))
        printf("DIFFER: %" PRIu64 " message%s in one log only, %" PRIu64
               " recipient%s not reached; no contradiction\n",
               c->only[0] + c->only[1], c->only[0] + c->only[1] == 1 ? "" : "s",
               c->not_reached, c->not_reached == 1 ? "" : "s");
    else
        printf("CONTRADICTION: %" PRIu64 " contradiction%s between the "
               "logs\n",
               c->contradictions, c->contradictions == 1 ? "" : "s");
}

/* The verdict of unverified logs: each one that failed, and why. */
static int
s_compare_unverified(const s_clog_t *logs, bool json) {
    if (json) {
        json_t *o = json_object(), *ls = json_object();
        char *text;
        if (!o || !ls) {
            json_decref(o);
            json_decref(ls);
            s_err("out of memory");
            return EXIT_FAIL;
        }
        json_object_set_new(o, "verdict", json_string("unverified"));
        json_object_set_new(ls, "a", s_clog_json(&logs[0]));
        json_object_set_new(ls, "b", s_clog_json(&logs[1]));
        json_object_set_new(o, "logs", ls);
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    for (int i = 0; i < 2; i++) {
        const s_clog_t *l = &logs[i];
        if (l->rc == RK_OK)
            continue;
        if (l->rc != RK_ERR_MISMATCH) {
            s_err("log %s (%s): %s", l->name, l->dir, l->err);
            continue;
        }
        if (!json)
            printf("log %s (%s) does not verify: %s\n", l->name, l->dir,
                   l->problem ? l->problem : "a problem was found");
    }
    if (!json)
        for (int i = 0; i < 2; i++)
            if (logs[i].rc != RK_OK)
                printf("NOT COMPARED: log %s (%s) %s; an unverified log "
                       "proves nothing ('renraku-audit verify %s --all' "
                       "lists every problem)\n",
                       logs[i].name, logs[i].dir,
                       logs[i].rc == RK_ERR_MISMATCH ? "does not verify"
                                                     : "could not be read",
                       logs[i].dir);
    return EXIT_FAIL;
}

static int
s_cmd_compare(int argc, char **argv) {
    static const struct option opts[] = {
        {"vkey", required_argument, NULL, 'v'},
        {"coordinator", required_argument, NULL, 'c'},
        {"coordinator-pub", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *vkeys[2] = {NULL, NULL}, *coord = NULL, *verdict;
    s_clog_t logs[2];
    note_verifier_t coordinator;
    audit_compare_t *cmp = NULL;
    audit_compare_counts_t counts;
    s_cout_t out = {false, 0, 0};
    uint64_t since = 0, until = 0;
    unsigned threads = 0;
    size_t n_vkeys = 0;
    char err[512];
    int c, rc = EXIT_FAIL;

    memset(logs, 0, sizeof logs);
    while ((c = s_getopt(argc, argv, opts)) != -1) {
        switch (c) {
        case 'v':
            if (n_vkeys == 2) {
                s_err("--vkey given a third time: compare takes two, the "
                      "first for LOGDIR_A and the second for LOGDIR_B");
                return EXIT_USAGE;
            }
            vkeys[n_vkeys++] = optarg;
            break;
        case 'c':
            coord = optarg;
            break;
        case 'j':
            out.json = true;
            break;
        case 's':
        case 'u':
            if (audit_time_parse(optarg, c == 's' ? &since : &until) != RK_OK) {
                s_err("--%s %s: use an RFC 3339 UTC time "
                      "(2027-01-01T00:00:00Z) or Unix milliseconds",
                      c == 's' ? "since" : "until", optarg);
                return EXIT_USAGE;
            }
            /* 0 stands for "no bound" below: an --until at the epoch
             * would silently compare everything. */
            if (c == 'u' && until == 0) {
                s_err("--until %s: the epoch (1970-01-01T00:00:00Z) is "
                      "before every log: nothing to compare",
                      optarg);
                return EXIT_USAGE;
            }
            break;
        case 't': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 64) {
                s_err("--threads %s: a number from 1 to 64", optarg);
                return EXIT_USAGE;
            }
            threads = (unsigned)n;
            break;
        }
        case 'h':
            puts("usage: renraku-audit compare LOGDIR_A LOGDIR_B --vkey "
                 "A_VKEY --vkey B_VKEY\n       --coordinator VKEY|FILE "
                 "[--json] [--since T] [--until T] [--threads N]\n"
                 "Verifies both logs as verify does (the first --vkey is "
                 "LOGDIR_A's relay key,\nthe second LOGDIR_B's); a log that "
                 "does not verify is named and nothing is\ncompared. Then "
                 "compares them by msg id: the same envelope bytes in both, "
                 "or a\nmessage in one log only (and why: the other log ends "
                 "before it, begins after\nit, refused it, or ran past it "
                 "without storing it); recipients neither relay\ndelivered; "
                 "rosters with one serial and different text. One line per "
                 "finding\nin time order, then a summary (--json: one JSON "
                 "object). --since/--until\nselect messages by the time a "
                 "relay accepted them.\nExit: 0 the logs agree, 1 a "
                 "contradiction, a log that does not verify or a\nfailure, "
                 "2 usage, 3 differences without contradiction.");
            return 0;
        default:
            return EXIT_USAGE;
        }
    }
    if (s_positionals(argc, argv, 2, "compare needs LOGDIR_A and LOGDIR_B") !=
        0)
        return EXIT_USAGE;
    logs[0].name = "A";
    logs[1].name = "B";
    logs[0].dir = argv[optind];
    logs[1].dir = argv[optind + 1];
    {
        char *ra = realpath(logs[0].dir, NULL),
             *rb = realpath(logs[1].dir, NULL);
        bool same = ra && rb && !strcmp(ra, rb);
        free(ra);
        free(rb);
        if (same) {
            s_err("LOGDIR_A and LOGDIR_B are the same folder (%s): compare "
                  "takes the logs of two relays",
                  logs[0].dir);
            return EXIT_USAGE;
        }
    }
    if (n_vkeys != 2) {
        s_err("compare needs two --vkey, each relay's checkpoint key: the "
              "first for LOGDIR_A, the second for LOGDIR_B (%zu given)",
              n_vkeys);
        return EXIT_USAGE;
    }
    if (!coord) {
        s_err("--coordinator is required (the coordinator's vkey or .pub "
              "file)");
        return EXIT_USAGE;
    }
    if (until && until <= since) {
        s_err("--until must come after --since: nothing to compare");
        return EXIT_USAGE;
    }
    for (int i = 0; i < 2; i++)
        if ((rc = s_relay_vkey(vkeys[i], &logs[i].relay)) != 0)
            return rc;
    /* One relay's key twice: two copies of one relay's log (or one log
     * under two paths) would agree by construction. */
    if (!memcmp(logs[0].relay.pk, logs[1].relay.pk, sizeof logs[0].relay.pk)) {
        s_err("the two --vkey are one key (relay %s): compare takes the "
              "logs of two relays, each with its own key",
              logs[0].relay.name);
        return EXIT_USAGE;
    }
    if (unlock_verifier(coord, &coordinator, err, sizeof err) != RK_OK) {
        s_err("--coordinator %s", err);
        return EXIT_FAIL;
    }
    if (!(cmp = audit_compare_new())) {
        s_err("out of memory");
        return EXIT_FAIL;
    }
    /* Both, even when the first fails: the auditor learns of each. */
    for (int i = 0; i < 2; i++)
        s_compare_verify(&logs[i], i, &coordinator, threads, cmp);
    if (logs[0].rc != RK_OK || logs[1].rc != RK_OK) {
        rc = s_compare_unverified(logs, out.json);
        goto cleanup;
    }
    if (audit_compare_finish(cmp, since, until, &counts) != RK_OK) {
        s_err("comparing: out of memory");
        rc = EXIT_FAIL;
        goto cleanup;
    }
    verdict = counts.contradictions ? "contradiction"
              : counts.only[0] || counts.only[1] || counts.not_reached
                  ? "differ"
                  : "agree";
    rc = counts.contradictions        ? EXIT_FAIL
         : !strcmp(verdict, "differ") ? EXIT_DIFFER
                                      : 0;
    if (out.json) {
        json_t *o = json_object(), *ls = json_object();
        if (o && ls) {
            json_object_set_new(o, "verdict", json_string(verdict));
            json_object_set_new(ls, "a", s_clog_json(&logs[0]));
            json_object_set_new(ls, "b", s_clog_json(&logs[1]));
            json_object_set_new(o, "logs", ls);
            ls = NULL;
            json_object_set_new(o, "since",
                                since ? s_json_time(since) : json_null());
            json_object_set_new(o, "until",
                                until ? s_json_time(until) : json_null());
            json_object_set_new(o, "counts", s_counts_json(&counts));
        }
        json_decref(ls);
        c = s_json_open(o);
        json_decref(o);
        if (c != 0) {
            rc = c;
            goto cleanup;
        }
        printf(",\"findings\":[");
    }
    if (audit_compare_foreach(cmp, s_print_finding, &out) != RK_OK) {
        s_err("comparing: out of memory");
        rc = EXIT_FAIL;
        goto cleanup;
    }
    if (out.json)
        printf("]}\n");
    else
        s_compare_summary(logs, &counts, since, until, verdict);
cleanup:
    audit_compare_destroy(&cmp);
    free(logs[0].problem);
    free(logs[1].problem);
    return rc;
}

/* Runs one command. */
static int
s_run(int argc, char **argv) {
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(s_usage, stdout);
        return 0;
    }
    rk_log_level = RK_LOG_ERROR; /* relay_log's lines are not ours */
    argc--;
    argv++;
    optind = 1;
    if (!strcmp(cmd, "verify"))
        return s_cmd_verify(argc, argv);
    if (!strcmp(cmd, "timeline") || !strcmp(cmd, "export") ||
        !strcmp(cmd, "replay"))
        return s_cmd_events(argc, argv, cmd);
    if (!strcmp(cmd, "prove"))
        return s_cmd_prove(argc, argv);
    if (!strcmp(cmd, "check-proof"))
        return s_cmd_check_proof(argc, argv);
    if (!strcmp(cmd, "consistency"))
        return s_cmd_consistency(argc, argv);
    if (!strcmp(cmd, "compare"))
        return s_cmd_compare(argc, argv);
    s_err("unknown command %s (see --help)", cmd);
    return EXIT_USAGE;
}

int
main(int argc, char **argv) {
    int rc;
    if (argc < 2) {
        fputs(s_usage, stderr);
        return EXIT_USAGE;
    }
    rc = s_run(argc, argv);
    /* Every command's verdict or data went to stdout: a verdict that was
     * not written is a failure (a usage error stays exit 2; compare's
     * "the logs differ", 3, is a verdict too). */
    if (s_stdout_check(0) != 0 && rc != EXIT_USAGE)
        rc = EXIT_FAIL;
    return rc;
}
