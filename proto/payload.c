/* payload: the only place that turns renraku.Payload protobufs and their
 * JSON form into plain C structs and back. One set of rules
 * (s_validate_*) guards encode, decode and JSON alike; nothing here
 * decrypts, signs or does I/O. */
#include "payload.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "renraku.pb-c.h"
#include "rk_util.h"

/* ENVELOPE_MAX_PAYLOAD as the error sentences spell it. */
#define S_MAX_PAYLOAD_TEXT "262144"
_Static_assert(ENVELOPE_MAX_PAYLOAD == 262144u, "update S_MAX_PAYLOAD_TEXT");

#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

/* ---- Names ---- */

/* Index i is the name of enum value i; index 0 is never a valid name. */
typedef struct {
    const char *const *names;
    int n;                /* number of entries, index 0 included */
    const char *expected; /* for error text: "CLEAR, GREEN ... or RED" */
} s_enum_t;

static const char *const s_tlp_names[] = {NULL,    "CLEAR",        "GREEN",
                                          "AMBER", "AMBER+STRICT", "RED"};
static const char *const s_severity_names[] = {NULL,     "info", "low",
                                               "medium", "high", "critical"};
static const char *const s_purpose_names[] = {
    NULL, "traceback", "mitigation", "reporting", "watch", "other"};
static const char *const s_status_names[] = {NULL, "new", "in-progress",
                                             "resolved"};
static const char *const s_ack_names[] = {
    NULL, "received", "acknowledged", "in-progress", "resolved", "denied"};
static const char *const s_kind_names[] = {
    NULL, "notice", "ack", "comm_check", "drill_inject", "drill_reply"};

static const s_enum_t s_tlp = {s_tlp_names, 6,
                               "CLEAR, GREEN, AMBER, AMBER+STRICT or RED"};
static const s_enum_t s_severity = {s_severity_names, 6,
                                    "info, low, medium, high or critical"};
static const s_enum_t s_purpose = {
    s_purpose_names, 6, "traceback, mitigation, reporting, watch or other"};
static const s_enum_t s_status = {s_status_names, 4,
                                  "new, in-progress or resolved"};
static const s_enum_t s_ack = {
    s_ack_names, 6, "received, acknowledged, in-progress, resolved or denied"};

static const char *const s_rsit_classes[] = {
    "abusive-content",
    "malicious-code",
    "information-gathering",
    "intrusion-attempts",
    "intrusions",
    "availability",
    "information-content-security",
    "fraud",
    "vulnerable",
    "other",
    "test",
};
#define S_RSIT_N (sizeof s_rsit_classes / sizeof s_rsit_classes[0])
#define S_RSIT_EXPECTED                                                        \
    "abusive-content, malicious-code, information-gathering, "                 \
    "intrusion-attempts, intrusions, availability, "                           \
    "information-content-security, fraud, vulnerable, other or test"

static const char *
s_enum_name(const s_enum_t *e, int v) {
    if (v >= 1 && v < e->n)
        return e->names[v];
    return "unknown";
}

static int
s_enum_from_name(const s_enum_t *e, const char *name) {
    if (!name)
        return 0;
    for (int v = 1; v < e->n; v++)
        if (strcasecmp(name, e->names[v]) == 0)
            return v;
    return 0;
}

const char *
payload_kind_name(payload_kind_t k) {
    if (k >= PAYLOAD_NOTICE && k <= PAYLOAD_DRILL_REPLY)
        return s_kind_names[k];
    return "unknown";
}

const char *
payload_tlp_name(payload_tlp_t v) {
    return s_enum_name(&s_tlp, (int)v);
}

payload_tlp_t
payload_tlp_from_name(const char *name) {
    return (payload_tlp_t)s_enum_from_name(&s_tlp, name);
}

const char *
payload_severity_name(payload_severity_t v) {
    return s_enum_name(&s_severity, (int)v);
}

payload_severity_t
payload_severity_from_name(const char *name) {
    return (payload_severity_t)s_enum_from_name(&s_severity, name);
}

const char *
payload_purpose_name(payload_purpose_t v) {
    return s_enum_name(&s_purpose, (int)v);
}

payload_purpose_t
payload_purpose_from_name(const char *name) {
    return (payload_purpose_t)s_enum_from_name(&s_purpose, name);
}

const char *
payload_status_name(payload_status_t v) {
    return s_enum_name(&s_status, (int)v);
}

payload_status_t
payload_status_from_name(const char *name) {
    return (payload_status_t)s_enum_from_name(&s_status, name);
}

const char *
payload_ack_status_name(payload_ack_status_t v) {
    return s_enum_name(&s_ack, (int)v);
}

payload_ack_status_t
payload_ack_status_from_name(const char *name) {
    return (payload_ack_status_t)s_enum_from_name(&s_ack, name);
}

const char *
payload_rsit_class(size_t i) {
    return i < S_RSIT_N ? s_rsit_classes[i] : NULL;
}

const char *
payload_rsit_class_from_name(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < S_RSIT_N; i++)
        if (strcasecmp(name, s_rsit_classes[i]) == 0)
            return s_rsit_classes[i];
    return NULL;
}

static bool
s_rsit_exact(const char *name) {
    for (size_t i = 0; i < S_RSIT_N; i++)
        if (strcmp(name, s_rsit_classes[i]) == 0)
            return true;
    return false;
}

bool
payload_kind_matches(const payload_t *p, envelope_kind_t k) {
    if (!p)
        return false;
    switch (k) {
    case ENVELOPE_KIND_NOTICE:
    case ENVELOPE_KIND_ALERT:
        return p->kind == PAYLOAD_NOTICE;
    case ENVELOPE_KIND_ACK:
    case ENVELOPE_KIND_STATUS_UPDATE:
        return p->kind == PAYLOAD_ACK;
    case ENVELOPE_KIND_COMM_CHECK:
        return p->kind == PAYLOAD_COMM_CHECK;
    case ENVELOPE_KIND_DRILL_INJECT:
        return p->kind == PAYLOAD_DRILL_INJECT;
    case ENVELOPE_KIND_DRILL_REPLY:
        return p->kind == PAYLOAD_DRILL_REPLY;
    }
    return false;
}

/* ---- Memory: a chain of blocks freed together ---- */

typedef union s_blk {
    union s_blk *next;
    max_align_t align_; /* so the bytes after a header are aligned */
} s_blk_t;

static void *
s_alloc(s_blk_t **arena, size_t n, size_t size) {
    s_blk_t *b;
    if (size && n > (SIZE_MAX - sizeof *b) / size)
        return NULL;
    b = calloc(1, sizeof *b + n * size);
    if (!b)
        return NULL;
    b->next = *arena;
    *arena = b;
    return b + 1;
}

static void
s_arena_free(s_blk_t **arena) {
    while (*arena) {
        s_blk_t *next = (*arena)->next;
        free(*arena);
        *arena = next;
    }
}

static char *
s_strndup(s_blk_t **arena, const char *s, size_t len) {
    char *d = s_alloc(arena, len + 1, 1);
    if (d)
        memcpy(d, s, len);
    return d;
}

/* What payload_decode and payload_from_json hand out: the public struct
 * first, so payload_t * and s_owned_t * convert. */
typedef struct {
    payload_t pub;
    Renraku__Payload *pb; /* decode: owns the strings pub points to */
    s_blk_t *arena;       /* arrays, and strings copied from JSON */
} s_owned_t;

void
payload_destroy(payload_t **self_p) {
    s_owned_t *self;
    if (!self_p || !*self_p)
        return;
    self = (s_owned_t *)*self_p;
    if (self->pb)
        renraku__payload__free_unpacked(self->pb, NULL);
    s_arena_free(&self->arena);
    free(self);
    *self_p = NULL;
}

