/* Unit tests for keys/roster: the JSON codec and its field-named refusals,
 * signing and opening the signed roster (tampering, other keys, old
 * serials), key look-ups by validity and status, and target expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "identity.h"
#include "note.h"
#include "rk_util.h"
#include "roster.h"

#define T0 1767225600000ull  /* 2026-01-01T00:00:00Z */
#define T1 1798761600000ull  /* 2027-01-01T00:00:00Z */
#define NOW 1780000000123ull /* mid 2026, not a whole second */
#define COORD "coord.test"

/* The nodes of the test roster, in roster order. */
enum { JP, US, SG, DE, NZ, CTL, RELAY, N_NODES };

typedef struct {
    const char *id, *cc, *org;
    identity_role_t role;
    roster_status_t status;
    const char *reason;
    const char *groups[3];
} spec_t;

static const spec_t s_specs[N_NODES] = {
    {"jp.nisc",
     "JP",
     "NISC \xe5\x86\x85\xe9\x96\xa3",
     IDENTITY_ROLE_PARTNER,
     ROSTER_ACTIVE,
     NULL,
     {"g7", "quad"}},
    {"us.cisa",
     "US",
     "CISA",
     IDENTITY_ROLE_PARTNER,
     ROSTER_ACTIVE,
     NULL,
     {"g7", "quad"}},
    {"sg.csa",
     "SG",
     "Cyber Security Agency",
     IDENTITY_ROLE_PARTNER,
     ROSTER_ACTIVE,
     NULL,
     {"asean"}},
    {"de.bsi",
     "DE",
     "BSI",
     IDENTITY_ROLE_PARTNER,
     ROSTER_SUSPENDED,
     "contact check failed twice",
     {"g7", "eu"}},
    {"nz.gone",
     "NZ",
     "Former member",
     IDENTITY_ROLE_PARTNER,
     ROSTER_REVOKED,
     "left the framework",
     {"asean"}},
    {"ctl.main",
     "JP",
     "Exercise control",
     IDENTITY_ROLE_CONTROLLER,
     ROSTER_ACTIVE,
     NULL,
     {"exercise"}},
    {"relay.main",
     "JP",
     "Relay operator",
     IDENTITY_ROLE_RELAY,
     ROSTER_ACTIVE,
     NULL,
     {NULL}},
};

/* Keys: one identity per node, jp.nisc's old (revoked) keys, the
 * coordinator and an impostor. */
static identity_t *s_node[N_NODES], *s_jp_old, *s_coord, *s_other;
static note_verifier_t s_verifier;

static int
group_setup(void **state) {
    char *vkey = NULL;
    (void)state;
    if (sodium_init() < 0)
        return -1;
    for (int i = 0; i < N_NODES; i++)
        if (!(s_node[i] = identity_generate(s_specs[i].id, s_specs[i].role)))
            return -1;
    s_jp_old = identity_generate("jp.nisc", IDENTITY_ROLE_PARTNER);
    s_coord = identity_generate(COORD, IDENTITY_ROLE_COORDINATOR);
    s_other = identity_generate(COORD, IDENTITY_ROLE_COORDINATOR);
    if (!s_jp_old || !s_coord || !s_other)
        return -1;
    /* The pinned key, the way a node gets it: a vkey string. */
    if (note_vkey_format(COORD, identity_public(s_coord)->sign_pk, &vkey) !=
            RK_OK ||
        note_vkey_parse(vkey, &s_verifier) != RK_OK)
        return -1;
    free(vkey);
    return 0;
}

static int
group_teardown(void **state) {
    (void)state;
    for (int i = 0; i < N_NODES; i++)
        identity_destroy(&s_node[i]);
    identity_destroy(&s_jp_old);
    identity_destroy(&s_coord);
    identity_destroy(&s_other);
    return 0;
}

static void
keyset_of(roster_keyset_t *k, const identity_t *ident, uint64_t nb, uint64_t na,
          roster_status_t status) {
    const identity_public_t *p = identity_public(ident);
    memset(k, 0, sizeof *k);
    memcpy(k->sign_pk, p->sign_pk, 32);
    memcpy(k->enc_pk, p->enc_pk, 32);
    memcpy(k->transport_pk, p->transport_pk, 32);
    k->not_before_ms = nb;
    k->not_after_ms = na;
    k->status = status;
}

/* A node of s_specs[i] with its keys; arrays live in the caller's bufs. */
typedef struct {
    roster_node_t n;
    roster_keyset_t keys[2];
    roster_contact_t contacts[2];
    char *groups[3];
} node_buf_t;

static void
node_of(node_buf_t *b, int i) {
    static char *langs[] = {"ja", "en"};
    const spec_t *s = &s_specs[i];
    memset(b, 0, sizeof *b);
    b->n.id = (char *)s->id;
    memcpy(b->n.country, s->cc, 3);
    b->n.organisation = (char *)s->org;
    b->n.role = s->role;
    b->n.status = s->status;
    b->n.status_reason = (char *)s->reason;
    for (size_t g = 0; g < 3 && s->groups[g]; g++)
        b->groups[b->n.n_groups++] = (char *)s->groups[g];
    b->n.groups = b->groups;
    b->n.keys = b->keys;
    b->n.n_keys = 1;
    keyset_of(&b->keys[0], s_node[i], T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    if (i == JP) {
        /* Rotated: the old set revoked, the new one in use. */
        keyset_of(&b->keys[0], s_jp_old, T0 - 86400000, ROSTER_FOREVER,
                  ROSTER_REVOKED);
        keyset_of(&b->keys[1], s_node[i], T0 + 1500, ROSTER_FOREVER,
                  ROSTER_ACTIVE);
        b->n.n_keys = 2;
        b->contacts[0] = (roster_contact_t){
            .name = "Duty desk",
            .email = "soc@nisc.example.jp",
            .phone = "+81-3-0000-0000",
            .hours = "24/7",
            .timezone = "Asia/Tokyo",
            .languages = langs,
            .n_languages = 2,
        };
        b->contacts[1] = (roster_contact_t){.name = "Liaison officer"};
        b->n.contacts = b->contacts;
        b->n.n_contacts = 2;
    }
    if (i == US) {
        /* Keys valid for 2026 only. */
        b->keys[0].not_after_ms = T1;
        b->contacts[0] = (roster_contact_t){.name = "Central",
                                            .email = "central@cisa.example",
                                            .languages = langs + 1,
                                            .n_languages = 1};
        b->n.contacts = b->contacts;
        b->n.n_contacts = 1;
    }
}

static roster_t *
build(void) {
    roster_t *r = roster_new("test-framework");
    char err[256] = "";
    node_buf_t b;
    assert_non_null(r);
    for (int i = 0; i < N_NODES; i++) {
        node_of(&b, i);
        if (roster_add(r, &b.n, err, sizeof err) != RK_OK)
            fail_msg("roster_add %s: %s", s_specs[i].id, err);
    }
    assert_int_equal(roster_count(r), N_NODES);
    return r;
}

static void
assert_err_names(const char *err, const char *want) {
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not name \"%s\"", err, want);
}

/* ---- JSON ---- */

