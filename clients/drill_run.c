/* drill_run: the runner's loop. Every 250 ms: send what is due, refresh
 * what the controller's daemon knows of each inject (its sent records keep
 * the time each recipient's copy was stored, delivered and answered, and
 * every answer), schedule follow-up injects, print progress, and stop when
 * nothing more can happen. A participant is watched until it answers as
 * expected or the drill ends, never less. */
#include "drill_run.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"

#define S_TICK_MS 250
#define S_CTL_TIMEOUT_MS 10000       /* a send */
#define S_REFRESH_TIMEOUT_MS 5000    /* a show: a busy daemon still answers */
#define S_CTL_LOST_MS 10000          /* default of ctl_lost_ms */
#define S_GRACE_MS 5000              /* default of grace_ms */
#define S_RETRY_PAUSE_MS 250         /* between tries of a send */
#define S_SENT_RECORD_MAX (1u << 20) /* bytes of a sent record read back */
#define S_NOT_SENT 1                 /* part_t.unsent */
#define S_SEND_UNKNOWN 2

typedef struct part {
    const char *id;   /* participant node id (borrowed from the roster) */
    uint64_t due_ms;  /* relative to the start; UINT64_MAX: not yet */
    uint64_t sent_ms; /* absolute; 0: not sent */
    char msg[33];     /* the envelope that carried it */
    json_t *obs;      /* the daemon's recipient entry, or NULL */
    /* Of a send that failed: 0 none, S_NOT_SENT, S_SEND_UNKNOWN (whether
     * it was sent is not known), and why (malloc'd; NULL out of memory). */
    int unsent;
    char *why;
    int final;   /* answered as expected, or expired: no more to see */
    int settled; /* the drill need not wait for it (recomputed each tick) */
    /* Of a follow-up ("after"): the same participant in the trigger, or
     * NULL when the trigger does not go to it (found once, in s_plan). */
    const struct part *trigger;
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
    uint64_t ctl_fail_since; /* first failed call of a run of them; 0 none */
    unsigned ctl_fails;      /* calls failed in a row */
    int lost;                /* the control socket failed for too long */
    char err[1024];
} run_t;

/* Sets r->err from fmt. The errors and paths it quotes may hold any
 * UTF-8: a cut, where it does not fit, falls between two characters (a
 * split one would make the report's JSON refuse the whole reason). */
