/* roster: the signed contact directory: JSON codec with field-named errors,
 * validation, editing, signing as a c2sp signed note, and look-ups. */
#include "roster.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "rk_util.h"

struct roster {
    char *framework;
    uint64_t serial;
    uint64_t issued_ms;
    roster_node_t *nodes;
    size_t n_nodes;
    size_t cap;
};

static const char *s_status[] = {NULL, "active", "suspended", "revoked"};

const char *
roster_status_name(roster_status_t status) {
    if (status >= ROSTER_ACTIVE && status <= ROSTER_REVOKED)
        return s_status[status];
    return "unknown";
}

roster_status_t
roster_status_from_name(const char *name) {
    for (int s = ROSTER_ACTIVE; s <= ROSTER_REVOKED; s++)
        if (name && strcmp(name, s_status[s]) == 0)
            return (roster_status_t)s;
    return (roster_status_t)0;
}

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
s_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- node memory ---- */

static void
s_strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void
s_node_clear(roster_node_t *n) {
    free(n->id);
    free(n->organisation);
    free(n->status_reason);
    s_strv_free(n->groups, n->n_groups);
    for (size_t i = 0; i < n->n_contacts; i++) {
        roster_contact_t *c = &n->contacts[i];
        free(c->name);
        free(c->email);
        free(c->phone);
        free(c->hours);
        free(c->timezone);
        s_strv_free(c->languages, c->n_languages);
    }
    free(n->contacts);
    free(n->keys);
    memset(n, 0, sizeof *n);
}

static int
s_dup(char **dst, const char *src) {
    *dst = NULL;
    if (!src)
        return RK_OK;
    *dst = strdup(src);
    return *dst ? RK_OK : RK_ERR_NOMEM;
}

static int
s_strv_dup(char ***dst, char *const *src, size_t n) {
    *dst = NULL;
    if (n == 0)
        return RK_OK;
    *dst = calloc(n, sizeof **dst);
    if (!*dst)
        return RK_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (s_dup(&(*dst)[i], src[i]) != RK_OK)
            return RK_ERR_NOMEM;
    return RK_OK;
}

/* Deep copy; on failure dst holds what was copied (clear it). */
static int
s_node_copy(roster_node_t *dst, const roster_node_t *src) {
    memset(dst, 0, sizeof *dst);
    memcpy(dst->country, src->country, sizeof dst->country);
    dst->role = src->role;
    dst->status = src->status;
    if (s_dup(&dst->id, src->id) ||
        s_dup(&dst->organisation, src->organisation) ||
        s_dup(&dst->status_reason, src->status_reason))
        return RK_ERR_NOMEM;
    if (s_strv_dup(&dst->groups, src->groups, src->n_groups))
        return RK_ERR_NOMEM;
    dst->n_groups = src->n_groups;
    if (src->n_contacts) {
        dst->contacts = calloc(src->n_contacts, sizeof *dst->contacts);
        if (!dst->contacts)
            return RK_ERR_NOMEM;
        dst->n_contacts = src->n_contacts;
        for (size_t i = 0; i < src->n_contacts; i++) {
            const roster_contact_t *s = &src->contacts[i];
            roster_contact_t *d = &dst->contacts[i];
            if (s_dup(&d->name, s->name) || s_dup(&d->email, s->email) ||
                s_dup(&d->phone, s->phone) || s_dup(&d->hours, s->hours) ||
                s_dup(&d->timezone, s->timezone) ||
                s_strv_dup(&d->languages, s->languages, s->n_languages))
                return RK_ERR_NOMEM;
            d->n_languages = s->n_languages;
        }
    }
    if (src->n_keys) {
        dst->keys = calloc(src->n_keys, sizeof *dst->keys);
        if (!dst->keys)
            return RK_ERR_NOMEM;
        memcpy(dst->keys, src->keys, src->n_keys * sizeof *dst->keys);
        dst->n_keys = src->n_keys;
        for (size_t i = 0; i < dst->n_keys; i++)
            envelope_key_id(dst->keys[i].sign_key_id, dst->keys[i].sign_pk);
    }
    return RK_OK;
}

/* ---- validation, shared by JSON parsing and editing ---- */

