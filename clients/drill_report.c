/* drill_report: per-row outcomes, per-participant statistics and the four
 * renderings of a drill report. The observed JSON is untrusted (it may
 * come from a file someone edited): every key and time is checked, every
 * string escaped for its output format. */
#include "drill_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rk_util.h"

typedef enum {
    S_NOT_SENT = 0,
    S_PENDING,
    S_MET,
    S_LATE,
    S_WRONG_STATUS,
    S_NO_ANSWER,
    S_UNKNOWN, /* not known whether it was sent */
} s_outcome_t;

static const char *const s_outcome_names[] = {
    "not-sent",     "pending",   "met",    "late",
    "wrong-status", "no-answer", "unknown"};

/* One participant x inject. Times are Unix ms, 0: did not happen. */
typedef struct {
    size_t part;   /* index into parts */
    size_t inject; /* scenario index */
    uint64_t sent, stored, delivered, answered;
    uint64_t ok_at; /* first answer with a sufficient status, 0: none */
    payload_ack_status_t ok_status; /* its status */
    payload_ack_status_t answer;    /* status of the first answer */
    const char *comment;            /* of the first answer, borrowed */
    const char *msg_id;             /* borrowed, may be NULL */
    const char *error;              /* borrowed, may be NULL */
    const char *unknown;            /* why it is not known whether it was sent,
                                       borrowed, or NULL */
    uint64_t deadline;              /* real ms after sent, 0: none */
    s_outcome_t outcome;
} s_row_t;

typedef struct {
    char *id;
    const char *reason; /* from "unreachable", borrowed; NULL */
    bool listed_unreachable;
    size_t rows, sent, delivered, answered, met, missed, pending, unknown;
    bool has_times;
    uint64_t median, p90; /* real ms */
} s_part_t;

struct drill_report {
    const drill_scenario_t *sc;
    json_t *observed; /* a reference: rows borrow its strings */
    double scale;
    uint64_t started, finished, as_of; /* finished 0: partial */
    bool stopped;                      /* stopped before its end: partial */
    const char *stop_reason; /* why, borrowed from observed; may be NULL */
    s_part_t *parts;
    size_t n_parts;
    s_row_t *rows;
    size_t n_rows;
    uint64_t median, p90; /* over every answer */
    bool has_times;
};

/* Whether the drill ran to its end (not stopped, not still running): only
 * then is the report whole, and "never" may be said. */
static bool
s_ran_to_end(const drill_report_t *r) {
    return r->finished && !r->stopped;
}

void
drill_report_destroy(drill_report_t **self_p) {
    drill_report_t *r;
    if (!self_p || !*self_p)
        return;
    r = *self_p;
    for (size_t i = 0; i < r->n_parts; i++)
        free(r->parts[i].id);
    free(r->parts);
    free(r->rows);
    json_decref(r->observed);
    free(r);
    *self_p = NULL;
}

/* ---- Parsing the observed results ---- */

typedef struct {
    char *err;
    size_t errlen;
} s_ctx_t;