/* ---- Text rules ---- */

typedef enum {
    S_TEXT_OK,
    S_TEXT_MISSING,
    S_TEXT_EMPTY,
    S_TEXT_TOO_LONG,
    S_TEXT_BAD_UTF8,
    S_TEXT_CONTROL,
} s_text_t;

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF) of
 * at most max bytes, with no C0, DEL or C1 control character except tab,
 * CR and LF when multiline. */
static s_text_t
s_check_text(const char *str, size_t max, bool multiline, bool required) {
    const unsigned char *s = (const unsigned char *)str;
    size_t len, i = 0;

    if (!s)
        return required ? S_TEXT_MISSING : S_TEXT_OK;
    len = strlen(str);
    if (len == 0)
        return S_TEXT_EMPTY;
    if (len > max)
        return S_TEXT_TOO_LONG;
    while (i < len) {
        uint32_t cp;
        size_t n = rk_utf8_next(s + i, len - i, &cp);
        if (!n)
            return S_TEXT_BAD_UTF8;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            bool ws = cp == '\t' || cp == '\n' || cp == '\r';
            if (!(multiline && ws))
                return S_TEXT_CONTROL;
        }
        i += n;
    }
    return S_TEXT_OK;
}

/* One string field: its limits and a static sentence per problem. */
typedef struct {
    size_t max;
    bool multiline;
    const char *missing, *empty, *too_long, *bad_utf8, *control;
} s_field_t;

#define S_FIELD(path, max, ml)                                                 \
    {                                                                          \
        (max), (ml), path " is missing", path " is empty",                     \
            path " is longer than " S_XSTR(max) " bytes",                      \
            path " is not valid UTF-8", path " has a control character"        \
    }

static const char *
s_check_field(const s_field_t *f, const char *s, bool required) {
    switch (s_check_text(s, f->max, f->multiline, required)) {
    case S_TEXT_OK:
        return NULL;
    case S_TEXT_MISSING:
        return f->missing;
    case S_TEXT_EMPTY:
        return f->empty;
    case S_TEXT_TOO_LONG:
        return f->too_long;
    case S_TEXT_BAD_UTF8:
        return f->bad_utf8;
    case S_TEXT_CONTROL:
        return f->control;
    }
    return f->missing;
}

/* A notice's rules under one path prefix: a notice stands alone or sits
 * inside a drill inject, and the sentences say which. */
typedef struct {
    s_field_t incident_id, title, description, category, rsit_type, sector,
        ind_type, ind_value, ind_description, requested_action, contact,
        reference;
    const char *tlp, *purpose, *status, *severity, *category_unknown,
        *category_not_test, *rsit_alone, *sectors_many, *sectors_null,
        *indicators_many, *indicators_null, *references_many, *references_null,
        *detected;
} s_notice_rules_t;

#define S_NOTICE_RULES(P)                                                      \
    {                                                                          \
        S_FIELD(P "incident_id", PAYLOAD_ID_MAX, false),                       \
            S_FIELD(P "title", PAYLOAD_TITLE_MAX, false),                      \
            S_FIELD(P "description", PAYLOAD_TEXT_MAX, true),                  \
            S_FIELD(P "category", PAYLOAD_NAME_MAX, false),                    \
            S_FIELD(P "rsit_type", PAYLOAD_NAME_MAX, false),                   \
            S_FIELD(P "sectors[]", PAYLOAD_NAME_MAX, false),                   \
            S_FIELD(P "indicators[].type", PAYLOAD_NAME_MAX, false),           \
            S_FIELD(P "indicators[].value", PAYLOAD_VALUE_MAX, false),         \
            S_FIELD(P "indicators[].description", PAYLOAD_NOTE_MAX, true),     \
            S_FIELD(P "requested_action", PAYLOAD_NOTE_MAX, true),             \
            S_FIELD(P "contact", PAYLOAD_NOTE_MAX, true),                      \
            S_FIELD(P "references[]", PAYLOAD_VALUE_MAX, false),               \
            P "tlp is missing or not a TLP 2.0 level",                         \
            P "purpose is not a known value", P "status is not a known value", \
            P "severity is not a known value",                                 \
            P "category is not an RSIT class",                                 \
            P "category must be \"test\" in a drill",                          \
            P "rsit_type is set without a category",                           \
            P "sectors has more than " S_XSTR(PAYLOAD_MAX_SECTORS) " entries", \
            P "sectors is NULL but n_sectors is not 0",                        \
            P "indicators has more than " S_XSTR(                              \
                PAYLOAD_MAX_INDICATORS) " entries",                            \
            P "indicators is NULL but n_indicators is not 0",                  \
            P "references has more than " S_XSTR(                              \
                PAYLOAD_MAX_REFERENCES) " entries",                            \
            P "references is NULL but n_references is not 0",                  \
            P "detected_ms is after the year 9999"                             \
    }

static const s_notice_rules_t s_notice_rules = S_NOTICE_RULES("notice.");
static const s_notice_rules_t s_inject_notice_rules =
    S_NOTICE_RULES("drill_inject.notice.");

static const s_field_t s_f_ack_comment =
    S_FIELD("ack.comment", PAYLOAD_NOTE_MAX, true);
static const s_field_t s_f_cc_id =
    S_FIELD("comm_check.check_id", PAYLOAD_ID_MAX, false);
static const s_field_t s_f_cc_text =
    S_FIELD("comm_check.text", PAYLOAD_TEXT_MAX, true);
static const s_field_t s_f_di_drill =
    S_FIELD("drill_inject.drill_id", ENVELOPE_DRILL_ID_MAX, false);
static const s_field_t s_f_di_inject =
    S_FIELD("drill_inject.inject_id", PAYLOAD_ID_MAX, false);
static const s_field_t s_f_di_title =
    S_FIELD("drill_inject.title", PAYLOAD_TITLE_MAX, false);
static const s_field_t s_f_di_text =
    S_FIELD("drill_inject.text", PAYLOAD_TEXT_MAX, true);
static const s_field_t s_f_dr_drill =
    S_FIELD("drill_reply.drill_id", ENVELOPE_DRILL_ID_MAX, false);
static const s_field_t s_f_dr_inject =
    S_FIELD("drill_reply.inject_id", PAYLOAD_ID_MAX, false);
static const s_field_t s_f_dr_text =
    S_FIELD("drill_reply.text", PAYLOAD_TEXT_MAX, true);

#define CHECK(expr)                                                            \
    do {                                                                       \
        const char *why_ = (expr);                                             \
        if (why_)                                                              \
            return why_;                                                       \
    } while (0)

static bool
s_in_range(int v, int lo, int hi) {
    return v >= lo && v <= hi;
}

