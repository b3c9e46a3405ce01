/* stix: STIX 2.1 export of a notice and import of a bundle as a notice
 * draft. The notice's own JSON form (payload_from_json) does the final
 * validation of an import; nothing here touches envelopes or keys. */
#include "stix.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rk_util.h"

#define S_ID_MAX 64 /* "relationship--" + a UUID + NUL, with room */
#define S_TS_MAX 32 /* "2026-11-22T07:18:00.000Z" + NUL */
#define S_PATH_MAX 64
#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

/* ---- TLP markings ----
 *
 * TLP 2.0: the marking-definition objects of the OASIS CTI TC's TLP 2.0
 * extension, github.com/oasis-open/cti-stix-common-objects,
 * extension-definition-specifications/tlp-2.0/ (marking-definition.json,
 * extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.json and
 * examples/tlp-clear.json, tlp-amber+strict.json): fixed ids, name
 * "TLP:<LEVEL>", created 2022-10-01T00:00:00.000Z, and an extension
 * {"extension_type": "property-extension", "tlp_2_0": "<level>"}. Levels as
 * FIRST's TLP 2.0 (first.org/tlp).
 *
 * TLP 1.0: STIX 2.1 (OASIS, 2021) section 7.2.1.4 and the OASIS JSON
 * schema common/marking-definition.json (cti-stix2-json-schemas), read on
 * import only; WHITE became CLEAR in TLP 2.0. */
#define S_TLP2_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define S_TLP2_CREATED "2022-10-01T00:00:00.000Z"

typedef struct {
    payload_tlp_t tlp;
    const char *id;
    const char *name;  /* the object's name */
    const char *level; /* tlp_2_0 value */
} s_tlp_t;

static const s_tlp_t s_tlp2[] = {
    {PAYLOAD_TLP_CLEAR,
     "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR",
     "clear"},
    {PAYLOAD_TLP_GREEN,
     "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN",
     "green"},
    {PAYLOAD_TLP_AMBER,
     "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER",
     "amber"},
    {PAYLOAD_TLP_AMBER_STRICT,
     "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
     "TLP:AMBER+STRICT", "amber+strict"},
    {PAYLOAD_TLP_RED,
     "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED",
     "red"},
};

static const s_tlp_t s_tlp1[] = {
    {PAYLOAD_TLP_CLEAR,
     "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE",
     "white"},
    {PAYLOAD_TLP_GREEN,
     "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN",
     "green"},
    {PAYLOAD_TLP_AMBER,
     "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER",
     "amber"},
    {PAYLOAD_TLP_RED,
     "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED",
     "red"},
};

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

static const s_tlp_t *
s_tlp2_of(payload_tlp_t tlp) {
    for (size_t i = 0; i < S_N(s_tlp2); i++)
        if (s_tlp2[i].tlp == tlp)
            return &s_tlp2[i];
    return NULL;
}

const char *
stix_tlp_marking_id(payload_tlp_t tlp) {
    const s_tlp_t *t = s_tlp2_of(tlp);
    return t ? t->id : NULL;
}

/* The TLP level an official marking id stands for, or 0. */
static payload_tlp_t
s_tlp_of_id(const char *id) {
    for (size_t i = 0; i < S_N(s_tlp2); i++)
        if (strcmp(id, s_tlp2[i].id) == 0)
            return s_tlp2[i].tlp;
    for (size_t i = 0; i < S_N(s_tlp1); i++)
        if (strcmp(id, s_tlp1[i].id) == 0)
            return s_tlp1[i].tlp;
    return (payload_tlp_t)0;
}

/* ---- Indicator types and patterns ---- */

typedef struct {
    const char *type;     /* the notice's canonical indicator type */
    const char *path;     /* object path in the exported pattern */
    const char *alias[4]; /* other notice spellings, matched ignoring case */
} s_kind_t;

static const s_kind_t s_kinds[] = {
    {"ipv4-addr", "ipv4-addr:value", {"ipv4", "ip"}},
    {"ipv6-addr", "ipv6-addr:value", {"ipv6"}},
    {"domain-name", "domain-name:value", {"domain", "fqdn", "hostname"}},
    {"url", "url:value", {"uri"}},
    {"email-addr", "email-addr:value", {"email", "email-address"}},
    {"file:hashes.SHA-256",
     "file:hashes.'SHA-256'",
     {"sha256", "sha-256", "file:hashes.'SHA-256'", "file:hashes.SHA256"}},
    {"file:hashes.MD5", "file:hashes.'MD5'", {"md5", "file:hashes.'MD5'"}},
    {"file:hashes.SHA-1",
     "file:hashes.'SHA-1'",
     {"sha1", "sha-1", "file:hashes.'SHA-1'", "file:hashes.SHA1"}},
};

/* Every other type: a custom object in the pattern, the notice's type kept
 * in the indicator's x_renraku_indicator_type. */
#define S_FALLBACK_PATH "x-renraku-indicator:value"

/* Index in s_kinds of a notice indicator type, or -1. */
static int
s_kind_of_type(const char *type) {
    for (size_t i = 0; i < S_N(s_kinds); i++) {
        if (strcasecmp(type, s_kinds[i].type) == 0)
            return (int)i;
        for (size_t a = 0; a < S_N(s_kinds[i].alias) && s_kinds[i].alias[a];
             a++)
            if (strcasecmp(type, s_kinds[i].alias[a]) == 0)
                return (int)i;
    }
    return -1;
}