static void
test_json_round_trip_is_stable(void **state) {
    roster_t *r = build(), *back = NULL, *again = NULL;
    char err[256] = "", *t1, *t2, *t3;
    const roster_node_t *n;
    uint8_t kid[8];
    (void)state;

    t1 = roster_to_json(r);
    assert_non_null(t1);
    assert_int_equal(t1[strlen(t1) - 1], '\n');
    assert_int_equal(roster_from_json(t1, strlen(t1), &back, err, sizeof err),
                     RK_OK);
    t2 = roster_to_json(back);
    assert_string_equal(t1, t2);
    assert_int_equal(roster_from_json(t2, strlen(t2), &again, err, sizeof err),
                     RK_OK);
    t3 = roster_to_json(again);
    assert_string_equal(t2, t3);

    /* What came back is the roster that went in, field by field. */
    assert_string_equal(roster_framework(back), "test-framework");
    assert_int_equal(roster_serial(back), 0);
    assert_int_equal(roster_issued_ms(back), 0);
    assert_int_equal(roster_count(back), N_NODES);
    for (int i = 0; i < N_NODES; i++) {
        n = roster_node_at(back, (size_t)i);
        assert_non_null(n);
        assert_string_equal(n->id, s_specs[i].id);
        assert_string_equal(n->country, s_specs[i].cc);
        assert_string_equal(n->organisation, s_specs[i].org);
        assert_int_equal(n->role, s_specs[i].role);
        assert_int_equal(n->status, s_specs[i].status);
        for (size_t k = 0; k < n->n_keys; k++) {
            envelope_key_id(kid, n->keys[k].sign_pk);
            assert_memory_equal(kid, n->keys[k].sign_key_id, 8);
        }
    }
    assert_null(roster_node_at(back, N_NODES));
    n = roster_find(back, "jp.nisc");
    assert_non_null(n);
    assert_int_equal(n->n_keys, 2);
    assert_int_equal(n->keys[0].status, ROSTER_REVOKED);
    assert_int_equal(n->keys[1].not_before_ms, T0 + 1500);
    assert_int_equal(n->keys[1].not_after_ms, ROSTER_FOREVER);
    assert_memory_equal(n->keys[1].transport_pk,
                        identity_public(s_node[JP])->transport_pk, 32);
    assert_int_equal(n->n_contacts, 2);
    assert_string_equal(n->contacts[0].timezone, "Asia/Tokyo");
    assert_int_equal(n->contacts[0].n_languages, 2);
    assert_string_equal(n->contacts[0].languages[1], "en");
    assert_null(n->contacts[1].email);
    assert_int_equal(n->n_groups, 2);
    assert_string_equal(n->groups[1], "quad");
    n = roster_find(back, "us.cisa");
    assert_int_equal(n->keys[0].not_after_ms, T1);
    n = roster_find(back, "de.bsi");
    assert_string_equal(n->status_reason, "contact check failed twice");
    assert_null(roster_find(back, "nobody"));

    free(t1);
    free(t2);
    free(t3);
    roster_destroy(&again);
    roster_destroy(&back);
    roster_destroy(&r);
    assert_null(r);
    roster_destroy(&r);
    roster_destroy(NULL);
}

static void
test_empty_roster_round_trip(void **state) {
    roster_t *r = roster_new("empty"), *back = NULL;
    char err[256] = "", *t1 = roster_to_json(r), *t2;
    (void)state;
    assert_non_null(t1);
    assert_int_equal(roster_from_json(t1, strlen(t1), &back, err, sizeof err),
                     RK_OK);
    t2 = roster_to_json(back);
    assert_string_equal(t1, t2);
    assert_int_equal(roster_count(back), 0);
    assert_null(roster_new(""));
    assert_null(roster_new("two\nlines"));
    free(t1);
    free(t2);
    roster_destroy(&back);
    roster_destroy(&r);
}

/* Parses the test roster's JSON, lets edit change it, expects code and an
 * error text containing want. */
static void
expect_json_refused(void (*edit)(json_t *), int code, const char *want) {
    roster_t *r = build(), *out = NULL;
    char *text = roster_to_json(r), *bad, err[512] = "";
    json_t *o = json_loads(text, 0, NULL);

    assert_non_null(o);
    edit(o);
    bad = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_non_null(bad);
    assert_int_equal(roster_from_json(bad, strlen(bad), &out, err, sizeof err),
                     code);
    assert_null(out);
    assert_err_names(err, want);
    free(bad);
    json_decref(o);
    free(text);
    roster_destroy(&r);
}

static json_t *
node_j(json_t *o, size_t i) {
    return json_array_get(json_object_get(o, "nodes"), i);
}
static json_t *
key_j(json_t *o, size_t i, size_t k) {
    return json_array_get(json_object_get(node_j(o, i), "keys"), k);
}

static void
e_unknown_key_field(json_t *o) {
    json_object_set_new(key_j(o, 1, 0), "colour", json_string("blue"));
}
static void
e_unknown_contact_field(json_t *o) {
    json_t *c = json_array_get(json_object_get(node_j(o, 0), "contacts"), 1);
    json_object_set_new(c, "pager", json_string("123"));
}
static void
e_unknown_node_field(json_t *o) {
    json_object_set_new(node_j(o, 2), "notes", json_string("x"));
}
static void
e_unknown_top_field(json_t *o) {
    json_object_set_new(o, "signature", json_string("x"));
}
static void
e_no_node_id(json_t *o) {
    json_object_del(node_j(o, 2), "id");
}
static void
e_no_country(json_t *o) {
    json_object_del(node_j(o, 0), "country");
}
static void
e_no_org(json_t *o) {
    json_object_del(node_j(o, 3), "organisation");
}
static void
e_no_role(json_t *o) {
    json_object_del(node_j(o, 1), "role");
}
static void
e_no_keys(json_t *o) {
    json_object_del(node_j(o, 1), "keys");
}
static void
e_empty_keys(json_t *o) {
    json_object_set_new(node_j(o, 1), "keys", json_array());
}
static void
e_no_sign(json_t *o) {
    json_object_del(key_j(o, 0, 1), "sign");
}
static void
e_no_contact_name(json_t *o) {
    json_t *c = json_array_get(json_object_get(node_j(o, 0), "contacts"), 0);
    json_object_del(c, "name");
}
static void
e_no_framework(json_t *o) {
    json_object_del(o, "framework");
}
static void
e_no_serial(json_t *o) {
    json_object_del(o, "serial");
}
static void
e_negative_serial(json_t *o) {
    json_object_set_new(o, "serial", json_integer(-1));
}
static void
e_no_nodes(json_t *o) {
    json_object_del(o, "nodes");
}
static void
e_no_version(json_t *o) {
    json_object_del(o, "renraku_roster");
}
static void
e_version_2(json_t *o) {
    json_object_set_new(o, "renraku_roster", json_integer(2));
}
static void
e_country_lower(json_t *o) {
    json_object_set_new(node_j(o, 1), "country", json_string("us"));
}
static void
e_country_three(json_t *o) {
    json_object_set_new(node_j(o, 1), "country", json_string("USA"));
}
static void
e_country_digit(json_t *o) {
    json_object_set_new(node_j(o, 1), "country", json_string("U1"));
}
static void
e_duplicate_id(json_t *o) {
    json_object_set_new(node_j(o, 1), "id", json_string("jp.nisc"));
}
static void
e_shared_sign_key(json_t *o) {
    json_object_set(key_j(o, 2, 0), "sign",
                    json_object_get(key_j(o, 1, 0), "sign"));
}
static void
e_shared_transport_key(json_t *o) {
    json_object_set(key_j(o, 2, 0), "transport",
                    json_object_get(key_j(o, 0, 1), "transport"));
}
static void
e_group_is_node(json_t *o) {
    json_array_append_new(json_object_get(node_j(o, 1), "groups"),
                          json_string("jp.nisc"));
}
static void
e_node_is_group(json_t *o) {
    /* jp.nisc (first) joins a group named after sg.csa (third). */
    json_array_append_new(json_object_get(node_j(o, 0), "groups"),
                          json_string("sg.csa"));
}
static void
e_group_all(json_t *o) {
    json_array_append_new(json_object_get(node_j(o, 0), "groups"),
                          json_string("all"));
}
static void
e_node_all(json_t *o) {
    json_object_set_new(node_j(o, 6), "id", json_string("all"));
}
static void
e_bad_node_id(json_t *o) {
    json_object_set_new(node_j(o, 1), "id", json_string("US.CISA"));
}
static void
e_coordinator_role(json_t *o) {
    json_object_set_new(node_j(o, 1), "role", json_string("coordinator"));
}
static void
e_bad_status(json_t *o) {
    json_object_set_new(node_j(o, 1), "status", json_string("paused"));
}
static void
e_bad_key_b64(json_t *o) {
    json_object_set_new(key_j(o, 1, 0), "enc", json_string("AAAA"));
}
static void
e_bad_time(json_t *o) {
    json_object_set_new(key_j(o, 1, 0), "not_after",
                        json_string("2027-01-01 00:00"));
}
static void
e_after_before(json_t *o) {
    json_object_set_new(key_j(o, 1, 0), "not_after",
                        json_string("2025-01-01T00:00:00Z"));
}
static void
e_bad_email(json_t *o) {
    json_t *c = json_array_get(json_object_get(node_j(o, 1), "contacts"), 0);
    json_object_set_new(c, "email", json_string("nobody"));
}
static void
e_nul_in_org(json_t *o) {
    json_object_set_new(node_j(o, 1), "organisation",
                        json_stringn("CI\0SA", 5));
}
static void
e_control_in_org(json_t *o) {
    json_object_set_new(node_j(o, 1), "organisation", json_string("CI\tSA"));
}
static void
e_node_not_object(json_t *o) {
    json_array_append_new(json_object_get(o, "nodes"), json_integer(7));
}

