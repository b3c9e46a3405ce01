/* drill: scenario files and MSEL imports for renraku-drill, and the payload
 * of every inject. A MSEL import builds the scenario's JSON form and goes
 * through the same validation as a scenario file; nothing here sends. */
#include "drill.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rk_util.h"

struct drill_scenario {
    char *exercise;      /* drill id, node-id syntax */
    char *name;          /* display name */
    char **participants; /* n_participants node ids or groups */
    size_t n_participants;
    double time_scale;       /* scenario seconds per real second, >= 1 */
    drill_inject_t *injects; /* n_injects, file order */
    size_t n_injects;
};

static const char *const s_kind_names[] = {NULL, "notice", "alert",
                                           "comm-check"};

const char *
drill_kind_name(drill_kind_t k) {
    if (k >= DRILL_KIND_NOTICE && k <= DRILL_KIND_COMM_CHECK)
        return s_kind_names[k];
    return "unknown";
}

drill_kind_t
drill_kind_from_name(const char *name) {
    for (int k = DRILL_KIND_NOTICE; k <= DRILL_KIND_COMM_CHECK; k++)
        if (name && strcmp(name, s_kind_names[k]) == 0)
            return (drill_kind_t)k;
    return (drill_kind_t)0;
}

/* ---- Small text helpers ---- */

/* A short, printable-ASCII rendering of untrusted text for errors. */
static void
s_quote(char out[56], const char *s) {
    size_t i = 0, o = 0;
    for (; s[i] && o < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i])
        memcpy(out + o, "...", 4);
    else
        out[o] = '\0';
}

/* True when s has a control character; multiline admits tab, CR, LF. */
static bool
s_has_control(const char *s, bool multiline) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (multiline && (c == '\t' || c == '\r' || c == '\n'))
            continue;
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static bool
s_inject_id_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > DRILL_INJECT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' &&
            s[i] != '-')
            return false;
    return true;
}

/* ---- Durations ---- */

int
drill_duration_parse(const char *text, uint64_t *s) {
    const char *p = text;
    uint64_t total = 0;
    bool in_time = false, any = false;
    int last = 0; /* order of units seen: D=1 H=2 M=3 S=4 */

    if (!text || *p++ != 'P')
        return RK_ERR_MALFORMED;
    while (*p) {
        uint64_t n = 0;
        int unit, digits = 0;
        uint64_t mult;
        if (*p == 'T') {
            if (in_time)
                return RK_ERR_MALFORMED;
            in_time = true;
            p++;
            if (!*p)
                return RK_ERR_MALFORMED;
            continue;
        }
        while (*p >= '0' && *p <= '9') {
            if (++digits > 9)
                return RK_ERR_MALFORMED;
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        if (digits == 0)
            return RK_ERR_MALFORMED;
        switch (*p) {
        case 'D':
            unit = 1, mult = 86400;
            break;
        case 'H':
            unit = 2, mult = 3600;
            break;
        case 'M':
            unit = 3, mult = 60;
            break;
        case 'S':
            unit = 4, mult = 1;
            break;
        default:
            return RK_ERR_MALFORMED;
        }
        if ((unit == 1) == in_time || unit <= last)
            return RK_ERR_MALFORMED;
        last = unit;
        p++;
        total += n * mult;
        any = true;
        if (total > DRILL_MAX_OFFSET_S)
            return RK_ERR_MALFORMED;
    }
    if (!any)
        return RK_ERR_MALFORMED;
    *s = total;
    return RK_OK;
}

void
drill_duration_format(char *out, size_t cap, uint64_t s) {
    char buf[64];
    size_t n = 0;
    uint64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60,
             sec = s % 60;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "P");
    if (d)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%lluD",
                              (unsigned long long)d);
    if (h || m || sec || !d) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "T");
        if (h)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%lluH",
                                  (unsigned long long)h);
        if (m)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%lluM",
                                  (unsigned long long)m);
        if (sec || (!h && !m))
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%lluS",
                                  (unsigned long long)sec);
    }
    snprintf(out, cap, "%s", buf);
}

/* ---- Scenario ---- */

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} s_ctx_t;

static int s_fail(const s_ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE: PATH: message" into the error buffer; returns RK_ERR_MALFORMED. */
static int
s_fail(const s_ctx_t *c, const char *path, const char *fmt, ...) {
    va_list ap;
    int n;
    if (!c->err || c->errlen == 0)
        return RK_ERR_MALFORMED;
    n = snprintf(c->err, c->errlen, "%s: %s%s", c->file, path ? path : "",
                 path ? ": " : "");
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return RK_ERR_MALFORMED;
}

static void
s_inject_free(drill_inject_t *in) {
    free((char *)in->id);
    free((char *)in->after);
    if (!in->to_default) {
        for (size_t i = 0; i < in->n_to; i++)
            free((char *)in->to[i]);
        free((char **)in->to);
    }
    free((char *)in->from);
    free((char *)in->title);
    free((char *)in->text);
    free((char *)in->wire_title);
    free((char *)in->wire_text);
}

void
drill_scenario_destroy(drill_scenario_t **self_p) {
    drill_scenario_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->n_injects; i++)
        s_inject_free(&self->injects[i]);
    free(self->injects);
    for (size_t i = 0; i < self->n_participants; i++)
        free(self->participants[i]);
    free(self->participants);
    free(self->exercise);
    free(self->name);
    free(self);
    *self_p = NULL;
}

/* Refuses keys of obj not in the NULL-terminated list allowed. */
static int
s_check_keys(const s_ctx_t *c, const json_t *obj, const char *path,
             const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        char q[56], p[128];
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            s_quote(q, key);
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", q);
            return s_fail(c, p, "unknown key");
        }
    }
    return RK_OK;
}

/* A string field: *out is a malloc'd copy or NULL when absent and not
 * required. max is in bytes; multiline admits tab, CR, LF. */
static int
s_get_str(const s_ctx_t *c, const json_t *obj, const char *key,
          const char *path, bool required, size_t max, bool multiline,
          char **out) {
    json_t *v = json_object_get(obj, key);
    const char *s;
    size_t n;
    *out = NULL;
    if (!v) {
        if (required)
            return s_fail(c, path, "missing");
        return RK_OK;
    }
    if (!json_is_string(v))
        return s_fail(c, path, "not a string");
    s = json_string_value(v);
    n = json_string_length(v);
    if (n != strlen(s))
        return s_fail(c, path, "contains a NUL character");
    if (n == 0)
        return s_fail(c, path, "empty");
    if (n > max)
        return s_fail(c, path, "longer than %zu bytes", max);
    if (s_has_control(s, multiline))
        return s_fail(c, path, "contains a control character");
    if (!(*out = strdup(s)))
        return RK_ERR_NOMEM;
    return RK_OK;
}

/* An offset: ISO 8601 duration string or whole seconds. */
static int
s_get_offset(const s_ctx_t *c, const json_t *v, const char *path,
             uint64_t *out) {
    char q[56];
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > DRILL_MAX_OFFSET_S)
            return s_fail(c, path,
                          "%lld seconds is out of range (0 to %d, 30 days)",
                          (long long)n, DRILL_MAX_OFFSET_S);
        *out = (uint64_t)n;
        return RK_OK;
    }
    if (json_is_string(v)) {
        if (drill_duration_parse(json_string_value(v), out) == RK_OK)
            return RK_OK;
        s_quote(q, json_string_value(v));
        return s_fail(c, path,
                      "'%s' is not an ISO 8601 duration (e.g. PT30M, "
                      "P1DT2H) of at most 30 days, or a number of seconds",
                      q);
    }
    return s_fail(c, path,
                  "not an ISO 8601 duration string or a number of seconds");
}

/* Prefix "[EXERCISE <id>] " unless s already says EXERCISE. */
static char *
s_exercise_text(const char *exercise, const char *s) {
    size_t n;
    char *out;
    if (strstr(s, "EXERCISE"))
        return strdup(s);
    n = strlen(exercise) + strlen(s) + 16;
    if (!(out = malloc(n)))
        return NULL;
    snprintf(out, n, "[EXERCISE %s] %s", exercise, s);
    return out;
}

static int
s_parse_to(const s_ctx_t *c, const json_t *arr, const char *path, char ***out,
           size_t *n_out, size_t max) {
    char p[128], q[56];
    size_t n;
    char **list;
    if (!json_is_array(arr))
        return s_fail(c, path, "not an array of node ids or groups");
    n = json_array_size(arr);
    if (n == 0)
        return s_fail(c, path, "empty");
    if (n > max)
        return s_fail(c, path, "more than %zu entries", max);
    if (!(list = calloc(n, sizeof *list)))
        return RK_ERR_NOMEM;
    *out = list;
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(v))
            return s_fail(c, p, "not a string");
        s_quote(q, json_string_value(v));
        if (!envelope_node_id_valid(json_string_value(v)) ||
            json_string_length(v) != strlen(json_string_value(v)))
            return s_fail(c, p,
                          "'%s' is not a node id or group (1 to 63 of a-z, "
                          "0-9, '.', '_', '-')",
                          q);
        for (size_t j = 0; j < i; j++)
            if (strcmp(list[j], json_string_value(v)) == 0)
                return s_fail(c, p, "'%s' is listed twice", q);
        if (!(list[i] = strdup(json_string_value(v))))
            return RK_ERR_NOMEM;
        *n_out = i + 1;
    }
    return RK_OK;
}