/* Index in s_kinds of a pattern's object path, S_N(s_kinds) for the
 * fallback path, or -1. Hash names are compared without quotes, hyphens or
 * case: file:hashes.'SHA-256', file:hashes.SHA256 and file:hashes.sha256
 * are one. */
static int
s_kind_of_path(const char *path) {
    const char *h;
    char name[16];
    size_t n = 0;

    if (strcmp(path, S_FALLBACK_PATH) == 0)
        return (int)S_N(s_kinds);
    if (strncmp(path, "file:hashes.", 12) != 0) {
        for (size_t i = 0; i < S_N(s_kinds); i++)
            if (strcmp(path, s_kinds[i].path) == 0)
                return (int)i;
        return -1;
    }
    h = path + 12;
    if (*h == '\'') {
        size_t len = strlen(h);
        if (len < 3 || h[len - 1] != '\'')
            return -1;
        h++;
    }
    for (; *h && *h != '\''; h++) {
        if (*h == '-')
            continue;
        if (n + 1 >= sizeof name)
            return -1;
        name[n++] = (char)(*h >= 'a' && *h <= 'z' ? *h - 32 : *h);
    }
    name[n] = '\0';
    if (strcmp(name, "SHA256") == 0)
        return s_kind_of_type("file:hashes.SHA-256");
    if (strcmp(name, "MD5") == 0)
        return s_kind_of_type("file:hashes.MD5");
    if (strcmp(name, "SHA1") == 0)
        return s_kind_of_type("file:hashes.SHA-1");
    return -1;
}

/* "[path = 'value']" with value's quotes and backslashes escaped as the
 * STIX patterning grammar wants. Returns a malloc'd string or NULL. */
static char *
s_pattern(const char *path, const char *value) {
    size_t n = strlen(path) + 8, k;
    char *out;

    for (const char *v = value; *v; v++)
        n += (*v == '\'' || *v == '\\') ? 2 : 1;
    out = malloc(n);
    if (!out)
        return NULL;
    k = (size_t)snprintf(out, n, "[%s = '", path);
    for (const char *v = value; *v; v++) {
        if (*v == '\'' || *v == '\\')
            out[k++] = '\\';
        out[k++] = *v;
    }
    memcpy(out + k, "']", 3);
    return out;
}

static const char *
s_skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Parses exactly one comparison "[path = 'value']" (spaces allowed around
 * the tokens). path gets the object path, *value a malloc'd unescaped
 * copy. Returns 1 when the pattern has that form, 0 when it is anything
 * else (OR, AND, qualifiers, other operators, other escapes), or
 * RK_ERR_NOMEM. */
static int
s_parse_pattern(const char *pat, char path[S_PATH_MAX], char **value) {
    const char *p = s_skip_ws(pat), *start;
    size_t n = 0;
    char *v;

    *value = NULL;
    if (*p++ != '[')
        return 0;
    p = s_skip_ws(p);
    for (; *p && *p != ' ' && *p != '\t' && *p != '='; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                  *p == ':' || *p == '.' || *p == '\'';
        if (!ok || n + 1 >= S_PATH_MAX)
            return 0;
        path[n++] = *p;
    }
    path[n] = '\0';
    p = s_skip_ws(p);
    if (n == 0 || *p++ != '=')
        return 0;
    p = s_skip_ws(p);
    if (*p++ != '\'')
        return 0;
    start = p;
    for (n = 0; *p && *p != '\''; p++, n++)
        if (*p == '\\') {
            if (p[1] != '\\' && p[1] != '\'')
                return 0;
            p++;
        }
    if (*p != '\'' || n == 0)
        return 0;
    p = s_skip_ws(p + 1);
    if (*p++ != ']' || *s_skip_ws(p) != '\0')
        return 0;
    v = malloc(n + 1);
    if (!v)
        return RK_ERR_NOMEM;
    for (n = 0, p = start; *p != '\''; p++)
        v[n++] = *p == '\\' ? *++p : *p;
    v[n] = '\0';
    *value = v;
    return 1;
}

/* ---- Small helpers ---- */

static int s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* A bounded, printable copy of untrusted text for an error sentence. */
static const char *
s_quote(char out[48], const char *s) {
    size_t i = 0;
    for (; s[i] && i < 40; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    strcpy(out + i, s[i] ? "..." : "");
    return out;
}

/* "2026-11-22T07:18:00.000Z": STIX wants milliseconds, always. */
static void
s_ts(char out[S_TS_MAX], uint64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t k;
    gmtime_r(&t, &tm);
    k = strftime(out, S_TS_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, S_TS_MAX - k, ".%03uZ", (unsigned)(ms % 1000));
}

/* "<type>--<uuid>": a UUID with version 5's nibble and RFC 4122's variant,
 * from SHA-256 over a context, the msg id and the object's role, so one
 * message always exports with the same ids and two messages never share
 * one. */
static void
s_id(char out[S_ID_MAX], const char *type, const uint8_t *msg_id,
     const char *role) {
    static const char ctx[] = "renraku stix id v1";
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    char hex[33];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)ctx, sizeof ctx);
    crypto_hash_sha256_update(&st, msg_id, ENVELOPE_MSG_ID_LEN);
    crypto_hash_sha256_update(&st, (const uint8_t *)role, strlen(role));
    crypto_hash_sha256_final(&st, h);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
    rk_hex(hex, h, 16);
    snprintf(out, S_ID_MAX, "%s--%.8s-%.4s-%.4s-%.4s-%.12s", type, hex, hex + 8,
             hex + 12, hex + 16, hex + 20);
}