static void s_set_err(run_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
s_set_err(run_t *r, const char *fmt, ...) {
    char buf[4 * sizeof r->err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rk_str_copy(r->err, sizeof r->err, buf);
}

/* s cut to at most cap - 1 bytes, between two characters, in out. */
static const char *
s_cut(char *out, size_t cap, const char *s) {
    rk_str_copy(out, cap, s);
    return out;
}

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

/* One request (stolen) to the daemon. Returns 0 and *reply (the
 * caller's); RK_ERR_IO (or what ctl_call returned) when the control socket
 * failed: no answer, no socket; RK_ERR_INVALID when the daemon answered
 * "ok": false. r->err says which. *taken (ctl_call_taken; taken may be
 * NULL) says whether the request reached the daemon. */
static int
s_call(run_t *r, json_t *req, int timeout_ms, json_t **reply, int *taken) {
    int rc;
    *reply = NULL;
    if (taken)
        *taken = 0;
    if (!req) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return RK_ERR_NOMEM;
    }
    rc = ctl_call_taken(r->cfg->state_dir, req, timeout_ms, reply, taken,
                        r->err, sizeof r->err);
    json_decref(req);
    if (rc != RK_OK)
        return rc;
    if (!json_is_true(json_object_get(*reply, "ok"))) {
        const char *e = json_string_value(json_object_get(*reply, "error"));
        snprintf(r->err, sizeof r->err, "%s", e ? e : "renrakud refused");
        json_decref(*reply);
        *reply = NULL;
        return RK_ERR_INVALID;
    }
    return RK_OK;
}

/* Counts a control-socket failure (ok 0) of a call begun at began, or a
 * success; sets r->lost once the socket has failed, call after call, for
 * ctl_lost_ms. */
static void
s_ctl_health(run_t *r, int ok, uint64_t began) {
    uint64_t now = rk_now_ms();
    uint64_t lost_ms =
        r->cfg->ctl_lost_ms ? r->cfg->ctl_lost_ms : S_CTL_LOST_MS;
    char e[sizeof r->err];
    if (ok) {
        if (r->ctl_fails)
            log_info("event=control_socket_back drill=%s failed_calls=%u",
                     drill_scenario_exercise(r->cfg->sc), r->ctl_fails);
        r->ctl_fails = 0;
        r->ctl_fail_since = 0;
        return;
    }
    if (!r->ctl_fails++) {
        r->ctl_fail_since = began;
        log_warn("event=control_socket_failed drill=%s socket=%s/control.sock "
                 "reason=\"%s\"",
                 drill_scenario_exercise(r->cfg->sc), r->cfg->state_dir,
                 r->err);
    }
    if (r->ctl_fails >= 2 && now - r->ctl_fail_since >= lost_ms) {
        char dir[301];
        memcpy(e, r->err, sizeof e);
        s_set_err(r,
                  "lost the controller's renrakud: its control socket "
                  "%s/control.sock failed %u times in a row over %" PRIu64
                  " s (last: %s)",
                  s_cut(dir, sizeof dir, r->cfg->state_dir), r->ctl_fails,
                  (now - r->ctl_fail_since) / 1000, e);
        r->lost = 1;
    }
}

/* The controller's roster (its daemon verified it), to expand groups. */
static int
s_load_roster(run_t *r) {
    json_t *reply;
    char *text;
    int rc = s_call(r, json_pack("{s:s}", "cmd", "roster"), S_CTL_TIMEOUT_MS,
                    &reply, NULL);
    if (rc != RK_OK)
        return rc;
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
    /* A follow-up goes to a participant once it answered the trigger: one
     * the trigger does not reach (groups expanded) would never get it.
     * Refused before anything is sent. Without "to" it follows up with
     * those who got the trigger, and the runner lets the others be. */
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        const inj_t *trig;
        if (!in->inj->after)
            continue;
        trig = &r->inj[in->inj->after_index];
        for (size_t k = 0; k < in->n; k++) {
            for (size_t j = 0; j < trig->n && !in->p[k].trigger; j++)
                if (strcmp(trig->p[j].id, in->p[k].id) == 0)
                    in->p[k].trigger = &trig->p[j];
            if (!in->p[k].trigger && !in->inj->to_default) {
                snprintf(r->err, sizeof r->err,
                         "inject %.40s follows %.40s (\"after\"), which does "
                         "not go to %.64s (groups expanded with the roster), "
                         "so %.64s would never get it; nothing was sent",
                         in->inj->id, trig->inj->id, in->p[k].id, in->p[k].id);
                return RK_ERR_INVALID;
            }
        }
    }
    return RK_OK;
}

/* The controller's sent record of the send with request id request, read
 * from its state folder (DIR/sent/ID.json, docs/NODE.md) into *rec (a new
 * reference, the caller's), or NULL when no record has that id. For a
 * send the daemon took but never answered while it is not answering: its
 * files are then the only witness. The daemon writes a record whole (a
 * temporary file renamed into place), and before the envelope can go out,
 * so one is seen whole or not at all, and a send without one has not left
 * the controller yet. The converse needs the outbox: a record still
 * "queued" whose envelope is not in DIR/outbox (the daemon stopped
 * between the two writes) may never go out, so it is no proof (*rec
 * NULL, why says so). A record that cannot be read, or is not JSON, or
 * names another msg id than its file may be the one: *unreadable counts
 * them, and bad (badlen bytes) gets the first one's name and why.
 * Returns 0, or RK_ERR_IO with why set when the folder cannot be read. */