static const char *const s_top_keys[] = {
    "exercise", "name", "participants", "time_scale", "injects", NULL};
static const char *const s_inject_keys[] = {
    "id",   "at",  "to",       "kind",   "from",  "title",
    "text", "tlp", "severity", "expect", "after", NULL};
static const char *const s_expect_keys[] = {"status", "within", NULL};

static int
s_parse_inject(const s_ctx_t *c, drill_scenario_t *sc, size_t idx,
               const json_t *j, const json_t *all) {
    drill_inject_t *in = &sc->injects[idx];
    char base[32], p[96], q[56];
    char *tmp = NULL;
    json_t *v;
    int rc;

    snprintf(base, sizeof base, "injects[%zu]", idx);
#define PATH(k) (snprintf(p, sizeof p, "%s.%s", base, k), p)
    if (!json_is_object(j))
        return s_fail(c, base, "not an object");
    if ((rc = s_check_keys(c, j, base, s_inject_keys)) != RK_OK)
        return rc;

    if ((rc = s_get_str(c, j, "id", PATH("id"), true, 64, false,
                        (char **)&in->id)) != RK_OK)
        return rc;
    s_quote(q, in->id);
    if (!s_inject_id_valid(in->id))
        return s_fail(c, p,
                      "'%s' is not an inject id (1 to %d of A-Z, a-z, 0-9, "
                      "'.', '_', '-')",
                      q, DRILL_INJECT_ID_MAX);
    for (size_t i = 0; i < idx; i++)
        if (strcmp(sc->injects[i].id, in->id) == 0)
            return s_fail(c, p, "'%s' is also the id of injects[%zu]", q, i);

    v = json_object_get(j, "at");
    if (!v)
        return s_fail(c, PATH("at"), "missing");
    if ((rc = s_get_offset(c, v, PATH("at"), &in->at_s)) != RK_OK)
        return rc;

    if ((v = json_object_get(j, "to"))) {
        if ((rc = s_parse_to(c, v, PATH("to"), (char ***)&in->to, &in->n_to,
                             DRILL_MAX_PARTICIPANTS)) != RK_OK)
            return rc;
    } else {
        in->to_default = true;
        in->to = (const char *const *)sc->participants;
        in->n_to = sc->n_participants;
    }

    if ((rc = s_get_str(c, j, "kind", PATH("kind"), true, 64, false, &tmp)) !=
        RK_OK)
        return rc;
    in->kind = drill_kind_from_name(tmp);
    s_quote(q, tmp);
    free(tmp);
    tmp = NULL;
    if (!in->kind)
        return s_fail(c, p,
                      "unknown value '%s' (expected notice, alert or "
                      "comm-check)",
                      q);

    if ((rc = s_get_str(c, j, "from", PATH("from"), false, DRILL_FROM_MAX,
                        false, (char **)&in->from)) != RK_OK)
        return rc;
    if ((rc = s_get_str(c, j, "title", PATH("title"), true, PAYLOAD_TITLE_MAX,
                        false, (char **)&in->title)) != RK_OK)
        return rc;
    if ((rc = s_get_str(c, j, "text", PATH("text"), false, PAYLOAD_TEXT_MAX,
                        true, (char **)&in->text)) != RK_OK)
        return rc;
    if (!(in->wire_title = s_exercise_text(sc->exercise, in->title)))
        return RK_ERR_NOMEM;
    if (strlen(in->wire_title) > PAYLOAD_TITLE_MAX)
        return s_fail(c, PATH("title"),
                      "longer than %d bytes with the prefix '[EXERCISE "
                      "%s] '",
                      PAYLOAD_TITLE_MAX, sc->exercise);
    if (!(in->wire_text =
              s_exercise_text(sc->exercise, in->text ? in->text : in->title)))
        return RK_ERR_NOMEM;
    if (strlen(in->wire_text) > PAYLOAD_TEXT_MAX)
        return s_fail(c, PATH("text"),
                      "longer than %d bytes with the exercise prefix",
                      PAYLOAD_TEXT_MAX);

    in->tlp = PAYLOAD_TLP_GREEN;
    if ((rc = s_get_str(c, j, "tlp", PATH("tlp"), false, 64, false, &tmp)) !=
        RK_OK)
        return rc;
    if (tmp) {
        in->tlp = payload_tlp_from_name(tmp);
        s_quote(q, tmp);
        free(tmp);
        tmp = NULL;
        if (!in->tlp)
            return s_fail(c, p,
                          "unknown value '%s' (expected CLEAR, GREEN, AMBER, "
                          "AMBER+STRICT or RED)",
                          q);
    }
    in->severity = in->kind == DRILL_KIND_ALERT ? PAYLOAD_SEVERITY_HIGH
                                                : PAYLOAD_SEVERITY_NONE;
    if ((rc = s_get_str(c, j, "severity", PATH("severity"), false, 64, false,
                        &tmp)) != RK_OK)
        return rc;
    if (tmp) {
        in->severity = payload_severity_from_name(tmp);
        s_quote(q, tmp);
        free(tmp);
        tmp = NULL;
        if (!in->severity)
            return s_fail(c, p,
                          "unknown value '%s' (expected info, low, medium, "
                          "high or critical)",
                          q);
    }

    in->expect = PAYLOAD_ACK_ACKNOWLEDGED;
    if ((v = json_object_get(j, "expect"))) {
        json_t *w;
        PATH("expect");
        if (!json_is_object(v))
            return s_fail(c, p, "not an object");
        if ((rc = s_check_keys(c, v, p, s_expect_keys)) != RK_OK)
            return rc;
        if ((rc = s_get_str(c, v, "status", PATH("expect.status"), false, 64,
                            false, &tmp)) != RK_OK)
            return rc;
        if (tmp) {
            in->expect = payload_ack_status_from_name(tmp);
            s_quote(q, tmp);
            free(tmp);
            tmp = NULL;
            if (!in->expect || in->expect == PAYLOAD_ACK_DENIED)
                return s_fail(c, p,
                              "unknown value '%s' (expected received, "
                              "acknowledged, in-progress or resolved)",
                              q);
        }
        if ((w = json_object_get(v, "within"))) {
            if ((rc = s_get_offset(c, w, PATH("expect.within"),
                                   &in->within_s)) != RK_OK)
                return rc;
            if (in->within_s == 0)
                return s_fail(c, p,
                              "a deadline of 0 seconds (leave "
                              "\"within\" out for none)");
        }
    }

    if ((rc = s_get_str(c, j, "after", PATH("after"), false, 64, false,
                        (char **)&in->after)) != RK_OK)
        return rc;
    if (in->after) {
        bool found = false;
        s_quote(q, in->after);
        for (size_t i = 0; i < idx && !found; i++)
            if (strcmp(sc->injects[i].id, in->after) == 0) {
                in->after_index = i;
                found = true;
            }
        if (!found) {
            for (size_t i = idx; i < json_array_size(all); i++) {
                json_t *id = json_object_get(json_array_get(all, i), "id");
                if (json_is_string(id) &&
                    strcmp(json_string_value(id), in->after) == 0)
                    return s_fail(c, p,
                                  "'%s' is not an earlier inject: it is "
                                  "injects[%zu] (an inject may follow only "
                                  "one listed before it, so there are no "
                                  "cycles)",
                                  q, i);
            }
            return s_fail(c, p, "'%s' is not the id of any inject", q);
        }
        /* Whether each recipient of a follow-up gets its trigger is
         * checked when the drill runs, with the roster's groups (here a
         * group and its members cannot be told apart). */
    }
#undef PATH
    return RK_OK;
}

/* Checks that inject i builds a payload that encodes. */
static int
s_check_payload(const s_ctx_t *c, const drill_scenario_t *sc, size_t i) {
    drill_message_t m;
    const char *why = NULL;
    char p[32];
    if (drill_inject_message(sc, i, 0, &m) != RK_OK ||
        payload_validate(&m.payload, &why) != RK_OK) {
        snprintf(p, sizeof p, "injects[%zu]", i);
        return s_fail(c, p, "the payload would be refused: %s",
                      why ? why : "?");
    }
    return RK_OK;
}