/* True for UTF-8 (no overlong forms or surrogates) without control
 * characters: what a single-line meta string may hold. */
static bool
s_line_ok(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, n, cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            s++;
            continue;
        }
        n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        if (c < 0xc2 || c > 0xf4)
            return false;
        cp = c & (0x3fu >> n);
        for (unsigned k = 1; k <= n; k++) {
            if ((s[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
        s += n + 1;
    }
    return true;
}

/* Sets o[key] to v (a new reference, may be NULL); *bad on any failure. */
static void
s_set(json_t *o, const char *key, json_t *v, bool *bad) {
    if (!v || json_object_set_new(o, key, v) != 0)
        *bad = true;
}

static void
s_set_str(json_t *o, const char *key, const char *s, bool *bad) {
    if (s)
        s_set(o, key, json_string(s), bad);
}

static void
s_set_list(json_t *o, const char *key, const char *const *v, size_t n,
           bool *bad) {
    json_t *a;
    if (n == 0)
        return; /* STIX lists have at least one entry */
    a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0)
            *bad = true;
    s_set(o, key, a, bad);
}

/* ---- Export ---- */

typedef struct {
    const uint8_t *msg_id;
    char ts[S_TS_MAX];
    char identity[S_ID_MAX];
    const char *marking;
} s_exp_t;

/* A new object with STIX's common properties; NULL when out of memory. */
static json_t *
s_sdo(const s_exp_t *x, const char *type, const char *role, char *id_out,
      bool *bad) {
    char id[S_ID_MAX];
    json_t *o = json_object(), *refs = json_array();

    if (!o || !refs) {
        json_decref(o);
        json_decref(refs);
        *bad = true;
        return NULL;
    }
    s_id(id, type, x->msg_id, role);
    if (id_out)
        memcpy(id_out, id, S_ID_MAX);
    s_set_str(o, "type", type, bad);
    s_set_str(o, "spec_version", "2.1", bad);
    s_set_str(o, "id", id, bad);
    s_set_str(o, "created", x->ts, bad);
    s_set_str(o, "modified", x->ts, bad);
    if (strcmp(type, "identity") != 0)
        s_set_str(o, "created_by_ref", x->identity, bad);
    if (json_array_append_new(refs, json_string(x->marking)) != 0)
        *bad = true;
    s_set(o, "object_marking_refs", refs, bad);
    return o;
}

static json_t *
s_marking(const s_tlp_t *t, bool *bad) {
    json_t *o = json_object(), *ext = json_object(), *def = json_object();
    if (!o || !ext || !def) {
        json_decref(o);
        json_decref(ext);
        json_decref(def);
        *bad = true;
        return NULL;
    }
    s_set_str(o, "type", "marking-definition", bad);
    s_set_str(o, "spec_version", "2.1", bad);
    s_set_str(o, "id", t->id, bad);
    s_set_str(o, "created", S_TLP2_CREATED, bad);
    s_set_str(o, "name", t->name, bad);
    s_set_str(def, "extension_type", "property-extension", bad);
    s_set_str(def, "tlp_2_0", t->level, bad);
    s_set(ext, S_TLP2_EXT, def, bad);
    s_set(o, "extensions", ext, bad);
    return o;
}

static json_t *
s_incident(const s_exp_t *x, const payload_notice_t *n, const stix_meta_t *meta,
           char *id_out, bool *bad) {
    char hex[2 * ENVELOPE_MSG_ID_LEN + 1], det[S_TS_MAX];
    json_t *o = s_sdo(x, "incident", "incident", id_out, bad);

    if (!o)
        return NULL;
    s_set_str(o, "name", n->title, bad);
    s_set_str(o, "description", n->description, bad);
    s_set_str(o, "x_renraku_incident_id", n->incident_id, bad);
    rk_hex(hex, meta->msg_id, ENVELOPE_MSG_ID_LEN);
    s_set_str(o, "x_renraku_msg_id", hex, bad);
    s_set_str(o, "x_renraku_sender", meta->sender, bad);
    s_set_list(o, "x_renraku_recipients", meta->recipients, meta->n_recipients,
               bad);
    if (n->severity)
        s_set_str(o, "x_renraku_severity", payload_severity_name(n->severity),
                  bad);
    if (n->purpose)
        s_set_str(o, "x_renraku_purpose", payload_purpose_name(n->purpose),
                  bad);
    if (n->status)
        s_set_str(o, "x_renraku_status", payload_status_name(n->status), bad);
    s_set_str(o, "x_renraku_category", n->category, bad);
    s_set_str(o, "x_renraku_rsit_type", n->rsit_type, bad);
    s_set_list(o, "x_renraku_sectors", n->sectors, n->n_sectors, bad);
    s_set_str(o, "x_renraku_requested_action", n->requested_action, bad);
    s_set_str(o, "x_renraku_contact", n->contact, bad);
    s_set_list(o, "x_renraku_references", n->references, n->n_references, bad);
    if (n->detected_ms) {
        s_ts(det, n->detected_ms);
        s_set_str(o, "x_renraku_detected", det, bad);
    }
    return o;
}

static json_t *
s_indicator(const s_exp_t *x, const payload_indicator_t *ind, size_t i,
            char *id_out, bool *bad) {
    char role[40];
    int k = s_kind_of_type(ind->type);
    char *pat =
        s_pattern(k >= 0 ? s_kinds[k].path : S_FALLBACK_PATH, ind->value);
    json_t *o;

    snprintf(role, sizeof role, "indicator/%zu", i);
    o = s_sdo(x, "indicator", role, id_out, bad);
    if (!o || !pat) {
        free(pat);
        json_decref(o);
        *bad = true;
        return NULL;
    }
    s_set_str(o, "name", ind->value, bad);
    s_set_str(o, "description", ind->description, bad);
    s_set_str(o, "pattern", pat, bad);
    s_set_str(o, "pattern_type", "stix", bad);
    s_set_str(o, "pattern_version", "2.1", bad);
    s_set_str(o, "valid_from", x->ts, bad);
    s_set_str(o, "x_renraku_indicator_type", ind->type, bad);
    free(pat);
    return o;
}

static void
s_append(json_t *arr, json_t *o, bool *bad) {
    if (!o || json_array_append_new(arr, o) != 0)
        *bad = true;
}

int
stix_export(const payload_notice_t *n, const stix_meta_t *meta, json_t **bundle,
            char *err, size_t errlen) {
    payload_t p;
    const char *why = NULL, *org;
    s_exp_t x;
    char id[S_ID_MAX], incident[S_ID_MAX], country[3] = "";
    json_t *b = NULL, *objs = NULL, *o;
    bool bad = false;

    if (bundle)
        *bundle = NULL;
    if (!n || !meta || !bundle)
        return s_fail(err, errlen, RK_ERR_INVALID,
                      "stix_export: NULL argument");
    memset(&p, 0, sizeof p);
    p.kind = PAYLOAD_NOTICE;
    p.notice = *n;
    if (payload_validate(&p, &why) != RK_OK)
        return s_fail(err, errlen, RK_ERR_INVALID, "%s", why);
    if (!envelope_node_id_valid(meta->sender))
        return s_fail(err, errlen, RK_ERR_INVALID,
                      "meta.sender: missing or not a node id");
    if (meta->created_ms == 0 || meta->created_ms > PAYLOAD_TIME_MAX_MS)
        return s_fail(err, errlen, RK_ERR_INVALID,
                      "meta.created_ms: missing or after the year 9999");
    org = meta->organisation && meta->organisation[0] ? meta->organisation
                                                      : meta->sender;
    if (!s_line_ok(org))
        return s_fail(err, errlen, RK_ERR_INVALID,
                      "meta.organisation: not UTF-8 text on one line");
    if (meta->country && meta->country[0]) {
        const char *c = meta->country;
        for (int i = 0; i < 2; i++) {
            if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= 'a' && c[i] <= 'z')))
                break;
            country[i] = (char)(c[i] >= 'a' ? c[i] - 32 : c[i]);
        }
        if (!country[0] || !country[1] || c[2] != '\0')
            return s_fail(err, errlen, RK_ERR_INVALID,
                          "meta.country: expected two letters "
                          "(ISO 3166-1 alpha-2)");
    }
    if (meta->n_recipients && !meta->recipients)
        return s_fail(err, errlen, RK_ERR_INVALID,
                      "meta.recipients: NULL but n_recipients is not 0");
    for (size_t i = 0; i < meta->n_recipients; i++)
        if (!envelope_node_id_valid(meta->recipients[i]))
            return s_fail(err, errlen, RK_ERR_INVALID,
                          "meta.recipients[%zu]: not a node id", i);

    memset(&x, 0, sizeof x);
    x.msg_id = meta->msg_id;
    s_ts(x.ts, meta->created_ms);
    s_id(x.identity, "identity", meta->msg_id, "identity");
    x.marking = s_tlp2_of(n->tlp)->id;

    b = json_object();
    objs = json_array();
    if (!b || !objs) {
        json_decref(objs);
        goto nomem;
    }
    s_id(id, "bundle", meta->msg_id, "bundle");
    s_set_str(b, "type", "bundle", &bad);
    s_set_str(b, "id", id, &bad);
    s_set(b, "objects", objs, &bad); /* b owns objs from here */
    if (bad)
        goto nomem;

    s_append(objs, s_marking(s_tlp2_of(n->tlp), &bad), &bad);

    o = s_sdo(&x, "identity", "identity", NULL, &bad);
    if (o) {
        s_set_str(o, "name", org, &bad);
        s_set_str(o, "identity_class", "organization", &bad);
        if (country[0])
            s_set_str(o, "x_renraku_country", country, &bad);
        s_set_str(o, "x_renraku_node_id", meta->sender, &bad);
        s_set_str(o, "contact_information", n->contact, &bad);
    }
    s_append(objs, o, &bad);

    s_append(objs, s_incident(&x, n, meta, incident, &bad), &bad);

    o = s_sdo(&x, "note", "note", NULL, &bad);
    if (o) {
        json_t *refs = json_array();
        s_set_str(o, "abstract", n->title, &bad);
        s_set_str(o, "content", n->description ? n->description : n->title,
                  &bad);
        if (!refs || json_array_append_new(refs, json_string(incident)) != 0)
            bad = true;
        s_set(o, "object_refs", refs, &bad);
    }
    s_append(objs, o, &bad);

    /* The STIX 2.1 vocabulary has no indicator-to-incident relationship
     * ("indicates" points at malware, campaigns, ...), so each indicator is
     * tied to the incident with the generic related-to. */
    for (size_t i = 0; i < n->n_indicators && !bad; i++) {
        char ind_id[S_ID_MAX], role[40];
        s_append(objs, s_indicator(&x, &n->indicators[i], i, ind_id, &bad),
                 &bad);
        snprintf(role, sizeof role, "relationship/%zu", i);
        o = s_sdo(&x, "relationship", role, NULL, &bad);
        if (o) {
            s_set_str(o, "relationship_type", "related-to", &bad);
            s_set_str(o, "source_ref", ind_id, &bad);
            s_set_str(o, "target_ref", incident, &bad);
        }
        s_append(objs, o, &bad);
    }
    if (bad)
        goto nomem;
    *bundle = b;
    return RK_OK;