static bool
s_text_ok(const char *s, bool required) {
    if (!s)
        return !required;
    size_t n = strlen(s);
    if ((required && n == 0) || n > ROSTER_MAX_TEXT)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

/* Checks one node on its own; p is the field path prefix for errors. */
static int
s_validate_node(const roster_node_t *n, const char *p, char *err,
                size_t errlen) {
    if (!envelope_node_id_valid(n->id)) {
        s_err(err, errlen, "%sid: not a node id (a-z 0-9 . _ -, 1-63 bytes)",
              p);
        return RK_ERR_INVALID;
    }
    if (strcmp(n->id, ROSTER_GROUP_ALL) == 0) {
        s_err(err, errlen,
              "%sid: \"all\" is the name of the group of all "
              "partners",
              p);
        return RK_ERR_INVALID;
    }
    if (!isupper((unsigned char)n->country[0]) ||
        !isupper((unsigned char)n->country[1]) || n->country[2]) {
        s_err(err, errlen,
              "%scountry: not an ISO 3166-1 alpha-2 code (two "
              "letters A-Z)",
              p);
        return RK_ERR_INVALID;
    }
    if (!s_text_ok(n->organisation, true)) {
        s_err(err, errlen,
              "%sorganisation: empty, over %d bytes or has "
              "control characters",
              p, ROSTER_MAX_TEXT);
        return RK_ERR_INVALID;
    }
    if (n->role < IDENTITY_ROLE_PARTNER || n->role > IDENTITY_ROLE_RELAY) {
        s_err(err, errlen,
              "%srole: must be partner, controller, auditor or "
              "relay",
              p);
        return RK_ERR_INVALID;
    }
    if (!roster_status_from_name(roster_status_name(n->status))) {
        s_err(err, errlen, "%sstatus: must be active, suspended or revoked", p);
        return RK_ERR_INVALID;
    }
    if (!s_text_ok(n->status_reason, false)) {
        s_err(err, errlen,
              "%sstatus_reason: over %d bytes or has control "
              "characters",
              p, ROSTER_MAX_TEXT);
        return RK_ERR_INVALID;
    }
    if (n->n_groups > ROSTER_MAX_GROUPS) {
        s_err(err, errlen, "%sgroups: more than %d", p, ROSTER_MAX_GROUPS);
        return RK_ERR_INVALID;
    }
    for (size_t i = 0; i < n->n_groups; i++) {
        if (!envelope_node_id_valid(n->groups[i]) ||
            strcmp(n->groups[i], ROSTER_GROUP_ALL) == 0) {
            s_err(err, errlen,
                  "%sgroups[%zu]: not a group name (a-z 0-9 . _ "
                  "-; \"all\" is implicit)",
                  p, i);
            return RK_ERR_INVALID;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(n->groups[i], n->groups[j]) == 0) {
                s_err(err, errlen, "%sgroups[%zu]: \"%s\" listed twice", p, i,
                      n->groups[i]);
                return RK_ERR_INVALID;
            }
    }
    if (n->n_contacts > ROSTER_MAX_CONTACTS) {
        s_err(err, errlen, "%scontacts: more than %d", p, ROSTER_MAX_CONTACTS);
        return RK_ERR_INVALID;
    }
    for (size_t i = 0; i < n->n_contacts; i++) {
        const roster_contact_t *c = &n->contacts[i];
        const char *bad = !s_text_ok(c->name, true)        ? "name"
                          : !s_text_ok(c->email, false)    ? "email"
                          : !s_text_ok(c->phone, false)    ? "phone"
                          : !s_text_ok(c->hours, false)    ? "hours"
                          : !s_text_ok(c->timezone, false) ? "timezone"
                                                           : NULL;
        if (!bad && c->email && !strchr(c->email, '@'))
            bad = "email";
        if (bad) {
            s_err(err, errlen,
                  "%scontacts[%zu].%s: missing, over %d bytes, "
                  "malformed or has control characters",
                  p, i, bad, ROSTER_MAX_TEXT);
            return RK_ERR_INVALID;
        }
        for (size_t j = 0; j < c->n_languages; j++)
            if (!s_text_ok(c->languages[j], true) ||
                strlen(c->languages[j]) > 35) {
                s_err(err, errlen,
                      "%scontacts[%zu].languages[%zu]: not a "
                      "language tag",
                      p, i, j);
                return RK_ERR_INVALID;
            }
    }
    if (n->n_keys == 0 || n->n_keys > ROSTER_MAX_KEYS) {
        s_err(err, errlen, "%skeys: need 1 to %d key sets", p, ROSTER_MAX_KEYS);
        return RK_ERR_INVALID;
    }
    for (size_t i = 0; i < n->n_keys; i++) {
        const roster_keyset_t *k = &n->keys[i];
        if (k->not_after_ms <= k->not_before_ms) {
            s_err(err, errlen, "%skeys[%zu].not_after: not after not_before", p,
                  i);
            return RK_ERR_INVALID;
        }
        if (!roster_status_from_name(roster_status_name(k->status))) {
            s_err(err, errlen,
                  "%skeys[%zu].status: must be active, suspended "
                  "or revoked",
                  p, i);
            return RK_ERR_INVALID;
        }
    }
    return RK_OK;
}

/* Checks node n against every other node of the roster (skip index). */
static int
s_validate_unique(const roster_t *self, const roster_node_t *n, size_t skip,
                  const char *p, char *err, size_t errlen) {
    for (size_t i = 0; i < self->n_nodes; i++) {
        const roster_node_t *o = &self->nodes[i];
        if (i == skip)
            continue;
        if (strcmp(o->id, n->id) == 0) {
            s_err(err, errlen, "%sid: \"%s\" is already in the roster", p,
                  n->id);
            return RK_ERR_EXISTS;
        }
        for (size_t g = 0; g < o->n_groups; g++)
            if (strcmp(o->groups[g], n->id) == 0) {
                s_err(err, errlen, "%sid: \"%s\" is already a group name", p,
                      n->id);
                return RK_ERR_EXISTS;
            }
        for (size_t g = 0; g < n->n_groups; g++)
            if (strcmp(n->groups[g], o->id) == 0) {
                s_err(err, errlen, "%sgroups[%zu]: \"%s\" is a node id", p, g,
                      o->id);
                return RK_ERR_EXISTS;
            }
        for (size_t a = 0; a < n->n_keys; a++)
            for (size_t b = 0; b < o->n_keys; b++)
                if (memcmp(n->keys[a].sign_pk, o->keys[b].sign_pk, 32) == 0 ||
                    memcmp(n->keys[a].enc_pk, o->keys[b].enc_pk, 32) == 0 ||
                    memcmp(n->keys[a].transport_pk, o->keys[b].transport_pk,
                           32) == 0) {
                    s_err(err, errlen, "%skeys[%zu]: a key of node \"%s\"", p,
                          a, o->id);
                    return RK_ERR_EXISTS;
                }
    }
    return RK_OK;
}

/* ---- roster object ---- */

roster_t *
roster_new(const char *framework) {
    roster_t *self;
    if (!s_text_ok(framework, true))
        return NULL;
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->framework = strdup(framework);
    if (!self->framework) {
        free(self);
        return NULL;
    }
    return self;
}

void
roster_destroy(roster_t **self_p) {
    roster_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->n_nodes; i++)
        s_node_clear(&self->nodes[i]);
    free(self->nodes);
    free(self->framework);
    free(self);
    *self_p = NULL;
}

uint64_t
roster_serial(const roster_t *self) {
    return self->serial;
}
uint64_t
roster_issued_ms(const roster_t *self) {
    return self->issued_ms;
}
const char *
roster_framework(const roster_t *self) {
    return self->framework;
}
size_t
roster_count(const roster_t *self) {
    return self->n_nodes;
}
const roster_node_t *
roster_node_at(const roster_t *self, size_t i) {
    return i < self->n_nodes ? &self->nodes[i] : NULL;
}