static void
test_json_refusals_name_the_field(void **state) {
    (void)state;
    expect_json_refused(e_unknown_key_field, RK_ERR_MALFORMED,
                        "nodes[1].keys[0].colour: unknown field");
    expect_json_refused(e_unknown_contact_field, RK_ERR_MALFORMED,
                        "nodes[0].contacts[1].pager: unknown field");
    expect_json_refused(e_unknown_node_field, RK_ERR_MALFORMED,
                        "nodes[2].notes: unknown field");
    expect_json_refused(e_unknown_top_field, RK_ERR_MALFORMED,
                        "signature: unknown field");
    expect_json_refused(e_no_node_id, RK_ERR_MALFORMED, "nodes[2].id: missing");
    expect_json_refused(e_no_country, RK_ERR_MALFORMED,
                        "nodes[0].country: missing");
    expect_json_refused(e_no_org, RK_ERR_MALFORMED,
                        "nodes[3].organisation: missing");
    expect_json_refused(e_no_role, RK_ERR_MALFORMED, "nodes[1].role: missing");
    expect_json_refused(e_no_keys, RK_ERR_MALFORMED, "nodes[1].keys:");
    expect_json_refused(e_empty_keys, RK_ERR_MALFORMED, "nodes[1].keys:");
    expect_json_refused(e_no_sign, RK_ERR_MALFORMED,
                        "nodes[0].keys[1].sign: missing");
    expect_json_refused(e_no_contact_name, RK_ERR_MALFORMED,
                        "nodes[0].contacts[0].name: missing");
    expect_json_refused(e_no_framework, RK_ERR_MALFORMED, "framework: missing");
    expect_json_refused(e_no_serial, RK_ERR_MALFORMED, "serial: missing");
    expect_json_refused(e_negative_serial, RK_ERR_MALFORMED, "serial:");
    expect_json_refused(e_no_nodes, RK_ERR_MALFORMED, "nodes: missing");
    expect_json_refused(e_no_version, RK_ERR_MALFORMED, "renraku_roster:");
    expect_json_refused(e_version_2, RK_ERR_VERSION, "renraku_roster:");
    expect_json_refused(e_country_lower, RK_ERR_MALFORMED,
                        "nodes[1].country: not an ISO 3166-1");
    expect_json_refused(e_country_three, RK_ERR_MALFORMED,
                        "nodes[1].country: not an ISO 3166-1");
    expect_json_refused(e_country_digit, RK_ERR_MALFORMED,
                        "nodes[1].country: not an ISO 3166-1");
    expect_json_refused(e_duplicate_id, RK_ERR_MALFORMED,
                        "nodes[1].id: \"jp.nisc\" is already in the roster");
    expect_json_refused(e_shared_sign_key, RK_ERR_MALFORMED,
                        "nodes[2].keys[0]: a key of node \"us.cisa\"");
    expect_json_refused(e_shared_transport_key, RK_ERR_MALFORMED,
                        "nodes[2].keys[0]: a key of node \"jp.nisc\"");
    expect_json_refused(e_group_is_node, RK_ERR_MALFORMED,
                        "nodes[1].groups[2]: \"jp.nisc\" is a node id");
    expect_json_refused(e_node_is_group, RK_ERR_MALFORMED,
                        "nodes[2].id: \"sg.csa\" is already a group name");
    expect_json_refused(e_group_all, RK_ERR_MALFORMED, "nodes[0].groups[2]:");
    expect_json_refused(e_node_all, RK_ERR_MALFORMED, "nodes[6].id:");
    expect_json_refused(e_bad_node_id, RK_ERR_MALFORMED, "nodes[1].id:");
    expect_json_refused(e_coordinator_role, RK_ERR_MALFORMED, "nodes[1].role:");
    expect_json_refused(e_bad_status, RK_ERR_MALFORMED, "nodes[1].status:");
    expect_json_refused(e_bad_key_b64, RK_ERR_MALFORMED,
                        "nodes[1].keys[0].enc: not 32 bytes of base64");
    expect_json_refused(e_bad_time, RK_ERR_MALFORMED,
                        "nodes[1].keys[0].not_after: not an RFC 3339");
    expect_json_refused(e_after_before, RK_ERR_MALFORMED,
                        "nodes[1].keys[0].not_after: not after not_before");
    expect_json_refused(e_bad_email, RK_ERR_MALFORMED,
                        "nodes[1].contacts[0].email");
    /* jansson refuses \u0000 itself, naming the place. */
    expect_json_refused(e_nul_in_org, RK_ERR_MALFORMED, "u0000");
    expect_json_refused(e_control_in_org, RK_ERR_MALFORMED,
                        "nodes[1].organisation:");
    expect_json_refused(e_node_not_object, RK_ERR_MALFORMED,
                        "nodes[7].: not an object");
}