nomem:
    json_decref(b);
    return s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
}

/* ---- Import ---- */

/* What one import has gathered, besides the notice JSON. */
typedef struct {
    char *err;
    size_t errlen;
    payload_tlp_t tlp; /* most restrictive marking seen, 0: none */
    size_t n_complex;  /* patterns not one simple comparison we know */
    size_t n_not_stix; /* pattern_type other than "stix" */
    size_t n_too_long; /* values over PAYLOAD_VALUE_MAX */
    size_t n_over;     /* past PAYLOAD_MAX_INDICATORS */
    size_t n_imported; /* indicators kept */
    bool clipped;      /* a title or description was cut */
} s_imp_t;

/* A cleaned copy of untrusted text s (len bytes, valid UTF-8 as jansson
 * guarantees): control characters become spaces (tab, CR and LF stay when
 * multiline), a single line is trimmed, and the text is cut to max bytes
 * on a character boundary. Returns a malloc'd string (maybe "") or NULL. */
static char *
s_clean(const char *s, size_t len, size_t max, bool multiline, bool *clipped) {
    const unsigned char *u = (const unsigned char *)s;
    char *out;
    size_t start = 0, end;

    if (!multiline)
        while (start < len && (u[start] <= 0x20 || u[start] == 0x7f))
            start++;
    end = len;
    if (!multiline)
        while (end > start && (u[end - 1] <= 0x20 || u[end - 1] == 0x7f))
            end--;
    if (end - start > max) {
        end = start + max;
        while (end > start && (u[end] & 0xc0) == 0x80)
            end--;
        *clipped = true;
    }
    out = malloc(end - start + 1);
    if (!out)
        return NULL;
    for (size_t i = start, k = 0; i < end; i++, k++) {
        unsigned char c = u[i];
        bool ws = c == '\t' || c == '\n' || c == '\r';
        out[k] = (char)c;
        if ((c < 0x20 || c == 0x7f) && !(multiline && ws))
            out[k] = ' ';
        /* C1 controls U+0080..U+009F: 0xc2 0x80..0x9f, two spaces */
        if (c == 0xc2 && i + 1 < end && u[i + 1] <= 0x9f) {
            out[k] = ' ';
            out[++k] = ' ';
            i++;
        }
    }
    out[end - start] = '\0';
    return out;
}

