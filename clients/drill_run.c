/* drill_run: the runner's loop. Every 250 ms: send what is due, refresh
 * what the controller's daemon knows of each inject (its sent records keep
 * the time each recipient's copy was stored, delivered and answered),
 * schedule follow-up injects, print progress, and stop when nothing more
 * can happen. */
#include "drill_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"

#define S_TICK_MS 250
#define S_CTL_TIMEOUT_MS 10000

typedef struct {
    const char *id;   /* participant node id (borrowed from the roster) */
    uint64_t due_ms;  /* relative to the start; UINT64_MAX: not yet */
    uint64_t sent_ms; /* absolute; 0: not sent */
    char msg[33];     /* the envelope that carried it */
    json_t *obs;      /* the daemon's recipient entry, or NULL */
    int done;
} part_t;

typedef struct {
    const drill_inject_t *inj;
    size_t idx;
    part_t *p;
    size_t n;
} inj_t;

typedef struct {
    const drill_run_config_t *cfg;
    double scale;
    uint64_t start_ms;
    roster_t *roster;
    inj_t *inj;
    size_t n_inj;
    char err[600];
} run_t;

static uint64_t
s_ms_scaled(const run_t *r, uint64_t scenario_s) {
    return (uint64_t)((double)scenario_s * 1000.0 / r->scale + 0.5);
}

static uint64_t
s_time(const json_t *o, const char *k) {
    uint64_t ms = 0;
    const char *t = json_string_value(json_object_get(o, k));
    if (!t || rk_time_parse(t, &ms) != RK_OK)
        return 0;
    return ms;
}

static json_t *
s_call(run_t *r, json_t *req) {
    json_t *reply = NULL;
    int rc = ctl_call(r->cfg->state_dir, req, S_CTL_TIMEOUT_MS, &reply, r->err,
                      sizeof r->err);
    json_decref(req);
    if (rc != RK_OK)
        return NULL;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        snprintf(r->err, sizeof r->err, "%s",
                 json_string_value(json_object_get(reply, "error"))
                     ? json_string_value(json_object_get(reply, "error"))
                     : "renrakud refused");
        json_decref(reply);
        return NULL;
    }
    return reply;
}

/* The controller's roster (its daemon verified it), to expand groups. */
static int
s_load_roster(run_t *r) {
    json_t *reply = s_call(r, json_pack("{s:s}", "cmd", "roster"));
    char *text;
    int rc;
    if (!reply)
        return RK_ERR_IO;
    text = json_dumps(json_object_get(reply, "roster"), 0);
    json_decref(reply);
    if (!text)
        return RK_ERR_NOMEM;
    rc =
        roster_from_json(text, strlen(text), &r->roster, r->err, sizeof r->err);
    free(text);
    return rc;
}

static int
s_plan(run_t *r) {
    const drill_scenario_t *sc = r->cfg->sc;
    r->n_inj = drill_scenario_n_injects(sc);
    r->inj = calloc(r->n_inj ? r->n_inj : 1, sizeof *r->inj);
    if (!r->inj)
        return RK_ERR_NOMEM;
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        const char **ids = NULL;
        size_t n_ids = 0;
        const char *const *targets;
        size_t n_targets;
        const char **parts = NULL;
        char e[300];
        in->inj = drill_scenario_inject(sc, i);
        in->idx = i;
        if (in->inj->to_default) {
            n_targets = drill_scenario_n_participants(sc);
            parts = calloc(n_targets ? n_targets : 1, sizeof *parts);
            if (!parts)
                return RK_ERR_NOMEM;
            for (size_t k = 0; k < n_targets; k++)
                parts[k] = drill_scenario_participant(sc, k);
            targets = parts;
        } else {
            targets = in->inj->to;
            n_targets = in->inj->n_to;
        }
        if (roster_expand(r->roster, targets, n_targets, &ids, &n_ids, e,
                          sizeof e) != RK_OK) {
            snprintf(r->err, sizeof r->err, "inject %s: %s", in->inj->id, e);
            free(parts);
            return RK_ERR_UNKNOWN_KEY;
        }
        free(parts);
        in->p = calloc(n_ids ? n_ids : 1, sizeof *in->p);
        if (!in->p) {
            free(ids);
            return RK_ERR_NOMEM;
        }
        in->n = n_ids;
        for (size_t k = 0; k < n_ids; k++) {
            in->p[k].id = ids[k];
            in->p[k].due_ms =
                in->inj->after ? UINT64_MAX : s_ms_scaled(r, in->inj->at_s);
        }
        free(ids);
    }
    return RK_OK;
}