static int s_fail(const s_ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_fail(const s_ctx_t *c, const char *path, const char *fmt, ...) {
    va_list ap;
    int n;
    if (!c->err || !c->errlen)
        return RK_ERR_MALFORMED;
    n = snprintf(c->err, c->errlen, "observed: %s%s", path ? path : "",
                 path ? ": " : "");
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return RK_ERR_MALFORMED;
}

static void
s_quote(char out[56], const char *s) {
    size_t i = 0, o = 0;
    for (; s[i] && o < 40; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (s[i])
        memcpy(out + o, "...", 4);
    else
        out[o] = '\0';
}

static int
s_check_keys(const s_ctx_t *c, const json_t *o, const char *path,
             const char *const *allowed) {
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        return s_fail(c, path, "not an object");
    json_object_foreach((json_t *)o, key, v) {
        bool ok = false;
        char q[56];
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            s_quote(q, key);
            return s_fail(c, path, "unknown key '%s'", q);
        }
    }
    return RK_OK;
}

/* An optional time: *ms stays 0 when absent. */
static int
s_time(const s_ctx_t *c, const json_t *o, const char *key, const char *path,
       uint64_t *ms) {
    json_t *v = json_object_get(o, key);
    char p[200], q[56];
    *ms = 0;
    if (!v)
        return RK_OK;
    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
    if (!json_is_string(v))
        return s_fail(c, p, "not an RFC 3339 time string");
    if (rk_time_parse(json_string_value(v), ms) != RK_OK || *ms == 0) {
        s_quote(q, json_string_value(v));
        return s_fail(c, p, "'%s' is not an RFC 3339 UTC time", q);
    }
    return RK_OK;
}

static int
s_opt_str(const s_ctx_t *c, const json_t *o, const char *key, const char *path,
          const char **out) {
    json_t *v = json_object_get(o, key);
    char p[200];
    *out = NULL;
    if (!v)
        return RK_OK;
    if (!json_is_string(v)) {
        if (snprintf(p, sizeof p, "%s.%s", path, key) >= (int)sizeof p)
            p[sizeof p - 2] = '~'; /* cut: say so */
        return s_fail(c, p, "not a string");
    }
    *out = json_string_value(v);
    return RK_OK;
}

static long
s_part_find(const drill_report_t *r, const char *id) {
    for (size_t i = 0; i < r->n_parts; i++)
        if (strcmp(r->parts[i].id, id) == 0)
            return (long)i;
    return -1;
}

static int
s_part_add(drill_report_t *r, const char *id, size_t *idx) {
    long f = s_part_find(r, id);
    s_part_t *p;
    if (f >= 0) {
        *idx = (size_t)f;
        return RK_OK;
    }
    if (!(p = realloc(r->parts, (r->n_parts + 1) * sizeof *p)))
        return RK_ERR_NOMEM;
    r->parts = p;
    memset(&p[r->n_parts], 0, sizeof *p);
    if (!(p[r->n_parts].id = strdup(id)))
        return RK_ERR_NOMEM;
    *idx = r->n_parts++;
    return RK_OK;
}

static void
s_max(uint64_t *m, uint64_t v) {
    if (v > *m)
        *m = v;
}

/* Reads the answers of one recipient into row: first answer (any status)
 * and first sufficient one. */
static int
s_answers(const s_ctx_t *c, const json_t *rec, const char *path,
          payload_ack_status_t expect, s_row_t *row, uint64_t *latest) {
    static const char *const akeys[] = {"at", "status", "comment", NULL};
    json_t *list = json_object_get(rec, "answers");
    char p[220], q[56];
    int rc;

    if (list &&
        (json_object_get(rec, "answered") || json_object_get(rec, "answer")))
        return s_fail(c, path,
                      "both \"answers\" and \"answered\"/\"answer\" (use "
                      "one form)");
    if (!list) {
        uint64_t at;
        const char *st, *cm;
        if ((rc = s_time(c, rec, "answered", path, &at)) != RK_OK)
            return rc;
        if ((rc = s_opt_str(c, rec, "answer", path, &st)) != RK_OK ||
            (rc = s_opt_str(c, rec, "comment", path, &cm)) != RK_OK)
            return rc;
        if (!at != !st) {
            snprintf(p, sizeof p, "%s.%s", path, at ? "answer" : "answered");
            return s_fail(c, p, "missing (answered and answer go together)");
        }
        if (!at)
            return RK_OK;
        row->answer = payload_ack_status_from_name(st);
        if (!row->answer) {
            snprintf(p, sizeof p, "%s.answer", path);
            s_quote(q, st);
            return s_fail(c, p, "'%s' is not a status", q);
        }
        row->answered = at;
        row->comment = cm;
        if (drill_answer_meets(row->answer, expect)) {
            row->ok_at = at;
            row->ok_status = row->answer;
        }
        s_max(latest, at);
        return RK_OK;
    }
    if (!json_is_array(list)) {
        snprintf(p, sizeof p, "%s.answers", path);
        return s_fail(c, p, "not an array");
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *a = json_array_get(list, i);
        uint64_t at;
        const char *st, *cm;
        payload_ack_status_t s;
        if (snprintf(p, sizeof p, "%s.answers[%zu]", path, i) >= (int)sizeof p)
            return s_fail(c, path, "path too long");
        if ((rc = s_check_keys(c, a, p, akeys)) != RK_OK ||
            (rc = s_time(c, a, "at", p, &at)) != RK_OK ||
            (rc = s_opt_str(c, a, "status", p, &st)) != RK_OK ||
            (rc = s_opt_str(c, a, "comment", p, &cm)) != RK_OK)
            return rc;
        if (!at || !st)
            return s_fail(c, p, "needs \"at\" and \"status\"");
        if (!(s = payload_ack_status_from_name(st))) {
            s_quote(q, st);
            return s_fail(c, p, "'%s' is not a status", q);
        }
        if (!row->answered || at < row->answered) {
            row->answered = at;
            row->answer = s;
            row->comment = cm;
        }
        if (drill_answer_meets(s, expect) && (!row->ok_at || at < row->ok_at)) {
            row->ok_at = at;
            row->ok_status = s;
        }
        s_max(latest, at);
    }
    return RK_OK;
}

/* The nearest-rank p-th percentile of sorted v[0..n-1], n > 0. */
static uint64_t
s_rank(const uint64_t *v, size_t n, unsigned p) {
    size_t k = (size_t)((p * n + 99) / 100);
    if (k == 0)
        k = 1;
    return v[k - 1];
}

static int
s_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t
s_after(uint64_t t, uint64_t from) {
    return t > from ? t - from : 0;
}

static void
s_outcome(const drill_report_t *r, s_row_t *row) {
    bool over;
    if (!row->sent) {
        row->outcome = row->unknown ? S_UNKNOWN : S_NOT_SENT;
        return;
    }
    if (row->ok_at) {
        row->outcome =
            (!row->deadline || s_after(row->ok_at, row->sent) <= row->deadline)
                ? S_MET
                : S_LATE;
        return;
    }
    /* A drill that ran to its end closes every row; one stopped early
     * (Ctrl-C, its daemon lost) closes only the deadlines that passed. */
    over = s_ran_to_end(r) ||
           (row->deadline && r->as_of > row->sent + row->deadline);
    if (!over)
        row->outcome = S_PENDING;
    else
        row->outcome = row->answered ? S_WRONG_STATUS : S_NO_ANSWER;
}

static bool
s_is_missed(s_outcome_t o) {
    return o == S_LATE || o == S_WRONG_STATUS || o == S_NO_ANSWER;
}

static int
s_compute(drill_report_t *r) {
    uint64_t *all = NULL, *mine = NULL;
    size_t n_all = 0;
    if (r->n_rows && (!(all = malloc(r->n_rows * sizeof *all)) ||
                      !(mine = malloc(r->n_rows * sizeof *mine)))) {
        free(all);
        return RK_ERR_NOMEM;
    }
    for (size_t i = 0; i < r->n_rows; i++)
        s_outcome(r, &r->rows[i]);
    for (size_t p = 0; p < r->n_parts; p++) {
        s_part_t *pt = &r->parts[p];
        size_t n = 0;
        for (size_t i = 0; i < r->n_rows; i++) {
            const s_row_t *row = &r->rows[i];
            if (row->part != p)
                continue;
            pt->rows++;
            pt->sent += row->sent != 0;
            /* An answer proves the delivery, receipt or not (the
             * receipt may come after the answer, or be lost). */
            pt->delivered += row->sent && (row->delivered || row->answered);
            pt->met += row->outcome == S_MET;
            pt->missed += s_is_missed(row->outcome);
            pt->pending += row->outcome == S_PENDING;
            pt->unknown += row->outcome == S_UNKNOWN;
            if (row->sent && row->answered) {
                pt->answered++;
                mine[n++] = s_after(row->answered, row->sent);
                all[n_all++] = mine[n - 1];
            }
        }
        if (n) {
            qsort(mine, n, sizeof *mine, s_cmp_u64);
            pt->has_times = true;
            pt->median = s_rank(mine, n, 50);
            pt->p90 = s_rank(mine, n, 90);
        }
    }
    if (n_all) {
        qsort(all, n_all, sizeof *all, s_cmp_u64);
        r->has_times = true;
        r->median = s_rank(all, n_all, 50);
        r->p90 = s_rank(all, n_all, 90);
    }
    free(all);
    free(mine);
    return RK_OK;
}

static const char *const s_top_keys[] = {
    "exercise",   "started",      "finished", "stopped",     "stop_reason",
    "time_scale", "participants", "injects",  "unreachable", NULL};
static const char *const s_inj_keys[] = {"id", "msg_id", "sent", "recipients",
                                         NULL};
static const char *const s_rec_keys[] = {
    "sent",    "msg_id",  "stored", "delivered",    "answered", "answer",
    "comment", "answers", "error",  "send_unknown", NULL};

static int
s_parse(drill_report_t *r, const s_ctx_t *c) {
    const json_t *o = r->observed;
    const drill_scenario_t *sc = r->sc;
    json_t *v, *injs;
    const char *s;
    char q[56], p[200];
    uint64_t latest = 0;
    size_t idx;
    int rc;

    if ((rc = s_check_keys(c, o, "", s_top_keys)) != RK_OK)
        return rc;
    if ((rc = s_opt_str(c, o, "exercise", "", &s)) != RK_OK)
        return rc;
    if (s && strcmp(s, drill_scenario_exercise(sc)) != 0) {
        s_quote(q, s);
        return s_fail(c, "exercise", "'%s' is not the scenario's exercise", q);
    }
    if ((rc = s_time(c, o, "started", "", &r->started)) != RK_OK ||
        (rc = s_time(c, o, "finished", "", &r->finished)) != RK_OK)
        return rc;
    if (!r->started)
        return s_fail(c, "started", "missing");
    if (r->finished && r->finished < r->started)
        return s_fail(c, "finished", "before started");
    if ((v = json_object_get(o, "stopped"))) {
        if (!json_is_boolean(v))
            return s_fail(c, "stopped", "not true or false");
        r->stopped = json_is_true(v);
    }
    if ((rc = s_opt_str(c, o, "stop_reason", "", &r->stop_reason)) != RK_OK)
        return rc;
    latest = r->started;
    r->scale = drill_scenario_time_scale(sc);
    if ((v = json_object_get(o, "time_scale"))) {
        if (!json_is_number(v) || !(json_number_value(v) >= 1) ||
            json_number_value(v) > DRILL_TIME_SCALE_MAX)
            return s_fail(c, "time_scale", "not a number from 1 to %d",
                          DRILL_TIME_SCALE_MAX);
        r->scale = json_number_value(v);
    }

    /* Participants: the expanded list, or the scenario's. */
    if ((v = json_object_get(o, "participants"))) {
        if (!json_is_array(v))
            return s_fail(c, "participants", "not an array of node ids");
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            snprintf(p, sizeof p, "participants[%zu]", i);
            if (!json_is_string(e) ||
                !envelope_node_id_valid(json_string_value(e)))
                return s_fail(c, p, "not a node id");
            if ((rc = s_part_add(r, json_string_value(e), &idx)) != RK_OK)
                return rc;
        }
    } else {
        for (size_t i = 0; i < drill_scenario_n_participants(sc); i++)
            if ((rc = s_part_add(r, drill_scenario_participant(sc, i), &idx)) !=
                RK_OK)
                return rc;
    }
    if ((v = json_object_get(o, "unreachable"))) {
        if (!json_is_array(v))
            return s_fail(c, "unreachable", "not an array");
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            const char *id = NULL, *reason = NULL;
            snprintf(p, sizeof p, "unreachable[%zu]", i);
            if (json_is_object(e)) {
                static const char *const ukeys[] = {"id", "reason", NULL};
                if ((rc = s_check_keys(c, e, p, ukeys)) != RK_OK ||
                    (rc = s_opt_str(c, e, "id", p, &id)) != RK_OK ||
                    (rc = s_opt_str(c, e, "reason", p, &reason)) != RK_OK)
                    return rc;
            } else if (json_is_string(e))
                id = json_string_value(e);
            if (!id || !envelope_node_id_valid(id))
                return s_fail(c, p, "not a node id or {\"id\", \"reason\"}");
            if ((rc = s_part_add(r, id, &idx)) != RK_OK)
                return rc;
            r->parts[idx].listed_unreachable = true;
            r->parts[idx].reason = reason;
        }
    }

    /* Rows: every (participant, inject) the scenario or the runner names. */
    injs = json_object_get(o, "injects");
    if (injs && !json_is_array(injs))
        return s_fail(c, "injects", "not an array");
    for (size_t i = 0; injs && i < json_array_size(injs); i++) {
        json_t *e = json_array_get(injs, i), *recs, *id;
        const char *rk;
        json_t *rv;
        snprintf(p, sizeof p, "injects[%zu]", i);
        if ((rc = s_check_keys(c, e, p, s_inj_keys)) != RK_OK)
            return rc;
        id = json_object_get(e, "id");
        if (!json_is_string(id))
            return s_fail(c, p, "no \"id\" string");
        if (drill_scenario_find(sc, json_string_value(id)) < 0) {
            s_quote(q, json_string_value(id));
            snprintf(p, sizeof p, "injects[%zu].id", i);
            return s_fail(c, p, "'%s' is not an inject of the scenario", q);
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_object_get(json_array_get(injs, k), "id"),
                           id)) {
                snprintf(p, sizeof p, "injects[%zu].id", i);
                return s_fail(c, p, "listed twice");
            }
        recs = json_object_get(e, "recipients");
        if (recs && !json_is_object(recs)) {
            snprintf(p, sizeof p, "injects[%zu].recipients", i);
            return s_fail(c, p, "not an object");
        }
        json_object_foreach(recs, rk, rv) {
            if (!envelope_node_id_valid(rk)) {
                s_quote(q, rk);
                snprintf(p, sizeof p, "injects[%zu].recipients", i);
                return s_fail(c, p, "'%s' is not a node id", q);
            }
            if ((rc = s_part_add(r, rk, &idx)) != RK_OK)
                return rc;
        }
    }

    /* One row per participant x inject addressed to it. */
    for (size_t k = 0; k < drill_scenario_n_injects(sc); k++) {
        const drill_inject_t *in = drill_scenario_inject(sc, k);
        json_t *obs = NULL, *recs = NULL;
        uint64_t inj_sent = 0;
        const char *inj_msg = NULL;
        size_t oi;
        for (oi = 0; injs && oi < json_array_size(injs); oi++)
            if (strcmp(json_string_value(
                           json_object_get(json_array_get(injs, oi), "id")),
                       in->id) == 0) {
                obs = json_array_get(injs, oi);
                break;
            }
        if (obs) {
            snprintf(p, sizeof p, "injects[%zu]", oi);
            if ((rc = s_time(c, obs, "sent", p, &inj_sent)) != RK_OK ||
                (rc = s_opt_str(c, obs, "msg_id", p, &inj_msg)) != RK_OK)
                return rc;
            recs = json_object_get(obs, "recipients");
        }
        for (size_t pi = 0; pi < r->n_parts; pi++) {
            const char *pid = r->parts[pi].id;
            json_t *rec = recs ? json_object_get(recs, pid) : NULL;
            bool named = in->to_default;
            s_row_t row = {0};
            for (size_t t = 0; t < in->n_to && !named; t++)
                named = strcmp(in->to[t], pid) == 0;
            if (!rec && !named)
                continue;
            row.part = pi;
            row.inject = k;
            row.msg_id = inj_msg;
            if (rec) {
                char rp[200];
                snprintf(rp, sizeof rp, "injects[%zu].recipients.%s", oi, pid);
                if ((rc = s_check_keys(c, rec, rp, s_rec_keys)) != RK_OK ||
                    (rc = s_time(c, rec, "sent", rp, &row.sent)) != RK_OK ||
                    (rc = s_time(c, rec, "stored", rp, &row.stored)) != RK_OK ||
                    (rc = s_time(c, rec, "delivered", rp, &row.delivered)) !=
                        RK_OK)
                    return rc;
                if ((rc = s_opt_str(c, rec, "error", rp, &row.error)) !=
                        RK_OK ||
                    (rc = s_opt_str(c, rec, "send_unknown", rp,
                                    &row.unknown)) != RK_OK)
                    return rc;
                if (row.unknown && (row.sent || row.error))
                    return s_fail(c, rp,
                                  "\"send_unknown\" beside \"sent\" or "
                                  "\"error\": whether it was sent is "
                                  "known or not");
                /* An error without its own "sent": it never went out; an
                 * unknown: no one knows. */
                if (!row.sent && !row.error && !row.unknown)
                    row.sent = inj_sent;
                if ((rc = s_opt_str(c, rec, "msg_id", rp, &s)) != RK_OK)
                    return rc;
                if (s)
                    row.msg_id = s;
                if ((rc = s_answers(c, rec, rp, in->expect, &row, &latest)) !=
                    RK_OK)
                    return rc;
                if (!row.sent && (row.delivered || row.answered))
                    return s_fail(c, rp,
                                  "delivered or answered, but no "
                                  "\"sent\" time");
                s_max(&latest, row.sent);
                s_max(&latest, row.stored);
                s_max(&latest, row.delivered);
            }
            row.deadline = drill_deadline_ms(in->within_s, r->scale);
            {
                s_row_t *rows =
                    realloc(r->rows, (r->n_rows + 1) * sizeof *rows);
                if (!rows)
                    return RK_ERR_NOMEM;
                r->rows = rows;
                r->rows[r->n_rows++] = row;
            }
        }
    }
    r->as_of = r->finished ? r->finished : latest;
    return s_compute(r);
}

