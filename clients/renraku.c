/* renraku: the operator's command. Builds requests for the local renrakud
 * (over ipc://STATE/control.sock), prints tables on a terminal or JSON with
 * --json. Exit codes: 0 done, 1 the daemon refused or the operation failed,
 * 2 usage error (bad flag or value), 3 the daemon is not running or not
 * answering. Each error is one line on stderr. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ctl.h"
#include "envelope.h"
#include "payload.h"
#include "rk_util.h"
#include "stix.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NODAEMON 3

static const char *s_usage =
    "usage: renraku [--state DIR] COMMAND [options]\n"
    "\n"
    "  send   --to NODE|GROUP [--to ...] --title T [--body TEXT] [--tlp L]\n"
    "         [--severity S] [--category C] [--type T] [--incident-id ID]\n"
    "         [--indicator TYPE=VALUE]... [--action TEXT] [--sector S]...\n"
    "         [--reference R]... [--contact TEXT] [--purpose P] [--status S]\n"
    "         [--expires DURATION] [--file NOTICE.json] [--request-id ID]\n"
    "  alert  like send, an urgent broadcast (default --to all, severity "
    "high)\n"
    "  inbox  [--unread]              received messages\n"
    "  show   ID                      one message (ID or a unique prefix)\n"
    "  ack    ID --status S [--comment TEXT]\n"
    "         S: received, acknowledged, in-progress, resolved, denied\n"
    "  status                         relay connection, outbox, and each\n"
    "                                 sent message's recipients\n"
    "  export ID --format stix [--out FILE]   a STIX 2.1 bundle\n"
    "  import FILE [--out FILE]       a STIX 2.1 bundle to a notice draft "
    "(JSON\n"
    "                                 for send --file)\n"
    "\n"
    "send --request-id ID: run again with the same ID and notice (after a\n"
    "timeout, or a restart of renrakud), the first send's message is shown,\n"
    "not sent twice; without --incident-id the incident id is then\n"
    "req-<8 hex digits of the ID's SHA-256>.\n"
    "Every command takes --json. DIR: --state, $RENRAKU_STATE or "
    "~/.renraku.\n"
    "TLP: CLEAR, GREEN, AMBER, AMBER+STRICT, RED. Severity: info, low, "
    "medium,\n"
    "high, critical. DURATION: 90s, 30m, 2h, 7d.\n"
    "Exit codes: 0 done, 1 refused or failed, 2 usage, 3 daemon not "
    "running.\n";

static int s_json = 0;

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_fail(const char *fmt, ...) {
    va_list ap;
    fputs("renraku: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- talking to the daemon ---- */

static const char *s_state;

/* Sends req (stolen) and returns the reply, or exits 3 when the daemon is
 * not there. */
static json_t *
s_call(json_t *req) {
    json_t *reply = NULL;
    char err[3500];
    int rc = ctl_call(s_state, req, 10000, &reply, err, sizeof err);
    json_decref(req);
    if (rc != RK_OK) {
        s_fail("%s", err);
        exit(rc == RK_ERR_MALFORMED ? EXIT_FAIL : EXIT_NODAEMON);
    }
    return reply;
}

/* Exits 1 with the daemon's error when the reply is not ok. */
static void
s_check(json_t *reply) {
    if (json_is_true(json_object_get(reply, "ok")))
        return;
    s_fail("%s", json_string_value(json_object_get(reply, "error"))
                     ? json_string_value(json_object_get(reply, "error"))
                     : "renrakud refused the request");
    json_decref(reply);
    exit(EXIT_FAIL);
}

static void
s_print_json(const json_t *j) {
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (t)
        puts(t);
    free(t);
}