/* Returns NULL when n is valid, else a static sentence. */
static const char *
s_validate_notice(const payload_notice_t *n, const s_notice_rules_t *r,
                  bool in_drill) {
    CHECK(s_check_field(&r->incident_id, n->incident_id, true));
    CHECK(s_check_field(&r->title, n->title, true));
    CHECK(s_check_field(&r->description, n->description, false));
    if (!s_in_range((int)n->purpose, 0, PAYLOAD_PURPOSE_OTHER))
        return r->purpose;
    if (!s_in_range((int)n->status, 0, PAYLOAD_STATUS_RESOLVED))
        return r->status;
    if (!s_in_range((int)n->tlp, PAYLOAD_TLP_CLEAR, PAYLOAD_TLP_RED))
        return r->tlp;
    if (!s_in_range((int)n->severity, 0, PAYLOAD_SEVERITY_CRITICAL))
        return r->severity;
    CHECK(s_check_field(&r->category, n->category, in_drill));
    if (n->category && !s_rsit_exact(n->category))
        return r->category_unknown;
    if (in_drill && strcmp(n->category, "test") != 0)
        return r->category_not_test;
    CHECK(s_check_field(&r->rsit_type, n->rsit_type, false));
    if (n->rsit_type && !n->category)
        return r->rsit_alone;
    if (n->n_sectors > PAYLOAD_MAX_SECTORS)
        return r->sectors_many;
    if (n->n_sectors && !n->sectors)
        return r->sectors_null;
    for (size_t i = 0; i < n->n_sectors; i++)
        CHECK(s_check_field(&r->sector, n->sectors[i], true));
    if (n->n_indicators > PAYLOAD_MAX_INDICATORS)
        return r->indicators_many;
    if (n->n_indicators && !n->indicators)
        return r->indicators_null;
    for (size_t i = 0; i < n->n_indicators; i++) {
        const payload_indicator_t *ind = &n->indicators[i];
        CHECK(s_check_field(&r->ind_type, ind->type, true));
        CHECK(s_check_field(&r->ind_value, ind->value, true));
        CHECK(s_check_field(&r->ind_description, ind->description, false));
    }
    CHECK(s_check_field(&r->requested_action, n->requested_action, false));
    CHECK(s_check_field(&r->contact, n->contact, false));
    if (n->n_references > PAYLOAD_MAX_REFERENCES)
        return r->references_many;
    if (n->n_references && !n->references)
        return r->references_null;
    for (size_t i = 0; i < n->n_references; i++)
        CHECK(s_check_field(&r->reference, n->references[i], true));
    if (n->detected_ms > PAYLOAD_TIME_MAX_MS)
        return r->detected;
    return NULL;
}

static const char *
s_validate(const payload_t *p) {
    if (!p)
        return "payload is NULL";
    switch (p->kind) {
    case PAYLOAD_NOTICE:
        return s_validate_notice(&p->notice, &s_notice_rules, false);
    case PAYLOAD_ACK: {
        const payload_ack_t *a = &p->ack;
        if (!s_in_range((int)a->status, 1, PAYLOAD_ACK_DENIED))
            return "ack.status is missing or not a known value";
        CHECK(s_check_field(&s_f_ack_comment, a->comment, false));
        if (a->status == PAYLOAD_ACK_DENIED && !a->comment)
            return "ack.comment is required when the status is denied";
        return NULL;
    }
    case PAYLOAD_COMM_CHECK: {
        const payload_comm_check_t *c = &p->comm_check;
        CHECK(s_check_field(&s_f_cc_id, c->check_id, true));
        CHECK(s_check_field(&s_f_cc_text, c->text, false));
        if (c->respond_by_ms > PAYLOAD_TIME_MAX_MS)
            return "comm_check.respond_by_ms is after the year 9999";
        return NULL;
    }
    case PAYLOAD_DRILL_INJECT: {
        const payload_drill_inject_t *d = &p->drill_inject;
        CHECK(s_check_field(&s_f_di_drill, d->drill_id, true));
        if (!envelope_node_id_valid(d->drill_id))
            return "drill_inject.drill_id is not a valid id "
                   "(a-z, 0-9, '.', '_', '-')";
        CHECK(s_check_field(&s_f_di_inject, d->inject_id, true));
        CHECK(s_check_field(&s_f_di_title, d->title, true));
        CHECK(s_check_field(&s_f_di_text, d->text, true));
        if (!strstr(d->text, "EXERCISE"))
            return "drill_inject.text does not contain EXERCISE";
        if (!s_in_range((int)d->expected, 0, PAYLOAD_ACK_DENIED))
            return "drill_inject.expected is not a known value";
        if (d->respond_by_ms > PAYLOAD_TIME_MAX_MS)
            return "drill_inject.respond_by_ms is after the year 9999";
        if (d->notice)
            return s_validate_notice(d->notice, &s_inject_notice_rules, true);
        return NULL;
    }
    case PAYLOAD_DRILL_REPLY: {
        const payload_drill_reply_t *d = &p->drill_reply;
        CHECK(s_check_field(&s_f_dr_drill, d->drill_id, true));
        if (!envelope_node_id_valid(d->drill_id))
            return "drill_reply.drill_id is not a valid id "
                   "(a-z, 0-9, '.', '_', '-')";
        CHECK(s_check_field(&s_f_dr_inject, d->inject_id, true));
        if (!s_in_range((int)d->status, 1, PAYLOAD_ACK_DENIED))
            return "drill_reply.status is missing or not a known value";
        CHECK(s_check_field(&s_f_dr_text, d->text, false));
        return NULL;
    }
    }
    return "payload kind is not a known body";
}

int
payload_validate(const payload_t *p, const char **why) {
    const char *w = s_validate(p);
    if (why)
        *why = w;
    return w ? RK_ERR_INVALID : RK_OK;
}

/* ---- Plain structs to protobuf (borrowing every string) ---- */

static int
s_notice_to_pb(const payload_notice_t *n, Renraku__Notice *pb, s_blk_t **a) {
    Renraku__Indicator *ind = NULL;

    renraku__notice__init(pb);
    pb->incident_id = (char *)n->incident_id;
    pb->title = (char *)n->title;
    pb->description = (char *)n->description;
    pb->has_purpose = n->purpose != 0;
    pb->purpose = (Renraku__Purpose)n->purpose;
    pb->has_status = n->status != 0;
    pb->status = (Renraku__IncidentStatus)n->status;
    pb->tlp = (Renraku__Tlp)n->tlp;
    pb->has_severity = n->severity != 0;
    pb->severity = (Renraku__Severity)n->severity;
    pb->category = (char *)n->category;
    pb->rsit_type = (char *)n->rsit_type;
    pb->n_sectors = n->n_sectors;
    pb->sectors = (char **)n->sectors;
    if (n->n_indicators) {
        ind = s_alloc(a, n->n_indicators, sizeof *ind);
        pb->indicators = s_alloc(a, n->n_indicators, sizeof *pb->indicators);
        if (!ind || !pb->indicators)
            return RK_ERR_NOMEM;
        for (size_t i = 0; i < n->n_indicators; i++) {
            renraku__indicator__init(&ind[i]);
            ind[i].type = (char *)n->indicators[i].type;
            ind[i].value = (char *)n->indicators[i].value;
            ind[i].description = (char *)n->indicators[i].description;
            pb->indicators[i] = &ind[i];
        }
        pb->n_indicators = n->n_indicators;
    }
    pb->requested_action = (char *)n->requested_action;
    pb->contact = (char *)n->contact;
    pb->n_references = n->n_references;
    pb->references = (char **)n->references;
    pb->has_detected_ms = n->detected_ms != 0;
    pb->detected_ms = n->detected_ms;
    return RK_OK;
}