/* obj[key] when it is absent (NULL) or a string; a type error otherwise. */
static int
s_get_str(s_imp_t *c, const json_t *obj, size_t idx, const char *key,
          const json_t **out) {
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return RK_OK;
    if (!json_is_string(v))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].%s: expected a string", idx, key);
    *out = v;
    return RK_OK;
}

/* Cleans obj[key] (a string) into notice[nkey] when it is not empty. */
static int
s_copy_text(s_imp_t *c, const json_t *obj, size_t idx, const char *key,
            json_t *notice, const char *nkey, size_t max, bool multiline) {
    const json_t *v;
    char *t;
    int rc = s_get_str(c, obj, idx, key, &v);

    if (rc != RK_OK || !v)
        return rc;
    t = s_clean(json_string_value(v), json_string_length(v), max, multiline,
                &c->clipped);
    if (!t)
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    if (t[0] && json_object_set_new(notice, nkey, json_string(t)) != 0)
        rc = s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    free(t);
    return rc;
}

/* An x_renraku_ enum: the value must be a name from_name knows; it goes
 * into the notice by its canonical name. */
static int
s_copy_enum(s_imp_t *c, const json_t *obj, size_t idx, const char *key,
            json_t *notice, const char *nkey, int (*from_name)(const char *),
            const char *(*name)(int), const char *expected) {
    const json_t *v;
    char q[48];
    int e, rc = s_get_str(c, obj, idx, key, &v);

    if (rc != RK_OK || !v)
        return rc;
    e = from_name(json_string_value(v));
    if (e == 0)
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].%s: unknown value '%s' (expected %s)", idx,
                      key, s_quote(q, json_string_value(v)), expected);
    if (json_object_set_new(notice, nkey, json_string(name(e))) != 0)
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    return RK_OK;
}

static int
s_sev_from(const char *s) {
    return (int)payload_severity_from_name(s);
}
static const char *
s_sev_name(int v) {
    return payload_severity_name((payload_severity_t)v);
}
static int
s_pur_from(const char *s) {
    return (int)payload_purpose_from_name(s);
}
static const char *
s_pur_name(int v) {
    return payload_purpose_name((payload_purpose_t)v);
}
static int
s_sta_from(const char *s) {
    return (int)payload_status_from_name(s);
}
static const char *
s_sta_name(int v) {
    return payload_status_name((payload_status_t)v);
}

/* obj[key], when present, as an array of strings copied to notice[nkey]
 * (payload_from_json checks their count and text). */
static int
s_copy_list(s_imp_t *c, const json_t *obj, size_t idx, const char *key,
            json_t *notice, const char *nkey) {
    const json_t *v = json_object_get(obj, key), *e;
    size_t i;

    if (!v)
        return RK_OK;
    if (!json_is_array(v))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].%s: expected an array of strings", idx,
                      key);
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                          "objects[%zu].%s[%zu]: expected a string", idx, key,
                          i);
    }
    if (json_array_size(v) &&
        json_object_set_new(notice, nkey, json_deep_copy(v)) != 0)
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    return RK_OK;
}