int
drill_report_new(const drill_scenario_t *sc, const json_t *observed,
                 drill_report_t **out, char *err, size_t errlen) {
    s_ctx_t c = {err, errlen};
    drill_report_t *r;
    int rc;
    if (err && errlen)
        err[0] = '\0';
    if (!sc || !json_is_object(observed))
        return s_fail(&c, NULL, "not a JSON object");
    if (!(r = calloc(1, sizeof *r)))
        return RK_ERR_NOMEM;
    r->sc = sc;
    r->observed = json_incref((json_t *)observed);
    if ((rc = s_parse(r, &c)) != RK_OK) {
        if (rc == RK_ERR_NOMEM && err && errlen)
            snprintf(err, errlen, "observed: out of memory");
        drill_report_destroy(&r);
        return rc;
    }
    *out = r;
    return RK_OK;
}

/* ---- Output helpers ---- */

typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} s_sb_t;

static void s_put(s_sb_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_putn(s_sb_t *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void
s_put(s_sb_t *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        s_putn(b, tmp, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            b->oom = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        s_putn(b, big, (size_t)n);
        free(big);
    }
}

static char *
s_done(s_sb_t *b) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p)
        s_putn(b, "", 0);
    return b->oom ? NULL : b->p;
}

/* "45.0s", "4m12s", "2h05m", "1d03h". */
static void
s_dur(char *out, size_t cap, uint64_t ms) {
    uint64_t s = ms / 1000;
    if (ms < 60000)
        snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(out, cap, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%uh%02um", (unsigned)(s / 3600),
                 (unsigned)(s % 3600 / 60));
    else
        snprintf(out, cap, "%ud%02uh", (unsigned)(s / 86400),
                 (unsigned)(s % 86400 / 3600));
}

