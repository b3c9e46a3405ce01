/* renraku-audit: the auditor's program. Thin: parse arguments, pin keys,
 * call audit.h, print. It reads a copy of the relay's log and never writes
 * it. Exit codes: 0 verified or done, 1 a problem was found or the
 * operation failed, 2 usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "rk_log.h"
#include "rk_util.h"
#include "unlock.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
/* Bytes of segments from which verify shows progress on a terminal. */
#define S_LONG_LOG (16u * 1024u * 1024u)

static const char *s_usage =
    "usage: renraku-audit COMMAND [options]\n"
    "\n"
    "  verify LOGDIR --vkey RELAY_VKEY --coordinator VKEY|FILE [--all]\n"
    "         [--threads N]      check everything the log can prove\n"
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
    "\n"
    "LOGDIR: a copy of the relay's data folder (log/ and checkpoints/).\n"
    "RELAY_VKEY: what 'renraku-relay --print-vkey' prints, or a file with "
    "it.\n"
    "T: RFC 3339 UTC time (2027-01-01T00:00:00Z) or Unix milliseconds.\n"
    "Exit: 0 verified/done, 1 a problem was found or the operation failed, "
    "2 usage.\n"
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
    if (c == ':')
        s_err("%s needs a value (see --help)", argv[optind - 1]);
    else if (c == '?')
        s_err("unknown option %s (see --help)", argv[optind - 1]);
    return c == ':' || c == '?' ? -2 : c;
}

/* The relay's checkpoint key: a vkey, or a file whose first line is one. */
static int
s_relay_vkey(const char *arg, note_verifier_t *v) {
    uint8_t *text = NULL;
    size_t len = 0;
    int rc;
    if (!arg) {
        s_err("--vkey is required (what 'renraku-relay --print-vkey' "
              "prints)");
        return EXIT_USAGE;
    }
    if (note_vkey_parse(arg, v) == RK_OK)
        return 0;
    rc = rk_read_file(arg, 4096, &text, &len);
    if (rc == RK_OK) {
        char *nl = memchr(text, '\n', len);
        if (nl)
            *nl = 0;
        rc = note_vkey_parse((const char *)text, v);
        free(text);
        if (rc == RK_OK)
            return 0;
        s_err("--vkey %s: the file does not hold a verifier key", arg);
        return EXIT_FAIL;
    }
    s_err("--vkey %s: not a verifier key (name+hash+key) nor a readable "
          "file",
          arg);
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

static void
s_print_problem(void *arg, const audit_problem_t *p) {
    s_vstate_t *st = arg;
    char where[160] = "";
    int n = 0;
    if (p->file)
        n = snprintf(where, sizeof where, "%s", p->file);
    if (p->offset >= 0 && n >= 0 && (size_t)n < sizeof where)
        n += snprintf(where + n, sizeof where - (size_t)n, " offset %" PRId64,
                      p->offset);
    if (p->index >= 0 && n >= 0 && (size_t)n < sizeof where)
        snprintf(where + n, sizeof where - (size_t)n, "%srecord %" PRId64,
                 n ? " " : "", p->index);
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
    const char *vkey = NULL, *coord = NULL;
    audit_verify_config_t cfg;
    audit_summary_t sum;
    note_verifier_t relay, coordinator;
    s_vstate_t st = {0};
    char err[512], t1[40], t2[40], *root;
    int c, rc;

    memset(&cfg, 0, sizeof cfg);
    while ((c = s_getopt(argc, argv, opts)) != -1) {
        switch (c) {
        case 'v':
            vkey = optarg;
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
                 "--coordinator VKEY|FILE [--all] [--threads N]\n"
                 "Checks the framing of every segment, recomputes the Merkle "
                 "tree, checks every\ncheckpoint's signature and root, that "
                 "every record decodes and sits at its index,\nevery roster "
                 "record against the coordinator key, every accepted "
                 "envelope's\nsignature against the roster of its time, and "
                 "that delivered and expired records\npoint at earlier "
                 "accepted ones and name their recipients, each once. A log "
                 "that no\ncheckpoint signed by RELAY_VKEY matches is a "
                 "problem. Prints the first problem\n(--all: every one) and "
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
    if (unlock_verifier(coord, &coordinator, err, sizeof err) != RK_OK) {
        s_err("--coordinator %s", err);
        return EXIT_FAIL;
    }
    cfg.dir = argv[optind];
    cfg.relay = &relay;
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
           ", relay %" PRIu64 ") in %" PRIu64 " segments, %" PRIu64 " bytes\n",
           sum.records, sum.by_type[0], sum.by_type[1], sum.by_type[2],
           sum.by_type[3], sum.by_type[4], sum.by_type[5], sum.segments,
           sum.bytes);
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
     * not written is a failure (a usage error stays exit 2). */
    if (s_stdout_check(0) != 0 && rc == 0)
        rc = EXIT_FAIL;
    return rc;
}