static int
s_find_sent(const run_t *r, const char *request, json_t **rec,
            size_t *unreadable, char *bad, size_t badlen, char *why,
            size_t whylen) {
    char dir[4200], path[4300], shown[301];
    DIR *d;
    struct dirent *e;
    int rc = RK_OK;
    *rec = NULL;
    *unreadable = 0;
    bad[0] = '\0';
    s_cut(shown, sizeof shown, r->cfg->state_dir);
    if ((size_t)snprintf(dir, sizeof dir, "%s/sent", r->cfg->state_dir) >=
        sizeof dir) {
        snprintf(why, whylen, "%s/sent cannot be listed: path too long", shown);
        return RK_ERR_IO;
    }
    if (!(d = opendir(dir))) {
        snprintf(why, whylen, "%s/sent cannot be listed: %s", shown,
                 strerror(errno));
        return RK_ERR_IO;
    }
    for (errno = 0; !*rec && (e = readdir(d)); errno = 0) {
        uint8_t *text = NULL;
        size_t len = 0;
        json_t *j;
        const char *id, *fault = NULL;
        int frc;
        /* <msg id: 32 hex digits>.json; temporary files have other names. */
        if (strlen(e->d_name) != 37 || strcmp(e->d_name + 32, ".json") != 0 ||
            strspn(e->d_name, "0123456789abcdef") != 32)
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
            sizeof path) {
            fault = "path too long";
        } else if ((frc = rk_read_file(path, S_SENT_RECORD_MAX, &text, &len)) !=
                   RK_OK) {
            if (frc == RK_ERR_NOT_FOUND)
                continue; /* removed since the listing */
            fault = frc == RK_ERR_IO ? strerror(errno) : rk_strerror(frc);
        }
        j = fault ? NULL : json_loadb((const char *)text, len, 0, NULL);
        free(text);
        if (!fault && !j)
            fault = "not JSON";
        id = json_string_value(json_object_get(j, "msg_id"));
        if (!fault &&
            (!id || strlen(id) != 32 || strncmp(id, e->d_name, 32) != 0))
            fault = "its msg_id is not its file's name";
        if (fault) {
            /* It may be the record looked for: say so, never skip it in
             * silence (the reason would claim there is no record). */
            if (!(*unreadable)++)
                snprintf(bad, badlen, "%s: %s", e->d_name, fault);
            json_decref(j);
            continue;
        }
        if (json_is_string(json_object_get(j, "request_id")) &&
            strcmp(json_string_value(json_object_get(j, "request_id")),
                   request) == 0)
            *rec = j;
        else
            json_decref(j);
    }
    if (!*rec && errno) {
        snprintf(why, whylen, "%s/sent cannot be read: %s", shown,
                 strerror(errno));
        rc = RK_ERR_IO;
    }
    closedir(d);
    if (*rec) {
        const char *id = json_string_value(json_object_get(*rec, "msg_id"));
        const char *st = json_string_value(json_object_get(*rec, "state"));
        struct stat sb;
        if ((!st || !strcmp(st, "queued")) &&
            ((size_t)snprintf(path, sizeof path, "%s/outbox/%s.env",
                              r->cfg->state_dir, id) >= sizeof path ||
             stat(path, &sb) != 0)) {
            snprintf(why, whylen,
                     "its sent record (msg %s) says queued, but %s/outbox "
                     "holds no envelope %s.env (the daemon stopped between "
                     "writing the two?)",
                     id, shown, id);
            json_decref(*rec);
            *rec = NULL;
        }
    }
    return rc;
}

/* Records inject in as sent to the participants listed, in envelope hex,
 * when record (the daemon's sent record, borrowed; may be NULL) says it
 * was created, else at now; with what record says of each recipient. */