/* Real duration, with the scenario's in parentheses when scaled. */
static void
s_dur2(const drill_report_t *r, char *out, size_t cap, uint64_t ms) {
    char a[32], b[32];
    s_dur(a, sizeof a, ms);
    if (r->scale == 1) {
        snprintf(out, cap, "%s", a);
        return;
    }
    s_dur(b, sizeof b, (uint64_t)llround((double)ms * r->scale));
    if (snprintf(out, cap, "%s (%s)", a, b) >= (int)cap)
        out[cap - 1] = '\0'; /* cut: still a string */
}

static uint64_t
s_scen(const drill_report_t *r, uint64_t ms) {
    return (uint64_t)llround((double)ms * r->scale);
}

/* Text for a terminal: control characters become '?'; at most max bytes,
 * cut between two characters and marked with an ellipsis. */
static void
s_put_plain(s_sb_t *b, const char *s, size_t max) {
    size_t n = strlen(s), keep = n;
    if (n > max) {
        /* Between two characters: a split one is not UTF-8. */
        keep = max;
        while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
            keep--;
    }
    for (size_t i = 0; i < keep; i++) {
        unsigned char ch = (unsigned char)s[i];
        char c1 = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        s_putn(b, &c1, 1);
    }
    if (keep < n)
        s_putn(b, "\xE2\x80\xA6", 3); /* the whole of it is in the JSON */
}

/* ---- Text ---- */

char *
drill_report_text(const drill_report_t *r) {
    const drill_scenario_t *sc = r->sc;
    s_sb_t b = {0};
    char t1[32], t2[32], d[64];
    size_t never = 0;
    /* Columns as wide as the longest participant and inject id. */
    int pw = 20, iw = 8;
    for (size_t p = 0; p < r->n_parts; p++)
        if (strlen(r->parts[p].id) > (size_t)pw)
            pw = (int)strlen(r->parts[p].id);
    for (size_t i = 0; i < drill_scenario_n_injects(sc); i++)
        if (strlen(drill_scenario_inject(sc, i)->id) > (size_t)iw)
            iw = (int)strlen(drill_scenario_inject(sc, i)->id);

    s_put(&b, "EXERCISE %s: ", drill_scenario_exercise(sc));
    s_put_plain(&b, drill_scenario_name(sc), 200);
    rk_time_format(t1, sizeof t1, r->started);
    s_put(&b, "\nstarted %s", t1);
    if (r->finished && r->stopped) {
        rk_time_format(t2, sizeof t2, r->finished);
        s_put(&b, ", STOPPED %s before its end (partial report: ", t2);
        s_put_plain(&b, r->stop_reason ? r->stop_reason : "stopped", 300);
        s_put(&b, ")");
    } else if (r->finished) {
        rk_time_format(t2, sizeof t2, r->finished);
        s_put(&b, ", finished %s", t2);
    } else
        s_put(&b, ", still running (partial report)");
    s_put(&b, ", time scale %g: times are real", r->scale);
    if (r->scale != 1)
        s_put(&b, " (scenario time in parentheses)");
    s_put(&b, "\n\n%-*s %-*s %-9s %-18s %-18s %-13s %s\n", pw, "participant",
          iw, "inject", "sent", "delivered after", "answered after", "answer",
          "deadline");
    for (size_t i = 0; i < r->n_rows; i++) {
        const s_row_t *row = &r->rows[i];
        const drill_inject_t *in = drill_scenario_inject(sc, row->inject);
        char sent[40] = "-", del[48] = "-", ans[48] = "-";
        if (row->sent) {
            s_dur(t1, sizeof t1, s_after(row->sent, r->started));
            snprintf(sent, sizeof sent, "T+%s", t1);
        }
        if (row->sent && row->delivered)
            s_dur2(r, del, sizeof del, s_after(row->delivered, row->sent));
        if (row->sent && row->answered)
            s_dur2(r, ans, sizeof ans, s_after(row->answered, row->sent));
        s_put(&b, "%-*s %-*s %-9s %-18s %-18s %-13s ", pw,
              r->parts[row->part].id, iw, in->id, sent, del, ans,
              row->answered ? payload_ack_status_name(row->answer) : "-");
        switch (row->outcome) {
        case S_MET:
            s_put(&b, "met");
            break;
        case S_PENDING:
            s_put(&b, "pending");
            break;
        case S_NOT_SENT:
            s_put(&b, "not sent");
            break;
        case S_UNKNOWN:
            s_put(&b, "UNKNOWN whether sent");
            break;
        default:
            s_put(&b, "MISSED (%s)", s_outcome_names[row->outcome]);
        }
        /* Credited at the time of the answer that counted, when that was
         * not the first one. */
        if (row->ok_at && row->ok_at != row->answered) {
            s_dur(t2, sizeof t2, s_after(row->ok_at, row->sent));
            s_put(&b, " (%s after %s)", payload_ack_status_name(row->ok_status),
                  t2);
        }
        if (row->deadline) {
            s_dur(t2, sizeof t2, row->deadline);
            s_put(&b, ", %s %s", payload_ack_status_name(in->expect), t2);
        }
        if (!row->sent && (row->unknown || row->error)) {
            s_put(&b, "\n%*s ", pw, "");
            s_put_plain(&b, row->unknown ? row->unknown : row->error, 300);
        }
        s_put(&b, "\n");
    }
    s_put(&b, "\n%-*s %-10s %-9s %-9s %-7s %-7s %-18s %s\n", pw, "participant",
          "reachable", "delivered", "answered", "met", "missed",
          "median answer", "p90 answer");
    for (size_t p = 0; p < r->n_parts; p++) {
        const s_part_t *pt = &r->parts[p];
        char med[48] = "-", p90[48] = "-", dl[16], an[16];
        if (pt->has_times) {
            s_dur2(r, med, sizeof med, pt->median);
            s_dur2(r, p90, sizeof p90, pt->p90);
        }
        snprintf(dl, sizeof dl, "%zu/%zu", pt->delivered, pt->rows);
        snprintf(an, sizeof an, "%zu/%zu", pt->answered, pt->rows);
        s_put(&b, "%-*s %-10s %-9s %-9s %-7zu %-7zu %-18s %s\n", pw, pt->id,
              pt->delivered ? "yes" : "NO", dl, an, pt->met, pt->missed, med,
              p90);
        never += pt->delivered == 0;
    }
    /* A partial report cannot say "never": it knows only so far. */
    s_put(&b, "\n%s (%zu):",
          s_ran_to_end(r) ? "never reached" : "not reached so far", never);
    for (size_t p = 0; p < r->n_parts; p++)
        if (!r->parts[p].delivered) {
            s_put(&b, " %s", r->parts[p].id);
            if (r->parts[p].reason) {
                s_put(&b, " (");
                s_put_plain(&b, r->parts[p].reason, 80);
                s_put(&b, ")");
            }
        }
    if (!never)
        s_put(&b, " none");
    if (r->has_times) {
        s_dur2(r, d, sizeof d, r->median);
        s_put(&b, "\nall answers: median %s", d);
        s_dur2(r, d, sizeof d, r->p90);
        s_put(&b, ", p90 %s (nearest rank)", d);
    }
    s_put(&b, "\n");
    return s_done(&b);
}

/* ---- JSON ---- */

static json_t *
s_jtime(uint64_t ms) {
    char t[32];
    if (!ms)
        return json_null();
    rk_time_format(t, sizeof t, ms);
    return json_string(t);
}

static json_t *
s_jms(bool has, uint64_t ms) {
    return has ? json_integer((json_int_t)ms) : json_null();
}