/* Sends inject in to the participants listed (indexes), one envelope. */
static int
s_send(run_t *r, inj_t *in, const size_t *which, size_t n) {
    drill_message_t m;
    uint64_t now = rk_now_ms();
    uint64_t dl = drill_inject_deadline_ms(r->cfg->sc, in->idx);
    json_t *to = json_array(), *req, *reply, *pj;
    const char *hex;
    if (r->cfg->time_scale > 0 && in->inj->within_s)
        dl = s_ms_scaled(r, in->inj->within_s);
    if (drill_inject_message(r->cfg->sc, in->idx, dl ? now + dl : 0, &m) !=
        RK_OK) {
        snprintf(r->err, sizeof r->err, "inject %s: cannot build it",
                 in->inj->id);
        json_decref(to);
        return RK_ERR_INVALID;
    }
    pj = payload_to_json(&m.payload);
    if (!pj) {
        snprintf(r->err, sizeof r->err,
                 "inject %s: payload does not "
                 "validate",
                 in->inj->id);
        json_decref(to);
        return RK_ERR_INVALID;
    }
    for (size_t k = 0; k < n; k++)
        json_array_append_new(to, json_string(in->p[which[k]].id));
    req = json_pack("{s:s,s:s,s:o,s:o,s:s}", "cmd", "send", "kind",
                    envelope_kind_name(m.kind), "to", to, "payload", pj,
                    "drill_id", m.drill_id);
    reply = s_call(r, req);
    if (!reply) {
        char e[sizeof r->err];
        memcpy(e, r->err, sizeof e);
        snprintf(r->err, sizeof r->err, "inject %.40s: %.500s", in->inj->id, e);
        return RK_ERR_IO;
    }
    hex = json_string_value(json_object_get(reply, "msg_id"));
    for (size_t k = 0; k < n; k++) {
        part_t *p = &in->p[which[k]];
        p->sent_ms = now;
        snprintf(p->msg, sizeof p->msg, "%s", hex ? hex : "");
    }
    log_info("event=inject_sent drill=%s inject=%s msg=%s recipients=%zu",
             drill_scenario_exercise(r->cfg->sc), in->inj->id, hex ? hex : "-",
             n);
    json_decref(reply);
    return RK_OK;
}

/* Refreshes the observations of every envelope in flight. */
static void
s_refresh(run_t *r) {
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        const char *last = NULL;
        json_t *rec = NULL;
        for (size_t k = 0; k < in->n; k++) {
            part_t *p = &in->p[k];
            json_t *reply;
            if (!p->sent_ms || p->done)
                continue;
            if (!last || strcmp(last, p->msg) != 0) {
                json_decref(rec);
                rec = NULL;
                reply = s_call(
                    r, json_pack("{s:s,s:s}", "cmd", "show", "msg_id", p->msg));
                if (reply) {
                    rec = json_incref(json_object_get(reply, "record"));
                    json_decref(reply);
                }
                last = p->msg;
            }
            if (rec) {
                json_t *o =
                    json_object_get(json_object_get(rec, "recipients"), p->id);
                if (o) {
                    json_decref(p->obs);
                    p->obs = json_deep_copy(o);
                }
            }
        }
        json_decref(rec);
    }
}

/* Marks what can no longer change, and schedules follow-ups. */
static void
s_settle(run_t *r, uint64_t now) {
    uint64_t grace = r->cfg->grace_ms ? r->cfg->grace_ms : 5000;
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        uint64_t dl = in->inj->within_s ? s_ms_scaled(r, in->inj->within_s) : 0;
        for (size_t k = 0; k < in->n; k++) {
            part_t *p = &in->p[k];
            if (p->done)
                continue;
            if (p->sent_ms) {
                if (s_time(p->obs, "answered") || s_time(p->obs, "expired"))
                    p->done = 1;
                else if (now > p->sent_ms + dl + grace)
                    p->done = 1; /* past the deadline: missed */
                continue;
            }
            if (in->inj->after) {
                /* Due when this participant answered the earlier inject;
                 * never, if it will not. */
                inj_t *parent = &r->inj[in->inj->after_index];
                for (size_t j = 0; j < parent->n; j++) {
                    part_t *pp = &parent->p[j];
                    uint64_t at;
                    if (strcmp(pp->id, p->id) != 0)
                        continue;
                    at = s_time(pp->obs, "answered");
                    if (at && p->due_ms == UINT64_MAX)
                        p->due_ms =
                            (at - r->start_ms) + s_ms_scaled(r, in->inj->at_s);
                    else if (!at && pp->done)
                        p->done = 1; /* its trigger never came */
                }
                if (parent->n == 0 || !p->id)
                    p->done = 1;
            }
        }
    }
}

static int
s_send_due(run_t *r, uint64_t rel) {
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        size_t *which = malloc((in->n ? in->n : 1) * sizeof *which), n = 0;
        int rc = RK_OK;
        if (!which)
            return RK_ERR_NOMEM;
        for (size_t k = 0; k < in->n; k++)
            if (!in->p[k].sent_ms && !in->p[k].done &&
                in->p[k].due_ms != UINT64_MAX && in->p[k].due_ms <= rel)
                which[n++] = k;
        if (n)
            rc = s_send(r, in, which, n);
        free(which);
        if (rc != RK_OK)
            return rc;
    }
    return RK_OK;
}

static int
s_all_done(const run_t *r) {
    for (size_t i = 0; i < r->n_inj; i++)
        for (size_t k = 0; k < r->inj[i].n; k++)
            if (!r->inj[i].p[k].done)
                return 0;
    return 1;
}