static void
s_mark_sent(inj_t *in, const size_t *which, size_t n, const char *hex,
            const json_t *record, uint64_t now) {
    uint64_t at = s_time(record, "created");
    const json_t *rs = json_object_get(record, "recipients");
    for (size_t k = 0; k < n; k++) {
        part_t *p = &in->p[which[k]];
        const json_t *o = json_object_get(rs, p->id);
        p->sent_ms = at ? at : now;
        p->unsent = 0;
        snprintf(p->msg, sizeof p->msg, "%s", hex ? hex : "");
        if (json_is_object(o)) {
            json_decref(p->obs);
            p->obs = json_deep_copy(o);
        }
    }
}

/* Records that inject in was not sent (S_NOT_SENT) or that it is not
 * known whether it was (S_SEND_UNKNOWN) to the participants listed, and
 * why. */
static void
s_mark_unsent(inj_t *in, const size_t *which, size_t n, int unsent,
              const char *why) {
    for (size_t k = 0; k < n; k++) {
        part_t *p = &in->p[which[k]];
        p->unsent = unsent;
        free(p->why);
        p->why = strdup(why);
    }
}

/* Sends inject in to the participants listed (indexes), one envelope. The
 * request carries an id of its own (request_id, docs/NODE.md): when the
 * control socket fails (no answer in time: the daemon may have sent it or
 * not), the same request is tried again, and a daemon that took it the
 * first time answers with that envelope instead of sending a second one (a
 * second copy would split the answers). It is tried until the daemon
 * answers or counts as lost (s_ctl_health) or the run is stopped. Then
 * what became of it is what can be known: not sent, when no try reached
 * the daemon or it refused; sent, when the daemon's sent records hold the
 * request id; otherwise unknown, and the results say so. */