static ssize_t
s_index(const roster_t *self, const char *id) {
    for (size_t i = 0; i < self->n_nodes; i++)
        if (strcmp(self->nodes[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

const roster_node_t *
roster_find(const roster_t *self, const char *id) {
    ssize_t i = s_index(self, id);
    return i < 0 ? NULL : &self->nodes[i];
}

static int
s_insert(roster_t *self, const roster_node_t *node, const char *p, char *err,
         size_t errlen) {
    int rc = s_validate_node(node, p, err, errlen);
    if (rc == RK_OK)
        rc = s_validate_unique(self, node, (size_t)-1, p, err, errlen);
    if (rc != RK_OK)
        return rc;
    if (self->n_nodes >= ROSTER_MAX_NODES) {
        s_err(err, errlen, "%sid: the roster holds %d nodes already", p,
              ROSTER_MAX_NODES);
        return RK_ERR_TOO_LARGE;
    }
    if (self->n_nodes == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        roster_node_t *grown = realloc(self->nodes, cap * sizeof *grown);
        if (!grown)
            return RK_ERR_NOMEM;
        self->nodes = grown;
        self->cap = cap;
    }
    rc = s_node_copy(&self->nodes[self->n_nodes], node);
    if (rc != RK_OK) {
        s_node_clear(&self->nodes[self->n_nodes]);
        return rc;
    }
    self->n_nodes++;
    return RK_OK;
}

int
roster_add(roster_t *self, const roster_node_t *node, char *err,
           size_t errlen) {
    int rc = s_insert(self, node, "", err, errlen);
    return rc == RK_ERR_TOO_LARGE ? RK_ERR_INVALID : rc;
}

int
roster_update(roster_t *self, const roster_node_t *node, char *err,
              size_t errlen) {
    ssize_t i = node->id ? s_index(self, node->id) : -1;
    roster_node_t copy;
    int rc;

    if (i < 0) {
        s_err(err, errlen, "id: \"%s\" is not in the roster",
              node->id ? node->id : "");
        return RK_ERR_NOT_FOUND;
    }
    rc = s_validate_node(node, "", err, errlen);
    if (rc == RK_OK)
        rc = s_validate_unique(self, node, (size_t)i, "", err, errlen);
    if (rc != RK_OK)
        return rc;
    rc = s_node_copy(&copy, node);
    if (rc != RK_OK) {
        s_node_clear(&copy);
        return rc;
    }
    s_node_clear(&self->nodes[i]);
    self->nodes[i] = copy;
    return RK_OK;
}

int
roster_set_status(roster_t *self, const char *id, roster_status_t status,
                  const char *reason) {
    ssize_t i = s_index(self, id);
    char *r = NULL;
    if (i < 0)
        return RK_ERR_NOT_FOUND;
    if (!roster_status_from_name(roster_status_name(status)) ||
        !s_text_ok(reason, false))
        return RK_ERR_INVALID;
    if (reason && !(r = strdup(reason)))
        return RK_ERR_NOMEM;
    free(self->nodes[i].status_reason);
    self->nodes[i].status_reason = r;
    self->nodes[i].status = status;
    return RK_OK;
}

int
roster_remove(roster_t *self, const char *id) {
    ssize_t i = s_index(self, id);
    if (i < 0)
        return RK_ERR_NOT_FOUND;
    s_node_clear(&self->nodes[i]);
    memmove(&self->nodes[i], &self->nodes[i + 1],
            (self->n_nodes - (size_t)i - 1) * sizeof *self->nodes);
    self->n_nodes--;
    return RK_OK;
}

/* ---- JSON ---- */

/* Refuses keys outside the allowed list (NULL-terminated). */
static int
s_only_keys(const json_t *o, const char *const *allowed, const char *p,
            char *err, size_t errlen) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok) {
            s_err(err, errlen, "%s%s: unknown field", p, k);
            return RK_ERR_MALFORMED;
        }
    }
    return RK_OK;
}

/* Reads an optional (or required) string field into *out (malloc'd). */
static int
s_get_str(const json_t *o, const char *field, bool required, char **out,
          const char *p, char *err, size_t errlen) {
    const json_t *v = json_object_get(o, field);
    *out = NULL;
    if (!v && !required)
        return RK_OK;
    if (!json_is_string(v)) {
        s_err(err, errlen, "%s%s: %s", p, field,
              v ? "not a string" : "missing");
        return RK_ERR_MALFORMED;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        s_err(err, errlen, "%s%s: contains a NUL character", p, field);
        return RK_ERR_MALFORMED;
    }
    *out = strdup(json_string_value(v));
    return *out ? RK_OK : RK_ERR_NOMEM;
}

static int
s_get_strv(const json_t *o, const char *field, size_t max, char ***out,
           size_t *n, const char *p, char *err, size_t errlen) {
    const json_t *v = json_object_get(o, field);
    *out = NULL;
    *n = 0;
    if (!v)
        return RK_OK;
    if (!json_is_array(v) || json_array_size(v) > max) {
        s_err(err, errlen, "%s%s: not an array of at most %zu strings", p,
              field, max);
        return RK_ERR_MALFORMED;
    }
    if (json_array_size(v) == 0)
        return RK_OK;
    *out = calloc(json_array_size(v), sizeof **out);
    if (!*out)
        return RK_ERR_NOMEM;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) ||
            strlen(json_string_value(s)) != json_string_length(s)) {
            s_err(err, errlen, "%s%s[%zu]: not a string", p, field, i);
            return RK_ERR_MALFORMED;
        }
        (*out)[i] = strdup(json_string_value(s));
        if (!(*out)[i])
            return RK_ERR_NOMEM;
        (*n)++;
    }
    return RK_OK;
}

static int
s_get_time(const json_t *o, const char *field, uint64_t dflt, uint64_t *out,
           const char *p, char *err, size_t errlen) {
    const json_t *v = json_object_get(o, field);
    *out = dflt;
    if (!v)
        return RK_OK;
    if (!json_is_string(v) ||
        rk_time_parse(json_string_value(v), out) != RK_OK) {
        s_err(err, errlen,
              "%s%s: not an RFC 3339 UTC time "
              "(2026-11-22T07:00:00Z)",
              p, field);
        return RK_ERR_MALFORMED;
    }
    return RK_OK;
}