int
drill_scenario_from_json(const json_t *json, const char *filename,
                         drill_scenario_t **out, char *err, size_t errlen) {
    s_ctx_t c = {filename ? filename : "scenario", err, errlen};
    drill_scenario_t *sc = NULL;
    json_t *v;
    char q[56];
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!json_is_object(json))
        return s_fail(&c, NULL, "not a JSON object");
    if ((rc = s_check_keys(&c, json, "", s_top_keys)) != RK_OK)
        return rc;
    if (!(sc = calloc(1, sizeof *sc)))
        return RK_ERR_NOMEM;

    if ((rc = s_get_str(&c, json, "exercise", "exercise", true,
                        ENVELOPE_DRILL_ID_MAX, false, &sc->exercise)) != RK_OK)
        goto cleanup;
    if (!envelope_node_id_valid(sc->exercise)) {
        s_quote(q, sc->exercise);
        rc = s_fail(&c, "exercise",
                    "'%s' is not a drill id (1 to 63 of a-z, 0-9, '.', "
                    "'_', '-', starting with a letter or digit)",
                    q);
        goto cleanup;
    }
    if ((rc = s_get_str(&c, json, "name", "name", false, PAYLOAD_TITLE_MAX,
                        false, &sc->name)) != RK_OK)
        goto cleanup;
    if (!sc->name && !(sc->name = strdup(sc->exercise))) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }

    if (!(v = json_object_get(json, "participants"))) {
        rc = s_fail(&c, "participants", "missing");
        goto cleanup;
    }
    if ((rc = s_parse_to(&c, v, "participants", &sc->participants,
                         &sc->n_participants, DRILL_MAX_PARTICIPANTS)) != RK_OK)
        goto cleanup;

    sc->time_scale = 1;
    if ((v = json_object_get(json, "time_scale"))) {
        if (!json_is_number(v)) {
            rc = s_fail(&c, "time_scale", "not a number");
            goto cleanup;
        }
        sc->time_scale = json_number_value(v);
        if (!(sc->time_scale >= 1 && sc->time_scale <= DRILL_TIME_SCALE_MAX)) {
            rc = s_fail(&c, "time_scale", "%g is out of range (1 to %d)",
                        sc->time_scale, DRILL_TIME_SCALE_MAX);
            goto cleanup;
        }
    }

    if (!(v = json_object_get(json, "injects"))) {
        rc = s_fail(&c, "injects", "missing");
        goto cleanup;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        rc = s_fail(&c, "injects", "not a non-empty array");
        goto cleanup;
    }
    if (json_array_size(v) > DRILL_MAX_INJECTS) {
        rc = s_fail(&c, "injects", "more than %d injects", DRILL_MAX_INJECTS);
        goto cleanup;
    }
    if (!(sc->injects = calloc(json_array_size(v), sizeof *sc->injects))) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        sc->n_injects = i + 1;
        if ((rc = s_parse_inject(&c, sc, i, json_array_get(v, i), v)) != RK_OK)
            goto cleanup;
        if ((rc = s_check_payload(&c, sc, i)) != RK_OK)
            goto cleanup;
    }
    *out = sc;
    sc = NULL;
    rc = RK_OK;
cleanup:
    if (rc == RK_ERR_NOMEM && err && errlen)
        snprintf(err, errlen, "%s: out of memory", c.file);
    drill_scenario_destroy(&sc);
    return rc;
}

int
drill_scenario_parse(const char *text, size_t len, const char *filename,
                     drill_scenario_t **out, char *err, size_t errlen) {
    s_ctx_t c = {filename ? filename : "scenario", err, errlen};
    json_error_t jerr;
    json_t *j;
    int rc;

    if (len > DRILL_MAX_FILE_BYTES) {
        s_fail(&c, NULL, "larger than %u bytes", DRILL_MAX_FILE_BYTES);
        return RK_ERR_TOO_LARGE;
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        if (err && errlen)
            snprintf(err, errlen, "%s:%d: %s", c.file, jerr.line, jerr.text);
        return RK_ERR_MALFORMED;
    }
    rc = drill_scenario_from_json(j, filename, out, err, errlen);
    json_decref(j);
    return rc;
}

static bool
s_ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int
drill_scenario_load(const char *path, drill_scenario_t **out, char *err,
                    size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    const char *base = strrchr(path, '/');
    int rc;

    base = base ? base + 1 : path;
    rc = rk_read_file(path, DRILL_MAX_FILE_BYTES, &data, &len);
    if (rc != RK_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, rk_strerror(rc));
        return rc;
    }
    if (s_ends_with_ci(path, ".csv"))
        rc = drill_msel_import((const char *)data, len, base, out, err, errlen);
    else
        rc = drill_scenario_parse((const char *)data, len, base, out, err,
                                  errlen);
    free(data);
    return rc;
}

json_t *
drill_scenario_to_json(const drill_scenario_t *sc) {
    json_t *j = json_object(), *parts = json_array(), *injects = json_array();
    char dur[32];
    bool bad = !j || !parts || !injects;

    if (bad)
        goto fail;
    bad |= json_object_set_new(j, "exercise", json_string(sc->exercise)) != 0;
    bad |= json_object_set_new(j, "name", json_string(sc->name)) != 0;
    for (size_t i = 0; i < sc->n_participants; i++)
        bad |=
            json_array_append_new(parts, json_string(sc->participants[i])) != 0;
    bad |= json_object_set(j, "participants", parts) != 0;
    if (sc->time_scale == floor(sc->time_scale))
        bad |= json_object_set_new(j, "time_scale",
                                   json_integer((json_int_t)sc->time_scale));
    else
        bad |= json_object_set_new(j, "time_scale", json_real(sc->time_scale));
    for (size_t i = 0; i < sc->n_injects; i++) {
        const drill_inject_t *in = &sc->injects[i];
        json_t *o = json_object(), *ex = json_object();
        if (!o || !ex) {
            json_decref(o);
            json_decref(ex);
            goto fail;
        }
        json_object_set_new(o, "id", json_string(in->id));
        drill_duration_format(dur, sizeof dur, in->at_s);
        json_object_set_new(o, "at", json_string(dur));
        if (in->after)
            json_object_set_new(o, "after", json_string(in->after));
        if (!in->to_default) {
            json_t *to = json_array();
            for (size_t k = 0; to && k < in->n_to; k++)
                json_array_append_new(to, json_string(in->to[k]));
            json_object_set_new(o, "to", to);
        }
        json_object_set_new(o, "kind", json_string(drill_kind_name(in->kind)));
        if (in->from)
            json_object_set_new(o, "from", json_string(in->from));
        json_object_set_new(o, "title", json_string(in->title));
        if (in->text)
            json_object_set_new(o, "text", json_string(in->text));
        json_object_set_new(o, "tlp", json_string(payload_tlp_name(in->tlp)));
        if (in->severity)
            json_object_set_new(
                o, "severity",
                json_string(payload_severity_name(in->severity)));
        json_object_set_new(ex, "status",
                            json_string(payload_ack_status_name(in->expect)));
        if (in->within_s) {
            drill_duration_format(dur, sizeof dur, in->within_s);
            json_object_set_new(ex, "within", json_string(dur));
        }
        json_object_set_new(o, "expect", ex);
        bad |= json_array_append_new(injects, o) != 0;
    }
    bad |= json_object_set(j, "injects", injects) != 0;
    if (bad)
        goto fail;
    json_decref(parts);
    json_decref(injects);
    return j;
fail:
    json_decref(parts);
    json_decref(injects);
    json_decref(j);
    return NULL;
}

const char *
drill_scenario_exercise(const drill_scenario_t *sc) {
    return sc->exercise;
}
const char *
drill_scenario_name(const drill_scenario_t *sc) {
    return sc->name;
}
double
drill_scenario_time_scale(const drill_scenario_t *sc) {
    return sc->time_scale;
}
size_t
drill_scenario_n_participants(const drill_scenario_t *sc) {
    return sc->n_participants;
}
const char *
drill_scenario_participant(const drill_scenario_t *sc, size_t i) {
    return i < sc->n_participants ? sc->participants[i] : NULL;
}
size_t
drill_scenario_n_injects(const drill_scenario_t *sc) {
    return sc->n_injects;
}
const drill_inject_t *
drill_scenario_inject(const drill_scenario_t *sc, size_t i) {
    return i < sc->n_injects ? &sc->injects[i] : NULL;
}
long
drill_scenario_find(const drill_scenario_t *sc, const char *id) {
    for (size_t i = 0; i < sc->n_injects; i++)
        if (strcmp(sc->injects[i].id, id) == 0)
            return (long)i;
    return -1;
}

static uint64_t
s_scale_ms(const drill_scenario_t *sc, uint64_t s) {
    return (uint64_t)llround((double)s * 1000.0 / sc->time_scale);
}

uint64_t
drill_inject_due_ms(const drill_scenario_t *sc, size_t i) {
    return s_scale_ms(sc, sc->injects[i].at_s);
}

bool
drill_answer_meets(payload_ack_status_t s, payload_ack_status_t expect) {
    return s && s != PAYLOAD_ACK_DENIED && s >= expect;
}

uint64_t
drill_deadline_ms(uint64_t within_s, double time_scale) {
    uint64_t ms;
    if (!within_s)
        return 0;
    ms = (uint64_t)llround((double)within_s * 1000.0 / time_scale);
    /* 0 would read as "no deadline": PT30S at 86400 is still one. */
    return ms ? ms : 1;
}

uint64_t
drill_inject_deadline_ms(const drill_scenario_t *sc, size_t i) {
    return drill_deadline_ms(sc->injects[i].within_s, sc->time_scale);
}