static int
s_send(run_t *r, inj_t *in, const size_t *which, size_t n) {
    drill_message_t m;
    uint64_t now = rk_now_ms();
    uint64_t dl = drill_deadline_ms(in->inj->within_s, r->scale);
    json_t *to = json_array(), *req, *reply = NULL, *pj, *found = NULL;
    const char *hex;
    uint8_t rnd[12];
    char request[32], e[sizeof r->err], why[600], dir[301], bad[200];
    size_t unreadable = 0;
    int rc, tries = 0, taken, unanswered = 0;
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
    randombytes_buf(rnd, sizeof rnd);
    memcpy(request, "drill-", 6);
    rk_hex(request + 6, rnd, sizeof rnd);
    for (;;) {
        uint64_t began = rk_now_ms();
        struct timespec pause = {0, S_RETRY_PAUSE_MS * 1000000L};
        req = json_pack("{s:s,s:s,s:O,s:O,s:s,s:s}", "cmd", "send", "kind",
                        envelope_kind_name(m.kind), "to", to, "payload", pj,
                        "drill_id", m.drill_id, "request_id", request);
        rc = s_call(r, req, S_CTL_TIMEOUT_MS, &reply, &taken);
        /* The daemon got this try and may have sent it, but said nothing
         * (a refusal is an answer: that try sent nothing). */
        unanswered |= taken && rc != RK_OK && rc != RK_ERR_INVALID;
        /* After a failed try, any failure of the socket (its file gone
         * while the daemon restarts, say) leaves it open whether the
         * first try was taken: try again. A daemon not running (no socket
         * file, or nothing listens on it: killed, being restarted) is
         * tried for --lost-after, as a silent one is, from the first try:
         * s_ctl_health decides when it is lost. */
        if (rc == RK_OK || rc == RK_ERR_INVALID ||
            (rc != RK_ERR_IO && rc != RK_ERR_NOT_FOUND && !tries))
            break;
        s_ctl_health(r, 0, began);
        if (r->lost || (r->cfg->stop && *r->cfg->stop))
            break;
        log_warn("event=inject_send_retry drill=%s inject=%s request=%s "
                 "try=%d reason=\"%s\"",
                 drill_scenario_exercise(r->cfg->sc), in->inj->id, request,
                 tries + 1, r->err);
        tries++;
        nanosleep(&pause, NULL);
    }
    json_decref(to);
    json_decref(pj);
    if (rc == RK_OK) {
        s_ctl_health(r, 1, now);
        hex = json_string_value(json_object_get(reply, "msg_id"));
        /* Sent when the daemon sealed it (a retry may find it sent on the
         * first try, or send it now). */
        s_mark_sent(in, which, n, hex, json_object_get(reply, "record"), now);
        log_info("event=inject_sent drill=%s inject=%s msg=%s "
                 "recipients=%zu%s",
                 drill_scenario_exercise(r->cfg->sc), in->inj->id,
                 hex ? hex : "-", n,
                 json_is_true(json_object_get(reply, "repeat")) ? " repeat=true"
                                                                : "");
        json_decref(reply);
        return RK_OK;
    }
    memcpy(e, r->err, sizeof e);
    s_cut(dir, sizeof dir, r->cfg->state_dir);
    if (!unanswered) {
        /* No try reached the daemon, or it refused: nothing was sent. */
        if (rc == RK_ERR_INVALID) {
            s_set_err(r, "renrakud refused to send it: %s", e);
            s_mark_unsent(in, which, n, S_NOT_SENT, r->err);
            s_set_err(r, "inject %s: renrakud refused to send it: %s",
                      in->inj->id, e);
        } else {
            s_mark_unsent(in, which, n, S_NOT_SENT,
                          "not sent: the controller's renrakud never took "
                          "the request (its control socket failed)");
            s_set_err(r,
                      "inject %s: not sent: renrakud never took the "
                      "request: %s",
                      in->inj->id, e);
        }
        return RK_ERR_IO;
    }
    why[0] = '\0';
    if (s_find_sent(r, request, &found, &unreadable, bad, sizeof bad, why,
                    sizeof why) == RK_OK &&
        found) {
        hex = json_string_value(json_object_get(found, "msg_id"));
        s_mark_sent(in, which, n, hex, found, now);
        log_warn("event=inject_sent drill=%s inject=%s msg=%s recipients=%zu "
                 "found=sent_record request=%s",
                 drill_scenario_exercise(r->cfg->sc), in->inj->id, hex, n,
                 request);
        s_set_err(r,
                  "inject %s was sent (msg %s, found by its request_id %s "
                  "in %s/sent), but renrakud did not answer: %s",
                  in->inj->id, hex, request, dir, e);
        json_decref(found);
        return RK_ERR_IO;
    }
    if (!why[0] && unreadable)
        snprintf(why, sizeof why,
                 "no record in %s/sent has that request_id yet, and %zu "
                 "record%s there could not be read (first: %s)",
                 dir, unreadable, unreadable == 1 ? "" : "s", bad);
    else if (!why[0])
        snprintf(why, sizeof why,
                 "no record in %s/sent has that request_id yet", dir);
    log_warn("event=inject_send_unknown drill=%s inject=%s request=%s "
             "reason=\"%s\"",
             drill_scenario_exercise(r->cfg->sc), in->inj->id, request, why);
    s_set_err(r,
              "renrakud took the send (request_id %s) but did not answer, "
              "and %s: it may have sent it, or may still",
              request, why);
    s_mark_unsent(in, which, n, S_SEND_UNKNOWN, r->err);
    s_set_err(r,
              "inject %s: unknown whether it was sent: renrakud took the "
              "request (request_id %s) but did not answer, and %s (it may "
              "still send it): %s",
              in->inj->id, request, why, e);
    return RK_ERR_IO;
}

/* How many answers obs holds: its "answers" list, else 1 for the one a
 * daemon of before that list kept, else 0. */
static size_t
s_n_answers(const json_t *obs) {
    const json_t *list = json_object_get(obs, "answers");
    if (json_is_array(list))
        return json_array_size(list);
    return json_object_get(obs, "answered") ? 1 : 0;
}

/* Refreshes the observations of every envelope in flight whose outcome can
 * still change, until the drill ends. Stops at the first control-socket
 * failure of the tick (the next tick tries again) and returns 0 then, else
 * 1; s_ctl_health decides when the daemon counts as lost. */