static void
test_malformed_json_names_line_and_column(void **state) {
    const char *bad = "{\n  \"renraku_roster\": 1,\n  \"framework\": \"x\",\n"
                      "  serial: 3\n}\n";
    const char *dup = "{\"renraku_roster\": 1, \"renraku_roster\": 1}";
    roster_t *out = NULL;
    char err[512] = "";
    (void)state;

    assert_int_equal(roster_from_json(bad, strlen(bad), &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_null(out);
    assert_err_names(err, "line 4, column");
    assert_int_equal(roster_from_json("", 0, &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_int_equal(roster_from_json("[]", 2, &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_err_names(err, "not a JSON object");
    assert_int_equal(roster_from_json(dup, strlen(dup), &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    /* A signed roster where JSON is wanted is named for what it is. */
    static const char signed_text[] = ROSTER_NOTE_HEADER "{}\n\n";
    assert_int_equal(roster_from_json(signed_text, strlen(signed_text), &out,
                                      err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_err_names(err, "a signed roster");
    assert_null(strstr(err, "CRLF"));
    /* ... also when copied as text, every "\n" made "\r\n" (it was "not
     * valid JSON"), and that is said. */
    static const char crlf_text[] = "renraku roster v1\r\n{}\r\n\r\n";
    assert_int_equal(
        roster_from_json(crlf_text, strlen(crlf_text), &out, err, sizeof err),
        RK_ERR_MALFORMED);
    assert_err_names(err, "a signed roster");
    assert_err_names(err, "line ends were changed to CRLF");
    assert_int_equal(
        roster_from_json("{}", ROSTER_MAX_BYTES + 1, &out, err, sizeof err),
        RK_ERR_TOO_LARGE);
    assert_null(out);
}

static void
test_add_refusals(void **state) {
    roster_t *r = build();
    node_buf_t b;
    char err[256] = "";
    (void)state;

    node_of(&b, SG);
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_EXISTS);
    assert_err_names(err, "id: \"sg.csa\" is already in the roster");

    node_of(&b, SG);
    b.n.id = "sg.other"; /* sg.csa's keys under another name */
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_EXISTS);
    assert_err_names(err, "keys[0]: a key of node \"sg.csa\"");

    node_of(&b, SG);
    b.n.id = "g7";
    keyset_of(&b.keys[0], s_other, T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_EXISTS);
    assert_err_names(err, "id: \"g7\" is already a group name");

    b.n.id = "sg.other";
    memcpy(b.n.country, "sg", 3);
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_INVALID);
    assert_err_names(err, "country");
    memcpy(b.n.country, "SG", 3);
    b.n.role = IDENTITY_ROLE_COORDINATOR;
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_INVALID);
    assert_err_names(err, "role");
    b.n.role = IDENTITY_ROLE_PARTNER;
    b.n.n_keys = 0;
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_ERR_INVALID);
    assert_err_names(err, "keys");
    b.n.n_keys = 1;
    /* Now valid: it goes in. */
    assert_int_equal(roster_add(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_count(r), N_NODES + 1);
    roster_destroy(&r);
}

/* ---- signing ---- */

static void
sign(roster_t *r, const identity_t *who, char **note, size_t *len) {
    assert_int_equal(
        roster_sign(r, COORD, identity_sign_sk(who), NOW, note, len), RK_OK);
}

static void
test_sign_and_open(void **state) {
    roster_t *r = build(), *back = NULL;
    char *note = NULL, *t1, *t2, err[256] = "";
    size_t len = 0;
    note_verifier_t direct;
    (void)state;

    sign(r, s_coord, &note, &len);
    assert_int_equal(len, strlen(note));
    assert_memory_equal(note, ROSTER_NOTE_HEADER, strlen(ROSTER_NOTE_HEADER));
    assert_int_equal(roster_serial(r), 1);
    assert_int_equal(roster_issued_ms(r), NOW);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        0, &back, err, sizeof err),
                     RK_OK);
    assert_int_equal(roster_serial(back), 1);
    assert_int_equal(roster_issued_ms(back), NOW);
    t1 = roster_to_json(r);
    t2 = roster_to_json(back);
    assert_string_equal(t1, t2);
    roster_destroy(&back);

    /* A verifier filled in by hand works the same. */
    memset(&direct, 0, sizeof direct);
    snprintf(direct.name, sizeof direct.name, "%s", COORD);
    memcpy(direct.pk, identity_public(s_coord)->sign_pk, 32);
    direct.key_id = note_key_id(COORD, direct.pk);
    assert_int_equal(direct.key_id, s_verifier.key_id);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &direct, 0,
                                        &back, err, sizeof err),
                     RK_OK);
    assert_int_equal(roster_count(back), N_NODES);
    roster_destroy(&back);
    free(t1);
    free(t2);
    free(note);
    roster_destroy(&r);
}

/* A signed roster copied as text (every "\n" made "\r\n") no longer
 * verifies; the error says why, not only "not a well-formed signed
 * note". */
static void
test_crlf_copy_named(void **state) {
    roster_t *r = build(), *back = NULL;
    char *note = NULL, *crlf, err[512] = "";
    size_t len = 0, n = 0;
    int cr = -1;
    (void)state;

    sign(r, s_coord, &note, &len);
    assert_int_equal(roster_text_is_signed((const uint8_t *)note, len, &cr), 1);
    assert_int_equal(cr, 0);
    crlf = malloc(2 * len);
    assert_non_null(crlf);
    for (size_t i = 0; i < len; i++) {
        if (note[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = note[i];
    }
    assert_int_equal(roster_text_is_signed((const uint8_t *)crlf, n, &cr), 1);
    assert_int_equal(cr, 1);
    assert_int_equal(roster_open_signed((const uint8_t *)crlf, n, &s_verifier,
                                        0, &back, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_null(back);
    assert_err_names(err, "not a well-formed signed note: its line ends "
                          "were changed to CRLF");
    /* Other damage says nothing of CRLF. */
    note[len - 2] ^= 1;
    assert_int_not_equal(roster_open_signed((const uint8_t *)note, len,
                                            &s_verifier, 0, &back, err,
                                            sizeof err),
                         RK_OK);
    assert_null(strstr(err, "CRLF"));
    /* Not a signed roster at all: a header cut short, another one, JSON. */
    assert_int_equal(
        roster_text_is_signed((const uint8_t *)"renraku roster v1", 17, &cr),
        0);
    assert_int_equal(cr, 0);
    assert_int_equal(
        roster_text_is_signed((const uint8_t *)"renraku roster v1\r", 18, &cr),
        0);
    assert_int_equal(
        roster_text_is_signed((const uint8_t *)"renraku roster v2\n", 18, NULL),
        0);
    assert_int_equal(roster_text_is_signed((const uint8_t *)"{}", 2, NULL), 0);
    free(crlf);
    free(note);
    roster_destroy(&r);
}

static void
test_sign_increments_serial_by_one(void **state) {
    roster_t *r = build(), *back = NULL;
    char *note = NULL, err[256] = "";
    size_t len = 0;
    (void)state;

    assert_int_equal(roster_serial(r), 0);
    for (uint64_t want = 1; want <= 4; want++) {
        assert_int_equal(roster_sign(r, COORD, identity_sign_sk(s_coord),
                                     NOW + want, &note, &len),
                         RK_OK);
        assert_int_equal(roster_serial(r), want);
        assert_int_equal(roster_issued_ms(r), NOW + want);
        assert_int_equal(roster_open_signed((const uint8_t *)note, len,
                                            &s_verifier, want - 1, &back, err,
                                            sizeof err),
                         RK_OK);
        assert_int_equal(roster_serial(back), want);
        assert_int_equal(roster_issued_ms(back), NOW + want);
        roster_destroy(&back);
        free(note);
        note = NULL;
    }
    /* A failed signing leaves serial and issued time as they were. */
    assert_int_equal(
        roster_sign(r, "bad name", identity_sign_sk(s_coord), 1, &note, &len),
        RK_ERR_INVALID);
    assert_null(note);
    assert_int_equal(roster_serial(r), 4);
    assert_int_equal(roster_issued_ms(r), NOW + 4);
    roster_destroy(&r);
}

/* roster_signed_len is roster_sign's own figure: exact for a known
 * signer and time, and with neither (an edit) the most any coordinator
 * can make of it at any time. */
static void
test_signed_len_is_what_sign_makes(void **state) {
    roster_t *r = build();
    char *note = NULL, longest[ENVELOPE_NODE_ID_MAX + 1];
    size_t exact = 0, whole = 0, bound = 0, bound_whole = 0, len = 0;
    (void)state;

    memset(longest, 'x', ENVELOPE_NODE_ID_MAX);
    longest[ENVELOPE_NODE_ID_MAX] = 0;
    assert_int_equal(roster_signed_len(r, COORD, NOW, &exact), RK_OK);
    assert_int_equal(roster_signed_len(r, COORD, T0, &whole), RK_OK);
    assert_int_equal(roster_signed_len(r, NULL, NOW, &bound), RK_OK);
    assert_int_equal(roster_signed_len(r, NULL, T0, &bound_whole), RK_OK);
    /* Nothing changes until it is signed. */
    assert_int_equal(roster_serial(r), 0);
    assert_int_equal(roster_issued_ms(r), 0);
    /* An issued time on a whole second has no ".123": 4 bytes fewer. The
     * bound takes the longest name and the longer time, whatever now is. */
    assert_int_equal(whole + 4, exact);
    assert_int_equal(bound, exact + ENVELOPE_NODE_ID_MAX - strlen(COORD));
    assert_int_equal(bound_whole, bound);

    assert_int_equal(
        roster_sign(r, COORD, identity_sign_sk(s_coord), NOW, &note, &len),
        RK_OK);
    assert_int_equal(len, exact);
    free(note);
    note = NULL;
    /* Signed by a coordinator with the longest id, it is the bound. */
    assert_int_equal(roster_signed_len(r, NULL, T0, &bound), RK_OK);
    assert_int_equal(
        roster_sign(r, longest, identity_sign_sk(s_coord), NOW, &note, &len),
        RK_OK);
    assert_int_equal(len, bound);
    free(note);
    roster_destroy(&r);
}

/* A roster over the cap: roster_sign refuses it, giving the size that
 * roster_signed_len gives, and the serial stays. */
static void
test_sign_refuses_too_large(void **state) {
    enum { NODES = 130, CONTACTS = 16 };
    char name[501], *json, *p, err[256] = "";
    size_t cap = (size_t)NODES * 12000 + 200, len = 0, want = 0;
    roster_t *r = NULL;
    char *note = NULL;
    (void)state;

    memset(name, 'n', 500);
    name[500] = 0;
    p = json = malloc(cap);
    assert_non_null(json);
    p += sprintf(p, "{\"renraku_roster\": 1, \"framework\": \"big\", "
                    "\"serial\": 7, \"nodes\": [");
    for (int i = 0; i < NODES; i++) {
        uint8_t k[32] = {0};
        char *b64[3];
        for (int j = 0; j < 3; j++) {
            k[0] = (uint8_t)j;
            k[1] = (uint8_t)i;
            b64[j] = rk_b64(k, 32);
            assert_non_null(b64[j]);
        }
        p += sprintf(p,
                     "%s{\"id\": \"n%03d.big\", \"country\": \"JP\", "
                     "\"organisation\": \"%s\", \"role\": \"partner\", "
                     "\"contacts\": [",
                     i ? ", " : "", i, name);
        for (int c = 0; c < CONTACTS; c++)
            p += sprintf(p, "%s{\"name\": \"%s\"}", c ? ", " : "", name);
        p += sprintf(p,
                     "], \"keys\": [{\"sign\": \"%s\", \"enc\": \"%s\", "
                     "\"transport\": \"%s\"}]}",
                     b64[0], b64[1], b64[2]);
        for (int j = 0; j < 3; j++)
            free(b64[j]);
    }
    p += sprintf(p, "]}");
    assert_true((size_t)(p - json) < cap);
    assert_int_equal(
        roster_from_json(json, (size_t)(p - json), &r, err, sizeof err), RK_OK);
    free(json);

    assert_int_equal(roster_signed_len(r, COORD, NOW, &want), RK_OK);
    assert_true(want > ROSTER_SIGNED_MAX_BYTES);
    assert_int_equal(
        roster_sign(r, COORD, identity_sign_sk(s_coord), NOW, &note, &len),
        RK_ERR_TOO_LARGE);
    assert_null(note);
    assert_int_equal(len, want);
    assert_int_equal(roster_serial(r), 7);
    assert_int_equal(roster_issued_ms(r), 0);
    roster_destroy(&r);
}

/* JSON integers stop at INT64_MAX: a roster there cannot be signed again,
 * or its note would carry a serial no node can read. */
static void
test_last_serial_cannot_be_signed(void **state) {
    const char *text = "{\"renraku_roster\": 1, \"framework\": \"f\", "
                       "\"serial\": 9223372036854775807, \"nodes\": []}";
    roster_t *r = NULL, *back = NULL;
    char *note = NULL, err[256] = "";
    size_t len = 0;
    (void)state;

    assert_int_equal(roster_from_json(text, strlen(text), &r, err, sizeof err),
                     RK_OK);
    assert_int_equal(roster_serial(r), INT64_MAX);
    assert_int_equal(
        roster_sign(r, COORD, identity_sign_sk(s_coord), NOW, &note, &len),
        RK_ERR_INVALID);
    assert_null(note);
    assert_int_equal(roster_serial(r), INT64_MAX);
    roster_destroy(&r);

    /* One below still signs, and the note opens. */
    text = "{\"renraku_roster\": 1, \"framework\": \"f\", "
           "\"serial\": 9223372036854775806, \"nodes\": []}";
    assert_int_equal(roster_from_json(text, strlen(text), &r, err, sizeof err),
                     RK_OK);
    sign(r, s_coord, &note, &len);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        0, &back, err, sizeof err),
                     RK_OK);
    assert_int_equal(roster_serial(back), INT64_MAX);
    free(note);
    roster_destroy(&back);
    roster_destroy(&r);
}

static void
test_old_serial_refused(void **state) {
    roster_t *r = build(), *back = NULL;
    char *note = NULL, err[256] = "";
    size_t len = 0;
    (void)state;

    sign(r, s_coord, &note, &len);
    free(note);
    sign(r, s_coord, &note, &len); /* serial 2 */
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        2, &back, err, sizeof err),
                     RK_ERR_SERIAL);
    assert_null(back);
    assert_err_names(err, "serial: 2 is not newer");
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        3, &back, err, sizeof err),
                     RK_ERR_SERIAL);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        UINT64_MAX, &back, err, sizeof err),
                     RK_ERR_SERIAL);
    assert_null(back);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        1, &back, err, sizeof err),
                     RK_OK);
    roster_destroy(&back);
    free(note);
    roster_destroy(&r);
}