int
drill_inject_message(const drill_scenario_t *sc, size_t i,
                     uint64_t respond_by_ms, drill_message_t *m) {
    const drill_inject_t *in;
    if (!sc || !m || i >= sc->n_injects || respond_by_ms > PAYLOAD_TIME_MAX_MS)
        return RK_ERR_INVALID;
    in = &sc->injects[i];
    memset(m, 0, sizeof *m);
    m->drill_id = sc->exercise;
    if (in->kind == DRILL_KIND_COMM_CHECK) {
        m->kind = ENVELOPE_KIND_COMM_CHECK;
        m->payload.kind = PAYLOAD_COMM_CHECK;
        m->payload.comm_check.check_id = in->id;
        m->payload.comm_check.text = in->wire_text;
        m->payload.comm_check.respond_by_ms = respond_by_ms;
        return RK_OK;
    }
    m->kind = ENVELOPE_KIND_DRILL_INJECT;
    m->notice.incident_id = in->id;
    m->notice.title = in->wire_title;
    m->notice.description = in->wire_text;
    m->notice.tlp = in->tlp;
    m->notice.severity = in->severity;
    m->notice.category = "test";
    m->payload.kind = PAYLOAD_DRILL_INJECT;
    m->payload.drill_inject.drill_id = sc->exercise;
    m->payload.drill_inject.inject_id = in->id;
    m->payload.drill_inject.title = in->wire_title;
    m->payload.drill_inject.text = in->wire_text;
    m->payload.drill_inject.expected = in->expect;
    m->payload.drill_inject.respond_by_ms = respond_by_ms;
    m->payload.drill_inject.notice = &m->notice;
    return RK_OK;
}

/* ---- MSEL import ---- */

#define S_MSEL_MAX_ROWS 10000 /* physical records, blank ones included */
#define S_MSEL_MAX_FIELDS 256 /* columns of one record */
#define S_MSEL_TITLE_CUT 120  /* bytes of a title taken from a description */

/* One CSV record: its cells (malloc'd, NUL-terminated) and the line where
 * it starts. */
typedef struct {
    char **cells;
    size_t n;
    size_t line;
} s_row_t;

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    size_t used;     /* bytes of err written */
    size_t n_errors; /* listed */
    size_t n_more;   /* past the cap, counted only */
} s_msel_t;

static void s_merr(s_msel_t *m, size_t line, const char *field, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Appends "FILE:LINE: FIELD: message" as one line of the error text. */
static void
s_merr(s_msel_t *m, size_t line, const char *field, const char *fmt, ...) {
    char buf[512];
    int n;
    va_list ap;
    if (m->n_errors >= DRILL_MSEL_MAX_ERRORS) {
        m->n_more++;
        return;
    }
    m->n_errors++;
    if (line)
        n = snprintf(buf, sizeof buf, "%s:%zu: %s%s", m->file, line,
                     field ? field : "", field ? ": " : "");
    else
        n = snprintf(buf, sizeof buf, "%s: %s%s", m->file, field ? field : "",
                     field ? ": " : "");
    if (n < 0 || (size_t)n >= sizeof buf)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    if (!m->err || m->errlen == 0)
        return;
    snprintf(m->err + m->used, m->errlen - m->used, "%s%s", m->used ? "\n" : "",
             buf);
    m->used += strlen(m->err + m->used);
}

static void
s_rows_free(s_row_t *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < rows[i].n; k++)
            free(rows[i].cells[k]);
        free(rows[i].cells);
    }
    free(rows);
}

/* A growable byte buffer for the cell being read. */
typedef struct {
    char *p;
    size_t n, cap;
} s_buf_t;

static int
s_buf_put(s_buf_t *b, char c) {
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return RK_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n++] = c;
    return RK_OK;
}

static int
s_row_push(s_row_t *r, s_buf_t *b) {
    char *cell;
    char **cells;
    if (r->n >= S_MSEL_MAX_FIELDS)
        return RK_ERR_TOO_LARGE;
    if (!(cell = malloc(b->n + 1)))
        return RK_ERR_NOMEM;
    memcpy(cell, b->p ? b->p : "", b->n);
    cell[b->n] = '\0';
    b->n = 0;
    if (!(cells = realloc(r->cells, (r->n + 1) * sizeof *cells))) {
        free(cell);
        return RK_ERR_NOMEM;
    }
    r->cells = cells;
    r->cells[r->n++] = cell;
    return RK_OK;
}

/* Splits RFC 4180 CSV into records. Quoted fields may hold commas, "" and
 * line breaks; CRLF, LF and a lone CR end a record. A field with a NUL
 * byte, an unterminated quote or text after a closing quote is an error
 * (reported through m; parsing stops there). */
static int
s_csv_split(s_msel_t *m, const char *s, size_t len, s_row_t **rows_out,
            size_t *n_out) {
    s_row_t *rows = NULL, row = {0};
    s_buf_t b = {0};
    size_t n_rows = 0, line = 1, i = 0;
    int rc = RK_OK;

    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    row.line = 1;
    while (i <= len) {
        bool end_row;
        /* A final line break adds no empty record. */
        if (i == len && row.n == 0)
            break;
        /* One field. */
        if (i < len && s[i] == '"') {
            size_t start_line = line;
            i++;
            for (;;) {
                if (i >= len) {
                    s_merr(m, start_line, NULL,
                           "a quoted field is not closed (a '\"' is "
                           "missing)");
                    rc = RK_ERR_MALFORMED;
                    goto cleanup;
                }
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        if ((rc = s_buf_put(&b, '"')) != RK_OK)
                            goto cleanup;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\n' ||
                    (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n')))
                    line++;
                if ((rc = s_buf_put(&b, s[i++])) != RK_OK)
                    goto cleanup;
            }
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
                if ((rc = s_buf_put(&b, s[i++])) != RK_OK)
                    goto cleanup;
            }
        }
        if (i < len && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
            s_merr(m, line, NULL,
                   "text after the closing '\"' of a quoted field (write a "
                   "quote inside a quoted field as \"\")");
            rc = RK_ERR_MALFORMED;
            goto cleanup;
        }
        if (memchr(b.p ? b.p : "", '\0', b.n)) {
            s_merr(m, line, NULL, "a field contains a NUL byte");
            rc = RK_ERR_MALFORMED;
            goto cleanup;
        }
        if ((rc = s_row_push(&row, &b)) != RK_OK) {
            if (rc == RK_ERR_TOO_LARGE)
                s_merr(m, row.line, NULL, "more than %d fields in a row",
                       S_MSEL_MAX_FIELDS);
            goto cleanup;
        }
        end_row = i >= len || s[i] != ',';
        if (!end_row) {
            i++;
            continue;
        }
        /* End of a record: CRLF, LF or a lone CR. */
        if (i < len && s[i] == '\r') {
            i++;
            if (i < len && s[i] == '\n')
                i++;
        } else if (i < len && s[i] == '\n') {
            i++;
        }
        line++;
        if (n_rows >= S_MSEL_MAX_ROWS) {
            s_merr(m, row.line, NULL, "more than %d rows", S_MSEL_MAX_ROWS);
            rc = RK_ERR_TOO_LARGE;
            goto cleanup;
        }
        {
            s_row_t *r = realloc(rows, (n_rows + 1) * sizeof *r);
            if (!r) {
                rc = RK_ERR_NOMEM;
                goto cleanup;
            }
            rows = r;
        }
        rows[n_rows++] = row;
        memset(&row, 0, sizeof row);
        row.line = line;
        if (i >= len)
            break;
    }
cleanup:
    free(b.p);
    for (size_t k = 0; k < row.n; k++)
        free(row.cells[k]);
    free(row.cells);
    if (rc != RK_OK) {
        s_rows_free(rows, n_rows);
        return rc;
    }
    *rows_out = rows;
    *n_out = n_rows;
    return RK_OK;
}

/* Lower case, '_', '-', '.', '/' as spaces, spaces collapsed and trimmed,
 * a parenthesised part dropped: "Inject_Time (HH:MM)" -> "inject time". */
static void
s_norm(char *out, size_t cap, const char *in) {
    size_t o = 0;
    int depth = 0;
    bool space = false;
    for (; *in && o + 1 < cap; in++) {
        char c = *in;
        if (c == '(') {
            depth++;
            continue;
        }
        if (c == ')') {
            if (depth)
                depth--;
            continue;
        }
        if (depth)
            continue;
        if (c == '_' || c == '-' || c == '.' || c == '/' || c == ' ' ||
            c == '\t' || c == '\r' || c == '\n') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = false;
        out[o++] = (char)tolower((unsigned char)c);
    }
    out[o] = '\0';
}

enum {
    S_COL_SEQ,
    S_COL_TIME,
    S_COL_TYPE,
    S_COL_FROM,
    S_COL_TO,
    S_COL_TITLE,
    S_COL_DESC,
    S_COL_EXPECT,
    S_COL_WITHIN,
    S_COL_TLP,
    S_COL_SEVERITY,
    S_COL_AFTER,
    S_N_COLS
};