/* Fills pb (and its parts, allocated in the arena) from a valid p. */
static int
s_to_pb(const payload_t *p, Renraku__Payload *pb, s_blk_t **a) {
    renraku__payload__init(pb);
    switch (p->kind) {
    case PAYLOAD_NOTICE: {
        Renraku__Notice *n = s_alloc(a, 1, sizeof *n);
        if (!n)
            return RK_ERR_NOMEM;
        pb->body_case = RENRAKU__PAYLOAD__BODY_NOTICE;
        pb->notice = n;
        return s_notice_to_pb(&p->notice, n, a);
    }
    case PAYLOAD_ACK: {
        Renraku__Ack *m = s_alloc(a, 1, sizeof *m);
        if (!m)
            return RK_ERR_NOMEM;
        renraku__ack__init(m);
        m->ref_msg_id.data = (uint8_t *)p->ack.ref_msg_id;
        m->ref_msg_id.len = ENVELOPE_MSG_ID_LEN;
        m->status = (Renraku__AckStatus)p->ack.status;
        m->comment = (char *)p->ack.comment;
        pb->body_case = RENRAKU__PAYLOAD__BODY_ACK;
        pb->ack = m;
        return RK_OK;
    }
    case PAYLOAD_COMM_CHECK: {
        Renraku__CommCheck *m = s_alloc(a, 1, sizeof *m);
        if (!m)
            return RK_ERR_NOMEM;
        renraku__comm_check__init(m);
        m->check_id = (char *)p->comm_check.check_id;
        m->text = (char *)p->comm_check.text;
        m->has_respond_by_ms = p->comm_check.respond_by_ms != 0;
        m->respond_by_ms = p->comm_check.respond_by_ms;
        pb->body_case = RENRAKU__PAYLOAD__BODY_COMM_CHECK;
        pb->comm_check = m;
        return RK_OK;
    }
    case PAYLOAD_DRILL_INJECT: {
        const payload_drill_inject_t *d = &p->drill_inject;
        Renraku__DrillInject *m = s_alloc(a, 1, sizeof *m);
        if (!m)
            return RK_ERR_NOMEM;
        renraku__drill_inject__init(m);
        m->drill_id = (char *)d->drill_id;
        m->inject_id = (char *)d->inject_id;
        m->title = (char *)d->title;
        m->text = (char *)d->text;
        m->has_expected = d->expected != 0;
        m->expected = (Renraku__AckStatus)d->expected;
        m->has_respond_by_ms = d->respond_by_ms != 0;
        m->respond_by_ms = d->respond_by_ms;
        pb->body_case = RENRAKU__PAYLOAD__BODY_DRILL_INJECT;
        pb->drill_inject = m;
        if (d->notice) {
            m->notice = s_alloc(a, 1, sizeof *m->notice);
            if (!m->notice)
                return RK_ERR_NOMEM;
            return s_notice_to_pb(d->notice, m->notice, a);
        }
        return RK_OK;
    }
    case PAYLOAD_DRILL_REPLY: {
        const payload_drill_reply_t *d = &p->drill_reply;
        Renraku__DrillReply *m = s_alloc(a, 1, sizeof *m);
        if (!m)
            return RK_ERR_NOMEM;
        renraku__drill_reply__init(m);
        m->drill_id = (char *)d->drill_id;
        m->inject_id = (char *)d->inject_id;
        m->ref_msg_id.data = (uint8_t *)d->ref_msg_id;
        m->ref_msg_id.len = ENVELOPE_MSG_ID_LEN;
        m->status = (Renraku__AckStatus)d->status;
        m->text = (char *)d->text;
        pb->body_case = RENRAKU__PAYLOAD__BODY_DRILL_REPLY;
        pb->drill_reply = m;
        return RK_OK;
    }
    }
    return RK_ERR_INVALID;
}

/* Size of a valid p once encoded, without encoding it. */
static int
s_packed_size(const payload_t *p, size_t *size) {
    Renraku__Payload pb;
    s_blk_t *a = NULL;
    int rc = s_to_pb(p, &pb, &a);
    if (rc == RK_OK)
        *size = renraku__payload__get_packed_size(&pb);
    s_arena_free(&a);
    return rc;
}

int
payload_encode(const payload_t *p, uint8_t **out, size_t *len,
               const char **why) {
    Renraku__Payload pb;
    s_blk_t *a = NULL;
    uint8_t *buf = NULL;
    size_t n;
    int rc;

    if (why)
        *why = NULL;
    rc = payload_validate(p, why);
    if (rc != RK_OK)
        return rc;
    rc = s_to_pb(p, &pb, &a);
    if (rc != RK_OK)
        goto cleanup;
    n = renraku__payload__get_packed_size(&pb);
    if (n > ENVELOPE_MAX_PAYLOAD) {
        if (why)
            *why = "payload encodes to more than " S_MAX_PAYLOAD_TEXT " bytes";
        rc = RK_ERR_TOO_LARGE;
        goto cleanup;
    }
    rc = RK_ERR_NOMEM;
    /* One byte more so that an empty encoding still gets a pointer. */
    buf = malloc(n + 1);
    if (!buf)
        goto cleanup;
    renraku__payload__pack(&pb, buf);
    *out = buf;
    *len = n;
    rc = RK_OK;
cleanup:
    if (rc == RK_ERR_NOMEM && why)
        *why = "out of memory";
    s_arena_free(&a);
    return rc;
}

/* ---- Protobuf to plain structs (strings borrowed from the protobuf) ---- */

#define FAIL(code, reason)                                                     \
    do {                                                                       \
        if (why)                                                               \
            *why = (reason);                                                   \
        return (code);                                                         \
    } while (0)

static int
s_notice_from_pb(const Renraku__Notice *pb, payload_notice_t *n, s_blk_t **a,
                 const char *unknown, const char **why) {
    if (pb->base.n_unknown_fields)
        FAIL(RK_ERR_VERSION, unknown);
    n->incident_id = pb->incident_id;
    n->title = pb->title;
    n->description = pb->description;
    n->purpose = pb->has_purpose ? (payload_purpose_t)pb->purpose : 0;
    n->status = pb->has_status ? (payload_status_t)pb->status : 0;
    n->tlp = (payload_tlp_t)pb->tlp;
    n->severity = pb->has_severity ? (payload_severity_t)pb->severity : 0;
    n->category = pb->category;
    n->rsit_type = pb->rsit_type;
    n->sectors = (const char *const *)pb->sectors;
    n->n_sectors = pb->n_sectors;
    if (pb->n_indicators > PAYLOAD_MAX_INDICATORS)
        FAIL(RK_ERR_MALFORMED, "notice has more than " S_XSTR(
                                   PAYLOAD_MAX_INDICATORS) " indicators");
    if (pb->n_indicators) {
        payload_indicator_t *ind = s_alloc(a, pb->n_indicators, sizeof *ind);
        if (!ind)
            FAIL(RK_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < pb->n_indicators; i++) {
            if (pb->indicators[i]->base.n_unknown_fields)
                FAIL(RK_ERR_VERSION,
                     "indicator has fields unknown to version 1");
            ind[i].type = pb->indicators[i]->type;
            ind[i].value = pb->indicators[i]->value;
            ind[i].description = pb->indicators[i]->description;
        }
        n->indicators = ind;
        n->n_indicators = pb->n_indicators;
    }
    n->requested_action = pb->requested_action;
    n->contact = pb->contact;
    n->references = (const char *const *)pb->references;
    n->n_references = pb->n_references;
    n->detected_ms = pb->has_detected_ms ? pb->detected_ms : 0;
    return RK_OK;
}

