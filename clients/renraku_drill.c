/* renraku-drill: the exercise controller's command. Runs scenario drills
 * and communication checks over the real relay through the controller's
 * renrakud, writes the report, and starts simulated participants for
 * rehearsals. Exit codes: 0 done (the report says who missed what; also
 * after Ctrl-C, with a partial report), 1 the drill could not run or its
 * results could not be written, 2 usage error or an invalid scenario /
 * MSEL file, 3 the drill started but could not go on (the controller's
 * renrakud stopped answering, a send failed): the report is partial. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drill.h"
#include "drill_report.h"
#include "drill_run.h"
#include "drill_sim.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_STOPPED 3
#define S_SIM_DELAY_MAX_MS 3600000 /* an hour: --delay-ms, --node ID=MS */
#define S_SIM_OFFLINE_MAX 256
#define S_SIM_EXITS_SHOWN 10 /* exited participants named one by one */
#define S_SIM_TAILS_SHOWN 3  /* ... with the end of their log */
#define S_SIM_TAIL_LINES 3   /* ... that many lines of it */

static const char *s_usage =
    "usage: renraku-drill COMMAND [options]\n"
    "\n"
    "  run SCENARIO.json|MSEL.csv --state DIR [--time-scale N] [--out DIR]\n"
    "        [--lost-after 10s]\n"
    "        send the injects on schedule through the controller's renrakud\n"
    "        (state folder DIR), follow receipts and answers, write the\n"
    "        report (report.txt, .json, .csv, .html in --out, default .);\n"
    "        its control socket failing for --lost-after stops the run\n"
    "  ping GROUP|NODE... --state DIR [--deadline 2h] [--out DIR]\n"
    "        [--lost-after 10s]\n"
    "        a communication check of every node named or in the groups\n"
    "  validate SCENARIO.json|MSEL.csv   check a file, print the scenario\n"
    "  report SCENARIO RESULTS.json [--out DIR]   rewrite the report\n"
    "  simulate --keys DIR --roster R --coordinator C --relay EP\n"
    "        --state-root DIR (--node ID[=DELAY_MS]... | --nodes-from-roster)\n"
    "        [--answer STATUS] [--delay-ms N] [--offline ID]...\n"
    "        simulated participants (one renrakud each) answering after a\n"
    "        delay, until Ctrl-C; --offline leaves a node out (unreachable)\n"
    "\n"
    "Every drill message carries the exercise flag and drill id, EXERCISE\n"
    "in its text and the RSIT class \"test\". Ctrl-C during run stops and\n"
    "writes a partial report. docs/DRILLS.md has the formats.\n"
    "\n"
    "Exit codes: 0 done (also after Ctrl-C: the report is partial), 1 the\n"
    "drill could not run or its results could not be written, 2 usage\n"
    "error or invalid file, 3 the drill started but could not go on (the\n"
    "controller's renrakud stopped answering on its control socket, or a\n"
    "send failed): the report written is partial and says why.\n";

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
    fputs("renraku-drill: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* One line for a bad option of command cmd (getopt_long with ":" first;
 * rk_opt_refused). Returns EXIT_USAGE. */
static int
s_bad_option(const char *cmd, int c, char **argv, const struct option *opts) {
    char why[300];
    rk_opt_refused(why, sizeof why, argv, opts, c == ':');
    s_fail("%s: %s (see --help)", cmd, why);
    return EXIT_USAGE;
}

static void
s_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int
s_write(const char *dir, const char *name, const char *text) {
    char path[4096];
    int rc;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    rc = rk_write_file(path, text, strlen(text), 0644, 0);
    if (rc != RK_OK)
        s_fail("writing %s: %s", path, rk_strerror(rc));
    return rc;
}