/* Column names as s_norm leaves them; the first is the one errors use. */
static const char *const *const s_col_names[S_N_COLS] = {
    (const char *const[]){
        "sequence", "#", "seq", "seq #", "seq no", "sequence #", "sequence no",
        "sequence number", "serial", "serial #", "serial no", "no", "inject #",
        "inject no", "inject number", "inject id", "id", NULL},
    (const char *const[]){"time", "scenario time", "inject time", "offset",
                          "time offset", "exercise time", "delivery time",
                          NULL},
    (const char *const[]){"type", "inject type", "method", "inject method",
                          "delivery method", "kind", "mode", NULL},
    (const char *const[]){"from", "sender", "originator", "injector", "source",
                          NULL},
    (const char *const[]){"to", "recipient", "recipients", "player", "players",
                          "target", "targets", "addressee", "audience", NULL},
    (const char *const[]){"title", "subject", "inject title", "headline", NULL},
    (const char *const[]){"description", "inject description", "details",
                          "message", "text", "content", "body", "inject",
                          "event", "event description", NULL},
    (const char *const[]){"expected action", "expected actions",
                          "expected response", "expected player action",
                          "expected player actions", "expected player response",
                          "expected outcome", "expected", "response", "action",
                          NULL},
    (const char *const[]){"deadline", "within", "respond within",
                          "response deadline", "response time", "due", NULL},
    (const char *const[]){"tlp", NULL},
    (const char *const[]){"severity", NULL},
    (const char *const[]){"after", "depends on", "dependency", "follows",
                          "prerequisite", NULL},
};

static const char *
s_col_label(int col) {
    return s_col_names[col][0];
}

/* Trims ASCII spaces and tabs (and CR, LF) at both ends, in place. */
static char *
s_trim(char *s) {
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    while (*s && strchr(" \t\r\n", *s))
        s++;
    return s;
}

/* "HH:MM", "HH:MM:SS", optionally with a leading '+'; hours up to 720. */
static bool
s_parse_hms(const char *s, uint64_t *out) {
    unsigned v[3] = {0, 0, 0};
    int parts = 0;
    if (*s == '+')
        s++;
    while (parts < 3) {
        int digits = 0;
        unsigned n = 0;
        while (*s >= '0' && *s <= '9') {
            if (++digits > 3)
                return false;
            n = n * 10 + (unsigned)(*s++ - '0');
        }
        if (digits == 0 || (parts > 0 && digits != 2))
            return false;
        v[parts++] = n;
        if (*s != ':')
            break;
        s++;
    }
    if (*s || parts < 2 || v[1] > 59 || v[2] > 59 || v[0] > 720)
        return false;
    *out = (uint64_t)v[0] * 3600 + v[1] * 60 + v[2];
    return *out <= DRILL_MAX_OFFSET_S;
}

/* Deadline units, whole words, case ignored; rank orders them from the
 * largest (1) to the smallest (4). */
static const struct {
    const char *word;
    uint64_t mult;
    int rank;
} s_units[] = {
    {"days", 86400, 1}, {"day", 86400, 1}, {"d", 86400, 1},  {"hours", 3600, 2},
    {"hour", 3600, 2},  {"hrs", 3600, 2},  {"hr", 3600, 2},  {"h", 3600, 2},
    {"minutes", 60, 3}, {"minute", 60, 3}, {"mins", 60, 3},  {"min", 60, 3},
    {"m", 60, 3},       {"seconds", 1, 4}, {"second", 1, 4}, {"secs", 1, 4},
    {"sec", 1, 4},      {"s", 1, 4},
};

/* A letter for word boundaries: ASCII only, so that a no-break space, a
 * dash or a curly quote next to a word still ends it. */
static bool
s_is_letter(char c) {
    return isalpha((unsigned char)c);
}

/* Past spaces, tabs and no-break spaces (U+00A0, common in spreadsheet
 * exports). */
static const char *
s_skip_blank(const char *p) {
    for (;;) {
        if (*p == ' ' || *p == '\t')
            p++;
        else if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
            p += 2;
        else
            return p;
    }
}

/* The unit word at q: its length, multiplier and rank; 0 when there is
 * none (a unit must not run on into a letter: "2 months" is no unit). */
static size_t
s_unit_at(const char *q, uint64_t *mult, int *rank) {
    for (size_t k = 0; k < sizeof s_units / sizeof s_units[0]; k++) {
        size_t w = strlen(s_units[k].word);
        if (strncasecmp(q, s_units[k].word, w) == 0 && !s_is_letter(q[w])) {
            *mult = s_units[k].mult;
            *rank = s_units[k].rank;
            return w;
        }
    }
    return 0;
}

/* Past a number at q ("90", "1.5", ".5"); q itself when there is none. */
static const char *
s_skip_number(const char *q) {
    const char *p = q;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.' && isdigit((unsigned char)p[1]))
        for (p++; isdigit((unsigned char)*p);)
            p++;
    return p;
}

/* Writes "'FRAG' REASON" to why, the fragment quoted for an error. */
static void
s_dl_why(char *why, size_t whylen, const char *frag, const char *end,
         const char *reason) {
    char tmp[48], q[56];
    size_t n = (size_t)(end - frag);
    if (n > sizeof tmp - 1)
        n = sizeof tmp - 1;
    memcpy(tmp, frag, n);
    tmp[n] = '\0';
    s_quote(q, tmp);
    snprintf(why, whylen, "'%s' %s", q, reason);
}

#define S_DL_ZERO "the deadline is 0 or over 30 days"
#define S_DL_OVER "is over 30 days"

/* Duration groups at p, each a number with a unit ("1h30m", "1h 30m",
 * "1 hour and 30 minutes", "1.5 hours", "90 min"), units from the largest
 * to the smallest. A decimal must come to whole seconds. Returns 1 with
 * *out and *end (past the last group), 0 when the number at p has no
 * unit, -1 with why when the text names a deadline that cannot be read
 * exactly: a decimal comma, a range, units out of order, a comma between
 * groups, a bare number after a group, a fraction of a second, too many
 * digits, over 30 days. */
static int
s_parse_groups(const char *p, const char **end, uint64_t *out, char *why,
               size_t whylen) {
    const char *q = p;
    uint64_t total = 0;
    int last_rank = 0;
    bool any = false;
    for (;;) {
        const char *g = q, *c;
        uint64_t ip = 0, fp = 0, scale = 1, mult = 0;
        int idig = 0, fdig = 0, rank = 0;
        size_t w;
        for (; isdigit((unsigned char)*q); q++) {
            if (++idig > 7) {
                s_dl_why(why, whylen, g, s_skip_number(q), S_DL_OVER);
                return -1;
            }
            ip = ip * 10 + (uint64_t)(*q - '0');
        }
        if (*q == '.' && isdigit((unsigned char)q[1])) {
            for (q++; isdigit((unsigned char)*q); q++) {
                if (++fdig > 9) {
                    s_dl_why(why, whylen, g, s_skip_number(q),
                             "has too many decimals");
                    return -1;
                }
                fp = fp * 10 + (uint64_t)(*q - '0');
                scale *= 10;
            }
        } else if ((*q == ',' || *q == '-') && idig &&
                   isdigit((unsigned char)q[1])) {
            /* "1,5 hours" or "1-2 hours": refused, not read as 5 or 2 */
            c = s_skip_blank(s_skip_number(q + 1));
            if ((w = s_unit_at(c, &mult, &rank))) {
                s_dl_why(why, whylen, g, c + w,
                         *q == ',' ? "has a decimal comma (write 1.5 hours)"
                                   : "is a range (give one deadline)");
                return -1;
            }
            if (!any)
                return 0;
            q = g;
            break;
        }
        c = s_skip_blank(q);
        if (!(w = s_unit_at(c, &mult, &rank))) {
            if (!any)
                return 0;
            if (!s_is_letter(*c)) {
                s_dl_why(why, whylen, p, q,
                         "ends with a number without a unit");
                return -1;
            }
            q = g; /* "2h 3 teams": the 3 is not part of the deadline */
            break;
        }
        if (rank <= last_rank) {
            s_dl_why(why, whylen, p, c + w,
                     "does not go from the largest unit to the smallest, "
                     "each once");
            return -1;
        }
        if (fp * mult % scale) {
            s_dl_why(why, whylen, g, c + w, "is not a whole number of seconds");
            return -1;
        }
        total += ip * mult + fp * mult / scale;
        if (total > DRILL_MAX_OFFSET_S) {
            s_dl_why(why, whylen, p, c + w, S_DL_OVER);
            return -1;
        }
        last_rank = rank;
        any = true;
        q = c + w;
        /* The next group: after blanks or nothing, or after "and". A comma
         * between groups is refused: "1 hour, 30 minutes" could be one
         * deadline or two. */
        c = s_skip_blank(q);
        if (isdigit((unsigned char)*c)) {
            q = c;
            continue;
        }
        {
            const char *a = c, *b;
            bool comma = *a == ',';
            if (comma)
                a++;
            else if (c > q && strncasecmp(a, "and", 3) == 0 &&
                     !s_is_letter(a[3]))
                a += 3;
            else
                break;
            a = s_skip_blank(a);
            if (!isdigit((unsigned char)*a))
                break;
            b = s_skip_blank(s_skip_number(a));
            if (!(w = s_unit_at(b, &mult, &rank)))
                break;
            if (comma) {
                s_dl_why(why, whylen, p, b + w,
                         "has a comma between units (write 1 hour 30 "
                         "minutes)");
                return -1;
            }
            q = a;
        }
    }
    *end = q;
    *out = total;
    return 1;
}

/* An ISO 8601 duration token at p ("PT30M", "pt1h30m", "P1D"; trailing
 * punctuation dropped) into tok. Returns its length in text. */