static int
s_get_key(const json_t *o, const char *field, uint8_t out[32], const char *p,
          char *err, size_t errlen) {
    const json_t *v = json_object_get(o, field);
    size_t n = 0;
    if (!json_is_string(v) ||
        rk_unb64(out, 32, &n, json_string_value(v), json_string_length(v)) !=
            RK_OK ||
        n != 32) {
        s_err(err, errlen, "%s%s: %s", p, field,
              v ? "not 32 bytes of base64" : "missing");
        return RK_ERR_MALFORMED;
    }
    return RK_OK;
}

static int
s_get_status(const json_t *o, const char *field, roster_status_t *out,
             const char *p, char *err, size_t errlen) {
    const json_t *v = json_object_get(o, field);
    *out = ROSTER_ACTIVE;
    if (!v)
        return RK_OK;
    *out = roster_status_from_name(json_string_value(v));
    if (!*out) {
        s_err(err, errlen, "%s%s: must be active, suspended or revoked", p,
              field);
        return RK_ERR_MALFORMED;
    }
    return RK_OK;
}

static int
s_node_from_json(const json_t *o, roster_node_t *n, const char *p, char *err,
                 size_t errlen) {
    static const char *const node_keys[] = {
        "id",     "country",  "organisation", "role", "status", "status_reason",
        "groups", "contacts", "keys",         NULL};
    static const char *const contact_keys[] = {
        "name", "email", "phone", "hours", "timezone", "languages", NULL};
    static const char *const key_keys[] = {
        "sign", "enc", "transport", "not_before", "not_after", "status", NULL};
    char sub[96], *s = NULL;
    const json_t *arr;
    int rc;

    memset(n, 0, sizeof *n);
    if (!json_is_object(o)) {
        s_err(err, errlen, "%s: not an object", p);
        return RK_ERR_MALFORMED;
    }
    if ((rc = s_only_keys(o, node_keys, p, err, errlen)) ||
        (rc = s_get_str(o, "id", true, &n->id, p, err, errlen)) ||
        (rc = s_get_str(o, "organisation", true, &n->organisation, p, err,
                        errlen)) ||
        (rc = s_get_str(o, "status_reason", false, &n->status_reason, p, err,
                        errlen)) ||
        (rc = s_get_status(o, "status", &n->status, p, err, errlen)) ||
        (rc = s_get_strv(o, "groups", ROSTER_MAX_GROUPS, &n->groups,
                         &n->n_groups, p, err, errlen)))
        return rc;
    if ((rc = s_get_str(o, "country", true, &s, p, err, errlen)))
        return rc;
    if (strlen(s) != 2) {
        s_err(err, errlen,
              "%scountry: not an ISO 3166-1 alpha-2 code (two "
              "letters A-Z)",
              p);
        free(s);
        return RK_ERR_MALFORMED;
    }
    memcpy(n->country, s, 3);
    free(s);
    if ((rc = s_get_str(o, "role", true, &s, p, err, errlen)))
        return rc;
    n->role = identity_role_from_name(s);
    free(s);
    if (n->role == IDENTITY_ROLE_COORDINATOR || !n->role) {
        s_err(err, errlen,
              "%srole: must be partner, controller, auditor or "
              "relay",
              p);
        return RK_ERR_MALFORMED;
    }

    arr = json_object_get(o, "contacts");
    if (arr &&
        (!json_is_array(arr) || json_array_size(arr) > ROSTER_MAX_CONTACTS)) {
        s_err(err, errlen, "%scontacts: not an array of at most %d", p,
              ROSTER_MAX_CONTACTS);
        return RK_ERR_MALFORMED;
    }
    if (arr && json_array_size(arr)) {
        n->contacts = calloc(json_array_size(arr), sizeof *n->contacts);
        if (!n->contacts)
            return RK_ERR_NOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            const json_t *c = json_array_get(arr, i);
            roster_contact_t *d = &n->contacts[i];
            n->n_contacts++;
            snprintf(sub, sizeof sub, "%scontacts[%zu].", p, i);
            if (!json_is_object(c)) {
                s_err(err, errlen, "%s: not an object", sub);
                return RK_ERR_MALFORMED;
            }
            if ((rc = s_only_keys(c, contact_keys, sub, err, errlen)) ||
                (rc = s_get_str(c, "name", true, &d->name, sub, err, errlen)) ||
                (rc = s_get_str(c, "email", false, &d->email, sub, err,
                                errlen)) ||
                (rc = s_get_str(c, "phone", false, &d->phone, sub, err,
                                errlen)) ||
                (rc = s_get_str(c, "hours", false, &d->hours, sub, err,
                                errlen)) ||
                (rc = s_get_str(c, "timezone", false, &d->timezone, sub, err,
                                errlen)) ||
                (rc = s_get_strv(c, "languages", 16, &d->languages,
                                 &d->n_languages, sub, err, errlen)))
                return rc;
        }
    }

    arr = json_object_get(o, "keys");
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > ROSTER_MAX_KEYS) {
        s_err(err, errlen, "%skeys: need an array of 1 to %d key sets", p,
              ROSTER_MAX_KEYS);
        return RK_ERR_MALFORMED;
    }
    n->keys = calloc(json_array_size(arr), sizeof *n->keys);
    if (!n->keys)
        return RK_ERR_NOMEM;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *k = json_array_get(arr, i);
        roster_keyset_t *d = &n->keys[i];
        n->n_keys++;
        snprintf(sub, sizeof sub, "%skeys[%zu].", p, i);
        if (!json_is_object(k)) {
            s_err(err, errlen, "%s: not an object", sub);
            return RK_ERR_MALFORMED;
        }
        if ((rc = s_only_keys(k, key_keys, sub, err, errlen)) ||
            (rc = s_get_key(k, "sign", d->sign_pk, sub, err, errlen)) ||
            (rc = s_get_key(k, "enc", d->enc_pk, sub, err, errlen)) ||
            (rc = s_get_key(k, "transport", d->transport_pk, sub, err,
                            errlen)) ||
            (rc = s_get_time(k, "not_before", 0, &d->not_before_ms, sub, err,
                             errlen)) ||
            (rc = s_get_time(k, "not_after", ROSTER_FOREVER, &d->not_after_ms,
                             sub, err, errlen)) ||
            (rc = s_get_status(k, "status", &d->status, sub, err, errlen)))
            return rc;
        envelope_key_id(d->sign_key_id, d->sign_pk);
    }
    return RK_OK;
}