/* Writes report.{txt,json,csv,html} in dir and prints the table. */
static int
s_reports(const drill_scenario_t *sc, const json_t *results, const char *dir) {
    char err[600];
    drill_report_t *rep = NULL;
    char *txt = NULL, *csv = NULL, *html = NULL, *js = NULL;
    int rc = EXIT_FAIL;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        s_fail("--out %s: %s", dir, strerror(errno));
        return EXIT_FAIL;
    }
    if (drill_report_new(sc, results, &rep, err, sizeof err) != RK_OK) {
        s_fail("report: %s", err);
        return EXIT_FAIL;
    }
    txt = drill_report_text(rep);
    csv = drill_report_csv(rep);
    html = drill_report_html(rep);
    js = drill_report_json(rep);
    if (!txt || !csv || !html || !js) {
        s_fail("report: out of memory");
        goto done;
    }
    if (s_write(dir, "report.txt", txt) || s_write(dir, "report.csv", csv) ||
        s_write(dir, "report.html", html) || s_write(dir, "report.json", js))
        goto done;
    fputs(txt, stdout);
    printf("\nreport written to %s/report.{txt,json,csv,html}\n", dir);
    rc = 0;
done:
    free(txt);
    free(csv);
    free(html);
    free(js);
    drill_report_destroy(&rep);
    return rc;
}

/* Makes sure the drill's results can be written before anything is sent:
 * dir exists (created if its parent does), is a folder, and takes a new
 * file. Returns 0 or EXIT_USAGE with the reason. */
static int
s_out_ready(const char *dir) {
    char probe[4200];
    struct stat st;
    int fd;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        s_fail("--out %s: cannot create it: %s", dir, strerror(errno));
        return EXIT_USAGE;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        s_fail("--out %s: not a folder", dir);
        return EXIT_USAGE;
    }
    snprintf(probe, sizeof probe, "%s/.renraku-drill-XXXXXX", dir);
    if ((fd = mkstemp(probe)) < 0) {
        s_fail("--out %s: cannot write in it: %s", dir, strerror(errno));
        return EXIT_USAGE;
    }
    close(fd);
    unlink(probe);
    return 0;
}