static size_t
s_iso_token(const char *p, char tok[32]) {
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && n < 31)
        tok[n] = (char)toupper((unsigned char)p[n]), n++;
    while (n && !isalnum((unsigned char)tok[n - 1]))
        n--;
    tok[n] = '\0';
    return n;
}

/* The first deadline in free text: duration groups as s_parse_groups
 * reads them ("within 30 min", "2h", "1h30m", "1.5 hours") or an ISO 8601
 * duration ("PT30M"). Returns 1 and *s when found, 0 when the text names
 * no deadline, -1 with why when it names one that cannot be read exactly,
 * is 0 or over 30 days, or follows "within" without a unit
 * ("within 01:30", "within 2 weeks"). */
static int
s_find_deadline(const char *text, uint64_t *s, char *why, size_t whylen) {
    for (const char *p = text; *p; p++) {
        const char *end;
        int rc;
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == ':'))
            continue;
        /* "1.5", "1,5", "1-2", ".5": read from where the number starts */
        if (isdigit((unsigned char)*p) && p > text &&
            (p[-1] == '.' || ((p[-1] == ',' || p[-1] == '-') && p - 1 > text &&
                              isdigit((unsigned char)p[-2]))))
            continue;
        if (strncasecmp(p, "within", 6) == 0 && !s_is_letter(p[6])) {
            const char *c = s_skip_blank(p + 6), *e, *f;
            if (!isdigit((unsigned char)*c) &&
                !(*c == '.' && isdigit((unsigned char)c[1])))
                continue; /* "within PT30M" is read at the P */
            rc = s_parse_groups(c, &end, s, why, whylen);
            if (rc == 0) {
                /* the fragment: "within 01:30", "within 2 weeks" */
                e = c + strcspn(c, " \t,;)");
                for (f = s_skip_blank(e); s_is_letter(*f);)
                    f++;
                s_dl_why(why, whylen, p, s_is_letter(f[-1]) ? f : e,
                         "is not a deadline with a unit (30m, 1h30m, 1.5 "
                         "hours, PT30M)");
                return -1;
            }
            if (rc > 0 && *s == 0) {
                snprintf(why, whylen, S_DL_ZERO);
                return -1;
            }
            return rc;
        }
        if (*p == 'P' || *p == 'p') {
            char tok[32];
            size_t n = s_iso_token(p, tok);
            /* "PT" and a digit is meant as a duration; "P1" or "P2P" in
             * prose counts only when it reads as one. */
            bool meant =
                n > 2 && tok[1] == 'T' && isdigit((unsigned char)tok[2]);
            if (n < 2 || (!meant && !isdigit((unsigned char)tok[1])))
                continue;
            if (drill_duration_parse(tok, s) != 0) {
                if (!meant)
                    continue;
                s_dl_why(why, whylen, p, p + n,
                         "is not an ISO 8601 duration of whole units such "
                         "as PT30M or PT1H30M, at most 30 days");
                return -1;
            }
            if (*s == 0) {
                snprintf(why, whylen, S_DL_ZERO);
                return -1;
            }
            return 1;
        }
        if (!isdigit((unsigned char)*p) &&
            !(*p == '.' && isdigit((unsigned char)p[1])))
            continue;
        rc = s_parse_groups(p, &end, s, why, whylen);
        if (rc > 0 && *s == 0) {
            snprintf(why, whylen, S_DL_ZERO);
            return -1;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The deadline column: the whole cell, after an optional "within", is one
 * deadline: a bare number of minutes ("90"), HH:MM[:SS], an ISO 8601
 * duration ("PT30M") or duration groups ("1h 30m", "1.5 hours"). Returns
 * 0 and *s, or -1 with why. */
static int
s_parse_within(const char *v, uint64_t *s, char *why, size_t whylen) {
    const char *p = v, *end = NULL;
    uint64_t w = 0;
    bool ok = false;
    char q[56];
    if (strncasecmp(p, "within", 6) == 0 && !s_is_letter(p[6]))
        p = s_skip_blank(p + 6);
    if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 6) {
        w = strtoull(p, NULL, 10) * 60; /* minutes */
        ok = true;
    } else if (s_parse_hms(p, &w)) {
        ok = true;
    } else if (*p == 'P' || *p == 'p') {
        char tok[32];
        ok = s_iso_token(p, tok) == strlen(p) &&
             drill_duration_parse(tok, &w) == 0;
    } else if (isdigit((unsigned char)*p) ||
               (*p == '.' && isdigit((unsigned char)p[1]))) {
        int rc = s_parse_groups(p, &end, &w, why, whylen);
        if (rc < 0)
            return -1;
        ok = rc > 0 && *end == '\0';
    }
    if (ok && w > 0 && w <= DRILL_MAX_OFFSET_S) {
        *s = w;
        return 0;
    }
    s_quote(q, v);
    snprintf(why, whylen,
             "'%s' is not a deadline such as 30m, 1h 30m, 1.5 hours, 00:30, "
             "PT30M or 90 (minutes), over 0 and at most 30 days",
             q);
    return -1;
}

/* True when the word at p, case ignored, starts with kw; with whole, when
 * it is kw. The caller knows that p starts a word. */
static bool
s_word_starts(const char *p, const char *kw, bool whole) {
    size_t n = strlen(kw);
    return strncasecmp(p, kw, n) == 0 && !(whole && s_is_letter(p[n]));
}

/* The expected status an "expected action" asks for: the most advanced
 * status any keyword names at the start of a word, acknowledged when none
 * does. */
static payload_ack_status_t
s_expect_from_text(const char *text) {
    static const struct {
        const char *kw;
        bool whole;
        payload_ack_status_t st;
    } kws[] = {
        {"resolv", false, PAYLOAD_ACK_RESOLVED},
        {"close", false, PAYLOAD_ACK_RESOLVED},
        {"remediat", false, PAYLOAD_ACK_RESOLVED},
        {"in progress", false, PAYLOAD_ACK_IN_PROGRESS},
        {"in-progress", false, PAYLOAD_ACK_IN_PROGRESS},
        {"investigat", false, PAYLOAD_ACK_IN_PROGRESS},
        {"triage", false, PAYLOAD_ACK_IN_PROGRESS},
        {"analyse", false, PAYLOAD_ACK_IN_PROGRESS},
        {"analysi", false, PAYLOAD_ACK_IN_PROGRESS},
        {"analyz", false, PAYLOAD_ACK_IN_PROGRESS},
        {"mitigat", false, PAYLOAD_ACK_IN_PROGRESS},
        {"coordinat", false, PAYLOAD_ACK_IN_PROGRESS},
        {"status update", false, PAYLOAD_ACK_IN_PROGRESS},
        {"acknowledg", false, PAYLOAD_ACK_ACKNOWLEDGED},
        {"ack", true, PAYLOAD_ACK_ACKNOWLEDGED},
        {"reply", false, PAYLOAD_ACK_ACKNOWLEDGED},
        {"respond", false, PAYLOAD_ACK_ACKNOWLEDGED},
        {"answer", false, PAYLOAD_ACK_ACKNOWLEDGED},
        {"confirm", false, PAYLOAD_ACK_RECEIVED},
        {"receipt", false, PAYLOAD_ACK_RECEIVED},
        {"receive", false, PAYLOAD_ACK_RECEIVED},
        {"read", true, PAYLOAD_ACK_RECEIVED},
    };
    /* Words that start with a keyword but name a person, a thing or a
     * manner, not what the team is to do ("analyst" starts with none). */
    static const char *const not_kw[] = {
        "closely",      "closer",   "closest",   "coordinator",
        "investigator", "resolver", "responder", "receiver",
    };
    payload_ack_status_t best = PAYLOAD_ACK_NONE;
    for (const char *p = text; *p; p++) {
        bool skip = false;
        if (p > text && isalnum((unsigned char)p[-1]))
            continue;
        for (size_t i = 0; i < sizeof not_kw / sizeof not_kw[0]; i++)
            skip |= s_word_starts(p, not_kw[i], false);
        if (skip)
            continue;
        for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
            if (kws[i].st > best && s_word_starts(p, kws[i].kw, kws[i].whole))
                best = kws[i].st;
    }
    return best ? best : PAYLOAD_ACK_ACKNOWLEDGED;
}

/* The inject type column: what each spreadsheet word becomes. */
static drill_kind_t
s_kind_from_type(const char *norm) {
    static const char *const notice[] = {"",
                                         "notice",
                                         "incident",
                                         "incident notice",
                                         "notification",
                                         "report",
                                         "advisory",
                                         "message",
                                         "msg",
                                         "info",
                                         "information",
                                         "relay",
                                         "renraku",
                                         NULL};
    static const char *const alert[] = {"alert",   "urgent", "flash",
                                        "warning", "alarm",  NULL};
    static const char *const check[] = {"comm check",
                                        "comms check",
                                        "communication check",
                                        "communications check",
                                        "ping",
                                        "ping test",
                                        "email",
                                        "e mail",
                                        "mail",
                                        "phone",
                                        "phone call",
                                        "call",
                                        "telephone",
                                        "sms",
                                        "text message",
                                        "fax",
                                        "radio",
                                        NULL};
    for (size_t i = 0; notice[i]; i++)
        if (strcmp(norm, notice[i]) == 0)
            return DRILL_KIND_NOTICE;
    for (size_t i = 0; alert[i]; i++)
        if (strcmp(norm, alert[i]) == 0)
            return DRILL_KIND_ALERT;
    for (size_t i = 0; check[i]; i++)
        if (strcmp(norm, check[i]) == 0)
            return DRILL_KIND_COMM_CHECK;
    return (drill_kind_t)0;
}