/* The renraku fields of the main object, back into the notice. */
static int
s_renraku_fields(s_imp_t *c, const json_t *obj, size_t idx, json_t *notice) {
    const json_t *v;
    const char *cat;
    char q[48], ts[S_TS_MAX];
    uint64_t ms;
    int rc;

#define S_TRY(x)                                                               \
    do {                                                                       \
        if ((rc = (x)) != RK_OK)                                               \
            return rc;                                                         \
    } while (0)
    S_TRY(s_copy_text(c, obj, idx, "x_renraku_incident_id", notice,
                      "incident_id", PAYLOAD_ID_MAX, false));
    S_TRY(s_copy_enum(c, obj, idx, "x_renraku_severity", notice, "severity",
                      s_sev_from, s_sev_name,
                      "info, low, medium, high or critical"));
    S_TRY(s_copy_enum(c, obj, idx, "x_renraku_purpose", notice, "purpose",
                      s_pur_from, s_pur_name,
                      "traceback, mitigation, reporting, watch or other"));
    S_TRY(s_copy_enum(c, obj, idx, "x_renraku_status", notice, "status",
                      s_sta_from, s_sta_name, "new, in-progress or resolved"));
    S_TRY(s_get_str(c, obj, idx, "x_renraku_category", &v));
    if (v) {
        cat = payload_rsit_class_from_name(json_string_value(v));
        if (!cat)
            return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                          "objects[%zu].x_renraku_category: '%s' is not an "
                          "RSIT class",
                          idx, s_quote(q, json_string_value(v)));
        if (json_object_set_new(notice, "category", json_string(cat)) != 0)
            return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    }
    S_TRY(s_copy_text(c, obj, idx, "x_renraku_rsit_type", notice, "rsit_type",
                      PAYLOAD_NAME_MAX, false));
    S_TRY(s_copy_list(c, obj, idx, "x_renraku_sectors", notice, "sectors"));
    S_TRY(s_copy_text(c, obj, idx, "x_renraku_requested_action", notice,
                      "requested_action", PAYLOAD_NOTE_MAX, true));
    S_TRY(s_copy_text(c, obj, idx, "x_renraku_contact", notice, "contact",
                      PAYLOAD_NOTE_MAX, true));
    S_TRY(
        s_copy_list(c, obj, idx, "x_renraku_references", notice, "references"));
    S_TRY(s_get_str(c, obj, idx, "x_renraku_detected", &v));
    if (v) {
        if (rk_time_parse(json_string_value(v), &ms) != RK_OK || ms == 0 ||
            ms > PAYLOAD_TIME_MAX_MS)
            return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                          "objects[%zu].x_renraku_detected: not an RFC 3339 "
                          "UTC time",
                          idx);
        rk_time_format(ts, sizeof ts, ms);
        if (json_object_set_new(notice, "detected", json_string(ts)) != 0)
            return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    }
#undef S_TRY
    return RK_OK;
}

/* Title and description from the main object (incident, report or note). */
static int
s_title(s_imp_t *c, const json_t *obj, size_t idx, const char *type,
        json_t *notice) {
    bool note = strcmp(type, "note") == 0;
    const char *tkey = note ? "abstract" : "name";
    const char *dkey = note ? "content" : "description";
    const json_t *t, *d;
    char *title = NULL;
    int rc;

    if ((rc = s_get_str(c, obj, idx, tkey, &t)) != RK_OK ||
        (rc = s_get_str(c, obj, idx, dkey, &d)) != RK_OK)
        return rc;
    if (t)
        title = s_clean(json_string_value(t), json_string_length(t),
                        PAYLOAD_TITLE_MAX, false, &c->clipped);
    if (t && !title)
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    if ((!title || !title[0]) && note && d) {
        /* A note without an abstract: its first line is the title. */
        const char *s = json_string_value(d);
        size_t len = strcspn(s, "\r\n");
        free(title);
        title = s_clean(s, len, PAYLOAD_TITLE_MAX, false, &c->clipped);
        if (!title)
            return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    }
    if (!title || !title[0]) {
        free(title);
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].%s: missing or empty (the %s gives the "
                      "notice its title)",
                      idx, note ? "content" : "name", type);
    }
    if (json_object_set_new(notice, "title", json_string(title)) != 0)
        rc = s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    free(title);
    if (rc == RK_OK)
        rc = s_copy_text(c, obj, idx, dkey, notice, "description",
                         PAYLOAD_TEXT_MAX, true);
    return rc;
}

/* One indicator object: a notice indicator appended to inds, or a count
 * of why not. */