static int
s_refresh(run_t *r) {
    for (size_t i = 0; i < r->n_inj && !r->lost; i++) {
        inj_t *in = &r->inj[i];
        const char *last = NULL;
        json_t *rec = NULL;
        for (size_t k = 0; k < in->n; k++) {
            part_t *p = &in->p[k];
            json_t *reply;
            if (!p->sent_ms || p->final)
                continue;
            if (!last || strcmp(last, p->msg) != 0) {
                uint64_t began = rk_now_ms();
                int rc;
                json_decref(rec);
                rec = NULL;
                rc = s_call(
                    r, json_pack("{s:s,s:s}", "cmd", "show", "msg_id", p->msg),
                    S_REFRESH_TIMEOUT_MS, &reply, NULL);
                if (rc == RK_OK) {
                    s_ctl_health(r, 1, began);
                    rec = json_incref(json_object_get(reply, "record"));
                    json_decref(reply);
                } else if (rc == RK_ERR_INVALID) {
                    /* The daemon answers but has no such record: keep
                     * what was seen. */
                    s_ctl_health(r, 1, began);
                    log_warn("event=drill_show_refused drill=%s msg=%s "
                             "reason=\"%s\"",
                             drill_scenario_exercise(r->cfg->sc), p->msg,
                             r->err);
                } else {
                    s_ctl_health(r, 0, began);
                    return 0;
                }
                last = p->msg;
            }
            if (rec) {
                json_t *o =
                    json_object_get(json_object_get(rec, "recipients"), p->id);
                if (o) {
                    size_t before = s_n_answers(p->obs);
                    json_decref(p->obs);
                    p->obs = json_deep_copy(o);
                    if (s_n_answers(p->obs) > before)
                        log_info("event=answer_seen drill=%s inject=%s "
                                 "participant=%s answers=%zu",
                                 drill_scenario_exercise(r->cfg->sc),
                                 in->inj->id, p->id, s_n_answers(p->obs));
                }
            }
        }
        json_decref(rec);
    }
    return 1;
}

/* Whether obs holds an answer with the expected status or a later one
 * (denied never counts): every answer when the daemon lists them, else
 * the one it kept. */
static int
s_sufficient(const json_t *obs, payload_ack_status_t expect) {
    json_t *list = json_object_get(obs, "answers"), *a;
    size_t i;
    payload_ack_status_t s;
    if (json_is_array(list)) {
        json_array_foreach(list, i, a) {
            s = payload_ack_status_from_name(
                json_string_value(json_object_get(a, "status")));
            if (drill_answer_meets(s, expect))
                return 1;
        }
        return 0;
    }
    s = payload_ack_status_from_name(
        json_string_value(json_object_get(obs, "answer")));
    return drill_answer_meets(s, expect);
}

/* Marks what can no longer change and what the drill need not wait for,
 * and schedules follow-ups. Parents come before their follow-ups (an
 * "after" names an earlier inject), so their state is this tick's. */
static void
s_settle(run_t *r, uint64_t now) {
    uint64_t grace = r->cfg->grace_ms ? r->cfg->grace_ms : S_GRACE_MS;
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        uint64_t dl = drill_deadline_ms(in->inj->within_s, r->scale);
        for (size_t k = 0; k < in->n; k++) {
            part_t *p = &in->p[k];
            const part_t *pp = p->trigger;
            if (p->sent_ms) {
                if (!p->final)
                    p->final = s_sufficient(p->obs, in->inj->expect) ||
                               s_time(p->obs, "expired") ||
                               s_time(p->obs, "undeliverable");
                /* Past its deadline the drill may end without it; until
                 * then, a later answer still counts. */
                p->settled = p->final || now > p->sent_ms + dl + grace;
                continue;
            }
            if (!in->inj->after) {
                p->settled = 0; /* due at its offset */
                continue;
            }
            /* Due when this participant answered the earlier inject. */
            if (!pp) {
                p->settled = 1; /* the earlier inject never goes to it */
                continue;
            }
            if (pp->sent_ms && s_time(pp->obs, "answered")) {
                uint64_t at = s_time(pp->obs, "answered");
                if (p->due_ms == UINT64_MAX)
                    p->due_ms = (at > r->start_ms ? at - r->start_ms : 0) +
                                s_ms_scaled(r, in->inj->at_s);
                p->settled = 0;
            } else
                p->settled = pp->settled; /* no trigger yet: maybe never */
        }
    }
}