static json_t *
s_report_json(const drill_report_t *r) {
    const drill_scenario_t *sc = r->sc;
    json_t *j = json_object(), *sum = json_object(), *parts = json_array(),
           *injs = json_array(), *res = json_array(), *never = json_array();
    size_t n_sent = 0, del = 0, ans = 0, met = 0, missed = 0, pending = 0,
           not_sent = 0, unknown = 0, reach = 0;
    char dur[32];
    if (!j || !sum || !parts || !injs || !res || !never)
        goto fail;
    json_object_set_new(j, "exercise",
                        json_string(drill_scenario_exercise(sc)));
    json_object_set_new(j, "name", json_string(drill_scenario_name(sc)));
    json_object_set_new(j, "time_scale", json_real(r->scale));
    json_object_set_new(j, "started", s_jtime(r->started));
    json_object_set_new(j, "finished", s_jtime(r->finished));
    json_object_set_new(j, "as_of", s_jtime(r->as_of));
    json_object_set_new(j, "partial", json_boolean(!s_ran_to_end(r)));
    json_object_set_new(j, "stopped", json_boolean(r->stopped));
    json_object_set_new(j, "stop_reason",
                        r->stop_reason ? json_string(r->stop_reason)
                                       : json_null());
    json_object_set_new(j, "percentiles", json_string("nearest-rank"));

    for (size_t i = 0; i < r->n_rows; i++) {
        const s_row_t *row = &r->rows[i];
        const drill_inject_t *in = drill_scenario_inject(sc, row->inject);
        json_t *o = json_object();
        bool s = row->sent != 0;
        if (!o)
            goto fail;
        json_object_set_new(o, "participant",
                            json_string(r->parts[row->part].id));
        json_object_set_new(o, "inject", json_string(in->id));
        json_object_set_new(
            o, "msg_id", row->msg_id ? json_string(row->msg_id) : json_null());
        json_object_set_new(o, "sent", s_jtime(row->sent));
        json_object_set_new(o, "stored", s_jtime(s ? row->stored : 0));
        json_object_set_new(o, "delivered", s_jtime(s ? row->delivered : 0));
        json_object_set_new(o, "answered", s_jtime(s ? row->answered : 0));
        json_object_set_new(
            o, "answer",
            s && row->answered
                ? json_string(payload_ack_status_name(row->answer))
                : json_null());
        json_object_set_new(o, "comment",
                            row->comment ? json_string(row->comment)
                                         : json_null());
        json_object_set_new(o, "expected",
                            json_string(payload_ack_status_name(in->expect)));
        json_object_set_new(o, "deadline_ms",
                            s_jms(row->deadline != 0, row->deadline));
        json_object_set_new(
            o, "delivered_after_ms",
            s_jms(s && row->delivered, s_after(row->delivered, row->sent)));
        json_object_set_new(
            o, "answered_after_ms",
            s_jms(s && row->answered, s_after(row->answered, row->sent)));
        json_object_set_new(
            o, "answered_after_scenario_ms",
            s_jms(s && row->answered,
                  s_scen(r, s_after(row->answered, row->sent))));
        json_object_set_new(o, "answered_as_expected",
                            s_jtime(s ? row->ok_at : 0));
        json_object_set_new(
            o, "answered_as_expected_after_ms",
            s_jms(s && row->ok_at, s_after(row->ok_at, row->sent)));
        json_object_set_new(o, "deadline_met",
                            row->outcome == S_MET       ? json_true()
                            : s_is_missed(row->outcome) ? json_false()
                                                        : json_null());
        json_object_set_new(o, "outcome",
                            json_string(s_outcome_names[row->outcome]));
        if (row->error || row->unknown)
            json_object_set_new(
                o, "error",
                json_string(row->unknown ? row->unknown : row->error));
        json_array_append_new(res, o);
        del += s && row->delivered;
        ans += s && row->answered;
        met += row->outcome == S_MET;
        missed += s_is_missed(row->outcome);
        pending += row->outcome == S_PENDING;
        not_sent += row->outcome == S_NOT_SENT;
        unknown += row->outcome == S_UNKNOWN;
    }
    for (size_t p = 0; p < r->n_parts; p++) {
        const s_part_t *pt = &r->parts[p];
        json_t *o = json_object();
        if (!o)
            goto fail;
        json_object_set_new(o, "id", json_string(pt->id));
        json_object_set_new(o, "reachable", json_boolean(pt->delivered > 0));
        if (pt->listed_unreachable)
            json_object_set_new(
                o, "unreachable_reason",
                json_string(pt->reason ? pt->reason : "unreachable"));
        json_object_set_new(o, "injects", json_integer((json_int_t)pt->rows));
        json_object_set_new(o, "sent", json_integer((json_int_t)pt->sent));
        json_object_set_new(o, "delivered",
                            json_integer((json_int_t)pt->delivered));
        json_object_set_new(o, "answered",
                            json_integer((json_int_t)pt->answered));
        json_object_set_new(o, "met", json_integer((json_int_t)pt->met));
        json_object_set_new(o, "missed", json_integer((json_int_t)pt->missed));
        json_object_set_new(o, "pending",
                            json_integer((json_int_t)pt->pending));
        json_object_set_new(o, "unknown",
                            json_integer((json_int_t)pt->unknown));
        json_object_set_new(o, "median_answer_ms",
                            s_jms(pt->has_times, pt->median));
        json_object_set_new(o, "p90_answer_ms", s_jms(pt->has_times, pt->p90));
        json_object_set_new(o, "median_answer_scenario_ms",
                            s_jms(pt->has_times, s_scen(r, pt->median)));
        json_object_set_new(o, "p90_answer_scenario_ms",
                            s_jms(pt->has_times, s_scen(r, pt->p90)));
        json_array_append_new(parts, o);
        if (pt->delivered)
            reach++;
        else
            json_array_append_new(never, json_string(pt->id));
    }
    for (size_t k = 0; k < drill_scenario_n_injects(sc); k++) {
        const drill_inject_t *in = drill_scenario_inject(sc, k);
        json_t *o = json_object();
        bool sent = false;
        if (!o)
            goto fail;
        for (size_t i = 0; i < r->n_rows; i++)
            sent |= r->rows[i].inject == k && r->rows[i].sent;
        n_sent += sent;
        json_object_set_new(o, "id", json_string(in->id));
        json_object_set_new(o, "kind", json_string(drill_kind_name(in->kind)));
        json_object_set_new(o, "title", json_string(in->title));
        drill_duration_format(dur, sizeof dur, in->at_s);
        json_object_set_new(o, "at", json_string(dur));
        if (in->after)
            json_object_set_new(o, "after", json_string(in->after));
        json_object_set_new(o, "expect",
                            json_string(payload_ack_status_name(in->expect)));
        if (in->within_s) {
            drill_duration_format(dur, sizeof dur, in->within_s);
            json_object_set_new(o, "within", json_string(dur));
        }
        json_object_set_new(o, "sent", json_boolean(sent));
        json_array_append_new(injs, o);
    }
    json_object_set_new(sum, "participants",
                        json_integer((json_int_t)r->n_parts));
    json_object_set_new(sum, "reachable", json_integer((json_int_t)reach));
    json_object_set(sum, "never_reached", never);
    json_object_set_new(sum, "injects",
                        json_integer((json_int_t)drill_scenario_n_injects(sc)));
    json_object_set_new(sum, "injects_sent", json_integer((json_int_t)n_sent));
    json_object_set_new(sum, "results", json_integer((json_int_t)r->n_rows));
    json_object_set_new(sum, "delivered", json_integer((json_int_t)del));
    json_object_set_new(sum, "answered", json_integer((json_int_t)ans));
    json_object_set_new(sum, "met", json_integer((json_int_t)met));
    json_object_set_new(sum, "missed", json_integer((json_int_t)missed));
    json_object_set_new(sum, "pending", json_integer((json_int_t)pending));
    json_object_set_new(sum, "not_sent", json_integer((json_int_t)not_sent));
    json_object_set_new(sum, "unknown", json_integer((json_int_t)unknown));
    json_object_set_new(sum, "median_answer_ms",
                        s_jms(r->has_times, r->median));
    json_object_set_new(sum, "p90_answer_ms", s_jms(r->has_times, r->p90));
    json_object_set_new(j, "summary", sum);
    json_object_set_new(j, "participants", parts);
    json_object_set_new(j, "injects", injs);
    json_object_set_new(j, "results", res);
    json_decref(never);
    return j;
fail:
    json_decref(j);
    json_decref(sum);
    json_decref(parts);
    json_decref(injs);
    json_decref(res);
    json_decref(never);
    return NULL;
}