/* Exercise id from a file name: "Cyber Storm 2026.csv" ->
 * "cyber-storm-2026". */
static void
s_id_from_file(char *out, size_t cap, const char *base) {
    size_t o = 0;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    for (size_t i = 0; i < n && o + 1 < cap && o < ENVELOPE_DRILL_ID_MAX; i++) {
        char c = (char)tolower((unsigned char)base[i]);
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            c = '-';
        if (o == 0 && !isalnum((unsigned char)c))
            continue;
        if (c == '-' && o && out[o - 1] == '-')
            continue;
        out[o++] = c;
    }
    while (o && !isalnum((unsigned char)out[o - 1]))
        o--;
    out[o] = '\0';
    if (!o)
        snprintf(out, cap, "exercise");
}

/* A cell, trimmed; "" when the row is short or the column absent. */
static char *
s_cell(const s_row_t *r, const int *cols, int col) {
    if (cols[col] < 0 || (size_t)cols[col] >= r->n)
        return "";
    return s_trim(r->cells[cols[col]]);
}

/* Checks one text cell: valid UTF-8, no control characters (free text
 * admits tab, CR, LF), at most max bytes. */
static bool
s_check_cell(s_msel_t *m, size_t line, int col, const char *v, size_t max,
             bool multiline) {
    if (!rk_utf8_valid(v, strlen(v))) {
        s_merr(m, line, s_col_label(col), "not valid UTF-8");
        return false;
    }
    if (s_has_control(v, multiline)) {
        s_merr(m, line, s_col_label(col), "contains a control character");
        return false;
    }
    if (strlen(v) > max) {
        s_merr(m, line, s_col_label(col), "longer than %zu bytes", max);
        return false;
    }
    return true;
}

/* A title from the first line of a description, cut at a UTF-8 boundary. */
static char *
s_title_from(const char *desc) {
    size_t n = strcspn(desc, "\r\n");
    char *t;
    if (n > S_MSEL_TITLE_CUT) {
        n = S_MSEL_TITLE_CUT;
        while (n && ((unsigned char)desc[n] & 0xc0) == 0x80)
            n--;
    }
    if (!(t = malloc(n + 4)))
        return NULL;
    memcpy(t, desc, n);
    strcpy(t + n, n < strcspn(desc, "\r\n") ? "..." : "");
    return t;
}

/* Adds one participant id to the scenario's list unless present. */
static int
s_add_participant(json_t *parts, const char *id) {
    size_t i;
    json_t *v;
    json_array_foreach(parts, i, v) {
        if (strcmp(json_string_value(v), id) == 0)
            return RK_OK;
    }
    return json_array_append_new(parts, json_string(id)) ? RK_ERR_NOMEM : RK_OK;
}

/* One data row into an inject object appended to injects. Problems go to
 * m; the row is skipped then. */
static int
s_msel_row(s_msel_t *m, const s_row_t *r, const int *cols, size_t n_header,
           const char *exercise, uint64_t default_within, json_t *injects,
           json_t *parts, const size_t *lines) {
    size_t line = r->line, before = m->n_errors + m->n_more;
    char q[56], norm[64], dur[32];
    char *seq, *tm, *type, *from, *to, *title, *desc, *expect, *within, *tlp,
        *sev, *after;
    char *own_title = NULL;
    uint64_t at = 0, within_s = default_within;
    drill_kind_t kind = DRILL_KIND_NOTICE;
    payload_ack_status_t status;
    payload_tlp_t tlp_v = PAYLOAD_TLP_GREEN;
    payload_severity_t sev_v = PAYLOAD_SEVERITY_NONE;
    json_t *o = NULL, *to_arr = NULL, *ex = NULL;
    size_t prefix = strlen(exercise) + 12;
    int rc = RK_OK;

    for (size_t k = n_header; k < r->n; k++)
        if (*s_trim(r->cells[k])) {
            s_merr(m, line, NULL,
                   "%zu fields, but the header has %zu columns (a comma "
                   "inside a field needs quotes)",
                   r->n, n_header);
            return RK_OK;
        }
    seq = s_cell(r, cols, S_COL_SEQ);
    tm = s_cell(r, cols, S_COL_TIME);
    type = s_cell(r, cols, S_COL_TYPE);
    from = s_cell(r, cols, S_COL_FROM);
    to = s_cell(r, cols, S_COL_TO);
    title = s_cell(r, cols, S_COL_TITLE);
    desc = s_cell(r, cols, S_COL_DESC);
    expect = s_cell(r, cols, S_COL_EXPECT);
    within = s_cell(r, cols, S_COL_WITHIN);
    tlp = s_cell(r, cols, S_COL_TLP);
    sev = s_cell(r, cols, S_COL_SEVERITY);
    after = s_cell(r, cols, S_COL_AFTER);

    /* sequence */
    s_quote(q, seq);
    if (!*seq)
        s_merr(m, line, "sequence", "empty (every inject needs a number)");
    else if (!s_inject_id_valid(seq))
        s_merr(m, line, "sequence",
               "'%s' is not an inject id (1 to %d of A-Z, a-z, 0-9, '.', "
               "'_', '-')",
               q, DRILL_INJECT_ID_MAX);
    else {
        size_t i;
        json_t *v;
        json_array_foreach(injects, i, v) {
            if (strcmp(json_string_value(json_object_get(v, "id")), seq) == 0) {
                s_merr(m, line, "sequence", "'%s' repeats line %zu", q,
                       lines[i]);
                break;
            }
        }
    }
    /* time */
    s_quote(q, tm);
    if (!*tm)
        s_merr(m, line, "time", "empty (HH:MM from the start)");
    else if (!s_parse_hms(tm, &at))
        s_merr(m, line, "time",
               "'%s' is not HH:MM, HH:MM:SS or +HH:MM (from the start, at "
               "most 720:00)",
               q);
    /* type */
    s_norm(norm, sizeof norm, type);
    s_quote(q, type);
    if (!(kind = s_kind_from_type(norm)))
        s_merr(m, line, "type",
               "'%s' is not a known inject type (notice, alert, "
               "comm-check, email, phone; see docs/DRILLS.md)",
               q);
    /* from */
    if (*from)
        s_check_cell(m, line, S_COL_FROM, from, DRILL_FROM_MAX, false);
    /* to */
    if (!(to_arr = json_array()) || !(o = json_object()) ||
        !(ex = json_object())) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    if (!*to)
        s_merr(m, line, "to", "empty (node ids or groups, separated by ';')");
    else {
        char *save = NULL, *tok;
        for (tok = strtok_r(to, "; ,\t\r\n", &save); tok;
             tok = strtok_r(NULL, "; ,\t\r\n", &save)) {
            size_t i;
            json_t *v;
            bool dup = false;
            s_quote(q, tok);
            if (!envelope_node_id_valid(tok)) {
                s_merr(m, line, "to",
                       "'%s' is not a node id or group (a-z, 0-9, '.', '_', "
                       "'-')",
                       q);
                continue;
            }
            json_array_foreach(to_arr, i, v) dup |=
                strcmp(json_string_value(v), tok) == 0;
            if (dup) {
                s_merr(m, line, "to", "'%s' is named twice", q);
                continue;
            }
            if (json_array_size(to_arr) >= DRILL_MAX_PARTICIPANTS) {
                s_merr(m, line, "to", "more than %d recipients",
                       DRILL_MAX_PARTICIPANTS);
                break;
            }
            if (json_array_append_new(to_arr, json_string(tok))) {
                rc = RK_ERR_NOMEM;
                goto cleanup;
            }
        }
    }
    /* title and description */
    if (*title)
        s_check_cell(m, line, S_COL_TITLE, title, PAYLOAD_TITLE_MAX - prefix,
                     false);
    if (*desc)
        s_check_cell(m, line, S_COL_DESC, desc, PAYLOAD_TEXT_MAX - prefix,
                     true);
    else if (!*title)
        s_merr(m, line, "description", "empty (what the inject says)");
    if (!*title && *desc && rk_utf8_valid(desc, strlen(desc))) {
        if (!(own_title = s_title_from(desc))) {
            rc = RK_ERR_NOMEM;
            goto cleanup;
        }
        s_check_cell(m, line, S_COL_DESC, own_title, PAYLOAD_TITLE_MAX - prefix,
                     false);
    }
    /* expected action and deadline */
    status = PAYLOAD_ACK_ACKNOWLEDGED;
    if (*expect &&
        s_check_cell(m, line, S_COL_EXPECT, expect, PAYLOAD_NOTE_MAX, true)) {
        uint64_t w = 0;
        char why[160];
        int f = s_find_deadline(expect, &w, why, sizeof why);
        status = s_expect_from_text(expect);
        if (f < 0)
            s_merr(m, line, "expected action", "%s", why);
        else if (f > 0)
            within_s = w;
    }
    if (*within) {
        uint64_t w = 0;
        char why[200];
        if (s_parse_within(within, &w, why, sizeof why) < 0)
            s_merr(m, line, "deadline", "%s", why);
        else
            within_s = w;
    }
    /* tlp, severity */
    s_quote(q, tlp);
    if (*tlp && !(tlp_v = payload_tlp_from_name(
                      strncasecmp(tlp, "TLP:", 4) == 0 ? tlp + 4 : tlp)))
        s_merr(m, line, "tlp",
               "'%s' is not CLEAR, GREEN, AMBER, AMBER+STRICT or RED", q);
    s_quote(q, sev);
    if (*sev && !(sev_v = payload_severity_from_name(sev)))
        s_merr(m, line, "severity",
               "'%s' is not info, low, medium, high or critical", q);
    if (!sev_v && kind == DRILL_KIND_ALERT)
        sev_v = PAYLOAD_SEVERITY_HIGH;
    /* after: an earlier row's sequence */
    if (*after) {
        size_t i;
        json_t *v;
        bool found = false;
        json_array_foreach(injects, i, v) found |=
            strcmp(json_string_value(json_object_get(v, "id")), after) == 0;
        s_quote(q, after);
        if (!found)
            s_merr(m, line, "after",
                   "'%s' is not the sequence of an earlier row", q);
    }

    if (m->n_errors + m->n_more != before)
        goto cleanup; /* the row has problems: reported, not added */
    {
        size_t i;
        json_t *v;
        json_array_foreach(to_arr, i, v) {
            if ((rc = s_add_participant(parts, json_string_value(v))) != RK_OK)
                goto cleanup;
        }
    }
    drill_duration_format(dur, sizeof dur, at);
    json_object_set_new(o, "id", json_string(seq));
    json_object_set_new(o, "at", json_string(dur));
    if (*after)
        json_object_set_new(o, "after", json_string(after));
    json_object_set(o, "to", to_arr);
    json_object_set_new(o, "kind", json_string(drill_kind_name(kind)));
    if (*from)
        json_object_set_new(o, "from", json_string(from));
    json_object_set_new(o, "title", json_string(*title ? title : own_title));
    if (*desc)
        json_object_set_new(o, "text", json_string(desc));
    json_object_set_new(o, "tlp", json_string(payload_tlp_name(tlp_v)));
    if (sev_v)
        json_object_set_new(o, "severity",
                            json_string(payload_severity_name(sev_v)));
    json_object_set_new(ex, "status",
                        json_string(payload_ack_status_name(status)));
    drill_duration_format(dur, sizeof dur, within_s);
    json_object_set_new(ex, "within", json_string(dur));
    json_object_set(o, "expect", ex);
    if (json_array_append(injects, o))
        rc = RK_ERR_NOMEM;
cleanup:
    free(own_title);
    json_decref(to_arr);
    json_decref(ex);
    json_decref(o);
    return rc;
}