static int
s_import_indicator(s_imp_t *c, const json_t *obj, size_t idx, json_t *inds) {
    const json_t *pat, *ptype, *xtype, *desc;
    char path[S_PATH_MAX], *value = NULL;
    const char *type;
    json_t *ind;
    int rc, k;

    if ((rc = s_get_str(c, obj, idx, "pattern", &pat)) != RK_OK ||
        (rc = s_get_str(c, obj, idx, "pattern_type", &ptype)) != RK_OK ||
        (rc = s_get_str(c, obj, idx, "x_renraku_indicator_type", &xtype)) !=
            RK_OK ||
        (rc = s_get_str(c, obj, idx, "description", &desc)) != RK_OK)
        return rc;
    if (!pat || !ptype)
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].%s: missing (an indicator has a pattern "
                      "and a pattern_type)",
                      idx, pat ? "pattern_type" : "pattern");
    if (strcmp(json_string_value(ptype), "stix") != 0) {
        c->n_not_stix++;
        return RK_OK;
    }
    rc = s_parse_pattern(json_string_value(pat), path, &value);
    if (rc < 0)
        return s_fail(c->err, c->errlen, rc, "out of memory");
    k = rc == 1 ? s_kind_of_path(path) : -1;
    if (k < 0) {
        free(value);
        c->n_complex++;
        return RK_OK;
    }
    if (strlen(value) > PAYLOAD_VALUE_MAX) {
        free(value);
        c->n_too_long++;
        return RK_OK;
    }
    if (c->n_imported >= PAYLOAD_MAX_INDICATORS) {
        free(value);
        c->n_over++;
        return RK_OK;
    }
    /* Our own export names the notice's spelling of the type; keep it
     * when it means what the pattern says. */
    if (k == (int)S_N(s_kinds))
        type = xtype && json_string_length(xtype) &&
                       json_string_length(xtype) <= PAYLOAD_NAME_MAX &&
                       s_line_ok(json_string_value(xtype))
                   ? json_string_value(xtype)
                   : "other";
    else if (xtype && s_kind_of_type(json_string_value(xtype)) == k)
        type = json_string_value(xtype);
    else
        type = s_kinds[k].type;
    ind = json_object();
    if (!ind || json_object_set_new(ind, "type", json_string(type)) != 0 ||
        json_object_set_new(ind, "value", json_string(value)) != 0) {
        json_decref(ind);
        free(value);
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    }
    free(value);
    if (desc) {
        char *d = s_clean(json_string_value(desc), json_string_length(desc),
                          PAYLOAD_NOTE_MAX, true, &c->clipped);
        if (!d || (d[0] && json_object_set_new(ind, "description",
                                               json_string(d)) != 0)) {
            free(d);
            json_decref(ind);
            return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
        }
        free(d);
    }
    if (json_array_append_new(inds, ind) != 0)
        return s_fail(c->err, c->errlen, RK_ERR_NOMEM, "out of memory");
    c->n_imported++;
    return RK_OK;
}

/* Checks an object's shape and folds its TLP markings into c->tlp. */
static int
s_scan(s_imp_t *c, const json_t *obj, size_t idx) {
    const json_t *v = json_object_get(obj, "type"), *refs, *r;
    size_t i;

    if (!json_is_object(obj))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu]: expected a JSON object", idx);
    if (!json_is_string(v))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].type: missing or not a string", idx);
    if ((v = json_object_get(obj, "id")) && !json_is_string(v))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].id: expected a string", idx);
    refs = json_object_get(obj, "object_marking_refs");
    if (!refs)
        return RK_OK;
    if (!json_is_array(refs))
        return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                      "objects[%zu].object_marking_refs: expected an array of "
                      "marking ids",
                      idx);
    json_array_foreach(refs, i, r) {
        payload_tlp_t t;
        if (!json_is_string(r))
            return s_fail(c->err, c->errlen, RK_ERR_MALFORMED,
                          "objects[%zu].object_marking_refs[%zu]: expected a "
                          "string",
                          idx, i);
        t = s_tlp_of_id(json_string_value(r));
        if (t > c->tlp)
            c->tlp = t;
    }
    return RK_OK;
}

/* The sentence that tells the user what the import left out or chose. */
static void
s_report(const s_imp_t *c, char *err, size_t errlen) {
    size_t skipped = c->n_complex + c->n_not_stix + c->n_too_long + c->n_over;
    size_t k = 0;

#define S_ADD(...)                                                             \
    do {                                                                       \
        if (k < errlen) {                                                      \
            int w_ = snprintf(err + k, errlen - k, __VA_ARGS__);               \
            k += w_ > 0 ? (size_t)w_ : 0;                                      \
        }                                                                      \
    } while (0)
    if (!err || !errlen)
        return;
    err[0] = '\0';
    if (skipped) {
        S_ADD("skipped %zu of %zu indicators (", skipped,
              skipped + c->n_imported);
        if (c->n_complex)
            S_ADD("%zu with a pattern that is not one simple comparison of a "
                  "supported type; ",
                  c->n_complex);
        if (c->n_not_stix)
            S_ADD("%zu with a pattern_type other than stix; ", c->n_not_stix);
        if (c->n_too_long)
            S_ADD("%zu with a value over " S_XSTR(PAYLOAD_VALUE_MAX) " bytes; ",
                  c->n_too_long);
        if (c->n_over)
            S_ADD("%zu past the " S_XSTR(
                      PAYLOAD_MAX_INDICATORS) " a notice holds; ",
                  c->n_over);
        if (k >= 2 && k < errlen)
            k -= 2;
        S_ADD(")");
    }
    if (!c->tlp)
        S_ADD("%sno TLP marking: the notice is TLP:AMBER", k ? "; " : "");
    if (c->clipped)
        S_ADD("%stext cut to the notice limits", k ? "; " : "");
#undef S_ADD
}