static void
test_every_flipped_byte_refused(void **state) {
    static const uint8_t masks[] = {0x01, 0x80};
    roster_t *r = build(), *back = NULL;
    char *note = NULL, err[256];
    uint8_t *copy;
    size_t len = 0;
    (void)state;

    sign(r, s_coord, &note, &len);
    copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            int rc;
            memcpy(copy, note, len);
            copy[i] ^= masks[m];
            err[0] = 0;
            rc = roster_open_signed(copy, len, &s_verifier, 0, &back, err,
                                    sizeof err);
            if (rc == RK_OK)
                fail_msg("byte %zu ^ 0x%02x of a signed roster accepted", i,
                         masks[m]);
            assert_null(back);
            assert_true(rc == RK_ERR_MALFORMED || rc == RK_ERR_UNKNOWN_KEY ||
                        rc == RK_ERR_BAD_SIGNATURE);
            assert_true(err[0] != 0);
        }
    /* Truncated anywhere: refused too. */
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal(roster_open_signed((const uint8_t *)note, n,
                                                &s_verifier, 0, &back, err,
                                                sizeof err),
                             RK_OK);
    /* A change inside the text is the signature's business. */
    memcpy(copy, note, len);
    copy[strlen(ROSTER_NOTE_HEADER) + 10] ^= 0x01;
    assert_int_equal(
        roster_open_signed(copy, len, &s_verifier, 0, &back, err, sizeof err),
        RK_ERR_BAD_SIGNATURE);
    assert_err_names(err, "signature: ");
    free(copy);
    free(note);
    roster_destroy(&r);
}