static int
s_from_pb(const Renraku__Payload *pb, payload_t *p, s_blk_t **a,
          const char **why) {
    if (pb->base.n_unknown_fields)
        FAIL(RK_ERR_VERSION, "payload has fields unknown to version 1");
    switch (pb->body_case) {
    case RENRAKU__PAYLOAD__BODY_NOTICE:
        p->kind = PAYLOAD_NOTICE;
        return s_notice_from_pb(pb->notice, &p->notice, a,
                                "notice has fields unknown to version 1", why);
    case RENRAKU__PAYLOAD__BODY_ACK: {
        const Renraku__Ack *m = pb->ack;
        p->kind = PAYLOAD_ACK;
        if (m->base.n_unknown_fields)
            FAIL(RK_ERR_VERSION, "ack has fields unknown to version 1");
        if (m->ref_msg_id.len != ENVELOPE_MSG_ID_LEN)
            FAIL(RK_ERR_MALFORMED, "ack.ref_msg_id is not 16 bytes");
        memcpy(p->ack.ref_msg_id, m->ref_msg_id.data, ENVELOPE_MSG_ID_LEN);
        p->ack.status = (payload_ack_status_t)m->status;
        p->ack.comment = m->comment;
        return RK_OK;
    }
    case RENRAKU__PAYLOAD__BODY_COMM_CHECK: {
        const Renraku__CommCheck *m = pb->comm_check;
        p->kind = PAYLOAD_COMM_CHECK;
        if (m->base.n_unknown_fields)
            FAIL(RK_ERR_VERSION, "comm_check has fields unknown to version 1");
        p->comm_check.check_id = m->check_id;
        p->comm_check.text = m->text;
        p->comm_check.respond_by_ms =
            m->has_respond_by_ms ? m->respond_by_ms : 0;
        return RK_OK;
    }
    case RENRAKU__PAYLOAD__BODY_DRILL_INJECT: {
        const Renraku__DrillInject *m = pb->drill_inject;
        payload_drill_inject_t *d = &p->drill_inject;
        p->kind = PAYLOAD_DRILL_INJECT;
        if (m->base.n_unknown_fields)
            FAIL(RK_ERR_VERSION,
                 "drill_inject has fields unknown to version 1");
        d->drill_id = m->drill_id;
        d->inject_id = m->inject_id;
        d->title = m->title;
        d->text = m->text;
        d->expected = m->has_expected ? (payload_ack_status_t)m->expected : 0;
        d->respond_by_ms = m->has_respond_by_ms ? m->respond_by_ms : 0;
        if (m->notice) {
            payload_notice_t *n = s_alloc(a, 1, sizeof *n);
            if (!n)
                FAIL(RK_ERR_NOMEM, "out of memory");
            d->notice = n;
            return s_notice_from_pb(
                m->notice, n, a,
                "drill_inject.notice has fields unknown to version 1", why);
        }
        return RK_OK;
    }
    case RENRAKU__PAYLOAD__BODY_DRILL_REPLY: {
        const Renraku__DrillReply *m = pb->drill_reply;
        payload_drill_reply_t *d = &p->drill_reply;
        p->kind = PAYLOAD_DRILL_REPLY;
        if (m->base.n_unknown_fields)
            FAIL(RK_ERR_VERSION, "drill_reply has fields unknown to version 1");
        if (m->ref_msg_id.len != ENVELOPE_MSG_ID_LEN)
            FAIL(RK_ERR_MALFORMED, "drill_reply.ref_msg_id is not 16 bytes");
        d->drill_id = m->drill_id;
        d->inject_id = m->inject_id;
        memcpy(d->ref_msg_id, m->ref_msg_id.data, ENVELOPE_MSG_ID_LEN);
        d->status = (payload_ack_status_t)m->status;
        d->text = m->text;
        return RK_OK;
    }
    default:
        break;
    }
    FAIL(RK_ERR_MALFORMED, "payload has no body");
}

#undef FAIL

/* protobuf-c returns NULL both for bad bytes and for a failed allocation;
 * this allocator tells the two apart. */
static void *
s_pb_alloc(void *data, size_t size) {
    void *p = malloc(size);
    if (!p && size)
        *(bool *)data = true;
    return p;
}

static void
s_pb_free(void *data, void *p) {
    (void)data;
    free(p);
}