static int
s_run(drill_scenario_t *sc, const char *state, double scale, uint64_t lost_ms,
      const char *out) {
    drill_run_config_t rc;
    json_t *results = NULL;
    char err[1024];
    char *text;
    int run_rc, status;

    if ((status = s_out_ready(out)) != 0)
        return status;
    memset(&rc, 0, sizeof rc);
    rc.state_dir = state;
    rc.sc = sc;
    rc.time_scale = scale;
    rc.ctl_lost_ms = lost_ms;
    rc.stop = &s_stop;
    rc.progress = isatty(2) ? stderr : NULL;
    s_signals();
    fprintf(stderr,
            "renraku-drill: EXERCISE %s (%s): %zu inject(s), time "
            "scale %g; Ctrl-C stops with a partial report\n",
            drill_scenario_exercise(sc), drill_scenario_name(sc),
            drill_scenario_n_injects(sc),
            scale > 0 ? scale : drill_scenario_time_scale(sc));
    run_rc = drill_run(&rc, &results, err, sizeof err);
    if (!results) {
        s_fail("%s", run_rc != RK_OK ? err : "out of memory");
        return EXIT_FAIL;
    }
    /* The results first: the report can be recomputed from them. */
    text = json_dumps(results, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    status = text ? s_write(out, "results.json", text) : RK_ERR_NOMEM;
    if (!text)
        s_fail("writing %s/results.json: out of memory", out);
    free(text);
    status =
        s_reports(sc, results, out) != 0 || status != RK_OK ? EXIT_FAIL : 0;
    json_decref(results);
    if (run_rc != RK_OK) {
        /* Exit 3 says a partial report was written; when it could not be,
         * the failure to write it is what the exit code says (1). */
        s_fail("the drill stopped before its end: %s; %s", err,
               status ? "its partial report could not be written"
                      : "the report is partial");
        if (!status)
            fprintf(stderr, "renraku-drill: the partial report is in %s\n",
                    out);
        return status ? EXIT_FAIL : EXIT_STOPPED;
    }
    if (s_stop)
        fprintf(stderr,
                "renraku-drill: stopped by a signal: the report in "
                "%s is partial\n",
                out);
    return status;
}

static int
s_load(const char *path, drill_scenario_t **sc) {
    char err[4096];
    int rc = drill_scenario_load(path, sc, err, sizeof err);
    if (rc != RK_OK) {
        /* One line per problem, each naming file, line and field. */
        fprintf(stderr, "renraku-drill: error: %s refused:\n%s\n", path, err);
        return EXIT_USAGE;
    }
    return 0;
}

static int s_parse_deadline(const char *s, uint64_t *secs);

/* --lost-after: as --deadline. Returns 0 and sets *ms, or prints why and
 * returns EXIT_USAGE. */
static int
s_lost_after(const char *text, uint64_t *ms) {
    uint64_t secs = 0;
    if (s_parse_deadline(text, &secs) != 0) {
        s_fail("--lost-after %s: use 30s, 5m or PT30S, more than 0 and at "
               "most 30 days",
               text);
        return EXIT_USAGE;
    }
    *ms = secs * 1000;
    return 0;
}

static int
cmd_run(int argc, char **argv) {
    static const struct option opts[] = {
        {"state", 1, 0, 's'}, {"time-scale", 1, 0, 't'},
        {"out", 1, 0, 'o'},   {"lost-after", 1, 0, 'l'},
        {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *state = NULL, *out = ".";
    uint64_t lost_ms = 0;
    double scale = 0;
    drill_scenario_t *sc = NULL;
    int c, rc;
    char *end;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            state = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'l':
            if (s_lost_after(optarg, &lost_ms) != 0)
                return EXIT_USAGE;
            break;
        case 't':
            scale = strtod(optarg, &end);
            /* As a scenario's time_scale: the report takes no other. */
            if (*end || !(scale >= 1 && scale <= DRILL_TIME_SCALE_MAX)) {
                s_fail("--time-scale %s: a number from 1 to %d", optarg,
                       DRILL_TIME_SCALE_MAX);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            return s_bad_option("run", c, argv, opts);
        }
    }
    if (optind != argc - 1 || !state) {
        s_fail("run needs one SCENARIO file and --state DIR (the "
               "controller's renrakud)");
        return EXIT_USAGE;
    }
    if ((rc = s_load(argv[optind], &sc)) != 0)
        return rc;
    rc = s_run(sc, state, scale, lost_ms, out);
    drill_scenario_destroy(&sc);
    return rc;
}

/* --deadline: 90s, 30m, 2h, 1d (digits and one unit; digits alone are
 * seconds) or an ISO 8601 duration; more than 0 and at most
 * DRILL_MAX_OFFSET_S. Returns 0 and *secs, or -1. */
static int
s_parse_deadline(const char *text, uint64_t *secs) {
    uint64_t n = 0, mul;
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return drill_duration_parse(text, secs) == RK_OK && *secs ? 0 : -1;
    for (; isdigit((unsigned char)*p); p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > DRILL_MAX_OFFSET_S)
            return -1; /* checked before it can wrap */
    }
    mul = !*p               ? 1
          : !strcmp(p, "s") ? 1
          : !strcmp(p, "m") ? 60
          : !strcmp(p, "h") ? 3600
          : !strcmp(p, "d") ? 86400
                            : 0;
    if (!mul || !n || n > DRILL_MAX_OFFSET_S / mul)
        return -1;
    *secs = n * mul;
    return 0;
}

static int
cmd_ping(int argc, char **argv) {
    static const struct option opts[] = {
        {"state", 1, 0, 's'},      {"deadline", 1, 0, 'd'}, {"out", 1, 0, 'o'},
        {"lost-after", 1, 0, 'l'}, {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *state = NULL, *out = ".", *deadline = "2h";
    char dur[64], id[64], err[2048], t[40];
    uint64_t secs = 0, lost_ms = 0;
    drill_scenario_t *sc = NULL;
    json_t *j, *parts;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            state = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            deadline = optarg;
            break;
        case 'l':
            if (s_lost_after(optarg, &lost_ms) != 0)
                return EXIT_USAGE;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 0;
        default:
            return s_bad_option("ping", c, argv, opts);
        }
    }
    if (optind >= argc || !state) {
        s_fail("ping needs GROUP or NODE ids and --state DIR");
        return EXIT_USAGE;
    }
    if (s_parse_deadline(deadline, &secs) != 0) {
        s_fail("--deadline %s: use 90s, 30m, 2h, 1d or PT2H, more than 0 "
               "and at most 30 days",
               deadline);
        return EXIT_USAGE;
    }
    drill_duration_format(dur, sizeof dur, secs);
    rk_time_format(t, sizeof t, rk_now_ms());
    /* ping-YYYYMMDD-HHMMSS: a drill id in node-id syntax. */
    snprintf(id, sizeof id, "ping-%.4s%.2s%.2s-%.2s%.2s%.2s", t, t + 5, t + 8,
             t + 11, t + 14, t + 17);
    parts = json_array();
    for (int i = optind; i < argc; i++)
        json_array_append_new(parts, json_string(argv[i]));
    j = json_pack("{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s}}]}",
                  "exercise", id, "name", "Communication check", "participants",
                  parts, "injects", "id", "ping", "at", "PT0S", "kind",
                  "comm-check", "title",
                  "Communication check: please confirm receipt", "text",
                  "Communication check of the contact framework. Answer "
                  "'received' (renraku ack ID --status received).",
                  "expect", "status", "received", "within", dur);
    if (!j ||
        drill_scenario_from_json(j, "ping", &sc, err, sizeof err) != RK_OK) {
        s_fail("ping: %s", j ? err : "out of memory");
        json_decref(j);
        return EXIT_USAGE;
    }
    json_decref(j);
    rc = s_run(sc, state, 0, lost_ms, out);
    drill_scenario_destroy(&sc);
    return rc;
}

static int
cmd_validate(int argc, char **argv) {
    drill_scenario_t *sc = NULL;
    json_t *j;
    char *text;
    int rc;
    if (argc != 2) {
        s_fail("validate needs one SCENARIO.json or MSEL.csv file");
        return EXIT_USAGE;
    }
    if ((rc = s_load(argv[1], &sc)) != 0)
        return rc;
    j = drill_scenario_to_json(sc);
    text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        puts(text);
    fprintf(stderr,
            "%s: valid: exercise %s, %zu participant(s), %zu "
            "inject(s)\n",
            argv[1], drill_scenario_exercise(sc),
            drill_scenario_n_participants(sc), drill_scenario_n_injects(sc));
    free(text);
    json_decref(j);
    drill_scenario_destroy(&sc);
    return 0;
}

static int
cmd_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = ".";
    drill_scenario_t *sc = NULL;
    json_t *results;
    json_error_t jerr;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            fputs(s_usage, stdout);
            return 0;
        } else
            return s_bad_option("report", c, argv, opts);
    }
    if (optind != argc - 2) {
        s_fail("report needs SCENARIO and RESULTS.json");
        return EXIT_USAGE;
    }
    if ((rc = s_load(argv[optind], &sc)) != 0)
        return rc;
    results = json_load_file(argv[optind + 1], JSON_REJECT_DUPLICATES, &jerr);
    if (!results) {
        s_fail("%s:%d: %s", argv[optind + 1], jerr.line, jerr.text);
        drill_scenario_destroy(&sc);
        return EXIT_USAGE;
    }
    rc = s_reports(sc, results, out);
    json_decref(results);
    drill_scenario_destroy(&sc);
    return rc;
}