int
roster_from_json(const char *text, size_t len, roster_t **out, char *err,
                 size_t errlen) {
    static const char *const top_keys[] = {
        "renraku_roster", "framework", "serial", "issued", "nodes", NULL};
    json_error_t jerr;
    json_t *o = NULL;
    const json_t *v, *nodes;
    roster_t *self = NULL;
    char *framework = NULL;
    roster_node_t node;
    char p[48];
    int rc = RK_ERR_MALFORMED, crlf = 0;

    memset(&node, 0, sizeof node);
    if (len > ROSTER_MAX_BYTES) {
        s_err(err, errlen, "roster larger than %u bytes", ROSTER_MAX_BYTES);
        return RK_ERR_TOO_LARGE;
    }
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o && roster_text_is_signed((const uint8_t *)text, len, &crlf)) {
        /* "not valid JSON" would send its reader looking for a typo. */
        s_err(err, errlen,
              "a signed roster (first line \"renraku roster v1\"), not "
              "roster JSON: edit the roster JSON it was signed from%s",
              crlf ? " (and its line ends were changed to CRLF, so it does "
                     "not verify either)"
                   : "");
        return RK_ERR_MALFORMED;
    }
    if (!o) {
        s_err(err, errlen, "not valid JSON (line %d, column %d: %s)", jerr.line,
              jerr.column, jerr.text);
        return RK_ERR_MALFORMED;
    }
    if (!json_is_object(o)) {
        s_err(err, errlen, "top level is not a JSON object");
        goto cleanup;
    }
    if ((rc = s_only_keys(o, top_keys, "", err, errlen)))
        goto cleanup;
    v = json_object_get(o, "renraku_roster");
    if (!json_is_integer(v) || json_integer_value(v) != ROSTER_VERSION) {
        s_err(err, errlen, "renraku_roster: must be %d (the format version)",
              ROSTER_VERSION);
        rc = v ? RK_ERR_VERSION : RK_ERR_MALFORMED;
        goto cleanup;
    }
    if ((rc = s_get_str(o, "framework", true, &framework, "", err, errlen)))
        goto cleanup;
    rc = RK_ERR_MALFORMED;
    if (!s_text_ok(framework, true)) {
        s_err(err, errlen,
              "framework: empty, too long or has control "
              "characters");
        goto cleanup;
    }
    self = roster_new(framework);
    if (!self) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    v = json_object_get(o, "serial");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        s_err(err, errlen, "serial: %s",
              v ? "not a non-negative integer" : "missing");
        goto cleanup;
    }
    self->serial = (uint64_t)json_integer_value(v);
    if ((rc = s_get_time(o, "issued", 0, &self->issued_ms, "", err, errlen)))
        goto cleanup;
    rc = RK_ERR_MALFORMED;
    nodes = json_object_get(o, "nodes");
    if (!json_is_array(nodes)) {
        s_err(err, errlen, "nodes: %s", nodes ? "not an array" : "missing");
        goto cleanup;
    }
    if (json_array_size(nodes) > ROSTER_MAX_NODES) {
        s_err(err, errlen, "nodes: more than %d", ROSTER_MAX_NODES);
        rc = RK_ERR_TOO_LARGE;
        goto cleanup;
    }
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        snprintf(p, sizeof p, "nodes[%zu].", i);
        rc = s_node_from_json(json_array_get(nodes, i), &node, p, err, errlen);
        if (rc == RK_OK) {
            rc = s_insert(self, &node, p, err, errlen);
            if (rc == RK_ERR_INVALID || rc == RK_ERR_EXISTS)
                rc = RK_ERR_MALFORMED;
        }
        s_node_clear(&node);
        if (rc != RK_OK)
            goto cleanup;
    }
    *out = self;
    self = NULL;
    rc = RK_OK;
cleanup:
    s_node_clear(&node);
    roster_destroy(&self);
    free(framework);
    json_decref(o);
    return rc;
}

static int
s_set_time(json_t *o, const char *field, uint64_t ms) {
    char buf[40];
    rk_time_format(buf, sizeof buf, ms);
    return json_object_set_new(o, field, json_string(buf));
}

static int
s_set_key(json_t *o, const char *field, const uint8_t k[32]) {
    char *b = rk_b64(k, 32);
    int rc = b ? json_object_set_new(o, field, json_string(b)) : -1;
    free(b);
    return rc;
}