char *
drill_report_json(const drill_report_t *r) {
    json_t *j = s_report_json(r);
    char *s;
    if (!j)
        return NULL;
    s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

/* ---- CSV ---- */

/* One RFC 4180 field: quoted when it holds a comma, quote, CR or LF, or
 * starts with a character a spreadsheet would run as a formula (OWASP CSV
 * injection: = + - @ tab CR). */
static void
s_csv_field(s_sb_t *b, const char *s, bool last) {
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula = *s && strchr("=+-@\t\r", *s) != NULL;
    if (quote || formula) {
        s_putn(b, "\"", 1);
        if (formula)
            s_putn(b, "'", 1);
        for (; *s; s++)
            s_putn(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
        s_putn(b, "\"", 1);
    } else
        s_putn(b, s, strlen(s));
    s_putn(b, last ? "\r\n" : ",", last ? 2 : 1);
}

char *
drill_report_csv(const drill_report_t *r) {
    static const char *const head[] = {"exercise",
                                       "participant",
                                       "inject",
                                       "kind",
                                       "title",
                                       "expected",
                                       "deadline_ms",
                                       "sent",
                                       "stored",
                                       "delivered",
                                       "answered",
                                       "answer",
                                       "comment",
                                       "delivered_after_ms",
                                       "answered_after_ms",
                                       "answered_after_scenario_ms",
                                       "deadline_met",
                                       "outcome",
                                       "reachable"};
    const size_t nh = sizeof head / sizeof head[0];
    s_sb_t b = {0};
    for (size_t i = 0; i < nh; i++)
        s_csv_field(&b, head[i], i + 1 == nh);
    for (size_t i = 0; i < r->n_rows; i++) {
        const s_row_t *row = &r->rows[i];
        const drill_inject_t *in = drill_scenario_inject(r->sc, row->inject);
        char t[6][40], n[5][24];
        bool s = row->sent != 0;
        const char *met = row->outcome == S_MET       ? "true"
                          : s_is_missed(row->outcome) ? "false"
                                                      : "";
        for (int k = 0; k < 6; k++)
            t[k][0] = '\0';
        for (int k = 0; k < 5; k++)
            n[k][0] = '\0';
        if (row->sent)
            rk_time_format(t[0], sizeof t[0], row->sent);
        if (s && row->stored)
            rk_time_format(t[1], sizeof t[1], row->stored);
        if (s && row->delivered) {
            rk_time_format(t[2], sizeof t[2], row->delivered);
            snprintf(n[0], sizeof n[0], "%llu",
                     (unsigned long long)s_after(row->delivered, row->sent));
        }
        if (s && row->answered) {
            rk_time_format(t[3], sizeof t[3], row->answered);
            snprintf(n[1], sizeof n[1], "%llu",
                     (unsigned long long)s_after(row->answered, row->sent));
            snprintf(n[2], sizeof n[2], "%llu",
                     (unsigned long long)s_scen(
                         r, s_after(row->answered, row->sent)));
        }
        if (row->deadline)
            snprintf(n[3], sizeof n[3], "%llu",
                     (unsigned long long)row->deadline);
        s_csv_field(&b, drill_scenario_exercise(r->sc), false);
        s_csv_field(&b, r->parts[row->part].id, false);
        s_csv_field(&b, in->id, false);
        s_csv_field(&b, drill_kind_name(in->kind), false);
        s_csv_field(&b, in->title, false);
        s_csv_field(&b, payload_ack_status_name(in->expect), false);
        s_csv_field(&b, n[3], false);
        s_csv_field(&b, t[0], false);
        s_csv_field(&b, t[1], false);
        s_csv_field(&b, t[2], false);
        s_csv_field(&b, t[3], false);
        s_csv_field(
            &b, s && row->answered ? payload_ack_status_name(row->answer) : "",
            false);
        s_csv_field(&b, row->comment ? row->comment : "", false);
        s_csv_field(&b, n[0], false);
        s_csv_field(&b, n[1], false);
        s_csv_field(&b, n[2], false);
        s_csv_field(&b, met, false);
        s_csv_field(&b, s_outcome_names[row->outcome], false);
        s_csv_field(&b, r->parts[row->part].delivered ? "true" : "false", true);
    }
    return s_done(&b);
}

/* ---- HTML ---- */

/* Escapes text for HTML content and attribute values alike. */
static void
s_esc(s_sb_t *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            s_putn(b, "&amp;", 5);
            break;
        case '<':
            s_putn(b, "&lt;", 4);
            break;
        case '>':
            s_putn(b, "&gt;", 4);
            break;
        case '"':
            s_putn(b, "&quot;", 6);
            break;
        case '\'':
            s_putn(b, "&#39;", 5);
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                s_putn(b, "?", 1);
            else
                s_putn(b, s, 1);
        }
    }
}

static const char *
s_outcome_color(s_outcome_t o) {
    switch (o) {
    case S_MET:
        return "#1a7f37";
    case S_PENDING:
        return "#9a6700";
    case S_NOT_SENT:
        return "#8c959f";
    case S_UNKNOWN:
        return "#bc4c00";
    default:
        return "#cf222e";
    }
}