int
drill_msel_import(const char *csv, size_t len, const char *filename,
                  drill_scenario_t **out, char *err, size_t errlen) {
    return drill_msel_import_ex(csv, len, filename, NULL, out, err, errlen);
}

int
drill_msel_import_ex(const char *csv, size_t len, const char *filename,
                     const drill_msel_opts_t *opts, drill_scenario_t **out,
                     char *err, size_t errlen) {
    s_msel_t m = {filename ? filename : "msel.csv", err, errlen, 0, 0, 0};
    s_row_t *rows = NULL;
    size_t n_rows = 0, h, *lines = NULL;
    int cols[S_N_COLS];
    char exercise[ENVELOPE_DRILL_ID_MAX + 1], name[256], q[56];
    json_t *sc_json = NULL, *injects = NULL, *parts = NULL;
    uint64_t within = opts && opts->default_within_s
                          ? opts->default_within_s
                          : DRILL_MSEL_DEFAULT_WITHIN_S;
    const char *base;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (len > DRILL_MAX_FILE_BYTES) {
        s_merr(&m, 0, NULL, "larger than %u bytes", DRILL_MAX_FILE_BYTES);
        return RK_ERR_TOO_LARGE;
    }
    base = strrchr(m.file, '/') ? strrchr(m.file, '/') + 1 : m.file;
    if (opts && opts->exercise)
        snprintf(exercise, sizeof exercise, "%s", opts->exercise);
    else
        s_id_from_file(exercise, sizeof exercise, base);
    if (opts && opts->name)
        snprintf(name, sizeof name, "%s", opts->name);
    else {
        const char *dot = strrchr(base, '.');
        int n = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
        snprintf(name, sizeof name, "%.*s", n, base);
    }
    if (!rk_utf8_valid(name, strlen(name)) || s_has_control(name, false) ||
        !*name)
        snprintf(name, sizeof name, "%s", exercise);

    if ((rc = s_csv_split(&m, csv, len, &rows, &n_rows)) != RK_OK) {
        if (rc == RK_ERR_NOMEM)
            s_merr(&m, 0, NULL, "out of memory");
        goto cleanup;
    }
    /* The header: the first row with any text. */
    for (h = 0; h < n_rows; h++) {
        bool blank = true;
        for (size_t k = 0; k < rows[h].n && blank; k++)
            blank = !*s_trim(rows[h].cells[k]);
        if (!blank)
            break;
    }
    if (h == n_rows) {
        s_merr(&m, 0, NULL, "empty (no header row)");
        rc = RK_ERR_MALFORMED;
        goto cleanup;
    }
    for (int c = 0; c < S_N_COLS; c++)
        cols[c] = -1;
    for (size_t k = 0; k < rows[h].n; k++) {
        char norm[96];
        s_norm(norm, sizeof norm, rows[h].cells[k]);
        for (int c = 0; c < S_N_COLS; c++)
            for (size_t w = 0; s_col_names[c][w]; w++)
                if (strcmp(norm, s_col_names[c][w]) == 0) {
                    if (cols[c] >= 0) {
                        s_quote(q, rows[h].cells[k]);
                        s_merr(&m, rows[h].line, "header",
                               "columns %d and %zu ('%s') are both the %s "
                               "column",
                               cols[c] + 1, k + 1, q, s_col_label(c));
                    } else
                        cols[c] = (int)k;
                }
    }
    {
        static const int required[] = {S_COL_SEQ, S_COL_TIME, S_COL_TO};
        for (size_t r = 0; r < 3; r++)
            if (cols[required[r]] < 0) {
                const char *const *names = s_col_names[required[r]];
                s_merr(&m, rows[h].line, "header",
                       "no %s column (named one of: %s, %s, %s, ...)", names[0],
                       names[0], names[1], names[2]);
            }
        if (cols[S_COL_DESC] < 0 && cols[S_COL_TITLE] < 0)
            s_merr(&m, rows[h].line, "header",
                   "no description column (description, details, message, "
                   "text, ... or title, subject)");
    }
    if (m.n_errors) {
        rc = RK_ERR_MALFORMED;
        goto cleanup;
    }
    if (!(sc_json = json_object()) || !(injects = json_array()) ||
        !(parts = json_array()) ||
        !(lines = calloc(n_rows ? n_rows : 1, sizeof *lines))) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = h + 1; i < n_rows; i++) {
        bool blank = true;
        for (size_t k = 0; k < rows[i].n && blank; k++)
            blank = !*s_trim(rows[i].cells[k]);
        if (blank)
            continue;
        if (json_array_size(injects) >= DRILL_MAX_INJECTS) {
            s_merr(&m, rows[i].line, NULL, "more than %d injects",
                   DRILL_MAX_INJECTS);
            break;
        }
        lines[json_array_size(injects)] = rows[i].line;
        if ((rc = s_msel_row(&m, &rows[i], cols, rows[h].n, exercise, within,
                             injects, parts, lines)) != RK_OK)
            goto cleanup;
    }
    if (!m.n_errors && json_array_size(injects) == 0)
        s_merr(&m, 0, NULL, "no injects (only a header row)");
    if (!m.n_errors && json_array_size(parts) > DRILL_MAX_PARTICIPANTS)
        s_merr(&m, 0, "to", "more than %d participants in all",
               DRILL_MAX_PARTICIPANTS);
    if (m.n_errors) {
        rc = RK_ERR_MALFORMED;
        goto cleanup;
    }
    json_object_set_new(sc_json, "exercise", json_string(exercise));
    json_object_set_new(sc_json, "name", json_string(name));
    json_object_set(sc_json, "participants", parts);
    if (opts && opts->time_scale > 0)
        json_object_set_new(sc_json, "time_scale", json_real(opts->time_scale));
    json_object_set(sc_json, "injects", injects);
    rc = drill_scenario_from_json(sc_json, m.file, out, err, errlen);
cleanup:
    if (m.n_more && err && errlen)
        snprintf(err + m.used, errlen - m.used,
                 "\n%s: %zu more problems not shown", m.file, m.n_more);
    if (rc == RK_OK && m.n_errors)
        rc = RK_ERR_MALFORMED;
    s_rows_free(rows, n_rows);
    free(lines);
    json_decref(sc_json);
    json_decref(injects);
    json_decref(parts);
    return rc;
}