int
payload_decode(const uint8_t *buf, size_t len, payload_t **out,
               const char **why) {
    s_owned_t *self = NULL;
    const char *w = NULL;
    bool nomem = false;
    ProtobufCAllocator pba = {s_pb_alloc, s_pb_free, &nomem};
    int rc;

    if (why)
        *why = NULL;
    if (!buf || len == 0) {
        w = "payload is empty";
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    if (len > ENVELOPE_MAX_PAYLOAD) {
        w = "payload larger than " S_MAX_PAYLOAD_TEXT " bytes";
        rc = RK_ERR_TOO_LARGE;
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        w = "out of memory";
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    self->pb = renraku__payload__unpack(&pba, len, buf);
    if (!self->pb && nomem) {
        w = "out of memory";
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    if (!self->pb) {
        w = "payload does not decode as protobuf";
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    rc = s_from_pb(self->pb, &self->pub, &self->arena, &w);
    if (rc != RK_OK)
        goto fail;
    w = s_validate(&self->pub);
    if (w) {
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    /* A field sent twice (merged or overwritten) or a NUL inside a string
     * (cut by the C string) decodes to less than was sent; refuse it so
     * every reader sees exactly what the sender signed off on. */
    if (renraku__payload__get_packed_size(self->pb) != len) {
        w = "payload is not in canonical form (a repeated field or a NUL "
            "inside a string)";
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    *out = &self->pub;
    return RK_OK;
fail:
    if (why)
        *why = w;
    if (self) {
        payload_t *pub = &self->pub;
        payload_destroy(&pub);
    }
    return rc;
}

/* ---- JSON out ---- */

static void
s_jset(json_t *o, const char *key, json_t *v, bool *bad) {
    if (json_object_set_new(o, key, v) != 0)
        *bad = true;
}

static void
s_jset_str(json_t *o, const char *key, const char *s, bool *bad) {
    if (s)
        s_jset(o, key, json_string(s), bad);
}

static void
s_jset_time(json_t *o, const char *key, uint64_t ms, bool *bad) {
    char t[32];
    if (!ms)
        return;
    rk_time_format(t, sizeof t, ms);
    s_jset(o, key, json_string(t), bad);
}

static void
s_jset_id(json_t *o, const char *key, const uint8_t id[ENVELOPE_MSG_ID_LEN],
          bool *bad) {
    char hex[2 * ENVELOPE_MSG_ID_LEN + 1];
    rk_hex(hex, id, ENVELOPE_MSG_ID_LEN);
    s_jset(o, key, json_string(hex), bad);
}

static void
s_jset_list(json_t *o, const char *key, const char *const *v, size_t n,
            bool *bad) {
    json_t *arr;
    if (n == 0)
        return;
    arr = json_array();
    if (!arr) {
        *bad = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, json_string(v[i])) != 0)
            *bad = true;
    s_jset(o, key, arr, bad);
}

static json_t *
s_notice_json(const payload_notice_t *n) {
    json_t *o = json_object();
    bool bad = o == NULL;

    if (bad)
        return NULL;
    s_jset_str(o, "incident_id", n->incident_id, &bad);
    s_jset_str(o, "title", n->title, &bad);
    s_jset_str(o, "description", n->description, &bad);
    if (n->purpose)
        s_jset_str(o, "purpose", payload_purpose_name(n->purpose), &bad);
    if (n->status)
        s_jset_str(o, "status", payload_status_name(n->status), &bad);
    s_jset_str(o, "tlp", payload_tlp_name(n->tlp), &bad);
    if (n->severity)
        s_jset_str(o, "severity", payload_severity_name(n->severity), &bad);
    s_jset_str(o, "category", n->category, &bad);
    s_jset_str(o, "rsit_type", n->rsit_type, &bad);
    s_jset_list(o, "sectors", n->sectors, n->n_sectors, &bad);
    if (n->n_indicators) {
        json_t *arr = json_array();
        bad |= arr == NULL;
        for (size_t i = 0; arr && i < n->n_indicators; i++) {
            json_t *ind = json_object();
            if (!ind) {
                bad = true;
                break;
            }
            s_jset_str(ind, "type", n->indicators[i].type, &bad);
            s_jset_str(ind, "value", n->indicators[i].value, &bad);
            s_jset_str(ind, "description", n->indicators[i].description, &bad);
            if (json_array_append_new(arr, ind) != 0)
                bad = true;
        }
        if (arr)
            s_jset(o, "indicators", arr, &bad);
    }
    s_jset_str(o, "requested_action", n->requested_action, &bad);
    s_jset_str(o, "contact", n->contact, &bad);
    s_jset_list(o, "references", n->references, n->n_references, &bad);
    s_jset_time(o, "detected", n->detected_ms, &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
payload_to_json(const payload_t *p) {
    json_t *body = NULL, *root;
    bool bad = false;

    if (s_validate(p))
        return NULL;
    switch (p->kind) {
    case PAYLOAD_NOTICE:
        body = s_notice_json(&p->notice);
        break;
    case PAYLOAD_ACK:
        body = json_object();
        if (!body)
            break;
        s_jset_id(body, "ref_msg_id", p->ack.ref_msg_id, &bad);
        s_jset_str(body, "status", payload_ack_status_name(p->ack.status),
                   &bad);
        s_jset_str(body, "comment", p->ack.comment, &bad);
        break;
    case PAYLOAD_COMM_CHECK:
        body = json_object();
        if (!body)
            break;
        s_jset_str(body, "check_id", p->comm_check.check_id, &bad);
        s_jset_str(body, "text", p->comm_check.text, &bad);
        s_jset_time(body, "respond_by", p->comm_check.respond_by_ms, &bad);
        break;
    case PAYLOAD_DRILL_INJECT: {
        const payload_drill_inject_t *d = &p->drill_inject;
        body = json_object();
        if (!body)
            break;
        s_jset_str(body, "drill_id", d->drill_id, &bad);
        s_jset_str(body, "inject_id", d->inject_id, &bad);
        s_jset_str(body, "title", d->title, &bad);
        s_jset_str(body, "text", d->text, &bad);
        if (d->expected)
            s_jset_str(body, "expected", payload_ack_status_name(d->expected),
                       &bad);
        s_jset_time(body, "respond_by", d->respond_by_ms, &bad);
        if (d->notice)
            s_jset(body, "notice", s_notice_json(d->notice), &bad);
        break;
    }
    case PAYLOAD_DRILL_REPLY: {
        const payload_drill_reply_t *d = &p->drill_reply;
        body = json_object();
        if (!body)
            break;
        s_jset_str(body, "drill_id", d->drill_id, &bad);
        s_jset_str(body, "inject_id", d->inject_id, &bad);
        s_jset_id(body, "ref_msg_id", d->ref_msg_id, &bad);
        s_jset_str(body, "status", payload_ack_status_name(d->status), &bad);
        s_jset_str(body, "text", d->text, &bad);
        break;
    }
    }
    if (!body || bad) {
        json_decref(body);
        return NULL;
    }
    root = json_object();
    if (!root || json_object_set_new(root, payload_kind_name(p->kind), body)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- JSON in ---- */

typedef struct {
    s_blk_t **arena; /* where copied strings and arrays go */
    char *err;       /* may be NULL */
    size_t errlen;
} s_jin_t;

/* Writes "path: message" to the error buffer and returns rc. */
static int s_jfail(const s_jin_t *c, int rc, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static int
s_jfail(const s_jin_t *c, int rc, const char *path, const char *fmt, ...) {
    va_list ap;
    int n;
    if (!c->err || c->errlen == 0)
        return rc;
    n = snprintf(c->err, c->errlen, "%s: ", path);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* A short, printable-ASCII rendering of untrusted text for error messages. */
static void
s_quote(char out[48], const char *s) {
    size_t i = 0;
    for (; s[i] && i < 40; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch >= 0x7f || ch == '\'') ? '?' : (char)ch;
    }
    strcpy(out + i, s[i] ? "..." : "");
}

static const char *
s_text_problem(s_text_t t) {
    switch (t) {
    case S_TEXT_OK:
        return NULL;
    case S_TEXT_MISSING:
        return "missing";
    case S_TEXT_EMPTY:
        return "must not be empty";
    case S_TEXT_TOO_LONG:
        return "too long";
    case S_TEXT_BAD_UTF8:
        return "not valid UTF-8";
    case S_TEXT_CONTROL:
        return "contains a control character";
    }
    return "invalid";
}

/* Refuses any key of obj not in keys (a NULL-terminated list). */
static int
s_jkeys(const s_jin_t *c, const json_t *obj, const char *path,
        const char *const *keys) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool known = false;
        char q[48];
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known) {
            s_quote(q, key);
            return s_jfail(c, RK_ERR_MALFORMED, path, "unknown key '%s'", q);
        }
    }
    return RK_OK;
}

/* A string value v at path, checked and copied into the arena. */
static int
s_jstr_value(const s_jin_t *c, const json_t *v, const char *path, size_t max,
             bool multiline, const char **out) {
    const char *s;
    size_t len;
    s_text_t t;

    if (!json_is_string(v))
        return s_jfail(c, RK_ERR_MALFORMED, path, "expected a string");
    s = json_string_value(v);
    len = json_string_length(v);
    if (memchr(s, '\0', len))
        return s_jfail(c, RK_ERR_MALFORMED, path, "contains a NUL character");
    t = s_check_text(s, max, multiline, true);
    if (t == S_TEXT_TOO_LONG)
        return s_jfail(c, RK_ERR_MALFORMED, path, "longer than %zu bytes", max);
    if (t != S_TEXT_OK)
        return s_jfail(c, RK_ERR_MALFORMED, path, "%s", s_text_problem(t));
    *out = s_strndup(c->arena, s, len);
    if (!*out)
        return s_jfail(c, RK_ERR_NOMEM, path, "out of memory");
    return RK_OK;
}

static void
s_path(char *out, size_t cap, const char *path, const char *key) {
    /* Paths are short and built from our own key names; a cut one is
     * still a readable error. */
    if (snprintf(out, cap, "%s.%s", path, key) >= (int)cap)
        out[cap - 1] = '\0';
}

/* obj[key] as a string; *out stays NULL when optional and absent. */
static int
s_jstr(const s_jin_t *c, const json_t *obj, const char *path, const char *key,
       const s_field_t *f, bool required, const char **out) {
    char fp[160];
    const json_t *v = json_object_get(obj, key);
    s_path(fp, sizeof fp, path, key);
    *out = NULL;
    if (!v)
        return required ? s_jfail(c, RK_ERR_MALFORMED, fp, "missing") : RK_OK;
    return s_jstr_value(c, v, fp, f->max, f->multiline, out);
}

/* obj[key] as the name of an enum value; *out stays 0 when optional and
 * absent. */
static int
s_jenum(const s_jin_t *c, const json_t *obj, const char *path, const char *key,
        const s_enum_t *e, bool required, int *out) {
    char fp[160], q[48];
    const json_t *v = json_object_get(obj, key);
    s_path(fp, sizeof fp, path, key);
    *out = 0;
    if (!v)
        return required ? s_jfail(c, RK_ERR_MALFORMED, fp, "missing") : RK_OK;
    if (!json_is_string(v))
        return s_jfail(c, RK_ERR_MALFORMED, fp, "expected a string (%s)",
                       e->expected);
    *out = s_enum_from_name(e, json_string_value(v));
    if (*out == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        s_quote(q, json_string_value(v));
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "unknown value '%s' (expected %s)", q, e->expected);
    }
    return RK_OK;
}

/* obj[key] as an RFC 3339 UTC time; 0 when absent. */
static int
s_jtime(const s_jin_t *c, const json_t *obj, const char *path, const char *key,
        uint64_t *out) {
    char fp[160], back[32];
    const char *s;
    uint64_t ms = 0;
    const json_t *v = json_object_get(obj, key);

    s_path(fp, sizeof fp, path, key);
    *out = 0;
    if (!v)
        return RK_OK;
    if (!json_is_string(v))
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "expected an RFC 3339 time string");
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || rk_time_parse(s, &ms) != 0)
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "expected an RFC 3339 UTC time like "
                       "2026-11-22T07:18:00Z");
    /* rk_time_parse lets timegm normalize 31 February into March; refuse
     * dates that do not exist by formatting the result back. */
    rk_time_format(back, sizeof back, ms);
    if (ms == 0 || ms > PAYLOAD_TIME_MAX_MS || strncmp(back, s, 19) != 0)
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "not a date and time between 1970 and 9999");
    *out = ms;
    return RK_OK;
}

/* obj[key] as a msg id of 32 lower-case hex digits (always required). */
static int
s_jmsgid(const s_jin_t *c, const json_t *obj, const char *path, const char *key,
         uint8_t out[ENVELOPE_MSG_ID_LEN]) {
    char fp[160];
    const char *s;
    const json_t *v = json_object_get(obj, key);

    s_path(fp, sizeof fp, path, key);
    if (!v)
        return s_jfail(c, RK_ERR_MALFORMED, fp, "missing");
    if (!json_is_string(v))
        return s_jfail(c, RK_ERR_MALFORMED, fp, "expected a string");
    s = json_string_value(v);
    for (size_t i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return s_jfail(c, RK_ERR_MALFORMED, fp,
                           "expected 32 lower-case hex digits");
    if (json_string_length(v) != 2 * ENVELOPE_MSG_ID_LEN ||
        rk_unhex(out, ENVELOPE_MSG_ID_LEN, s) != 0)
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "expected 32 lower-case hex digits");
    return RK_OK;
}

/* obj[key] as an array of at most max_n strings. */
static int
s_jlist(const s_jin_t *c, const json_t *obj, const char *path, const char *key,
        const s_field_t *f, size_t max_n, const char *const **out,
        size_t *n_out) {
    char fp[160], ep[176];
    const char **arr;
    size_t n;
    const json_t *v = json_object_get(obj, key);

    s_path(fp, sizeof fp, path, key);
    *out = NULL;
    *n_out = 0;
    if (!v)
        return RK_OK;
    if (!json_is_array(v))
        return s_jfail(c, RK_ERR_MALFORMED, fp, "expected an array");
    n = json_array_size(v);
    if (n > max_n)
        return s_jfail(c, RK_ERR_MALFORMED, fp, "more than %zu entries", max_n);
    if (n == 0)
        return RK_OK;
    arr = s_alloc(c->arena, n, sizeof *arr);
    if (!arr)
        return s_jfail(c, RK_ERR_NOMEM, fp, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (snprintf(ep, sizeof ep, "%s[%zu]", fp, i) >= (int)sizeof ep)
            ep[sizeof ep - 1] = '\0';
        rc = s_jstr_value(c, json_array_get(v, i), ep, f->max, f->multiline,
                          &arr[i]);
        if (rc != RK_OK)
            return rc;
    }
    *out = arr;
    *n_out = n;
    return RK_OK;
}

static const char *const s_notice_keys[] = {
    "incident_id", "title",      "description", "purpose",
    "status",      "tlp",        "severity",    "category",
    "rsit_type",   "sectors",    "indicators",  "requested_action",
    "contact",     "references", "detected",    NULL};
static const char *const s_indicator_keys[] = {"type", "value", "description",
                                               NULL};

static int
s_jindicators(const s_jin_t *c, const json_t *obj, const char *path,
              const s_notice_rules_t *r, payload_notice_t *n) {
    char fp[160], ep[176];
    payload_indicator_t *ind;
    size_t count;
    const json_t *v = json_object_get(obj, "indicators");
    int rc;

    s_path(fp, sizeof fp, path, "indicators");
    if (!v)
        return RK_OK;
    if (!json_is_array(v))
        return s_jfail(c, RK_ERR_MALFORMED, fp, "expected an array");
    count = json_array_size(v);
    if (count > PAYLOAD_MAX_INDICATORS)
        return s_jfail(c, RK_ERR_MALFORMED, fp,
                       "more than " S_XSTR(PAYLOAD_MAX_INDICATORS) " entries");
    if (count == 0)
        return RK_OK;
    ind = s_alloc(c->arena, count, sizeof *ind);
    if (!ind)
        return s_jfail(c, RK_ERR_NOMEM, fp, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const json_t *o = json_array_get(v, i);
        if (snprintf(ep, sizeof ep, "%s[%zu]", fp, i) >= (int)sizeof ep)
            ep[sizeof ep - 1] = '\0';
        if (!json_is_object(o))
            return s_jfail(c, RK_ERR_MALFORMED, ep, "expected an object");
        if ((rc = s_jkeys(c, o, ep, s_indicator_keys)) != RK_OK ||
            (rc = s_jstr(c, o, ep, "type", &r->ind_type, true, &ind[i].type)) !=
                RK_OK ||
            (rc = s_jstr(c, o, ep, "value", &r->ind_value, true,
                         &ind[i].value)) != RK_OK ||
            (rc = s_jstr(c, o, ep, "description", &r->ind_description, false,
                         &ind[i].description)) != RK_OK)
            return rc;
    }
    n->indicators = ind;
    n->n_indicators = count;
    return RK_OK;
}

static int
s_jnotice(const s_jin_t *c, const json_t *obj, const char *path, bool in_drill,
          payload_notice_t *n) {
    const s_notice_rules_t *r =
        in_drill ? &s_inject_notice_rules : &s_notice_rules;
    char fp[160], q[48];
    const char *cat = NULL;
    int purpose, status, tlp, severity, rc;

    if (!json_is_object(obj))
        return s_jfail(c, RK_ERR_MALFORMED, path, "expected an object");
    if ((rc = s_jkeys(c, obj, path, s_notice_keys)) != RK_OK ||
        (rc = s_jstr(c, obj, path, "incident_id", &r->incident_id, true,
                     &n->incident_id)) != RK_OK ||
        (rc = s_jstr(c, obj, path, "title", &r->title, true, &n->title)) !=
            RK_OK ||
        (rc = s_jstr(c, obj, path, "description", &r->description, false,
                     &n->description)) != RK_OK ||
        (rc = s_jenum(c, obj, path, "purpose", &s_purpose, false, &purpose)) !=
            RK_OK ||
        (rc = s_jenum(c, obj, path, "status", &s_status, false, &status)) !=
            RK_OK ||
        (rc = s_jenum(c, obj, path, "tlp", &s_tlp, true, &tlp)) != RK_OK ||
        (rc = s_jenum(c, obj, path, "severity", &s_severity, false,
                      &severity)) != RK_OK ||
        (rc = s_jstr(c, obj, path, "category", &r->category, in_drill, &cat)) !=
            RK_OK)
        return rc;
    n->purpose = (payload_purpose_t)purpose;
    n->status = (payload_status_t)status;
    n->tlp = (payload_tlp_t)tlp;
    n->severity = (payload_severity_t)severity;
    if (cat) {
        s_path(fp, sizeof fp, path, "category");
        n->category = payload_rsit_class_from_name(cat);
        if (!n->category) {
            s_quote(q, cat);
            return s_jfail(c, RK_ERR_MALFORMED, fp,
                           "unknown RSIT class '%s' (expected %s)", q,
                           S_RSIT_EXPECTED);
        }
        if (in_drill && strcmp(n->category, "test") != 0)
            return s_jfail(c, RK_ERR_MALFORMED, fp,
                           "must be \"test\" in a drill");
    }
    if ((rc = s_jstr(c, obj, path, "rsit_type", &r->rsit_type, false,
                     &n->rsit_type)) != RK_OK ||
        (rc = s_jlist(c, obj, path, "sectors", &r->sector, PAYLOAD_MAX_SECTORS,
                      &n->sectors, &n->n_sectors)) != RK_OK ||
        (rc = s_jindicators(c, obj, path, r, n)) != RK_OK ||
        (rc = s_jstr(c, obj, path, "requested_action", &r->requested_action,
                     false, &n->requested_action)) != RK_OK ||
        (rc = s_jstr(c, obj, path, "contact", &r->contact, false,
                     &n->contact)) != RK_OK ||
        (rc = s_jlist(c, obj, path, "references", &r->reference,
                      PAYLOAD_MAX_REFERENCES, &n->references,
                      &n->n_references)) != RK_OK ||
        (rc = s_jtime(c, obj, path, "detected", &n->detected_ms)) != RK_OK)
        return rc;
    return RK_OK;
}

static const char *const s_ack_keys[] = {"ref_msg_id", "status", "comment",
                                         NULL};
static const char *const s_cc_keys[] = {"check_id", "text", "respond_by", NULL};
static const char *const s_di_keys[] = {"drill_id", "inject_id", "title",
                                        "text",     "expected",  "respond_by",
                                        "notice",   NULL};
static const char *const s_dr_keys[] = {"drill_id", "inject_id", "ref_msg_id",
                                        "status",   "text",      NULL};

static int
s_jbody(const s_jin_t *c, const char *key, const json_t *obj, payload_t *p) {
    int rc, e;

    if (strcmp(key, "notice") == 0) {
        p->kind = PAYLOAD_NOTICE;
        return s_jnotice(c, obj, "notice", false, &p->notice);
    }
    if (!json_is_object(obj))
        return s_jfail(c, RK_ERR_MALFORMED, key, "expected an object");
    if (strcmp(key, "ack") == 0) {
        p->kind = PAYLOAD_ACK;
        if ((rc = s_jkeys(c, obj, key, s_ack_keys)) != RK_OK ||
            (rc = s_jmsgid(c, obj, key, "ref_msg_id", p->ack.ref_msg_id)) !=
                RK_OK ||
            (rc = s_jenum(c, obj, key, "status", &s_ack, true, &e)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "comment", &s_f_ack_comment, false,
                         &p->ack.comment)) != RK_OK)
            return rc;
        p->ack.status = (payload_ack_status_t)e;
        return RK_OK;
    }
    if (strcmp(key, "comm_check") == 0) {
        payload_comm_check_t *cc = &p->comm_check;
        p->kind = PAYLOAD_COMM_CHECK;
        if ((rc = s_jkeys(c, obj, key, s_cc_keys)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "check_id", &s_f_cc_id, true,
                         &cc->check_id)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "text", &s_f_cc_text, false,
                         &cc->text)) != RK_OK ||
            (rc = s_jtime(c, obj, key, "respond_by", &cc->respond_by_ms)) !=
                RK_OK)
            return rc;
        return RK_OK;
    }
    if (strcmp(key, "drill_inject") == 0) {
        payload_drill_inject_t *d = &p->drill_inject;
        const json_t *nj;
        p->kind = PAYLOAD_DRILL_INJECT;
        if ((rc = s_jkeys(c, obj, key, s_di_keys)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "drill_id", &s_f_di_drill, true,
                         &d->drill_id)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "inject_id", &s_f_di_inject, true,
                         &d->inject_id)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "title", &s_f_di_title, true,
                         &d->title)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "text", &s_f_di_text, true, &d->text)) !=
                RK_OK ||
            (rc = s_jenum(c, obj, key, "expected", &s_ack, false, &e)) !=
                RK_OK ||
            (rc = s_jtime(c, obj, key, "respond_by", &d->respond_by_ms)) !=
                RK_OK)
            return rc;
        d->expected = (payload_ack_status_t)e;
        nj = json_object_get(obj, "notice");
        if (nj) {
            payload_notice_t *n = s_alloc(c->arena, 1, sizeof *n);
            if (!n)
                return s_jfail(c, RK_ERR_NOMEM, key, "out of memory");
            d->notice = n;
            return s_jnotice(c, nj, "drill_inject.notice", true, n);
        }
        return RK_OK;
    }
    if (strcmp(key, "drill_reply") == 0) {
        payload_drill_reply_t *d = &p->drill_reply;
        p->kind = PAYLOAD_DRILL_REPLY;
        if ((rc = s_jkeys(c, obj, key, s_dr_keys)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "drill_id", &s_f_dr_drill, true,
                         &d->drill_id)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "inject_id", &s_f_dr_inject, true,
                         &d->inject_id)) != RK_OK ||
            (rc = s_jmsgid(c, obj, key, "ref_msg_id", d->ref_msg_id)) !=
                RK_OK ||
            (rc = s_jenum(c, obj, key, "status", &s_ack, true, &e)) != RK_OK ||
            (rc = s_jstr(c, obj, key, "text", &s_f_dr_text, false, &d->text)) !=
                RK_OK)
            return rc;
        d->status = (payload_ack_status_t)e;
        return RK_OK;
    }
    return RK_ERR_INVALID; /* the caller checked the key */
}