/* A delay in ms: digits only, 0 to S_SIM_DELAY_MAX_MS. Returns 0 or -1. */
static int
s_parse_delay(const char *text, int *ms) {
    long v = 0;
    if (!*text)
        return -1;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > S_SIM_DELAY_MAX_MS)
            return -1;
    }
    *ms = (int)v;
    return 0;
}

/* Prints the last (at most S_SIM_TAIL_LINES) lines of log, each cut at
 * 300 bytes, as "  | line": what a renrakud that exited said last (why it
 * refused to start). Nothing for a log that cannot be read. */
static void
s_print_log_tail(const char *log) {
    char buf[4096], *start, *lines[S_SIM_TAIL_LINES];
    size_t got, nl = 0;
    long size = 0;
    FILE *f = fopen(log, "rb");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
        size > (long)sizeof buf - 1)
        fseek(f, size - (long)sizeof buf + 1, SEEK_SET);
    else
        rewind(f);
    got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = 0;
    start = buf;
    if (size > (long)sizeof buf - 1) {
        /* Read from the middle of a line: skip to the next. */
        char *eol = strchr(buf, '\n');
        start = eol ? eol + 1 : buf + got;
    }
    while (got && buf + got > start &&
           (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = 0;
    /* The starts of the last lines, from the end back. */
    for (char *q = buf + got; q > start && nl < S_SIM_TAIL_LINES; q--)
        if (q[-1] == '\n') {
            q[-1] = 0;
            lines[nl++] = q;
        }
    if (nl < S_SIM_TAIL_LINES && buf + got > start)
        lines[nl++] = start;
    while (nl--)
        fprintf(stderr, "  | %.300s\n", lines[nl]);
}

/* Names every simulated participant that exited by itself (up to
 * S_SIM_EXITS_SHOWN, then how many more), with how it ended and its log;
 * the first few with their log's last lines. Returns how many exited. */
static size_t
s_report_exits(const drill_sim_t *sim, const char *logs) {
    size_t count = 0;
    for (size_t i = 0; i < drill_sim_count(sim); i++) {
        const char *id, *log;
        int ws;
        char how[200];
        if (!drill_sim_node(sim, i, &id, &log, &ws))
            continue;
        if (++count > S_SIM_EXITS_SHOWN)
            continue;
        drill_sim_status_text(ws, how, sizeof how);
        s_fail("simulated participant %s: its renrakud %s (log: %s)", id, how,
               log);
        if (count <= S_SIM_TAILS_SHOWN)
            s_print_log_tail(log);
    }
    if (count > S_SIM_EXITS_SHOWN)
        s_fail("... and %zu more simulated participants exited (see %s)",
               count - S_SIM_EXITS_SHOWN, logs);
    return count;
}

static int
cmd_simulate(int argc, char **argv) {
    static const struct option opts[] = {{"keys", 1, 0, 'k'},
                                         {"roster", 1, 0, 'r'},
                                         {"coordinator", 1, 0, 'c'},
                                         {"relay", 1, 0, 'R'},
                                         {"state-root", 1, 0, 's'},
                                         {"node", 1, 0, 'n'},
                                         {"answer", 1, 0, 'a'},
                                         {"delay-ms", 1, 0, 'd'},
                                         {"offline", 1, 0, 'x'},
                                         {"renrakud", 1, 0, 'D'},
                                         {"nodes-from-roster", 0, 0, 'F'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    drill_sim_config_t cfg;
    drill_sim_node_t *nodes = NULL;
    size_t n = 0;
    const char *answer = "acknowledged", *offline[S_SIM_OFFLINE_MAX];
    size_t n_off = 0, connected, exits;
    int delay = 1000;
    char **specs = NULL, self_dir[4096], renrakud[4200], logs[4200], err[600];
    size_t n_specs = 0;
    drill_sim_t *sim = NULL;
    roster_t *roster = NULL;
    int c, status = EXIT_FAIL, from_roster = 0;

    memset(&cfg, 0, sizeof cfg);
    specs = calloc((size_t)argc, sizeof *specs);
    if (!specs) {
        s_fail("out of memory");
        return EXIT_FAIL;
    }
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            cfg.keys_dir = optarg;
            break;
        case 'r':
            cfg.roster = optarg;
            break;
        case 'c':
            cfg.coordinator = optarg;
            break;
        case 'R':
            cfg.relay = optarg;
            break;
        case 's':
            cfg.state_root = optarg;
            break;
        case 'n':
            specs[n_specs++] = optarg;
            break;
        case 'a':
            answer = optarg;
            if (!payload_ack_status_from_name(answer)) {
                s_fail("--answer %s: not a status (received, acknowledged, "
                       "in-progress, resolved or denied)",
                       answer);
                free(specs);
                return EXIT_USAGE;
            }
            break;
        case 'D':
            cfg.renrakud = optarg;
            break;
        case 'd':
            if (s_parse_delay(optarg, &delay) != 0) {
                s_fail("--delay-ms %s: a whole number of milliseconds, 0 to "
                       "%d",
                       optarg, S_SIM_DELAY_MAX_MS);
                free(specs);
                return EXIT_USAGE;
            }
            break;
        case 'x':
            if (n_off == S_SIM_OFFLINE_MAX) {
                s_fail("--offline %s: at most %d --offline", optarg,
                       S_SIM_OFFLINE_MAX);
                free(specs);
                return EXIT_USAGE;
            }
            offline[n_off++] = optarg;
            break;
        case 'F':
            from_roster = 1;
            break;
        case 'h':
            fputs(s_usage, stdout);
            free(specs);
            return 0;
        default:
            free(specs);
            return s_bad_option("simulate", c, argv, opts);
        }
    }
    if (optind < argc) {
        s_fail("simulate: unexpected argument %s (see --help)", argv[optind]);
        free(specs);
        return EXIT_USAGE;
    }
    if (from_roster && cfg.roster && cfg.coordinator && cfg.keys_dir) {
        /* Every active partner of the roster whose key file is here. */
        note_verifier_t v;
        char rerr[400];
        if (unlock_verifier(cfg.coordinator, &v, rerr, sizeof rerr) != RK_OK) {
            s_fail("--coordinator %s", rerr);
            free(specs);
            return EXIT_USAGE;
        }
        if (roster_load_signed(cfg.roster, &v, 0, &roster, rerr, sizeof rerr) !=
            RK_OK) {
            s_fail("--nodes-from-roster: %s", rerr);
            free(specs);
            return EXIT_USAGE;
        }
        free(specs);
        specs = calloc(roster_count(roster) + (size_t)argc, sizeof *specs);
        n_specs = 0;
        for (size_t i = 0; specs && i < roster_count(roster); i++) {
            const roster_node_t *nd = roster_node_at(roster, i);
            char key[4096];
            struct stat st;
            snprintf(key, sizeof key, "%s/%s.key", cfg.keys_dir, nd->id);
            if (nd->role == IDENTITY_ROLE_PARTNER &&
                nd->status == ROSTER_ACTIVE && stat(key, &st) == 0)
                specs[n_specs++] = nd->id;
        }
    }
    if (!cfg.keys_dir || !cfg.roster || !cfg.coordinator || !cfg.relay ||
        !cfg.state_root || !n_specs) {
        s_fail(
            "simulate: missing%s%s%s%s%s%s (see --help)",
            cfg.keys_dir ? "" : " --keys", cfg.roster ? "" : " --roster",
            cfg.coordinator ? "" : " --coordinator",
            cfg.relay ? "" : " --relay", cfg.state_root ? "" : " --state-root",
            n_specs       ? ""
            : from_roster ? " --node (--nodes-from-roster found no partner key)"
                          : " --node");
        free(specs);
        return EXIT_USAGE;
    }
    nodes = calloc(n_specs, sizeof *nodes);
    if (!nodes) {
        s_fail("out of memory");
        goto done;
    }
    /* ID or ID=DELAY_MS, each checked before anything starts; the nodes
     * named by --offline are left out (unreachable on purpose). */
    for (size_t i = 0; i < n_specs; i++) {
        char *eq = strchr(specs[i], '=');
        int skip = 0, ms = delay;
        if (eq && s_parse_delay(eq + 1, &ms) != 0) {
            s_fail("--node %s: DELAY_MS after '=' is a whole number of "
                   "milliseconds, 0 to %d",
                   specs[i], S_SIM_DELAY_MAX_MS);
            status = EXIT_USAGE;
            goto done;
        }
        if (eq)
            *eq = 0;
        for (size_t k = 0; k < n_off; k++)
            skip |= strcmp(specs[i], offline[k]) == 0;
        if (skip)
            continue;
        nodes[n].id = specs[i];
        nodes[n].answer = answer;
        nodes[n].delay_ms = ms;
        n++;
    }
    {
        /* Every simulated renrakud would refuse it, each in its own log,
         * and simulate would wait 60 s for them to connect: say it now. */
        note_verifier_t v;
        char cerr[400];
        if (unlock_verifier(cfg.coordinator, &v, cerr, sizeof cerr) != RK_OK) {
            s_fail("--coordinator %s", cerr);
            status = EXIT_USAGE;
            goto done;
        }
    }
    if (!cfg.renrakud) {
        /* renrakud beside this program. */
        ssize_t len = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
        char *slash;
        self_dir[len > 0 ? len : 0] = 0;
        slash = strrchr(self_dir, '/');
        if (slash)
            *slash = 0;
        snprintf(renrakud, sizeof renrakud, "%s/renrakud", self_dir);
        cfg.renrakud = renrakud;
    }
    snprintf(logs, sizeof logs, "%s/logs", cfg.state_root);
    cfg.log_dir = logs;

    if (mkdir(cfg.state_root, 0700) != 0 && errno != EEXIST) {
        s_fail("--state-root %s: %s", cfg.state_root, strerror(errno));
        goto done;
    }
    s_signals();
    if (drill_sim_start(&cfg, nodes, n, &sim, err, sizeof err) != RK_OK) {
        s_fail("%s", err);
        goto done;
    }
    fprintf(stderr,
            "renraku-drill: %zu simulated participant(s) starting "
            "(%zu offline on purpose); Ctrl-C stops them\n",
            n, n_off);
    connected = drill_sim_wait_connected(sim, 60000, &s_stop);
    if (s_stop) {
        /* Asked to stop before they were all up: what the terminal's
         * Ctrl-C also told the daemons (same process group) is no failure
         * of theirs. */
        fprintf(stderr,
                "renraku-drill: stopped before the simulated participants "
                "were ready (%zu of %zu connected)\n",
                connected, n);
        status = 0;
        goto done;
    }
    exits = s_report_exits(sim, logs);
    if (exits) {
        /* A rehearsal with a participant down measures nothing true of
         * it, and it was not left out on purpose (that is --offline). */
        if (exits < n)
            s_fail("%zu of %zu simulated participants exited while "
                   "starting; the rest (%zu) were stopped (every log is in "
                   "%s)",
                   exits, n, n - exits, logs);
        else
            s_fail("all %zu simulated participants exited while starting "
                   "(every log is in %s)",
                   n, logs);
        goto done;
    }
    fprintf(stderr, "renraku-drill: %zu connected to the relay\n", connected);
    if (n && !connected) {
        s_fail("none of the %zu simulated participants connected to the "
               "relay %s within 60 s (see %s)",
               n, cfg.relay, logs);
        goto done;
    }
    if (connected < n)
        fprintf(stderr,
                "renraku-drill: warning: only %zu of %zu simulated "
                "participants connected (see %s)\n",
                connected, n, logs);
    printf("ready\n");
    fflush(stdout);
    while (!s_stop) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        /* Ctrl-C on a terminal reaches the daemons too: not a failure. */
        if (s_stop)
            break;
        if (drill_sim_running(sim) == 0) {
            s_fail("every simulated participant has stopped (see %s)", logs);
            goto done;
        }
    }
    status = 0;
done:
    drill_sim_stop(&sim);
    free(nodes);
    free(specs);
    roster_destroy(&roster);
    return status;
}

int
main(int argc, char **argv) {
    if (sodium_init() < 0)
        return EXIT_FAIL;
    opterr = 0;
    /* The controller reads the progress line and the report; events go
     * to the log only when asked for. */
    if (rk_log_set_level(getenv("RENRAKU_LOG_LEVEL")
                             ? getenv("RENRAKU_LOG_LEVEL")
                             : "warn") != 0)
        rk_log_set_level("warn");
    if (argc < 2) {
        s_fail("no command given (see --help)");
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(s_usage, stdout);
        return 0;
    }
    optind = 1;
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ping"))
        return cmd_ping(argc - 1, argv + 1);
    if (!strcmp(argv[1], "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(argv[1], "simulate"))
        return cmd_simulate(argc - 1, argv + 1);
    s_fail("unknown command \"%s\" (see --help)", argv[1]);
    return EXIT_USAGE;
}