static int
s_send_due(run_t *r, uint64_t rel) {
    for (size_t i = 0; i < r->n_inj; i++) {
        inj_t *in = &r->inj[i];
        size_t *which = malloc((in->n ? in->n : 1) * sizeof *which), n = 0;
        int rc = RK_OK;
        if (!which) {
            snprintf(r->err, sizeof r->err, "out of memory");
            return RK_ERR_NOMEM;
        }
        for (size_t k = 0; k < in->n; k++)
            if (!in->p[k].sent_ms && in->p[k].due_ms != UINT64_MAX &&
                in->p[k].due_ms <= rel)
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
s_all_settled(const run_t *r) {
    for (size_t i = 0; i < r->n_inj; i++)
        for (size_t k = 0; k < r->inj[i].n; k++)
            if (!r->inj[i].p[k].settled)
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

/* Sets o's key k to text, scrubbed to valid UTF-8: JSON takes nothing
 * else, and jansson would drop the whole string (a state folder named in
 * another encoding, say; our own cuts fall between characters). */
static void
s_set_text(json_t *o, const char *k, const char *text) {
    char buf[1024];
    rk_str_copy(buf, sizeof buf, text);
    rk_utf8_scrub(buf);
    json_object_set_new(o, k, json_string(buf));
}

static void
s_set_time(json_t *o, const char *k, uint64_t ms) {
    char t[40];
    if (!ms)
        return;
    rk_time_format(t, sizeof t, ms);
    json_object_set_new(o, k, json_string(t));
}

/* A recipient's answers for the results: "answered", "answer" and
 * "comment" when there is one answer (the form older readers know), else
 * "answers": each with its own time. */
static void
s_answers(json_t *x, const json_t *obs) {
    json_t *list = json_object_get(obs, "answers"), *a, *out;
    size_t i;
    if (!json_is_array(list) || json_array_size(list) < 2) {
        const json_t *one = json_array_get(list, 0);
        uint64_t at = one ? s_time(one, "at") : s_time(obs, "answered");
        json_t *st =
            json_object_get(one ? one : obs, one ? "status" : "answer");
        json_t *cm = json_object_get(one ? one : obs, "comment");
        if (!at || !payload_ack_status_from_name(json_string_value(st)))
            return;
        s_set_time(x, "answered", at);
        json_object_set(x, "answer", st);
        if (json_is_string(cm))
            json_object_set(x, "comment", cm);
        return;
    }
    out = json_array();
    json_array_foreach(list, i, a) {
        uint64_t at = s_time(a, "at");
        const char *st = json_string_value(json_object_get(a, "status"));
        json_t *e;
        if (!at || !payload_ack_status_from_name(st))
            continue; /* not ours: the report would refuse it */
        e = json_object();
        s_set_time(e, "at", at);
        json_object_set_new(e, "status", json_string(st));
        if (json_is_string(json_object_get(a, "comment")))
            json_object_set(e, "comment", json_object_get(a, "comment"));
        json_array_append_new(out, e);
    }
    json_object_set_new(x, "answers", out);
}

/* The observed results; stop_reason non-NULL: stopped before the end. */
static json_t *
s_results(const run_t *r, uint64_t end, const char *stop_reason) {
    json_t *res = json_object(), *injs = json_array();
    s_set_time(res, "started", r->start_ms);
    s_set_time(res, "finished", end);
    if (stop_reason) {
        json_object_set_new(res, "stopped", json_true());
        s_set_text(res, "stop_reason", stop_reason);
        log_warn("event=drill_stopped drill=%s reason=\"%s\" "
                 "report=partial",
                 drill_scenario_exercise(r->cfg->sc), stop_reason);
    }
    json_object_set_new(res, "exercise",
                        json_string(drill_scenario_exercise(r->cfg->sc)));
    json_object_set_new(res, "time_scale", json_real(r->scale));
    for (size_t i = 0; i < r->n_inj; i++) {
        const inj_t *in = &r->inj[i];
        json_t *o = json_object(), *rcpt = json_object();
        json_object_set_new(o, "id", json_string(in->inj->id));
        for (size_t k = 0; k < in->n; k++) {
            const part_t *p = &in->p[k];
            json_t *x = json_object();
            s_set_time(x, "sent", p->sent_ms);
            if (p->msg[0])
                json_object_set_new(x, "msg_id", json_string(p->msg));
            s_set_time(x, "stored", s_time(p->obs, "stored"));
            s_set_time(x, "delivered", s_time(p->obs, "delivered"));
            s_answers(x, p->obs);
            /* Never "not sent" for a send that may have gone out. */
            if (!p->sent_ms && p->unsent == S_SEND_UNKNOWN)
                s_set_text(x, "send_unknown",
                           p->why ? p->why
                                  : "not known whether it was sent (see "
                                    "stop_reason)");
            else if (!p->sent_ms && p->unsent == S_NOT_SENT)
                s_set_text(x, "error",
                           p->why ? p->why : "not sent (see stop_reason)");
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
    const char *stopped = NULL;
    char why[1024];
    uint64_t end;
    memset(&r, 0, sizeof r);
    *results = NULL;
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
        int fresh;
        if (cfg->stop && *cfg->stop) {
            stopped = "interrupted (Ctrl-C or SIGTERM)";
            break;
        }
        rc = s_send_due(&r, rel);
        if (rc != RK_OK && cfg->stop && *cfg->stop) {
            /* Ctrl-C interrupted the send: a stop, not a failure. */
            log_warn("event=drill_send_interrupted drill=%s reason=\"%s\"",
                     drill_scenario_exercise(cfg->sc), r.err);
            rc = RK_OK;
            snprintf(why, sizeof why,
                     "interrupted (Ctrl-C or SIGTERM) while sending an "
                     "inject: ");
            rk_str_copy(why + strlen(why), sizeof why - strlen(why), r.err);
            stopped = why;
            break;
        }
        if (rc != RK_OK)
            break;
        fresh = s_refresh(&r);
        if (r.lost) {
            rc = RK_ERR_IO;
            break;
        }
        s_settle(&r, rk_now_ms());
        s_progress(&r, rel);
        /* Not on stale observations: a tick whose refresh failed. */
        if (fresh && s_all_settled(&r))
            break;
        nanosleep(&ts, NULL);
    }
    if (cfg->progress)
        fputc('\n', cfg->progress);
    /* Whatever stopped it, what was seen so far is reported: as of the
     * last time the daemon answered, when it was lost (a deadline that
     * passed while the runner was blind is still open, not missed), or of
     * a send found in its records since (s_send). */
    end = r.lost && r.ctl_fail_since ? r.ctl_fail_since : rk_now_ms();
    for (size_t i = 0; i < r.n_inj; i++)
        for (size_t k = 0; k < r.inj[i].n; k++)
            if (r.inj[i].p[k].sent_ms > end)
                end = r.inj[i].p[k].sent_ms;
    *results = s_results(&r, end, rc != RK_OK ? r.err : stopped);
done:
    if (rc != RK_OK)
        rk_str_copy(err, errlen, r.err);
    for (size_t i = 0; i < r.n_inj; i++) {
        for (size_t k = 0; k < r.inj[i].n; k++) {
            json_decref(r.inj[i].p[k].obs);
            free(r.inj[i].p[k].why);
        }
        free(r.inj[i].p);
    }
    free(r.inj);
    roster_destroy(&r.roster);
    if (rc != RK_OK && *results)
        rc = RK_ERR_IO; /* started: the caller reports it partial */
    return rc;
}