/* Replaces the key id of the note's last signature line with id. */
static char *
with_key_id(const char *note, size_t len, uint32_t id, size_t *out_len) {
    const char *line, *b64;
    uint8_t sig[68];
    size_t got = 0, head;
    char *enc, *out;

    assert_true(len > 2 && note[len - 1] == '\n');
    line = note + len - 2;
    while (line > note && line[-1] != '\n')
        line--;
    b64 = strchr(strchr(line, ' ') + 1, ' ') + 1; /* "— name b64" */
    assert_int_equal(
        rk_unb64(sig, sizeof sig, &got, b64, (size_t)(note + len - 1 - b64)),
        RK_OK);
    assert_int_equal(got, 68);
    rk_put_be32(sig, id);
    enc = rk_b64(sig, sizeof sig);
    head = (size_t)(b64 - note);
    out = malloc(head + strlen(enc) + 2);
    memcpy(out, note, head);
    sprintf(out + head, "%s\n", enc);
    *out_len = strlen(out);
    free(enc);
    return out;
}

static void
test_other_signers_refused(void **state) {
    roster_t *r = build(), *back = NULL;
    char *note = NULL, *forged, err[256] = "";
    size_t len = 0, flen = 0;
    (void)state;

    /* Another key under the coordinator's name: no line by the pinned key. */
    sign(r, s_other, &note, &len);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        0, &back, err, sizeof err),
                     RK_ERR_UNKNOWN_KEY);
    assert_null(back);
    assert_err_names(err, "signature: not signed by the pinned coordinator");

    /* The same, claiming the pinned key's id: the signature fails. */
    forged = with_key_id(note, len, s_verifier.key_id, &flen);
    assert_int_equal(roster_open_signed((const uint8_t *)forged, flen,
                                        &s_verifier, 0, &back, err, sizeof err),
                     RK_ERR_BAD_SIGNATURE);
    assert_null(back);
    assert_err_names(err, "signature: the coordinator's signature");
    free(forged);
    free(note);

    /* The right key under another name is another verifier key. */
    assert_int_equal(roster_sign(r, "coord.other", identity_sign_sk(s_coord),
                                 NOW, &note, &len),
                     RK_OK);
    assert_int_equal(roster_open_signed((const uint8_t *)note, len, &s_verifier,
                                        0, &back, err, sizeof err),
                     RK_ERR_UNKNOWN_KEY);
    free(note);
    roster_destroy(&r);
}

/* Signs text as a note by the coordinator and opens it as a roster. */
static int
open_text(const char *text, char *err, size_t errlen) {
    char *note = NULL;
    size_t len = 0;
    roster_t *back = NULL;
    int rc;
    assert_int_equal(note_sign(text, strlen(text), COORD,
                               identity_sign_sk(s_coord), &note, &len),
                     RK_OK);
    rc = roster_open_signed((const uint8_t *)note, len, &s_verifier, 0, &back,
                            err, errlen);
    if (rc == RK_OK)
        roster_destroy(&back);
    assert_null(back);
    free(note);
    return rc;
}