int
stix_import_ex(const json_t *bundle, payload_t **notice,
               stix_import_info_t *info, char *err, size_t errlen) {
    s_imp_t c;
    const json_t *v, *objs, *obj, *main_obj = NULL;
    const char *type, *main_type = NULL;
    static const char *const kinds[] = {"incident", "report", "note"};
    json_t *nj = NULL, *inds = NULL, *wrap = NULL;
    size_t i, main_idx = 0, best = S_N(kinds);
    char q[48], perr[400];
    int rc;

    if (notice)
        *notice = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    if (err && errlen)
        err[0] = '\0';
    if (!notice)
        return s_fail(err, errlen, RK_ERR_INVALID, "stix_import: NULL notice");
    memset(&c, 0, sizeof c);
    c.err = err;
    c.errlen = errlen;

    if (!json_is_object(bundle))
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle: expected a JSON object (a STIX 2.1 bundle)");
    v = json_object_get(bundle, "type");
    if (!json_is_string(v))
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle.type: missing or not a string (a STIX 2.1 "
                      "bundle has \"type\": \"bundle\")");
    if (strcmp(json_string_value(v), "bundle") != 0)
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle.type: '%s', expected \"bundle\" (import takes a "
                      "STIX 2.1 bundle, not a single object)",
                      s_quote(q, json_string_value(v)));
    if ((v = json_object_get(bundle, "id")) && !json_is_string(v))
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle.id: expected a string");
    objs = json_object_get(bundle, "objects");
    if (!json_is_array(objs))
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle.objects: missing or not an array");
    if (json_array_size(objs) > STIX_MAX_OBJECTS)
        return s_fail(err, errlen, RK_ERR_TOO_LARGE,
                      "bundle.objects: %zu objects, more than the %d "
                      "accepted",
                      json_array_size(objs), STIX_MAX_OBJECTS);

    json_array_foreach(objs, i, obj) {
        if ((rc = s_scan(&c, obj, i)) != RK_OK)
            return rc;
        type = json_string_value(json_object_get(obj, "type"));
        for (size_t k = 0; k < best; k++)
            if (strcmp(type, kinds[k]) == 0) {
                best = k;
                main_obj = obj;
                main_idx = i;
                main_type = kinds[k];
            }
    }
    if (!main_obj)
        return s_fail(err, errlen, RK_ERR_MALFORMED,
                      "bundle.objects: no incident, report or note to take "
                      "the notice's title from");

    nj = json_object();
    inds = json_array();
    if (!nj || !inds) {
        rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = s_title(&c, main_obj, main_idx, main_type, nj)) != RK_OK ||
        (rc = s_renraku_fields(&c, main_obj, main_idx, nj)) != RK_OK)
        goto cleanup;
    if (!json_object_get(nj, "incident_id")) {
        /* Another tool's object: its STIX id is the best reference. */
        const char *id = json_string_value(json_object_get(main_obj, "id"));
        char *clean =
            id ? s_clean(id, strlen(id), PAYLOAD_ID_MAX, false, &c.clipped)
               : NULL;
        if (id && !clean) {
            rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
        rc = json_object_set_new(
            nj, "incident_id",
            json_string(clean && clean[0] ? clean : "stix-import"));
        free(clean);
        if (rc != 0) {
            rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
    }
    json_array_foreach(objs, i, obj) {
        if (strcmp(json_string_value(json_object_get(obj, "type")),
                   "indicator") == 0 &&
            (rc = s_import_indicator(&c, obj, i, inds)) != RK_OK)
            goto cleanup;
    }
    if (json_array_size(inds) && json_object_set(nj, "indicators", inds) != 0) {
        rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (json_object_set_new(nj, "tlp",
                            json_string(payload_tlp_name(
                                c.tlp ? c.tlp : PAYLOAD_TLP_AMBER))) != 0) {
        rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    wrap = json_pack("{sO}", "notice", nj);
    if (!wrap) {
        rc = s_fail(err, errlen, RK_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    rc = payload_from_json(wrap, notice, perr, sizeof perr);
    if (rc == RK_ERR_NOMEM) {
        s_fail(err, errlen, rc, "out of memory");
        goto cleanup;
    }
    if (rc != RK_OK) {
        rc = s_fail(err, errlen, rc == RK_ERR_TOO_LARGE ? rc : RK_ERR_MALFORMED,
                    "the notice from objects[%zu] (%s) does not validate: %s",
                    main_idx, main_type, perr);
        goto cleanup;
    }
    if (info) {
        info->n_indicators = c.n_imported;
        info->n_skipped = c.n_complex + c.n_not_stix + c.n_too_long + c.n_over;
        info->tlp_defaulted = c.tlp == 0;
        info->clipped = c.clipped;
        snprintf(info->source_type, sizeof info->source_type, "%s", main_type);
    }
    s_report(&c, err, errlen);

cleanup:
    json_decref(wrap);
    json_decref(inds);
    json_decref(nj);
    return rc;
}

int
stix_import(const json_t *bundle, payload_t **notice, char *err,
            size_t errlen) {
    return stix_import_ex(bundle, notice, NULL, err, errlen);
}

int
stix_load(const char *path, json_t **bundle, char *err, size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    json_error_t jerr;
    int rc;

    if (bundle)
        *bundle = NULL;
    if (!path || !bundle)
        return s_fail(err, errlen, RK_ERR_INVALID, "stix_load: NULL argument");
    rc = rk_read_file(path, STIX_MAX_BUNDLE_BYTES, &data, &len);
    if (rc == RK_ERR_TOO_LARGE)
        return s_fail(err, errlen, rc,
                      "larger than the %u bytes a bundle may have",
                      STIX_MAX_BUNDLE_BYTES);
    if (rc != RK_OK)
        return s_fail(err, errlen, rc, "%s", rk_strerror(rc));
    *bundle =
        json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    free(data);
    if (!*bundle)
        return s_fail(err, errlen, RK_ERR_MALFORMED, "line %d: %s", jerr.line,
                      jerr.text);
    return RK_OK;
}