static void
s_progress(const run_t *r, uint64_t rel) {
    size_t sent = 0, delivered = 0, answered = 0, total = 0;
    if (!r->cfg->progress)
        return;
    for (size_t i = 0; i < r->n_inj; i++)
        for (size_t k = 0; k < r->inj[i].n; k++) {
            const part_t *p = &r->inj[i].p[k];
            total++;
            sent += p->sent_ms != 0;
            delivered += s_time(p->obs, "delivered") != 0;
            answered += s_time(p->obs, "answered") != 0;
        }
    fprintf(r->cfg->progress,
            "\r[EXERCISE %s] %5.1fs  sent %zu/%zu  delivered %zu  answered "
            "%zu   ",
            drill_scenario_exercise(r->cfg->sc), (double)rel / 1000.0, sent,
            total, delivered, answered);
    fflush(r->cfg->progress);
}

static void
s_set_time(json_t *o, const char *k, uint64_t ms) {
    char t[40];
    if (!ms)
        return;
    rk_time_format(t, sizeof t, ms);
    json_object_set_new(o, k, json_string(t));
}

static json_t *
s_results(const run_t *r, uint64_t end, int stopped) {
    json_t *res = json_object(), *injs = json_array();
    s_set_time(res, "started", r->start_ms);
    s_set_time(res, "finished", end);
    json_object_set_new(res, "exercise",
                        json_string(drill_scenario_exercise(r->cfg->sc)));
    json_object_set_new(res, "time_scale", json_real(r->scale));
    if (stopped)
        log_warn("event=drill_stopped drill=%s reason=\"interrupted: the "
                 "report is partial\"",
                 drill_scenario_exercise(r->cfg->sc));
    for (size_t i = 0; i < r->n_inj; i++) {
        const inj_t *in = &r->inj[i];
        json_t *o = json_object(), *rcpt = json_object();
        json_object_set_new(o, "id", json_string(in->inj->id));
        for (size_t k = 0; k < in->n; k++) {
            const part_t *p = &in->p[k];
            json_t *x = json_object();
            static const char *phases[] = {"stored", "delivered", "answered"};
            s_set_time(x, "sent", p->sent_ms);
            if (p->msg[0])
                json_object_set_new(x, "msg_id", json_string(p->msg));
            for (size_t f = 0; f < 3; f++)
                s_set_time(x, phases[f], s_time(p->obs, phases[f]));
            if (json_object_get(p->obs, "answer"))
                json_object_set(x, "answer", json_object_get(p->obs, "answer"));
            if (json_object_get(p->obs, "comment"))
                json_object_set(x, "comment",
                                json_object_get(p->obs, "comment"));
            json_object_set_new(rcpt, p->id, x);
        }
        json_object_set_new(o, "recipients", rcpt);
        json_array_append_new(injs, o);
    }
    json_object_set_new(res, "injects", injs);
    {
        /* Everyone addressed, after groups were expanded. */
        json_t *parts = json_array();
        for (size_t i = 0; i < r->n_inj; i++)
            for (size_t k = 0; k < r->inj[i].n; k++) {
                int seen = 0;
                for (size_t j = 0; j < json_array_size(parts) && !seen; j++)
                    seen = !strcmp(json_string_value(json_array_get(parts, j)),
                                   r->inj[i].p[k].id);
                if (!seen)
                    json_array_append_new(parts,
                                          json_string(r->inj[i].p[k].id));
            }
        json_object_set_new(res, "participants", parts);
    }
    return res;
}

int
drill_run(const drill_run_config_t *cfg, json_t **results, char *err,
          size_t errlen) {
    run_t r;
    int rc;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.scale = cfg->time_scale > 0 ? cfg->time_scale
                                  : drill_scenario_time_scale(cfg->sc);
    if (r.scale <= 0)
        r.scale = 1;
    rc = s_load_roster(&r);
    if (rc == RK_OK)
        rc = s_plan(&r);
    if (rc != RK_OK)
        goto done;
    r.start_ms = rk_now_ms();
    log_info("event=drill_started drill=%s injects=%zu time_scale=%g",
             drill_scenario_exercise(cfg->sc), r.n_inj, r.scale);
    for (;;) {
        uint64_t now = rk_now_ms(), rel = now - r.start_ms;
        struct timespec ts = {0, S_TICK_MS * 1000000L};
        rc = s_send_due(&r, rel);
        if (rc != RK_OK)
            break;
        s_refresh(&r);
        s_settle(&r, rk_now_ms());
        s_progress(&r, rel);
        if (s_all_done(&r) || (cfg->stop && *cfg->stop))
            break;
        nanosleep(&ts, NULL);
    }
    if (cfg->progress)
        fputc('\n', cfg->progress);
    if (rc == RK_OK)
        *results = s_results(&r, rk_now_ms(), cfg->stop && *cfg->stop);
done:
    if (rc != RK_OK)
        snprintf(err, errlen, "%s", r.err);
    for (size_t i = 0; i < r.n_inj; i++) {
        for (size_t k = 0; k < r.inj[i].n; k++)
            json_decref(r.inj[i].p[k].obs);
        free(r.inj[i].p);
    }
    free(r.inj);
    roster_destroy(&r.roster);
    return rc;
}