static const char s_css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0;color:#1f2328;background:#fff}"
    ".banner{background:repeating-linear-gradient(135deg,#b35900 0 24px,"
    "#c96a00 24px 48px);color:#fff;font-weight:800;letter-spacing:.25em;"
    "text-align:center;padding:10px;font-size:22px}"
    "main{max-width:1180px;margin:0 auto;padding:8px 24px 32px}"
    "h1{font-size:24px;margin:16px 0 4px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #d0d7de;padding-bottom:4px}"
    ".meta{color:#57606a}"
    ".cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}"
    ".card{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;"
    "min-width:120px}.card b{display:block;font-size:24px}"
    ".card.bad b{color:#cf222e}.card.good b{color:#1a7f37}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;"
    "vertical-align:top}th{background:#f6f8fa}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".o{font-weight:600}.met{color:#1a7f37}.missed{color:#cf222e}"
    ".pending{color:#9a6700}.notsent{color:#8c959f}.unknown{color:#bc4c00}"
    ".legend span{margin-right:16px}svg text{font:12px system-ui,sans-serif}"
    "svg{max-width:100%;height:auto}"
    ".never{background:#ffebe9;border:1px solid #cf222e;border-radius:8px;"
    "padding:8px 12px}footer{margin-top:24px;color:#57606a;font-size:12px}";

static void
s_html_timeline(s_sb_t *b, const drill_report_t *r) {
    const drill_scenario_t *sc = r->sc;
    const int left = 170, width = 1130, right = 20, row_h = 26, top = 40;
    uint64_t end = r->as_of > r->started ? r->as_of : r->started + 1;
    double span, plot = width - left - right;
    int height = top + (int)r->n_parts * row_h + 30;
    char d[32];

    for (size_t i = 0; i < r->n_rows; i++) {
        s_max(&end, r->rows[i].answered);
        s_max(&end, r->rows[i].delivered);
        if (r->rows[i].sent && r->rows[i].deadline)
            s_max(&end, r->rows[i].sent + r->rows[i].deadline);
    }
    span = (double)(end - r->started);
#define X(t) (left + plot * (double)s_after((t), r->started) / span)
    s_put(b,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
          "aria-label=\"Timeline of injects and answers\">",
          width, height, width, height);
    /* Axis ticks: five, in real time with the scenario time below. */
    for (int k = 0; k <= 5; k++) {
        double x = left + plot * k / 5.0;
        uint64_t ms = (uint64_t)(span * k / 5.0);
        s_put(b,
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
              "stroke=\"#eaeef2\"/>",
              x, top - 6, x, height - 24);
        s_dur(d, sizeof d, ms);
        s_put(b,
              "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" "
              "fill=\"#57606a\">T+%s",
              x, height - 8,
              k == 5   ? "end"
              : k == 0 ? "start"
                       : "middle",
              d);
        if (r->scale != 1) {
            s_dur(d, sizeof d, s_scen(r, ms));
            s_put(b, " (%s)", d);
        }
        s_put(b, "</text>");
    }
    /* One vertical marker per inject at its first send. */
    for (size_t k = 0; k < drill_scenario_n_injects(sc); k++) {
        uint64_t first = 0;
        for (size_t i = 0; i < r->n_rows; i++)
            if (r->rows[i].inject == k && r->rows[i].sent &&
                (!first || r->rows[i].sent < first))
                first = r->rows[i].sent;
        if (!first)
            continue;
        s_put(b,
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
              "stroke=\"#0969da\" stroke-dasharray=\"3 3\"/>"
              "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
              "fill=\"#0969da\">",
              X(first), top - 14, X(first), height - 24, X(first), top - 18);
        s_esc(b, drill_scenario_inject(sc, k)->id);
        s_put(b, "</text>");
    }
    for (size_t p = 0; p < r->n_parts; p++) {
        int y = top + (int)p * row_h + row_h / 2;
        s_put(b,
              "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" "
              "fill=\"%s\"/><text x=\"8\" y=\"%d\" fill=\"%s\">",
              y - row_h / 2, width, row_h, p % 2 ? "#ffffff" : "#f6f8fa", y + 4,
              r->parts[p].delivered ? "#1f2328" : "#cf222e");
        s_esc(b, r->parts[p].id);
        s_put(b, "%s</text>", r->parts[p].delivered ? "" : " \xE2\x9C\x97");
        for (size_t i = 0; i < r->n_rows; i++) {
            const s_row_t *row = &r->rows[i];
            const drill_inject_t *in = drill_scenario_inject(sc, row->inject);
            const char *col = s_outcome_color(row->outcome);
            if (row->part != p || !row->sent)
                continue;
            if (row->deadline)
                s_put(b,
                      "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                      "stroke=\"#d0d7de\" stroke-width=\"6\" "
                      "stroke-linecap=\"round\"/>",
                      X(row->sent), y, X(row->sent + row->deadline), y);
            if (row->answered)
                s_put(b,
                      "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                      "stroke=\"%s\" stroke-width=\"2\"/>",
                      X(row->sent), y, X(row->answered), y, col);
            s_put(b,
                  "<circle cx=\"%.1f\" cy=\"%d\" r=\"3\" fill=\"#0969da\">"
                  "<title>",
                  X(row->sent), y);
            s_esc(b, in->id);
            s_put(b, " sent</title></circle>");
            if (row->delivered) {
                s_put(b,
                      "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"#fff\" "
                      "stroke=\"#0969da\" stroke-width=\"2\"><title>",
                      X(row->delivered), y);
                s_esc(b, in->id);
                s_put(b, " delivered</title></circle>");
            } else {
                s_put(b,
                      "<text x=\"%.1f\" y=\"%d\" fill=\"#cf222e\" "
                      "text-anchor=\"middle\">\xE2\x9C\x97<title>",
                      X(row->sent) + 10, y + 4);
                s_esc(b, in->id);
                s_put(b, " not delivered</title></text>");
            }
            if (row->answered) {
                double x = X(row->answered);
                s_put(b,
                      "<path d=\"M%.1f %d l6 6 l-6 6 l-6 -6 z\" "
                      "fill=\"%s\"><title>",
                      x, y - 6, col);
                s_esc(b, in->id);
                s_put(b, " answered %s (%s)</title></path>",
                      payload_ack_status_name(row->answer),
                      s_outcome_names[row->outcome]);
            }
        }
    }
    s_put(b, "</svg>");
#undef X
}

static void
s_html_bars(s_sb_t *b, const drill_report_t *r) {
    const int left = 170, width = 1130, right = 340, row_h = 24, top = 10;
    uint64_t max = 1;
    int height = top + (int)r->n_parts * row_h + 10;
    double plot = width - left - right;
    char d1[48], d2[48];
    for (size_t p = 0; p < r->n_parts; p++)
        if (r->parts[p].has_times)
            s_max(&max, r->parts[p].p90);
    s_put(b,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
          "aria-label=\"Response times per participant\">",
          width, height, width, height);
    for (size_t p = 0; p < r->n_parts; p++) {
        const s_part_t *pt = &r->parts[p];
        int y = top + (int)p * row_h;
        s_put(b, "<text x=\"8\" y=\"%d\">", y + 16);
        s_esc(b, pt->id);
        s_put(b, "</text>");
        if (!pt->has_times) {
            s_put(b, "<text x=\"%d\" y=\"%d\" fill=\"#cf222e\">%s</text>",
                  left + 4, y + 16,
                  pt->delivered ? "no answer" : "never reached");
            continue;
        }
        s_dur2(r, d1, sizeof d1, pt->median);
        s_dur2(r, d2, sizeof d2, pt->p90);
        s_put(b,
              "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" "
              "rx=\"2\" fill=\"#54aeff\"><title>median %s</title></rect>"
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
              "stroke=\"#0550ae\" stroke-width=\"3\"><title>p90 %s</title>"
              "</line><text x=\"%.1f\" y=\"%d\" fill=\"#1f2328\">median %s"
              " \xC2\xB7 p90 %s</text>",
              left, y + 5, plot * (double)pt->median / (double)max, d1,
              left + plot * (double)pt->p90 / (double)max, y + 2,
              left + plot * (double)pt->p90 / (double)max, y + 22, d2,
              (double)(width - right + 16), y + 16, d1, d2);
    }
    s_put(b, "</svg>");
}

char *
drill_report_html(const drill_report_t *r) {
    const drill_scenario_t *sc = r->sc;
    s_sb_t b = {0};
    char t1[32], t2[32], d[48];
    size_t reach = 0, met = 0, missed = 0, pending = 0, answered = 0;
    size_t unknown = 0;
    bool whole = s_ran_to_end(r); /* "never" only then */

    for (size_t p = 0; p < r->n_parts; p++)
        reach += r->parts[p].delivered > 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        met += r->rows[i].outcome == S_MET;
        missed += s_is_missed(r->rows[i].outcome);
        pending += r->rows[i].outcome == S_PENDING;
        unknown += r->rows[i].outcome == S_UNKNOWN;
        answered += r->rows[i].sent && r->rows[i].answered;
    }
    s_put(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><meta name=\"viewport\" "
              "content=\"width=device-width\">"
              "<meta http-equiv=\"Content-Security-Policy\" "
              "content=\"default-src 'none'; style-src 'unsafe-inline'; "
              "img-src data:\"><title>EXERCISE report: ");
    s_esc(&b, drill_scenario_exercise(sc));
    s_put(&b, "</title><style>%s</style></head><body>\n", s_css);
    s_put(&b, "<div class=\"banner\">EXERCISE \xC2\xB7 EXERCISE \xC2\xB7 "
              "EXERCISE</div><main>\n<h1>");
    s_esc(&b, drill_scenario_name(sc));
    s_put(&b, "</h1><div class=\"meta\">Exercise <code>");
    s_esc(&b, drill_scenario_exercise(sc));
    rk_time_format(t1, sizeof t1, r->started);
    s_put(&b, "</code> \xC2\xB7 started %s", t1);
    if (r->finished && r->stopped) {
        rk_time_format(t2, sizeof t2, r->finished);
        s_put(&b,
              " \xC2\xB7 <b>partial report: stopped %s before its end: ", t2);
        s_esc(&b, r->stop_reason ? r->stop_reason : "stopped");
        s_put(&b, "</b>");
    } else if (r->finished) {
        rk_time_format(t2, sizeof t2, r->finished);
        s_put(&b, " \xC2\xB7 finished %s", t2);
    } else
        s_put(&b, " \xC2\xB7 <b>partial report: the drill was still "
                  "running</b>");
    s_put(&b, " \xC2\xB7 time scale %g: times are real", r->scale);
    if (r->scale != 1)
        s_put(&b, ", scenario time in parentheses");
    s_put(&b,
          "</div>\n<div class=\"cards\">"
          "<div class=\"card\"><b>%zu</b>participants</div>"
          "<div class=\"card %s\"><b>%zu</b>reached</div>"
          "<div class=\"card %s\"><b>%zu</b>%s reached</div>"
          "<div class=\"card good\"><b>%zu</b>deadlines met</div>"
          "<div class=\"card %s\"><b>%zu</b>deadlines missed</div>"
          "<div class=\"card\"><b>%zu</b>pending</div>",
          r->n_parts, reach == r->n_parts ? "good" : "", reach,
          reach == r->n_parts ? "" : "bad", r->n_parts - reach,
          whole ? "never" : "not yet", met, missed ? "bad" : "", missed,
          pending);
    if (unknown)
        s_put(&b,
              "<div class=\"card bad\"><b>%zu</b>unknown whether "
              "sent</div>",
              unknown);
    if (r->has_times) {
        s_dur2(r, d, sizeof d, r->median);
        s_put(&b, "<div class=\"card\"><b>%s</b>median answer</div>", d);
        s_dur2(r, d, sizeof d, r->p90);
        s_put(&b, "<div class=\"card\"><b>%s</b>p90 answer</div>", d);
    }
    s_put(&b, "</div>\n");
    if (reach < r->n_parts) {
        s_put(&b, "<h2>%s</h2><div class=\"never\">",
              whole ? "Never reached" : "Not reached so far");
        for (size_t p = 0, first = 1; p < r->n_parts; p++) {
            if (r->parts[p].delivered)
                continue;
            s_put(&b, "%s<b>", first ? "" : ", ");
            s_esc(&b, r->parts[p].id);
            s_put(&b, "</b>");
            if (r->parts[p].reason) {
                s_put(&b, " (");
                s_esc(&b, r->parts[p].reason);
                s_put(&b, ")");
            }
            first = 0;
        }
        s_put(&b, "</div>\n");
    }
    s_put(&b,
          "<h2>Timeline</h2><div class=\"legend\">"
          "<span style=\"color:#0969da\">\xE2\x97\x8F sent</span>"
          "<span style=\"color:#0969da\">\xE2\x97\x8B delivered</span>"
          "<span style=\"color:#1a7f37\">\xE2\x97\x86 answered in time</span>"
          "<span style=\"color:#cf222e\">\xE2\x97\x86 late or insufficient"
          "</span><span style=\"color:#8c959f\">\xE2\x96\xAC deadline window"
          "</span><span style=\"color:#cf222e\">\xE2\x9C\x97 not delivered"
          "</span></div>\n");
    s_html_timeline(&b, r);
    s_put(&b, "\n<h2>Time to answer per participant</h2><div "
              "class=\"legend\"><span style=\"color:#54aeff\">\xE2\x96\xAC "
              "median</span><span style=\"color:#0550ae\">| 90th percentile "
              "(nearest rank)</span></div>\n");
    s_html_bars(&b, r);
    s_put(&b, "\n<h2>Participants</h2><table><tr><th>participant</th>"
              "<th>reachable</th><th>delivered</th><th>answered</th>"
              "<th>met</th><th>missed</th><th>median answer</th>"
              "<th>p90 answer</th></tr>\n");
    for (size_t p = 0; p < r->n_parts; p++) {
        const s_part_t *pt = &r->parts[p];
        char med[48] = "\xE2\x80\x93", p90[48] = "\xE2\x80\x93";
        if (pt->has_times) {
            s_dur2(r, med, sizeof med, pt->median);
            s_dur2(r, p90, sizeof p90, pt->p90);
        }
        s_put(&b, "<tr><td>");
        s_esc(&b, pt->id);
        s_put(&b,
              "</td><td class=\"o %s\">%s</td><td class=\"num\">%zu/%zu</td>"
              "<td class=\"num\">%zu/%zu</td><td class=\"num\">%zu</td>"
              "<td class=\"num\">%zu</td><td class=\"num\">%s</td>"
              "<td class=\"num\">%s</td></tr>\n",
              pt->delivered ? "met" : "missed", pt->delivered ? "yes" : "NO",
              pt->delivered, pt->rows, pt->answered, pt->rows, pt->met,
              pt->missed, med, p90);
    }
    s_put(&b, "</table>\n<h2>Injects and answers</h2><table><tr>"
              "<th>participant</th><th>inject</th><th>title</th><th>sent</th>"
              "<th>delivered after</th><th>answered after</th><th>answer</th>"
              "<th>expected</th><th>outcome</th><th>comment</th></tr>\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const s_row_t *row = &r->rows[i];
        const drill_inject_t *in = drill_scenario_inject(sc, row->inject);
        char sent[40] = "\xE2\x80\x93", del[48] = "\xE2\x80\x93",
             ans[48] = "\xE2\x80\x93";
        const char *cls = row->outcome == S_MET       ? "met"
                          : s_is_missed(row->outcome) ? "missed"
                          : row->outcome == S_PENDING ? "pending"
                          : row->outcome == S_UNKNOWN ? "unknown"
                                                      : "notsent";
        if (row->sent) {
            s_dur(t1, sizeof t1, s_after(row->sent, r->started));
            snprintf(sent, sizeof sent, "T+%s", t1);
        }
        if (row->sent && row->delivered)
            s_dur2(r, del, sizeof del, s_after(row->delivered, row->sent));
        if (row->sent && row->answered)
            s_dur2(r, ans, sizeof ans, s_after(row->answered, row->sent));
        s_put(&b, "<tr><td>");
        s_esc(&b, r->parts[row->part].id);
        s_put(&b, "</td><td>");
        s_esc(&b, in->id);
        s_put(&b, "</td><td>");
        s_esc(&b, in->title);
        s_put(&b,
              "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
              "<td class=\"num\">%s</td><td>%s</td><td>%s",
              sent, del, ans,
              row->sent && row->answered ? payload_ack_status_name(row->answer)
                                         : "\xE2\x80\x93",
              payload_ack_status_name(in->expect));
        if (row->deadline) {
            s_dur2(r, d, sizeof d, row->deadline);
            s_put(&b, " within %s", d);
        }
        s_put(&b, "</td><td class=\"o %s\">%s</td><td>", cls,
              s_outcome_names[row->outcome]);
        if (row->comment)
            s_esc(&b, row->comment);
        if (row->error || row->unknown) {
            s_put(&b, "<span class=\"%s\">",
                  row->unknown ? "unknown" : "missed");
            s_esc(&b, row->unknown ? row->unknown : row->error);
            s_put(&b, "</span>");
        }
        s_put(&b, "</td></tr>\n");
    }
    s_put(&b, "</table>\n<footer>EXERCISE traffic only. Percentiles are "
              "nearest-rank. Generated by renraku-drill.</footer></main>"
              "<div class=\"banner\">EXERCISE \xC2\xB7 EXERCISE \xC2\xB7 "
              "EXERCISE</div></body></html>\n");
    return s_done(&b);
}