static const char *
s_str(const json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* After the flags (getopt puts the other arguments last): exactly want
 * arguments, need saying what they are. Returns 0, or -1 having said
 * what is missing or naming the first one too many. */
static int
s_args(int argc, char **argv, int want, const char *need) {
    if (argc - optind < want) {
        s_fail("%s needs %s", argv[0], need);
        return -1;
    }
    if (argc - optind > want) {
        s_fail("unexpected argument \"%s\" (see --help)", argv[optind + want]);
        return -1;
    }
    return 0;
}

/* Names the flag getopt_long refused with '?' (missing 0) or ':' (1):
 * rk_opt_refused. */
static void
s_bad_option(char **argv, const struct option *opts, int missing) {
    char why[300];
    rk_opt_refused(why, sizeof why, argv, opts, missing);
    s_fail("%s (see --help)", why);
}

/* ---- send / alert ---- */

static int
s_duration(const char *s, long *secs) {
    char *end;
    long n = strtol(s, &end, 10), mul = 1;
    if (end == s || n <= 0)
        return -1;
    if (!strcmp(end, "s") || !*end)
        mul = 1;
    else if (!strcmp(end, "m"))
        mul = 60;
    else if (!strcmp(end, "h"))
        mul = 3600;
    else if (!strcmp(end, "d"))
        mul = 86400;
    else
        return -1;
    /* Checked before multiplying: 213503982334602d would wrap to 61184. */
    if (n > 365L * 86400 / mul)
        return -1;
    *secs = n * mul;
    return 0;
}

static int
cmd_send(int argc, char **argv, int alert) {
    static const struct option opts[] = {
        {"to", 1, 0, 't'},          {"title", 1, 0, 'T'},
        {"body", 1, 0, 'b'},        {"description", 1, 0, 'b'},
        {"tlp", 1, 0, 'l'},         {"severity", 1, 0, 'v'},
        {"category", 1, 0, 'c'},    {"type", 1, 0, 'y'},
        {"incident-id", 1, 0, 'i'}, {"indicator", 1, 0, 'n'},
        {"action", 1, 0, 'a'},      {"sector", 1, 0, 's'},
        {"reference", 1, 0, 'r'},   {"contact", 1, 0, 'C'},
        {"purpose", 1, 0, 'p'},     {"status", 1, 0, 'S'},
        {"expires", 1, 0, 'e'},     {"file", 1, 0, 'f'},
        {"request-id", 1, 0, 'q'},  {"json", 0, 0, 'j'},
        {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    json_t *notice = json_object(), *to = json_array(), *ind = json_array();
    json_t *sectors = json_array(), *refs = json_array(), *payload, *req;
    json_t *reply, *check = NULL, *payload_owned = NULL;
    int rc = 0;
    payload_t *p = NULL;
    const char *file = NULL, *request = NULL, *field = NULL;
    long expires = 0;
    char err[600];
    int c, li = 0;

    /* ":": a flag without its value comes back as ':', to be named. */
    while ((c = getopt_long(argc, argv, ":", opts, &li)) != -1) {
        /* A flag that sets one of the notice's own fields (its letter is
         * one of these), remembered to refuse it beside --file. */
        if (strchr("TblvcyinasrCpS", c) && !field)
            field = opts[li].name;
        switch (c) {
        case 't': {
            char *list = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                if (!envelope_node_id_valid(t)) {
                    s_fail("--to %s: not a node id or group (lower-case a-z "
                           "0-9 . _ -)",
                           t);
                    free(list);
                    goto usage;
                }
                json_array_append_new(to, json_string(t));
            }
            free(list);
            break;
        }
        case 'T':
            json_object_set_new(notice, "title", json_string(optarg));
            break;
        case 'b':
            json_object_set_new(notice, "description", json_string(optarg));
            break;
        case 'l':
            json_object_set_new(notice, "tlp", json_string(optarg));
            break;
        case 'v':
            json_object_set_new(notice, "severity", json_string(optarg));
            break;
        case 'c':
            json_object_set_new(notice, "category", json_string(optarg));
            break;
        case 'y':
            json_object_set_new(notice, "rsit_type", json_string(optarg));
            break;
        case 'i':
            json_object_set_new(notice, "incident_id", json_string(optarg));
            break;
        case 'n': {
            const char *eq = strchr(optarg, '=');
            json_t *o = json_object();
            if (!eq || eq == optarg || !eq[1]) {
                s_fail("--indicator %s: use TYPE=VALUE, e.g. "
                       "ipv4-addr=203.0.113.7",
                       optarg);
                goto usage;
            }
            json_object_set_new(o, "type",
                                json_stringn(optarg, (size_t)(eq - optarg)));
            json_object_set_new(o, "value", json_string(eq + 1));
            json_array_append_new(ind, o);
            break;
        }
        case 'a':
            json_object_set_new(notice, "requested_action",
                                json_string(optarg));
            break;
        case 's':
            json_array_append_new(sectors, json_string(optarg));
            break;
        case 'r':
            json_array_append_new(refs, json_string(optarg));
            break;
        case 'C':
            json_object_set_new(notice, "contact", json_string(optarg));
            break;
        case 'p':
            json_object_set_new(notice, "purpose", json_string(optarg));
            break;
        case 'S':
            json_object_set_new(notice, "status", json_string(optarg));
            break;
        case 'q':
            request = optarg;
            break;
        case 'e':
            if (s_duration(optarg, &expires) != 0) {
                s_fail("--expires %s: use a duration like 90s, 30m, 2h, 7d "
                       "(at most a year)",
                       optarg);
                goto usage;
            }
            break;
        case 'f':
            file = optarg;
            break;
        case 'j':
            s_json = 1;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        case ':':
        case '?':
            s_bad_option(argv, opts, c == ':');
            goto usage;
        default:
            s_fail("unknown option %s (see --help)", argv[optind - 1]);
            goto usage;
        }
    }
    if (s_args(argc, argv, 0, NULL))
        goto usage;
    if (file && field) {
        /* The file's fields would be sent, not the flag's: a --tlp RED
         * beside a file saying CLEAR must not go out as CLEAR. */
        s_fail("--%s: give the notice's fields in --file %s or as flags, "
               "not both (edit the file)",
               field, file);
        goto usage;
    }
    if (file) {
        json_error_t jerr;
        json_t *f = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (!f) {
            s_fail("--file %s: line %d: %s", file, jerr.line, jerr.text);
            goto usage;
        }
        /* {"notice": {...}} or the notice's fields; "to" may come too. */
        if (json_object_get(f, "to") &&
            !json_is_array(json_object_get(f, "to"))) {
            s_fail("--file %s: \"to\" must be a list of node ids or groups, "
                   "e.g. [\"us.cisa\"]",
                   file);
            json_decref(f);
            goto usage;
        }
        if (json_object_get(f, "to") && json_array_size(to) == 0) {
            json_decref(to);
            to = json_incref(json_object_get(f, "to"));
            json_object_del(f, "to");
        }
        if (json_object_get(f, "notice")) {
            json_decref(notice);
            notice = json_incref(json_object_get(f, "notice"));
            json_decref(f);
        } else {
            json_decref(notice);
            notice = f;
        }
        /* An alert is urgent: severity high unless the file says. */
        if (alert && json_is_object(notice) &&
            !json_object_get(notice, "severity"))
            json_object_set_new(notice, "severity", json_string("high"));
    } else {
        char id[64];
        if (json_array_size(ind))
            json_object_set(notice, "indicators", ind);
        if (json_array_size(sectors))
            json_object_set(notice, "sectors", sectors);
        if (json_array_size(refs))
            json_object_set(notice, "references", refs);
        if (!json_object_get(notice, "incident_id")) {
            uint8_t r[32];
            char hex[9], t[40];
            if (request) {
                /* The same on every run of the same request, so that a
                 * repeat asks for the same notice. */
                crypto_hash_sha256(r, (const uint8_t *)request,
                                   strlen(request));
                rk_hex(hex, r, 4);
                snprintf(id, sizeof id, "req-%s", hex);
            } else {
                randombytes_buf(r, 4);
                rk_hex(hex, r, 4);
                rk_time_format(t, sizeof t, rk_now_ms());
                snprintf(id, sizeof id, "%.10s-%s", t, hex);
            }
            json_object_set_new(notice, "incident_id", json_string(id));
        }
        if (!json_object_get(notice, "tlp"))
            json_object_set_new(notice, "tlp", json_string("AMBER"));
        if (alert && !json_object_get(notice, "severity"))
            json_object_set_new(notice, "severity", json_string("high"));
        if (!json_object_get(notice, "title")) {
            s_fail("--title is required (or give --file)");
            goto usage;
        }
    }
    if (json_array_size(to) == 0) {
        if (!alert) {
            s_fail("--to is required: a node id (us.cisa) or a group (g7, "
                   "all)");
            goto usage;
        }
        json_array_append_new(to, json_string("all"));
    }
    payload = payload_owned = json_object();
    json_object_set(payload, "notice", notice);
    /* Check here, so a typo is named before the daemon is involved. */
    if (payload_from_json(payload, &p, err, sizeof err) != RK_OK) {
        s_fail("%s", err);
        goto usage;
    }
    payload_destroy(&p);
    req = json_object();
    json_object_set_new(req, "cmd", json_string("send"));
    json_object_set_new(req, "kind", json_string(alert ? "alert" : "notice"));
    json_object_set(req, "to", to);
    json_object_set(req, "payload", payload);
    if (expires)
        json_object_set_new(req, "expires_in_s", json_integer(expires));
    if (request) /* run again after a timeout: not sent twice */
        json_object_set_new(req, "request_id", json_string(request));
    reply = s_call(req);
    s_check(reply);
    if (s_json)
        s_print_json(reply);
    else {
        const char *k;
        json_t *v;
        check = json_object_get(json_object_get(reply, "record"), "recipients");
        if (json_is_true(json_object_get(reply, "repeat")))
            printf("already sent with --request-id %s (now %s): ", request,
                   s_str(reply, "state"));
        printf("queued %s %s to", s_str(reply, "msg_id"),
               alert ? "alert" : "notice");
        json_object_foreach(check, k, v) printf(" %s", k);
        printf("\n(on disk; renraku status shows when the relay stores and "
               "delivers it)\n");
    }
    json_decref(reply);
    goto done;
usage:
    rc = EXIT_USAGE;
done:
    json_decref(payload_owned);
    json_decref(notice);
    json_decref(to);
    json_decref(ind);
    json_decref(sectors);
    json_decref(refs);
    return rc;
}

/* ---- inbox / show / ack / status ---- */

static const char *const s_ack_statuses =
    "received, acknowledged, in-progress, resolved or denied";

static int
s_simple_opts(int argc, char **argv, int *unread, const char **status,
              const char **comment, const char **format, const char **out) {
    static const struct option opts[] = {
        {"json", 0, 0, 'j'},    {"unread", 0, 0, 'u'}, {"status", 1, 0, 's'},
        {"comment", 1, 0, 'c'}, {"format", 1, 0, 'f'}, {"out", 1, 0, 'o'},
        {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int c, li = -1;
    /* ":": a flag without its value comes back as ':', to be named. */
    while ((li = -1, c = getopt_long(argc, argv, ":", opts, &li)) != -1) {
        switch (c) {
        case 'j':
            s_json = 1;
            break;
        case 'u':
            if (!unread)
                goto bad;
            *unread = 1;
            break;
        case 's':
        case 'c':
        case 'f':
        case 'o': {
            const char **value = c == 's'   ? status
                                 : c == 'c' ? comment
                                 : c == 'f' ? format
                                            : out;
            if (!value)
                goto bad;
            /* "--status=" is no value, and neither is the next flag in
             * "--status --comment x" (no status or format starts with
             * "-"; a comment or a file name may). */
            if (!optarg[0] || (strchr("sf", c) && optarg[0] == '-'))
                goto missing;
            *value = optarg;
            break;
        }
        case 'h':
            fputs(s_usage, stdout);
            exit(0);
        case ':':
            /* optopt: the flag without its value (one that does not
             * apply here is named as such). */
            if ((optopt == 's' && !status) || (optopt == 'c' && !comment) ||
                (optopt == 'f' && !format) || (optopt == 'o' && !out))
                goto bad;
            c = optopt;
        missing: /* c: the flag */
            s_fail("--%s needs a value: %s",
                   c == 's'   ? "status"
                   : c == 'f' ? "format"
                   : c == 'c' ? "comment"
                              : "out",
                   c == 's'   ? s_ack_statuses
                   : c == 'f' ? "stix"
                   : c == 'c' ? "the comment's text"
                              : "a file name");
            return -1;
        case '?':
            /* Not an option of renraku at all, or --flag=value for a
             * flag that takes none. */
            s_bad_option(argv, opts, 0);
            return -1;
        default:
            goto bad;
        }
    }
    return 0;
bad:
    /* A flag taken with its value is named by its own name, not by the
     * value that argv[optind - 1] then is. */
    if (li >= 0)
        s_fail("option --%s does not apply here (see --help)", opts[li].name);
    else
        s_fail("option %s does not apply here (see --help)", argv[optind - 1]);
    return -1;
}

static const char *
s_notice_field(const json_t *rec, const char *field) {
    const json_t *p = json_object_get(rec, "payload");
    const json_t *n = json_object_get(p, "notice");
    if (!n)
        n = json_object_get(json_object_get(p, "drill_inject"), "notice");
    return json_string_value(json_object_get(n, field));
}

static const char *
s_title(const json_t *rec) {
    const json_t *p = json_object_get(rec, "payload");
    const char *t = s_notice_field(rec, "title");
    if (t)
        return t;
    if ((t = json_string_value(
             json_object_get(json_object_get(p, "drill_inject"), "title"))))
        return t;
    if ((t = json_string_value(
             json_object_get(json_object_get(p, "comm_check"), "text"))))
        return t;
    if (json_object_get(p, "ack"))
        return s_str(json_object_get(p, "ack"), "status");
    if (json_object_get(p, "drill_reply"))
        return s_str(json_object_get(p, "drill_reply"), "status");
    return "";
}

/* The entry that stands for a folder the daemon could not list ("box" and
 * "unreadable": it is then the list's only entry), or NULL. */
static const json_t *
s_unlisted(const json_t *list) {
    const json_t *e = json_array_get(list, 0);
    return json_object_get(e, "box") ? e : NULL;
}

/* Says on stderr that a folder could not be listed (why as the daemon
 * put it, "inbox/ cannot be listed: ...", under the state folder): what
 * was printed has a hole, so the command does not exit 0. */
static int
s_unlisted_fail(const char *why) {
    s_fail("%s/%s", s_state, why);
    return EXIT_FAIL;
}

static int
cmd_inbox(int argc, char **argv) {
    int unread = 0, rc = 0;
    json_t *req = json_object(), *reply, *msgs;
    const json_t *hole;
    if (s_simple_opts(argc, argv, &unread, NULL, NULL, NULL, NULL) ||
        s_args(argc, argv, 0, NULL)) {
        json_decref(req);
        return EXIT_USAGE;
    }
    json_object_set_new(req, "cmd", json_string("inbox"));
    json_object_set_new(req, "unread", json_boolean(unread));
    reply = s_call(req);
    s_check(reply);
    msgs = json_object_get(reply, "messages");
    hole = s_unlisted(msgs);
    if (s_json) {
        s_print_json(msgs);
    } else if (hole) {
        printf("FOLDER UNREADABLE: %s\n", s_str(hole, "unreadable"));
    } else if (json_array_size(msgs) == 0) {
        printf("no %smessages\n", unread ? "unread " : "");
    } else {
        printf("%-12s %-14s %-13s %-12s %-8s %-20s %s\n", "ID", "FROM", "KIND",
               "TLP", "SEVERITY", "RECEIVED", "TITLE");
        for (size_t i = 0; i < json_array_size(msgs); i++) {
            const json_t *m = json_array_get(msgs, i);
            const char *tlp = s_notice_field(m, "tlp");
            const char *sev = s_notice_field(m, "severity");
            if (json_object_get(m, "unreadable")) {
                printf("%-12.12s RECORD UNREADABLE: %s\n", s_str(m, "msg_id"),
                       s_str(m, "unreadable"));
                continue;
            }
            printf("%-12.12s %-14s %-13s %-12s %-8s %-20.20s %s%s%s\n",
                   s_str(m, "msg_id"), s_str(m, "from"), s_str(m, "kind"),
                   tlp ? tlp : "-", sev ? sev : "-", s_str(m, "received"),
                   json_is_true(json_object_get(m, "exercise")) ? "[EXERCISE] "
                                                                : "",
                   s_title(m),
                   json_is_true(json_object_get(m, "read")) ? "" : "  (new)");
        }
    }
    if (hole)
        rc = s_unlisted_fail(s_str(hole, "unreadable"));
    json_decref(reply);
    return rc;
}

/* The relays whose answer for the sent record rec is answer ("stored"),
 * comma-separated in buf (cap bytes); "" for none. */
static const char *
s_relays_that(const json_t *rec, const char *answer, char *buf, size_t cap) {
    const char *k;
    json_t *v;
    size_t n = 0;
    buf[0] = 0;
    json_object_foreach(json_object_get(rec, "relays"), k, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), answer) &&
            n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", k);
    }
    return buf;
}

/* The refusal of a sent record rec that still stands (its
 * last_rejection), as one line in buf (cap bytes): the relay that refused
 * it, whether for good or for now, its code and reason, and what became
 * of the message with the other relays. NULL when there is none, or when
 * that relay has stored the message since. */
static const char *
s_refusal(const json_t *rec, char *buf, size_t cap) {
    const json_t *lr = json_object_get(rec, "last_rejection");
    const char *by = json_string_value(json_object_get(lr, "relay"));
    const char *answer, *state = s_str(rec, "state");
    char stored[200];
    if (!json_is_object(lr))
        return NULL;
    if (!by) { /* a record older than several relays */
        snprintf(buf, cap, "refused: %s: %s", s_str(lr, "code"),
                 s_str(lr, "reason"));
        return buf;
    }
    answer =
        json_string_value(json_object_get(json_object_get(rec, "relays"), by));
    if (answer && !strcmp(answer, "stored"))
        return NULL; /* that relay has it after all */
    s_relays_that(rec, "stored", stored, sizeof stored);
    if (!answer) /* a passing refusal: not an answer for good */
        snprintf(buf, cap,
                 "%s refused it for now: %s: %s; it is sent again%s%s", by,
                 s_str(lr, "code"), s_str(lr, "reason"),
                 stored[0] ? "; stored by " : "", stored);
    else if (stored[0])
        snprintf(buf, cap, "%s refused it for good: %s: %s; stored by %s", by,
                 s_str(lr, "code"), s_str(lr, "reason"), stored);
    else if (!strcmp(state, "rejected"))
        snprintf(buf, cap, "%s refused it for good: %s: %s", by,
                 s_str(lr, "code"), s_str(lr, "reason"));
    else
        snprintf(buf, cap,
                 "%s refused it for good: %s: %s; it waits in the outbox for "
                 "the other relays",
                 by, s_str(lr, "code"), s_str(lr, "reason"));
    return buf;
}

static int
cmd_show(int argc, char **argv) {
    json_t *req, *reply, *rec;
    if (s_simple_opts(argc, argv, NULL, NULL, NULL, NULL, NULL) ||
        s_args(argc, argv, 1, "one message ID"))
        return EXIT_USAGE;
    req = json_object();
    json_object_set_new(req, "cmd", json_string("show"));
    json_object_set_new(req, "msg_id", json_string(argv[optind]));
    reply = s_call(req);
    s_check(reply);
    rec = json_object_get(reply, "record");
    if (s_json)
        s_print_json(rec);
    else if (!strcmp(s_str(reply, "box"), "inbox")) {
        const json_t *p = json_object_get(rec, "payload");
        printf("Message   %s\nFrom      %s\nKind      %s%s\nCreated   "
               "%s\nReceived  %s\n",
               s_str(rec, "msg_id"), s_str(rec, "from"), s_str(rec, "kind"),
               json_is_true(json_object_get(rec, "exercise")) ? "  EXERCISE"
                                                              : "",
               s_str(rec, "created"), s_str(rec, "received"));
        if (json_object_get(rec, "my_answer"))
            printf("Answered  %s at %s\n",
                   s_str(json_object_get(rec, "my_answer"), "status"),
                   s_str(json_object_get(rec, "my_answer"), "time"));
        printf("\n");
        s_print_json(p);
    } else {
        const char *k, *refusal;
        json_t *v;
        char line[1200];
        size_t n = 0;
        printf("Sent      %s\nKind      %s\nTitle     %s\nState     "
               "%s\nCreated   %s\n",
               s_str(rec, "msg_id"), s_str(rec, "kind"), s_str(rec, "title"),
               s_str(rec, "state"), s_str(rec, "created"));
        if (json_object_get(rec, "note"))
            printf("Note      %s\n", s_str(rec, "note"));
        /* Each relay's answer for good: "relay.a stored, relay.b
         * rejected". */
        json_object_foreach(json_object_get(rec, "relays"), k, v) {
            if (n < sizeof line)
                n += (size_t)snprintf(
                    line + n, sizeof line - n, "%s%s %s", n ? ", " : "", k,
                    json_string_value(v) ? json_string_value(v) : "?");
        }
        if (n)
            printf("Relays    %s\n", line);
        if ((refusal = s_refusal(rec, line, sizeof line)))
            printf("Refusal   %s\n", refusal);
        printf("\n%-16s %-14s %s\n", "RECIPIENT", "STATE", "SINCE");
        json_object_foreach(json_object_get(rec, "recipients"), k, v) {
            printf("%-16s %-14s %s%s%s", k, s_str(v, "state"), s_str(v, "time"),
                   json_object_get(v, "comment") ? "  " : "",
                   s_str(v, "comment"));
            if (!strcmp(s_str(v, "state"), "undeliverable"))
                printf("  (%s from the roster: it will never get it)",
                       s_str(v, "reason"));
            printf("\n");
        }
    }
    json_decref(reply);
    return 0;
}

static int
cmd_ack(int argc, char **argv) {
    const char *status = NULL, *comment = NULL;
    json_t *req, *reply;
    if (s_simple_opts(argc, argv, NULL, &status, &comment, NULL, NULL))
        return EXIT_USAGE;
    /* The value first: in "--status bogus x", the value is named, not
     * the x left over. */
    if (status && !payload_ack_status_from_name(status)) {
        s_fail("--status %s: use %s", status, s_ack_statuses);
        return EXIT_USAGE;
    }
    if (s_args(argc, argv, 1, "one message ID"))
        return EXIT_USAGE;
    if (!status) {
        s_fail("ack needs --status: %s", s_ack_statuses);
        return EXIT_USAGE;
    }
    if (!strcmp(status, "denied") && !comment) {
        s_fail("--status denied needs --comment with the reason");
        return EXIT_USAGE;
    }
    req = json_object();
    json_object_set_new(req, "cmd", json_string("ack"));
    json_object_set_new(req, "msg_id", json_string(argv[optind]));
    json_object_set_new(req, "status", json_string(status));
    if (comment)
        json_object_set_new(req, "comment", json_string(comment));
    reply = s_call(req);
    s_check(reply);
    if (s_json)
        s_print_json(reply);
    else
        printf("queued %s (%s) to the sender of %s\n", s_str(reply, "msg_id"),
               status, s_str(reply, "answers"));
    json_decref(reply);
    return 0;
}

static int
cmd_status(int argc, char **argv) {
    json_t *req = json_object(), *reply, *relay, *sent, *q;
    const char *outbox_hole;
    int rc = 0;
    if (s_simple_opts(argc, argv, NULL, NULL, NULL, NULL, NULL) ||
        s_args(argc, argv, 0, NULL)) {
        json_decref(req);
        return EXIT_USAGE;
    }
    json_object_set_new(req, "cmd", json_string("status"));
    reply = s_call(req);
    s_check(reply);
    outbox_hole =
        json_string_value(json_object_get(reply, "outbox_unreadable"));
    q = json_object_get(reply, "quarantine");
    sent = json_object_get(reply, "sent");
    if (s_json) {
        s_print_json(reply);
        goto done;
    }
    printf(
        "Node      %s (roster serial %lld)\n", s_str(reply, "node"),
        (long long)json_integer_value(json_object_get(reply, "roster_serial")));
    for (size_t i = 0; i < json_array_size(json_object_get(reply, "relays"));
         i++) {
        relay = json_array_get(json_object_get(reply, "relays"), i);
        if (json_is_true(json_object_get(relay, "connected")))
            printf("Relay     %s at %s: connected since %s\n",
                   s_str(relay, "relay_id"), s_str(relay, "endpoint"),
                   s_str(relay, "since"));
        else
            printf("Relay     %s at %s: NOT CONNECTED%s%s\n",
                   s_str(relay, "relay_id"), s_str(relay, "endpoint"),
                   json_object_get(relay, "last_error") ? ": " : "",
                   s_str(relay, "last_error"));
    }
    if (outbox_hole)
        printf("Outbox    FOLDER UNREADABLE: %s\n", outbox_hole);
    else
        printf("Outbox    %lld waiting for the relay\n",
               (long long)json_integer_value(json_object_get(reply, "outbox")));
    if (s_unlisted(q)) {
        printf("Quarantine FOLDER UNREADABLE: %s\n",
               s_str(s_unlisted(q), "unreadable"));
    } else if (json_array_size(q)) {
        printf("Quarantine %zu envelope(s) refused on arrival:\n",
               json_array_size(q));
        for (size_t i = 0; i < json_array_size(q); i++) {
            const json_t *e = json_array_get(q, i);
            if (json_object_get(e, "unreadable"))
                printf("  RECORD UNREADABLE: %s\n", s_str(e, "unreadable"));
            else
                printf("  %s  %s\n", s_str(e, "received"), s_str(e, "reason"));
        }
    }
    printf("\n%-12s %-13s %-10s %-16s %-14s %s\n", "SENT", "KIND", "STATE",
           "RECIPIENT", "RECIPIENT-STATE", "SINCE");
    if (s_unlisted(sent))
        printf("FOLDER UNREADABLE: %s\n",
               s_str(s_unlisted(sent), "unreadable"));
    for (size_t i = 0; i < json_array_size(sent); i++) {
        const json_t *m = json_array_get(sent, i);
        const char *k, *refusal;
        json_t *v;
        char line[1200];
        int first = 1;
        if (json_object_get(m, "box"))
            continue; /* the folder, said above */
        if (json_object_get(m, "unreadable")) {
            printf("%-12.12s RECORD UNREADABLE: %s\n", s_str(m, "msg_id"),
                   s_str(m, "unreadable"));
            continue;
        }
        json_object_foreach(json_object_get(m, "recipients"), k, v) {
            int gone = !strcmp(s_str(v, "state"), "undeliverable");
            printf("%-12.12s %-13s %-10s %-16s %-14s %s%s%s\n",
                   first ? s_str(m, "msg_id") : "",
                   first ? s_str(m, "kind") : "",
                   first ? s_str(m, "state") : "", k, s_str(v, "state"),
                   s_str(v, "time"), gone ? "  " : "",
                   gone ? s_str(v, "reason") : "");
            first = 0;
        }
        if ((refusal = s_refusal(m, line, sizeof line)))
            printf("%-12s %s\n", "", refusal);
    }
done:
    if (outbox_hole)
        rc = s_unlisted_fail(outbox_hole);
    if (s_unlisted(sent))
        rc = s_unlisted_fail(s_str(s_unlisted(sent), "unreadable"));
    if (s_unlisted(q))
        rc = s_unlisted_fail(s_str(s_unlisted(q), "unreadable"));
    json_decref(reply);
    return rc;
}

static int
s_write_out(const char *out, const json_t *j) {
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    int rc, e;
    if (!t)
        return EXIT_FAIL;
    if (!out) {
        puts(t);
        free(t);
        return 0;
    }
    rc = rk_write_file(out, t, strlen(t), 0644, 0);
    e = errno; /* rk_write_file's, for RK_ERR_IO */
    free(t);
    if (rc != RK_OK) {
        s_fail("--out %s: %s", out,
               rc == RK_ERR_IO && e ? strerror(e) : rk_strerror(rc));
        return EXIT_FAIL;
    }
    fprintf(stderr, "wrote %s\n", out);
    return 0;
}

static int
cmd_export(int argc, char **argv) {
    const char *format = NULL, *out = NULL;
    json_t *req, *reply;
    int rc;
    if (s_simple_opts(argc, argv, NULL, NULL, NULL, &format, &out) ||
        s_args(argc, argv, 1, "one message ID"))
        return EXIT_USAGE;
    if (!format) {
        s_fail("export needs --format stix (STIX 2.1)");
        return EXIT_USAGE;
    }
    if (strcmp(format, "stix") != 0) {
        s_fail("--format %s: the format is stix (STIX 2.1)", format);
        return EXIT_USAGE;
    }
    req = json_object();
    json_object_set_new(req, "cmd", json_string("export"));
    json_object_set_new(req, "msg_id", json_string(argv[optind]));
    reply = s_call(req);
    s_check(reply);
    rc = s_write_out(out, json_object_get(reply, "bundle"));
    json_decref(reply);
    return rc;
}

static int
cmd_import(int argc, char **argv) {
    const char *out = NULL;
    json_t *bundle, *draft, *wrap;
    payload_t *p = NULL;
    char err[600] = "";
    int rc;
    if (s_simple_opts(argc, argv, NULL, NULL, NULL, NULL, &out) ||
        s_args(argc, argv, 1, "one FILE (a STIX 2.1 bundle)"))
        return EXIT_USAGE;
    if (stix_load(argv[optind], &bundle, err, sizeof err) != RK_OK) {
        s_fail("%s: %s", argv[optind], err);
        return EXIT_FAIL;
    }
    if (stix_import(bundle, &p, err, sizeof err) != RK_OK) {
        s_fail("%s: %s", argv[optind], err);
        json_decref(bundle);
        return EXIT_FAIL;
    }
    json_decref(bundle);
    if (err[0]) /* what was skipped or defaulted */
        fprintf(stderr, "renraku: note: %s\n", err);
    draft = payload_to_json(p);
    payload_destroy(&p);
    if (!draft) {
        s_fail("%s: the imported notice does not validate", argv[optind]);
        return EXIT_FAIL;
    }
    wrap = draft;
    rc = s_write_out(out, wrap);
    json_decref(draft);
    if (!rc && out)
        fprintf(stderr, "send it with: renraku send --to NODE --file %s\n",
                out);
    return rc;
}

int
main(int argc, char **argv) {
    static char state_buf[3000];
    const char *cmd;
    int i = 1, rc;

    if (sodium_init() < 0)
        return EXIT_FAIL;
    opterr = 0;
    s_state = getenv("RENRAKU_STATE");
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(s_usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--state") && i + 1 >= argc) {
            s_fail("--state needs a value: the node's state folder");
            return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--state")) {
            s_state = argv[i + 1];
            i += 2;
        } else if (!strncmp(argv[i], "--state=", 8)) {
            s_state = argv[i] + 8;
            i++;
        } else {
            s_fail("unknown option %s before the command (see --help)",
                   argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!s_state) {
        const char *home = getenv("HOME");
        snprintf(state_buf, sizeof state_buf, "%s/.renraku", home ? home : ".");
        s_state = state_buf;
    }
    if (i >= argc) {
        s_fail("no command given (see --help)");
        return EXIT_USAGE;
    }
    cmd = argv[i];
    argc -= i;
    argv += i;
    optind = 1;
    if (!strcmp(cmd, "send"))
        rc = cmd_send(argc, argv, 0);
    else if (!strcmp(cmd, "alert"))
        rc = cmd_send(argc, argv, 1);
    else if (!strcmp(cmd, "inbox"))
        rc = cmd_inbox(argc, argv);
    else if (!strcmp(cmd, "show"))
        rc = cmd_show(argc, argv);
    else if (!strcmp(cmd, "ack"))
        rc = cmd_ack(argc, argv);
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(argc, argv);
    else if (!strcmp(cmd, "export"))
        rc = cmd_export(argc, argv);
    else if (!strcmp(cmd, "import"))
        rc = cmd_import(argc, argv);
    else {
        s_fail("unknown command \"%s\" (see --help)", cmd);
        return EXIT_USAGE;
    }
    /* What was printed must have reached stdout: an export redirected to
     * a full disk is a failure, not an empty file and exit 0. Not for
     * send, alert and ack, which did what was asked: an exit 1 there
     * would invite sending it again. */
    if (strcmp(cmd, "send") && strcmp(cmd, "alert") && strcmp(cmd, "ack") &&
        (fflush(stdout) != 0 || ferror(stdout))) {
        s_fail("cannot write the output: %s", strerror(errno));
        return rc ? rc : EXIT_FAIL;
    }
    return rc;
}