static void
test_signed_note_that_is_not_a_roster(void **state) {
    roster_t *r = build();
    char err[512] = "", *json, *text;
    json_t *o;
    (void)state;

    assert_int_equal(open_text("checkpoint 1\n42\nabc=\n", err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_err_names(err, "not a renraku roster");
    assert_int_equal(open_text("renraku roster v2\n{}\n", err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_err_names(err, "not a renraku roster");
    assert_int_equal(open_text("renraku roster v1\n", err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_int_equal(open_text("renraku roster v1\n{\"renraku_roster\": 1,\n",
                               err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_err_names(err, "not valid JSON (line");

    /* Signed by the right key and still invalid: the JSON rules hold. */
    json = roster_to_json(r);
    o = json_loads(json, 0, NULL);
    json_object_set_new(key_j(o, 1, 0), "colour", json_string("red"));
    free(json);
    json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    text = malloc(strlen(ROSTER_NOTE_HEADER) + strlen(json) + 2);
    sprintf(text, "%s%s\n", ROSTER_NOTE_HEADER, json);
    assert_int_equal(open_text(text, err, sizeof err), RK_ERR_MALFORMED);
    assert_err_names(err, "nodes[1].keys[0].colour: unknown field");
    /* Without the unknown field the same route accepts it. */
    json_object_del(key_j(o, 1, 0), "colour");
    free(json);
    free(text);
    json_object_set_new(o, "serial", json_integer(9));
    json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    text = malloc(strlen(ROSTER_NOTE_HEADER) + strlen(json) + 2);
    sprintf(text, "%s%s\n", ROSTER_NOTE_HEADER, json);
    assert_int_equal(open_text(text, err, sizeof err), RK_OK);
    free(text);
    free(json);
    json_decref(o);
    roster_destroy(&r);
}

/* ---- look-ups ---- */

static void
test_usable_keys(void **state) {
    roster_t *r = build();
    const roster_keyset_t *k = NULL;
    uint8_t old_kid[8], new_kid[8], other_kid[8];
    (void)state;

    envelope_key_id(old_kid, identity_public(s_jp_old)->sign_pk);
    envelope_key_id(new_kid, identity_public(s_node[JP])->sign_pk);
    envelope_key_id(other_kid, identity_public(s_other)->sign_pk);

    /* Rotated: the new set, whichever order they are listed in. */
    assert_int_equal(roster_usable_keys(r, "jp.nisc", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->sign_pk, identity_public(s_node[JP])->sign_pk, 32);
    assert_memory_equal(k->sign_key_id, new_kid, 8);
    k = NULL;
    assert_int_equal(roster_usable_keys(r, "jp.nisc", new_kid, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, identity_public(s_node[JP])->enc_pk, 32);
    assert_int_equal(roster_usable_keys(r, "jp.nisc", old_kid, NOW, &k),
                     RK_ERR_REVOKED);
    assert_int_equal(roster_usable_keys(r, "jp.nisc", other_kid, NOW, &k),
                     RK_ERR_UNKNOWN_KEY);
    /* Before the new set's not_before only the revoked one is left. */
    assert_int_equal(roster_usable_keys(r, "jp.nisc", NULL, T0, &k),
                     RK_ERR_REVOKED);

    /* Validity: [not_before, not_after). */
    assert_int_equal(roster_usable_keys(r, "us.cisa", NULL, T0, &k), RK_OK);
    assert_int_equal(roster_usable_keys(r, "us.cisa", NULL, T1 - 1, &k), RK_OK);
    assert_int_equal(roster_usable_keys(r, "us.cisa", NULL, T1, &k),
                     RK_ERR_EXPIRED);
    assert_int_equal(roster_usable_keys(r, "us.cisa", NULL, T0 - 1, &k),
                     RK_ERR_EXPIRED);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, UINT64_MAX - 1, &k),
                     RK_OK);

    /* Node status wins over keys. */
    assert_int_equal(roster_usable_keys(r, "de.bsi", NULL, NOW, &k),
                     RK_ERR_SUSPENDED);
    assert_int_equal(roster_usable_keys(r, "nz.gone", NULL, NOW, &k),
                     RK_ERR_REVOKED);
    assert_int_equal(roster_usable_keys(r, "nobody", NULL, NOW, &k),
                     RK_ERR_UNKNOWN_KEY);
    assert_int_equal(roster_usable_keys(r, "g7", NULL, NOW, &k),
                     RK_ERR_UNKNOWN_KEY);

    /* Status changes take effect; reactivation restores. */
    assert_int_equal(roster_set_status(r, "sg.csa", ROSTER_REVOKED, "lost"),
                     RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k),
                     RK_ERR_REVOKED);
    assert_int_equal(roster_set_status(r, "sg.csa", ROSTER_ACTIVE, NULL),
                     RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_int_equal(roster_set_status(r, "nobody", ROSTER_REVOKED, NULL),
                     RK_ERR_NOT_FOUND);
    roster_destroy(&r);
}

static void
test_suspended_key_set(void **state) {
    roster_t *r = build();
    const roster_keyset_t *k = NULL;
    node_buf_t b;
    char err[256] = "";
    (void)state;

    node_of(&b, SG);
    b.keys[0].status = ROSTER_SUSPENDED;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k),
                     RK_ERR_SUSPENDED);
    assert_null(roster_by_transport_key(
        r, identity_public(s_node[SG])->transport_pk, NOW));
    roster_destroy(&r);
}

static void
test_by_transport_key(void **state) {
    roster_t *r = build();
    const roster_node_t *n;
    uint8_t random_pk[32];
    (void)state;

    for (int i = 0; i < N_NODES; i++) {
        n = roster_by_transport_key(r, identity_public(s_node[i])->transport_pk,
                                    NOW);
        if (s_specs[i].status == ROSTER_ACTIVE) {
            assert_non_null(n);
            assert_string_equal(n->id, s_specs[i].id);
        } else {
            assert_null(n); /* suspended or revoked node */
        }
    }
    /* jp.nisc's old, revoked transport key no longer admits it. */
    assert_null(roster_by_transport_key(
        r, identity_public(s_jp_old)->transport_pk, NOW));
    /* us.cisa's keys expired at T1. */
    assert_null(roster_by_transport_key(
        r, identity_public(s_node[US])->transport_pk, T1));
    /* An enc key or a signing key is not a transport key. */
    assert_null(
        roster_by_transport_key(r, identity_public(s_node[SG])->enc_pk, NOW));
    randombytes_buf(random_pk, sizeof random_pk);
    assert_null(roster_by_transport_key(r, random_pk, NOW));
    roster_destroy(&r);
}

/* A rotation's overlap (roster update --rotate appends an active set,
 * the previous one stays active): sealing and connecting take the newest
 * usable set; each set is still found by its own key id; a key file
 * finds its own set. */
static void
test_rotation_overlap(void **state) {
    roster_t *r = build();
    const identity_public_t *sg = identity_public(s_node[SG]);
    const identity_public_t *nw = identity_public(s_other);
    const roster_keyset_t *k = NULL, *list[ROSTER_MAX_KEYS];
    uint8_t old_kid[8];
    node_buf_t b;
    char err[256] = "";
    (void)state;

    envelope_key_id(old_kid, sg->sign_pk);
    node_of(&b, SG);
    keyset_of(&b.keys[1], s_other, T0 + 1000, ROSTER_FOREVER, ROSTER_ACTIVE);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, nw->enc_pk, 32);
    /* The previous set still verifies what it signed. */
    assert_int_equal(roster_usable_keys(r, "sg.csa", old_kid, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, sg->enc_pk, 32);
    assert_int_equal(roster_usable_keysets(r, "sg.csa", NOW, list, 8), 2);
    assert_memory_equal(list[0]->transport_pk, nw->transport_pk, 32);
    assert_memory_equal(list[1]->transport_pk, sg->transport_pk, 32);
    assert_int_equal(roster_usable_keysets(r, "sg.csa", NOW, list, 1), 1);
    assert_memory_equal(list[0]->transport_pk, nw->transport_pk, 32);
    /* A key file finds its own set, whichever is newest. */
    k = roster_keyset_holding(r, "sg.csa", sg->sign_pk, sg->enc_pk,
                              sg->transport_pk);
    assert_non_null(k);
    assert_memory_equal(k->sign_key_id, old_kid, 8);
    assert_null(roster_keyset_holding(r, "sg.csa", sg->sign_pk, nw->enc_pk,
                                      sg->transport_pk));
    assert_null(roster_keyset_holding(r, "de.bsi", sg->sign_pk, sg->enc_pk,
                                      sg->transport_pk));

    /* Listed the other way round: still the later not_before. */
    node_of(&b, SG);
    keyset_of(&b.keys[0], s_other, T0 + 1000, ROSTER_FOREVER, ROSTER_ACTIVE);
    keyset_of(&b.keys[1], s_node[SG], T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, nw->enc_pk, 32);
    assert_int_equal(roster_usable_keysets(r, "sg.csa", NOW, list, 8), 2);
    assert_memory_equal(list[0]->enc_pk, nw->enc_pk, 32);

    /* The same not_before: the one listed later (--rotate appends). */
    node_of(&b, SG);
    keyset_of(&b.keys[1], s_other, T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, nw->enc_pk, 32);

    /* A new set dated ahead (--rotate --not-before T) takes over at T. */
    node_of(&b, SG);
    keyset_of(&b.keys[1], s_other, NOW + 1, ROSTER_FOREVER, ROSTER_ACTIVE);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, sg->enc_pk, 32);
    assert_int_equal(roster_usable_keysets(r, "sg.csa", NOW, list, 8), 1);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW + 1, &k), RK_OK);
    assert_memory_equal(k->enc_pk, nw->enc_pk, 32);

    /* The newest revoked (a compromise): the previous one again; none
     * usable for a node not active. */
    node_of(&b, SG);
    keyset_of(&b.keys[1], s_other, T0 + 1000, ROSTER_FOREVER, ROSTER_REVOKED);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_int_equal(roster_usable_keys(r, "sg.csa", NULL, NOW, &k), RK_OK);
    assert_memory_equal(k->enc_pk, sg->enc_pk, 32);
    assert_int_equal(roster_usable_keysets(r, "sg.csa", NOW, list, 8), 1);
    assert_int_equal(roster_usable_keysets(r, "de.bsi", NOW, list, 8), 0);
    assert_int_equal(roster_usable_keysets(r, "nobody", NOW, list, 8), 0);
    roster_destroy(&r);
}

/* The transport key decides by its own key set, even when another set of
 * the node shares a key with it (the roster allows that). */
static void
test_by_transport_key_judges_its_own_key_set(void **state) {
    roster_t *r = build();
    const identity_public_t *sg = identity_public(s_node[SG]);
    const identity_public_t *other = identity_public(s_other);
    node_buf_t b;
    char err[256] = "";
    (void)state;

    /* Signing key rotated, transport key kept: the old set is revoked,
     * the new one (same transport key) admits the node. */
    node_of(&b, SG);
    keyset_of(&b.keys[0], s_node[SG], T0, ROSTER_FOREVER, ROSTER_REVOKED);
    keyset_of(&b.keys[1], s_other, T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    memcpy(b.keys[1].transport_pk, sg->transport_pk, 32);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_non_null(roster_by_transport_key(r, sg->transport_pk, NOW));

    /* Transport key revoked, signing key kept in the active set: the
     * revoked transport key must not admit the node. */
    node_of(&b, SG);
    keyset_of(&b.keys[0], s_node[SG], T0, ROSTER_FOREVER, ROSTER_ACTIVE);
    keyset_of(&b.keys[1], s_other, T0, ROSTER_FOREVER, ROSTER_REVOKED);
    memcpy(b.keys[1].sign_pk, sg->sign_pk, 32);
    b.n.n_keys = 2;
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_non_null(roster_by_transport_key(r, sg->transport_pk, NOW));
    assert_null(roster_by_transport_key(r, other->transport_pk, NOW));
    roster_destroy(&r);
}

/* Expands targets and compares with the expected ids, in order. */
static void
expect_expand(const roster_t *r, const char *const *targets, size_t n,
              const char *const *want, size_t n_want) {
    const char **ids = NULL;
    size_t n_ids = 0;
    char err[256] = "";
    if (roster_expand(r, targets, n, &ids, &n_ids, err, sizeof err) != RK_OK)
        fail_msg("expand refused: %s", err);
    assert_int_equal(n_ids, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_string_equal(ids[i], want[i]);
    free(ids);
}

static void
expect_expand_refused(const roster_t *r, const char *const *targets, size_t n,
                      int code, const char *want) {
    const char **ids = NULL;
    size_t n_ids = 0;
    char err[256] = "";
    assert_int_equal(
        roster_expand(r, targets, n, &ids, &n_ids, err, sizeof err), code);
    assert_null(ids);
    assert_err_names(err, want);
}

static void
test_expand(void **state) {
    roster_t *r = build();
    (void)state;

    {
        const char *t[] = {"g7"}, *w[] = {"jp.nisc", "us.cisa"};
        expect_expand(r, t, 1, w, 2); /* de.bsi suspended: skipped */
    }
    {
        const char *t[] = {"all"}, *w[] = {"jp.nisc", "us.cisa", "sg.csa"};
        expect_expand(r, t, 1, w, 3); /* partners only, active only */
    }
    {
        const char *t[] = {"us.cisa", "g7", "quad", "jp.nisc"},
                   *w[] = {"jp.nisc", "us.cisa"};
        expect_expand(r, t, 4, w, 2);
    }
    {
        const char *t[] = {"asean", "relay.main", "g7"},
                   *w[] = {"jp.nisc", "us.cisa", "sg.csa", "relay.main"};
        expect_expand(r, t, 3, w, 4);
    }
    {
        const char *t[] = {"all", "ctl.main", "exercise"},
                   *w[] = {"jp.nisc", "us.cisa", "sg.csa", "ctl.main"};
        expect_expand(r, t, 3, w, 4);
    }
    {
        const char *t[] = {"g7", "nowhere"};
        expect_expand_refused(r, t, 2, RK_ERR_UNKNOWN_KEY, "nowhere");
    }
    {
        const char *t[] = {"g7", "nz.gone"};
        expect_expand_refused(r, t, 2, RK_ERR_REVOKED, "nz.gone");
    }
    {
        const char *t[] = {"de.bsi"};
        expect_expand_refused(r, t, 1, RK_ERR_SUSPENDED, "de.bsi");
    }
    {
        const char *t[] = {"eu"}; /* its only member is suspended */
        expect_expand_refused(r, t, 1, RK_ERR_INVALID, "eu");
    }
    /* Nothing asked, nothing given. */
    expect_expand(r, NULL, 0, NULL, 0);
    roster_destroy(&r);
}

static void
test_edit_and_remove(void **state) {
    roster_t *r = build();
    node_buf_t b;
    char err[256] = "";
    (void)state;

    node_of(&b, US);
    b.n.organisation = "CISA (renamed)";
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_OK);
    assert_string_equal(roster_find(r, "us.cisa")->organisation,
                        "CISA (renamed)");
    /* Taking another node's key is refused on update too. */
    keyset_of(&b.keys[0], s_node[SG], T0, T1, ROSTER_ACTIVE);
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_ERR_EXISTS);
    assert_err_names(err, "sg.csa");
    b.n.id = "nobody";
    assert_int_equal(roster_update(r, &b.n, err, sizeof err), RK_ERR_NOT_FOUND);

    assert_int_equal(roster_remove(r, "sg.csa"), RK_OK);
    assert_int_equal(roster_remove(r, "sg.csa"), RK_ERR_NOT_FOUND);
    assert_int_equal(roster_count(r), N_NODES - 1);
    assert_null(roster_find(r, "sg.csa"));
    assert_string_equal(roster_node_at(r, SG)->id, "de.bsi");
    assert_null(roster_by_transport_key(
        r, identity_public(s_node[SG])->transport_pk, NOW));
    roster_destroy(&r);
}

static void
test_print_mentions_every_node(void **state) {
    roster_t *r = build();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    assert_non_null(f);
    roster_print(r, f, NOW);
    fclose(f);
    for (int i = 0; i < N_NODES; i++)
        assert_non_null(strstr(buf, s_specs[i].id));
    assert_non_null(strstr(buf, "soc@nisc.example.jp"));
    assert_non_null(strstr(buf, "left the framework"));
    free(buf);
    roster_destroy(&r);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_round_trip_is_stable),
        cmocka_unit_test(test_empty_roster_round_trip),
        cmocka_unit_test(test_json_refusals_name_the_field),
        cmocka_unit_test(test_malformed_json_names_line_and_column),
        cmocka_unit_test(test_add_refusals),
        cmocka_unit_test(test_sign_and_open),
        cmocka_unit_test(test_crlf_copy_named),
        cmocka_unit_test(test_sign_increments_serial_by_one),
        cmocka_unit_test(test_signed_len_is_what_sign_makes),
        cmocka_unit_test(test_sign_refuses_too_large),
        cmocka_unit_test(test_last_serial_cannot_be_signed),
        cmocka_unit_test(test_old_serial_refused),
        cmocka_unit_test(test_every_flipped_byte_refused),
        cmocka_unit_test(test_other_signers_refused),
        cmocka_unit_test(test_signed_note_that_is_not_a_roster),
        cmocka_unit_test(test_usable_keys),
        cmocka_unit_test(test_rotation_overlap),
        cmocka_unit_test(test_suspended_key_set),
        cmocka_unit_test(test_by_transport_key),
        cmocka_unit_test(test_by_transport_key_judges_its_own_key_set),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_edit_and_remove),
        cmocka_unit_test(test_print_mentions_every_node),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