int
payload_from_json(const json_t *json, payload_t **out, char *err,
                  size_t errlen) {
    s_owned_t *self = NULL;
    payload_t *pub;
    s_jin_t c = {NULL, err, errlen};
    const char *key, *why;
    json_t *body;
    size_t size = 0;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!json_is_object(json) || json_object_size(json) != 1)
        return s_jfail(&c, RK_ERR_MALFORMED, "payload",
                       "expected an object with exactly one of notice, ack, "
                       "comm_check, drill_inject or drill_reply");
    key = json_object_iter_key(json_object_iter((json_t *)json));
    body = json_object_iter_value(json_object_iter((json_t *)json));
    if (strcmp(key, "notice") != 0 && strcmp(key, "ack") != 0 &&
        strcmp(key, "comm_check") != 0 && strcmp(key, "drill_inject") != 0 &&
        strcmp(key, "drill_reply") != 0) {
        char q[48];
        s_quote(q, key);
        return s_jfail(&c, RK_ERR_MALFORMED, "payload",
                       "unknown key '%s' (expected notice, ack, comm_check, "
                       "drill_inject or drill_reply)",
                       q);
    }
    self = calloc(1, sizeof *self);
    if (!self)
        return s_jfail(&c, RK_ERR_NOMEM, "payload", "out of memory");
    pub = &self->pub;
    c.arena = &self->arena;
    rc = s_jbody(&c, key, body, pub);
    if (rc != RK_OK)
        goto fail;
    /* Rules that span fields (a denied ack needs a comment, an inject's
     * text says EXERCISE, ...) speak in the validator's sentences. */
    why = s_validate(pub);
    if (why) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    rc = s_packed_size(pub, &size);
    if (rc != RK_OK) {
        s_jfail(&c, rc, key, "out of memory");
        goto fail;
    }
    if (size > ENVELOPE_MAX_PAYLOAD) {
        rc = s_jfail(&c, RK_ERR_TOO_LARGE, key,
                     "encodes to more than " S_MAX_PAYLOAD_TEXT " bytes");
        goto fail;
    }
    *out = pub;
    return RK_OK;
fail:
    payload_destroy(&pub);
    return rc;
}