static json_t *
s_strv_json(char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *
s_node_json(const roster_node_t *n) {
    json_t *o = json_object(), *contacts = json_array(), *keys = json_array();
    int bad = !o || !contacts || !keys;

    bad |= json_object_set_new(o, "id", json_string(n->id));
    bad |= json_object_set_new(o, "country", json_string(n->country));
    bad |= json_object_set_new(o, "organisation", json_string(n->organisation));
    bad |= json_object_set_new(o, "role",
                               json_string(identity_role_name(n->role)));
    bad |= json_object_set_new(o, "status",
                               json_string(roster_status_name(n->status)));
    if (n->status_reason)
        bad |= json_object_set_new(o, "status_reason",
                                   json_string(n->status_reason));
    bad |=
        json_object_set_new(o, "groups", s_strv_json(n->groups, n->n_groups));
    for (size_t i = 0; i < n->n_contacts; i++) {
        const roster_contact_t *c = &n->contacts[i];
        json_t *co = json_object();
        bad |= !co || json_object_set_new(co, "name", json_string(c->name));
        if (c->email)
            bad |= json_object_set_new(co, "email", json_string(c->email));
        if (c->phone)
            bad |= json_object_set_new(co, "phone", json_string(c->phone));
        if (c->hours)
            bad |= json_object_set_new(co, "hours", json_string(c->hours));
        if (c->timezone)
            bad |=
                json_object_set_new(co, "timezone", json_string(c->timezone));
        bad |= json_object_set_new(co, "languages",
                                   s_strv_json(c->languages, c->n_languages));
        bad |= json_array_append_new(contacts, co);
    }
    bad |= json_object_set(o, "contacts", contacts);
    for (size_t i = 0; i < n->n_keys; i++) {
        const roster_keyset_t *k = &n->keys[i];
        json_t *ko = json_object();
        bad |= !ko || s_set_key(ko, "sign", k->sign_pk);
        bad |= s_set_key(ko, "enc", k->enc_pk);
        bad |= s_set_key(ko, "transport", k->transport_pk);
        bad |= s_set_time(ko, "not_before", k->not_before_ms);
        if (k->not_after_ms != ROSTER_FOREVER)
            bad |= s_set_time(ko, "not_after", k->not_after_ms);
        bad |= json_object_set_new(ko, "status",
                                   json_string(roster_status_name(k->status)));
        bad |= json_array_append_new(keys, ko);
    }
    bad |= json_object_set(o, "keys", keys);
    json_decref(contacts);
    json_decref(keys);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *
roster_to_json(const roster_t *self) {
    json_t *o = json_object(), *nodes = json_array();
    char *text = NULL, *out = NULL;
    int bad = !o || !nodes;

    bad |=
        json_object_set_new(o, "renraku_roster", json_integer(ROSTER_VERSION));
    bad |= json_object_set_new(o, "framework", json_string(self->framework));
    bad |= json_object_set_new(o, "serial",
                               json_integer((json_int_t)self->serial));
    if (self->issued_ms)
        bad |= s_set_time(o, "issued", self->issued_ms);
    for (size_t i = 0; i < self->n_nodes; i++)
        bad |= json_array_append_new(nodes, s_node_json(&self->nodes[i]));
    bad |= json_object_set(o, "nodes", nodes);
    if (!bad)
        text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text && (out = malloc(strlen(text) + 2)))
        sprintf(out, "%s\n", text);
    free(text);
    json_decref(nodes);
    json_decref(o);
    return out;
}

int
roster_load_json(const char *path, roster_t **out, char *err, size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = rk_read_file(path, ROSTER_MAX_BYTES, &data, &len);
    if (rc != RK_OK) {
        s_err(err, errlen, "%s", rk_strerror(rc));
        return rc;
    }
    rc = roster_from_json((const char *)data, len, out, err, errlen);
    free(data);
    return rc;
}

/* ---- signing ---- */

/* The JSON roster_sign signs: the roster with serial + 1, issued at
 * issued_ms; the roster itself is not changed. malloc'd, NULL when out of
 * memory. */
static char *
s_next_json(const roster_t *self, uint64_t issued_ms) {
    roster_t next = *self; /* shallow: roster_to_json only reads */
    next.serial++;
    next.issued_ms = issued_ms;
    return roster_to_json(&next);
}

/* The signed note of ROSTER_NOTE_HEADER + json_len bytes of JSON, signed
 * as key name `name`: what is held against ROSTER_SIGNED_MAX_BYTES. */
static size_t
s_note_len(size_t json_len, const char *name) {
    return note_signed_len(strlen(ROSTER_NOTE_HEADER) + json_len, name);
}

int
roster_signed_len(const roster_t *self, const char *name, uint64_t now_ms,
                  size_t *len) {
    char longest[ENVELOPE_NODE_ID_MAX + 1], *json;

    if (self->serial >= INT64_MAX)
        return RK_ERR_INVALID;
    /* Signer and time not known: the longest name roster_sign is given
     * (a coordinator's id is a node id), and an issued time with
     * milliseconds (".123Z"), 4 bytes longer than a whole second. */
    memset(longest, 'c', ENVELOPE_NODE_ID_MAX);
    longest[ENVELOPE_NODE_ID_MAX] = 0;
    json = s_next_json(self, name ? now_ms : now_ms | 1u);
    if (!json)
        return RK_ERR_NOMEM;
    *len = s_note_len(strlen(json), name ? name : longest);
    free(json);
    return RK_OK;
}

int
roster_sign(roster_t *self, const char *name, const uint8_t sk[64],
            uint64_t now_ms, char **note, size_t *note_len) {
    size_t hl = strlen(ROSTER_NOTE_HEADER), jl;
    char *json, *text;
    int rc;

    /* The JSON serial is a signed 64-bit integer: one more would wrap. */
    if (self->serial >= INT64_MAX)
        return RK_ERR_INVALID;
    json = s_next_json(self, now_ms);
    if (!json)
        return RK_ERR_NOMEM;
    jl = strlen(json);
    /* The JSON may be edited up to ROSTER_MAX_BYTES; what is signed must
     * fit the reader's cap, or the coordinator ships what all refuse. */
    if (s_note_len(jl, name) > ROSTER_SIGNED_MAX_BYTES) {
        *note_len = s_note_len(jl, name);
        free(json);
        return RK_ERR_TOO_LARGE;
    }
    text = malloc(hl + jl + 1);
    if (!text) {
        free(json);
        return RK_ERR_NOMEM;
    }
    memcpy(text, ROSTER_NOTE_HEADER, hl);
    memcpy(text + hl, json, jl + 1);
    free(json);
    rc = note_sign(text, hl + jl, name, sk, note, note_len);
    free(text);
    if (rc != RK_OK)
        return rc;
    /* Signed: the roster now holds what was signed. */
    self->serial++;
    self->issued_ms = now_ms;
    return RK_OK;
}

int
roster_open_signed(const uint8_t *note, size_t len,
                   const note_verifier_t *coordinator, uint64_t held_serial,
                   roster_t **out, char *err, size_t errlen) {
    const uint8_t *text = NULL;
    size_t text_len = 0, hl = strlen(ROSTER_NOTE_HEADER);
    roster_t *r = NULL;
    int rc;

    if (len > ROSTER_SIGNED_MAX_BYTES) {
        s_err(err, errlen,
              "signed roster of %zu bytes: more than the %u bytes a signed "
              "roster may have",
              len, ROSTER_SIGNED_MAX_BYTES);
        return RK_ERR_TOO_LARGE;
    }
    rc = note_verify(note, len, coordinator, &text, &text_len);
    if (rc != RK_OK) {
        int crlf = 0;
        /* A roster copied as text is the likely cause, and the fix is to
         * fetch it again, not to look for forgery. */
        if (rc == RK_ERR_MALFORMED && roster_text_is_signed(note, len, &crlf) &&
            crlf) {
            s_err(err, errlen,
                  "signature: not a well-formed signed note: its line ends "
                  "were changed to CRLF (copied as text, by mail or an "
                  "editor?): use the signed roster exactly as it was "
                  "signed");
            return rc;
        }
        s_err(err, errlen, "signature: %s",
              rc == RK_ERR_UNKNOWN_KEY
                  ? "not signed by the pinned coordinator key"
              : rc == RK_ERR_BAD_SIGNATURE
                  ? "the coordinator's signature does not verify"
                  : "not a well-formed signed note");
        return rc;
    }
    if (text_len < hl || memcmp(text, ROSTER_NOTE_HEADER, hl) != 0) {
        s_err(err, errlen,
              "signed note is not a renraku roster (first line "
              "must be \"renraku roster v1\")");
        return RK_ERR_MALFORMED;
    }
    rc = roster_from_json((const char *)text + hl, text_len - hl, &r, err,
                          errlen);
    if (rc != RK_OK)
        return rc;
    if (r->serial <= held_serial) {
        s_err(err, errlen,
              "serial: %llu is not newer than the roster held "
              "(serial %llu)",
              (unsigned long long)r->serial, (unsigned long long)held_serial);
        roster_destroy(&r);
        return RK_ERR_SERIAL;
    }
    *out = r;
    return RK_OK;
}

int
roster_text_is_signed(const uint8_t *text, size_t len, int *crlf) {
    size_t hl = strlen(ROSTER_NOTE_HEADER) - 1; /* without its '\n' */
    int head = len > hl && memcmp(text, ROSTER_NOTE_HEADER, hl) == 0;
    int cr = head && len > hl + 1 && text[hl] == '\r' && text[hl + 1] == '\n';

    if (crlf)
        *crlf = cr;
    return head && (text[hl] == '\n' || cr);
}

int
roster_load_signed(const char *path, const note_verifier_t *coordinator,
                   uint64_t held_serial, roster_t **out, char *err,
                   size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = rk_read_file(path, ROSTER_SIGNED_MAX_BYTES, &data, &len);
    if (rc == RK_ERR_TOO_LARGE) {
        s_err(err, errlen, "more than the %u bytes a signed roster may have",
              ROSTER_SIGNED_MAX_BYTES);
        return rc;
    }
    if (rc != RK_OK) {
        s_err(err, errlen, "%s", rk_strerror(rc));
        return rc;
    }
    rc = roster_open_signed(data, len, coordinator, held_serial, out, err,
                            errlen);
    free(data);
    return rc;
}

/* ---- look-ups ---- */

static int
s_status_err(roster_status_t s) {
    return s == ROSTER_REVOKED     ? RK_ERR_REVOKED
           : s == ROSTER_SUSPENDED ? RK_ERR_SUSPENDED
                                   : RK_OK;
}

/* A key set's own status and validity at at_ms (not its node's). */
static int
s_keyset_usable(const roster_keyset_t *k, uint64_t at_ms) {
    int rc = s_status_err(k->status);
    if (rc == RK_OK && (at_ms < k->not_before_ms || at_ms >= k->not_after_ms))
        rc = RK_ERR_EXPIRED;
    return rc;
}

/* Whether key set a is newer than b: the later not_before, and of two
 * with the same, the one listed later (roster update --rotate appends). */
static bool
s_newer(const roster_keyset_t *a, size_t ia, const roster_keyset_t *b,
        size_t ib) {
    return a->not_before_ms != b->not_before_ms
               ? a->not_before_ms > b->not_before_ms
               : ia > ib;
}

int
roster_usable_keys(const roster_t *self, const char *id, const uint8_t *key_id,
                   uint64_t at_ms, const roster_keyset_t **out) {
    const roster_node_t *n = roster_find(self, id);
    const roster_keyset_t *found = NULL;
    size_t found_i = 0;
    int best = RK_ERR_UNKNOWN_KEY;
    int rc;

    if (!n)
        return RK_ERR_UNKNOWN_KEY;
    if ((rc = s_status_err(n->status)) != RK_OK)
        return rc;
    for (size_t i = 0; i < n->n_keys; i++) {
        const roster_keyset_t *k = &n->keys[i];
        if (key_id && memcmp(k->sign_key_id, key_id, 8) != 0)
            continue;
        rc = s_keyset_usable(k, at_ms);
        if (rc == RK_OK) {
            /* During a rotation's overlap several sets are usable: the
             * newest is the one to seal and connect to. */
            if (!found || s_newer(k, i, found, found_i)) {
                found = k;
                found_i = i;
            }
            continue;
        }
        /* Report the most telling reason: revoked over the rest. */
        if (best == RK_ERR_UNKNOWN_KEY || rc == RK_ERR_REVOKED)
            best = rc;
    }
    if (found) {
        *out = found;
        return RK_OK;
    }
    return best;
}

size_t
roster_usable_keysets(const roster_t *self, const char *id, uint64_t at_ms,
                      const roster_keyset_t **out, size_t max) {
    const roster_node_t *n = roster_find(self, id);
    size_t idx[ROSTER_MAX_KEYS], count = 0;

    if (!n || n->status != ROSTER_ACTIVE)
        return 0;
    for (size_t i = 0; i < n->n_keys && count < ROSTER_MAX_KEYS; i++) {
        size_t j;
        if (s_keyset_usable(&n->keys[i], at_ms) != RK_OK)
            continue;
        j = count++;
        /* Insertion, newest first (at most ROSTER_MAX_KEYS sets). */
        while (j > 0 &&
               s_newer(&n->keys[i], i, &n->keys[idx[j - 1]], idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    for (size_t i = 0; i < count && i < max; i++)
        out[i] = &n->keys[idx[i]];
    return count < max ? count : max;
}

const roster_keyset_t *
roster_keyset_holding(const roster_t *self, const char *id,
                      const uint8_t sign_pk[32], const uint8_t enc_pk[32],
                      const uint8_t transport_pk[32]) {
    const roster_node_t *n = roster_find(self, id);
    if (!n)
        return NULL;
    for (size_t i = 0; i < n->n_keys; i++) {
        const roster_keyset_t *k = &n->keys[i];
        if (!memcmp(k->sign_pk, sign_pk, 32) &&
            !memcmp(k->enc_pk, enc_pk, 32) &&
            !memcmp(k->transport_pk, transport_pk, 32))
            return k;
    }
    return NULL;
}

/* Judges the key set holding pk itself: looking it up again by its
 * signing key id could land on another set of the node that shares that
 * key (and admit a revoked transport key, or refuse a good one). */
const roster_node_t *
roster_by_transport_key(const roster_t *self, const uint8_t pk[32],
                        uint64_t at_ms) {
    for (size_t i = 0; i < self->n_nodes; i++) {
        const roster_node_t *n = &self->nodes[i];
        if (n->status != ROSTER_ACTIVE)
            continue;
        for (size_t j = 0; j < n->n_keys; j++)
            if (memcmp(n->keys[j].transport_pk, pk, 32) == 0 &&
                s_keyset_usable(&n->keys[j], at_ms) == RK_OK)
                return n;
    }
    return NULL;
}

static bool
s_in_group(const roster_node_t *n, const char *group) {
    if (strcmp(group, ROSTER_GROUP_ALL) == 0)
        return n->role == IDENTITY_ROLE_PARTNER;
    for (size_t g = 0; g < n->n_groups; g++)
        if (strcmp(n->groups[g], group) == 0)
            return true;
    return false;
}

int
roster_expand(const roster_t *self, const char *const *targets, size_t n,
              const char ***ids, size_t *n_ids, char *err, size_t errlen) {
    bool *pick = calloc(self->n_nodes ? self->n_nodes : 1, sizeof *pick);
    const char **list = NULL;
    size_t count = 0;
    int rc = RK_ERR_NOMEM;

    if (!pick)
        return RK_ERR_NOMEM;
    for (size_t t = 0; t < n; t++) {
        ssize_t i = s_index(self, targets[t]);
        if (i >= 0) {
            rc = s_status_err(self->nodes[i].status);
            if (rc != RK_OK) {
                s_err(err, errlen, "%s: node is %s", targets[t],
                      roster_status_name(self->nodes[i].status));
                goto cleanup;
            }
            pick[i] = true;
            continue;
        }
        bool known = false, any = false;
        for (size_t j = 0; j < self->n_nodes; j++)
            if (s_in_group(&self->nodes[j], targets[t])) {
                known = true;
                /* A group reaches its active members only. */
                if (self->nodes[j].status == ROSTER_ACTIVE)
                    pick[j] = any = true;
            }
        if (!known && strcmp(targets[t], ROSTER_GROUP_ALL) != 0) {
            s_err(err, errlen, "%s: no such node or group in the roster",
                  targets[t]);
            rc = RK_ERR_UNKNOWN_KEY;
            goto cleanup;
        }
        if (!any) {
            s_err(err, errlen, "%s: group has no active member", targets[t]);
            rc = RK_ERR_INVALID;
            goto cleanup;
        }
    }
    list = malloc((self->n_nodes ? self->n_nodes : 1) * sizeof *list);
    if (!list)
        goto cleanup;
    for (size_t i = 0; i < self->n_nodes; i++)
        if (pick[i])
            list[count++] = self->nodes[i].id;
    *ids = list;
    *n_ids = count;
    rc = RK_OK;
cleanup:
    free(pick);
    return rc;
}

/* ---- table ---- */

void
roster_print(const roster_t *self, FILE *out, uint64_t now_ms) {
    char issued[40] = "never signed";
    if (self->issued_ms)
        rk_time_format(issued, sizeof issued, self->issued_ms);
    fprintf(out, "Roster of %s — serial %llu, issued %s, %zu nodes\n\n",
            self->framework, (unsigned long long)self->serial, issued,
            self->n_nodes);
    fprintf(out, "%-20s %-2s %-10s %-9s %-16s %-24s %s\n", "NODE", "CC", "ROLE",
            "STATUS", "SIGN KEY ID", "GROUPS", "ORGANISATION");
    for (size_t i = 0; i < self->n_nodes; i++) {
        const roster_node_t *n = &self->nodes[i];
        const roster_keyset_t *k = NULL;
        char kid[17] = "-", groups[25] = "";
        size_t gl = 0;
        const char *state = roster_status_name(n->status);
        int rc = roster_usable_keys(self, n->id, NULL, now_ms, &k);

        if (rc == RK_OK)
            rk_hex(kid, k->sign_key_id, 8);
        else if (n->status == ROSTER_ACTIVE)
            state = rc == RK_ERR_EXPIRED ? "key-expired" : "no-key";
        for (size_t g = 0; g < n->n_groups && gl < sizeof groups - 1; g++)
            gl += (size_t)snprintf(groups + gl, sizeof groups - gl, "%s%s",
                                   g ? "," : "", n->groups[g]);
        fprintf(out, "%-20s %-2s %-10s %-9s %-16s %-24s %s\n", n->id,
                n->country, identity_role_name(n->role), state, kid,
                n->n_groups ? groups : "-", n->organisation);
    }
    fprintf(out, "\nPoints of contact\n");
    for (size_t i = 0; i < self->n_nodes; i++) {
        const roster_node_t *n = &self->nodes[i];
        if (n->status_reason)
            fprintf(out, "  %s: %s (%s)\n", n->id,
                    roster_status_name(n->status), n->status_reason);
        for (size_t c = 0; c < n->n_contacts; c++) {
            const roster_contact_t *pc = &n->contacts[c];
            fprintf(out, "  %-20s %s", n->id, pc->name);
            if (pc->email)
                fprintf(out, " <%s>", pc->email);
            if (pc->phone)
                fprintf(out, " %s", pc->phone);
            if (pc->hours)
                fprintf(out, " hours %s", pc->hours);
            if (pc->timezone)
                fprintf(out, " %s", pc->timezone);
            for (size_t l = 0; l < pc->n_languages; l++)
                fprintf(out, "%s%s", l ? "," : " lang ", pc->languages[l]);
            fputc('\n', out);
        }
    }
}
