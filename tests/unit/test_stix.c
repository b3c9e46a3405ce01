/* Unit tests for clients/stix: the STIX 2.1 common properties and ids of an
 * export, the official TLP 2.0 markings, indicator patterns, determinism,
 * export then import giving the notice back, foreign bundles, and the
 * refusal of hostile or wrong input with the field named. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "payload.h"
#include "rk_util.h"
#include "stix.h"

#define CREATED_MS 1795331880123ull  /* 2026-11-22T07:18:00.123Z */
#define DETECTED_MS 1795331000005ull /* with milliseconds */
#define EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

static const uint8_t s_msg_id[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                                     0xcc, 0xdd, 0xee, 0xff};
static const char *const s_sectors[] = {"energy", "health"};
static const char *const s_refs[] = {"https://example.org/advisory/1",
                                     "CVE-2026-0001"};
static const char *const s_rcpts[] = {"de-cert", "fr-cert"};
static const payload_indicator_t s_inds[] = {
    {"ipv4-addr", "192.0.2.1", "C2 server"},
    {"file:hashes.SHA-256",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL},
    {"url", "http://bad.example/it's\\here", "quote and backslash"},
    {"asn", "AS64500", NULL},
};

/* The official TLP 2.0 ids, written out again here (OASIS
 * cti-stix-common-objects, extension-definition-specifications/tlp-2.0). */
static const struct {
    payload_tlp_t tlp;
    const char *id, *name, *level;
} s_tlp[] = {
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

static payload_notice_t
full_notice(void) {
    return (payload_notice_t){
        .incident_id = "JP-2026-0042",
        .title = "Ransomware at a power utility",
        .description = "Line one.\nLine two,\twith a tab. 日本語 ✓",
        .purpose = PAYLOAD_PURPOSE_MITIGATION,
        .status = PAYLOAD_STATUS_IN_PROGRESS,
        .tlp = PAYLOAD_TLP_AMBER_STRICT,
        .severity = PAYLOAD_SEVERITY_CRITICAL,
        .category = "malicious-code",
        .rsit_type = "ransomware",
        .sectors = s_sectors,
        .n_sectors = 2,
        .indicators = s_inds,
        .n_indicators = 4,
        .requested_action = "Block the address; report sightings.",
        .contact = "soc@example.org\n+81 3 0000 0000",
        .references = s_refs,
        .n_references = 2,
        .detected_ms = DETECTED_MS,
    };
}

static stix_meta_t
meta(void) {
    stix_meta_t m = {
        .sender = "jp-csirt",
        .organisation = "Example CSIRT Japan",
        .country = "JP",
        .created_ms = CREATED_MS,
        .recipients = s_rcpts,
        .n_recipients = 2,
    };
    memcpy(m.msg_id, s_msg_id, 16);
    return m;
}

static json_t *
export_ok(const payload_notice_t *n, const stix_meta_t *m) {
    json_t *b = NULL;
    char err[300] = "";
    int rc = stix_export(n, m, &b, err, sizeof err);
    if (rc != RK_OK)
        fail_msg("stix_export: %d %s", rc, err);
    assert_non_null(b);
    return b;
}

static const char *
jstr(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* A UUID in the 8-4-4-4-12 form, lower-case, version 5, RFC 4122 variant. */
static bool
is_uuid_v5(const char *s) {
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-'))
            return false;
        if (!dash &&
            !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return s[14] == '5' && strchr("89ab", s[19]) != NULL;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static bool
is_stix_time(const char *s) {
    const char *f = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (!s || strlen(s) != strlen(f))
        return false;
    for (size_t i = 0; f[i]; i++)
        if (f[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != f[i])
            return false;
    return true;
}

static const json_t *
first_of(const json_t *b, const char *type, size_t *count) {
    const json_t *o, *found = NULL;
    size_t i, n = 0;
    json_array_foreach(json_object_get(b, "objects"), i, o) {
        if (strcmp(jstr(o, "type"), type) == 0) {
            if (!found)
                found = o;
            n++;
        }
    }
    if (count)
        *count = n;
    return found;
}

static void
test_export_common_properties(void **state) {
    (void)state;
    payload_notice_t n = full_notice();
    stix_meta_t m = meta();
    json_t *b = export_ok(&n, &m);
    const json_t *o, *inc, *idt, *note;
    size_t i, count;

    assert_string_equal(jstr(b, "type"), "bundle");
    assert_int_equal(strncmp(jstr(b, "id"), "bundle--", 8), 0);
    assert_true(is_uuid_v5(jstr(b, "id") + 8));
    assert_int_equal(json_array_size(json_object_get(b, "objects")),
                     4 + 2 * n.n_indicators);
    json_array_foreach(json_object_get(b, "objects"), i, o) {
        const char *type = jstr(o, "type"), *id = jstr(o, "id");
        size_t tl;
        assert_non_null(type);
        assert_non_null(id);
        tl = strlen(type);
        assert_int_equal(strncmp(id, type, tl), 0);
        assert_int_equal(strncmp(id + tl, "--", 2), 0);
        assert_string_equal(jstr(o, "spec_version"), "2.1");
        assert_true(is_stix_time(jstr(o, "created")));
        if (strcmp(type, "marking-definition") == 0)
            continue; /* the official object, as published */
        assert_true(is_uuid_v5(id + tl + 2));
        assert_string_equal(jstr(o, "created"), "2026-11-22T07:18:00.123Z");
        assert_string_equal(jstr(o, "modified"), "2026-11-22T07:18:00.123Z");
    }

    idt = first_of(b, "identity", &count);
    assert_int_equal(count, 1);
    assert_string_equal(jstr(idt, "name"), "Example CSIRT Japan");
    assert_string_equal(jstr(idt, "identity_class"), "organization");
    assert_string_equal(jstr(idt, "x_renraku_country"), "JP");
    assert_string_equal(jstr(idt, "x_renraku_node_id"), "jp-csirt");

    inc = first_of(b, "incident", &count);
    assert_int_equal(count, 1);
    assert_string_equal(jstr(inc, "name"), n.title);
    assert_string_equal(jstr(inc, "description"), n.description);
    assert_string_equal(jstr(inc, "created_by_ref"), jstr(idt, "id"));
    assert_string_equal(jstr(inc, "x_renraku_incident_id"), "JP-2026-0042");
    assert_string_equal(jstr(inc, "x_renraku_severity"), "critical");
    assert_string_equal(jstr(inc, "x_renraku_purpose"), "mitigation");
    assert_string_equal(jstr(inc, "x_renraku_status"), "in-progress");
    assert_string_equal(jstr(inc, "x_renraku_category"), "malicious-code");
    assert_string_equal(jstr(inc, "x_renraku_rsit_type"), "ransomware");
    assert_string_equal(jstr(inc, "x_renraku_msg_id"),
                        "00112233445566778899aabbccddeeff");
    assert_string_equal(jstr(inc, "x_renraku_detected"),
                        "2026-11-22T07:03:20.005Z");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(inc, "x_renraku_sectors"), 1)),
                        "health");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(inc, "x_renraku_recipients"), 0)),
                        "de-cert");

    note = first_of(b, "note", &count);
    assert_int_equal(count, 1);
    assert_string_equal(jstr(note, "abstract"), n.title);
    assert_string_equal(jstr(note, "content"), n.description);
    assert_int_equal(json_array_size(json_object_get(note, "object_refs")), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(note, "object_refs"), 0)),
                        jstr(inc, "id"));

    /* Without a description the note's content is the title. */
    n.description = NULL;
    json_decref(b);
    b = export_ok(&n, &m);
    assert_string_equal(jstr(first_of(b, "note", NULL), "content"), n.title);
    assert_null(json_object_get(first_of(b, "incident", NULL), "description"));
    json_decref(b);
}

static void
test_export_markings(void **state) {
    (void)state;
    payload_notice_t n = full_notice();
    stix_meta_t m = meta();

    for (size_t t = 0; t < sizeof s_tlp / sizeof s_tlp[0]; t++) {
        json_t *b;
        const json_t *md, *ext, *o;
        size_t count, i;

        n.tlp = s_tlp[t].tlp;
        assert_string_equal(stix_tlp_marking_id(n.tlp), s_tlp[t].id);
        b = export_ok(&n, &m);
        md = first_of(b, "marking-definition", &count);
        assert_int_equal(count, 1);
        assert_string_equal(jstr(md, "id"), s_tlp[t].id);
        assert_string_equal(jstr(md, "name"), s_tlp[t].name);
        assert_string_equal(jstr(md, "created"), "2022-10-01T00:00:00.000Z");
        ext = json_object_get(json_object_get(md, "extensions"), EXT);
        assert_non_null(ext);
        assert_string_equal(jstr(ext, "extension_type"), "property-extension");
        assert_string_equal(jstr(ext, "tlp_2_0"), s_tlp[t].level);
        assert_null(json_object_get(md, "object_marking_refs"));
        json_array_foreach(json_object_get(b, "objects"), i, o) {
            const json_t *refs = json_object_get(o, "object_marking_refs");
            if (o == md)
                continue;
            assert_int_equal(json_array_size(refs), 1);
            assert_string_equal(json_string_value(json_array_get(refs, 0)),
                                s_tlp[t].id);
        }
        json_decref(b);
    }
    assert_null(stix_tlp_marking_id((payload_tlp_t)0));
    assert_null(stix_tlp_marking_id((payload_tlp_t)6));
}

static void
test_export_patterns(void **state) {
    (void)state;
    static const payload_indicator_t inds[] = {
        {"ipv4-addr", "192.0.2.1", NULL},
        {"ipv6-addr", "2001:db8::1", NULL},
        {"domain-name", "bad.example", NULL},
        {"url", "https://bad.example/x?a=1", NULL},
        {"email-addr", "phish@bad.example", NULL},
        {"file:hashes.SHA-256", "aa", NULL},
        {"file:hashes.MD5", "bb", NULL},
        {"file:hashes.SHA-1", "cc", NULL},
        {"sha256", "dd", NULL},
        {"asn", "AS64500", NULL},
        {"url", "http://e.example/it's\\x", NULL},
        {"mutex", "a'b", NULL},
    };
    static const char *const want[] = {
        "[ipv4-addr:value = '192.0.2.1']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[domain-name:value = 'bad.example']",
        "[url:value = 'https://bad.example/x?a=1']",
        "[email-addr:value = 'phish@bad.example']",
        "[file:hashes.'SHA-256' = 'aa']",
        "[file:hashes.'MD5' = 'bb']",
        "[file:hashes.'SHA-1' = 'cc']",
        "[file:hashes.'SHA-256' = 'dd']",
        "[x-renraku-indicator:value = 'AS64500']",
        "[url:value = 'http://e.example/it\\'s\\\\x']",
        "[x-renraku-indicator:value = 'a\\'b']",
    };
    payload_notice_t n = full_notice();
    stix_meta_t m = meta();
    json_t *b;
    const json_t *o, *inc;
    size_t i, k = 0, rel = 0;

    n.indicators = inds;
    n.n_indicators = sizeof inds / sizeof inds[0];
    b = export_ok(&n, &m);
    inc = first_of(b, "incident", NULL);
    json_array_foreach(json_object_get(b, "objects"), i, o) {
        if (strcmp(jstr(o, "type"), "relationship") == 0) {
            const json_t *src = NULL, *p;
            size_t j;
            assert_string_equal(jstr(o, "relationship_type"), "related-to");
            assert_string_equal(jstr(o, "target_ref"), jstr(inc, "id"));
            json_array_foreach(json_object_get(b, "objects"), j, p) {
                if (strcmp(jstr(p, "id"), jstr(o, "source_ref")) == 0)
                    src = p;
            }
            assert_non_null(src);
            assert_string_equal(jstr(src, "type"), "indicator");
            rel++;
        }
        if (strcmp(jstr(o, "type"), "indicator") != 0)
            continue;
        assert_true(k < n.n_indicators);
        assert_string_equal(jstr(o, "pattern"), want[k]);
        assert_string_equal(jstr(o, "pattern_type"), "stix");
        assert_string_equal(jstr(o, "pattern_version"), "2.1");
        assert_string_equal(jstr(o, "valid_from"), "2026-11-22T07:18:00.123Z");
        assert_string_equal(jstr(o, "x_renraku_indicator_type"), inds[k].type);
        k++;
    }
    assert_int_equal(k, n.n_indicators);
    assert_int_equal(rel, n.n_indicators);
    json_decref(b);
}

static void
test_export_deterministic(void **state) {
    (void)state;
    payload_notice_t n = full_notice();
    stix_meta_t m = meta();
    json_t *a = export_ok(&n, &m), *b = export_ok(&n, &m), *c, *ids;
    char *sa = json_dumps(a, JSON_SORT_KEYS),
         *sb = json_dumps(b, JSON_SORT_KEYS);
    const json_t *o;
    size_t i;

    assert_true(json_equal(a, b));
    assert_string_equal(sa, sb);
    /* Every id in a bundle is distinct. */
    ids = json_object();
    json_array_foreach(json_object_get(a, "objects"), i, o) {
        assert_null(json_object_get(ids, jstr(o, "id")));
        json_object_set_new(ids, jstr(o, "id"), json_true());
    }
    /* Another message gives other ids. */
    m.msg_id[15] ^= 1;
    c = export_ok(&n, &m);
    assert_string_not_equal(jstr(a, "id"), jstr(c, "id"));
    assert_string_not_equal(jstr(first_of(a, "incident", NULL), "id"),
                            jstr(first_of(c, "incident", NULL), "id"));
    free(sa);
    free(sb);
    json_decref(ids);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void
assert_same_list(const char *const *a, size_t na, const char *const *b,
                 size_t nb) {
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void
assert_opt_str(const char *a, const char *b) {
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
test_roundtrip(void **state) {
    (void)state;
    stix_meta_t m = meta();

    for (size_t t = 0; t < sizeof s_tlp / sizeof s_tlp[0]; t++) {
        payload_notice_t n = full_notice();
        payload_t *p = NULL;
        stix_import_info_t info;
        char err[300] = "x";
        json_t *b;
        const payload_notice_t *r;

        n.tlp = s_tlp[t].tlp;
        if (t == 1) { /* a sparse notice too */
            n = (payload_notice_t){.incident_id = "I-1",
                                   .title = "Only a title",
                                   .tlp = s_tlp[t].tlp};
        }
        b = export_ok(&n, &m);
        assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
        assert_string_equal(err, "");
        assert_int_equal(info.n_skipped, 0);
        assert_int_equal(info.n_indicators, n.n_indicators);
        assert_false(info.tlp_defaulted);
        assert_false(info.clipped);
        assert_string_equal(info.source_type, "incident");
        assert_int_equal(p->kind, PAYLOAD_NOTICE);
        r = &p->notice;
        assert_string_equal(r->incident_id, n.incident_id);
        assert_string_equal(r->title, n.title);
        assert_opt_str(r->description, n.description);
        assert_int_equal(r->tlp, n.tlp);
        assert_int_equal(r->severity, n.severity);
        assert_int_equal(r->purpose, n.purpose);
        assert_int_equal(r->status, n.status);
        assert_opt_str(r->category, n.category);
        assert_opt_str(r->rsit_type, n.rsit_type);
        assert_same_list(r->sectors, r->n_sectors, n.sectors, n.n_sectors);
        assert_same_list(r->references, r->n_references, n.references,
                         n.n_references);
        assert_opt_str(r->requested_action, n.requested_action);
        assert_opt_str(r->contact, n.contact);
        assert_int_equal(r->detected_ms, n.detected_ms);
        assert_int_equal(r->n_indicators, n.n_indicators);
        for (size_t i = 0; i < n.n_indicators; i++) {
            assert_string_equal(r->indicators[i].type, n.indicators[i].type);
            assert_string_equal(r->indicators[i].value, n.indicators[i].value);
            assert_opt_str(r->indicators[i].description,
                           n.indicators[i].description);
        }
        payload_destroy(&p);
        json_decref(b);
    }
}

static json_t *
load(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("test JSON: line %d: %s", e.line, e.text);
    return j;
}

/* A bundle as another tool writes it: a report, TLP 1.0 markings, and
 * indicators of every shape. */
static const char s_foreign[] =
    "{\"type\":\"bundle\",\"id\":\"bundle--5d0092c5-5f74-4287-9642-"
    "33f4c354e56d\",\"objects\":["
    "{\"type\":\"report\",\"spec_version\":\"2.1\",\"id\":\"report--84e4d88f-"
    "44ea-4bcd-bbf3-b2c1c320bcb3\",\"name\":\"  Phishing wave\\u0007 against "
    "banks \",\"description\":\"Seen since Monday.\",\"published\":\"2026-"
    "01-01T00:00:00Z\",\"object_refs\":[\"indicator--a\"],"
    "\"object_marking_refs\":[\"marking-definition--613f2e26-407d-48c7-9eca-"
    "b8e91df99dc9\"]},"
    "{\"type\":\"indicator\",\"id\":\"indicator--a\",\"pattern_type\":"
    "\"stix\",\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\","
    "\"description\":\"sender\",\"object_marking_refs\":[\"marking-"
    "definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\"]},"
    "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
    "\"  [ file:hashes.SHA256='abcdef' ] \"},"
    "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
    "\"[url:value = 'http://p.example/it\\\\'s']\"},"
    "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
    "\"[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'x.example']\"},"
    "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
    "\"[network-traffic:dst_port = 443]\"},"
    "{\"type\":\"indicator\",\"pattern_type\":\"sigma\",\"pattern\":"
    "\"title: x\"},"
    "{\"type\":\"malware\",\"name\":\"x\",\"is_family\":false}"
    "]}";

static void
test_import_foreign(void **state) {
    (void)state;
    json_t *b = load(s_foreign);
    payload_t *p = NULL;
    stix_import_info_t info;
    char err[400];
    const payload_notice_t *r;

    assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
    r = &p->notice;
    assert_string_equal(info.source_type, "report");
    assert_string_equal(r->title, "Phishing wave  against banks");
    assert_string_equal(r->description, "Seen since Monday.");
    assert_string_equal(r->incident_id,
                        "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3");
    /* WHITE on the report, GREEN on an indicator: the stricter wins. */
    assert_int_equal(r->tlp, PAYLOAD_TLP_GREEN);
    assert_int_equal(r->severity, PAYLOAD_SEVERITY_NONE);
    assert_null(r->category);
    assert_int_equal(r->n_indicators, 3);
    assert_string_equal(r->indicators[0].type, "ipv4-addr");
    assert_string_equal(r->indicators[0].value, "198.51.100.7");
    assert_string_equal(r->indicators[0].description, "sender");
    assert_string_equal(r->indicators[1].type, "file:hashes.SHA-256");
    assert_string_equal(r->indicators[1].value, "abcdef");
    assert_string_equal(r->indicators[2].type, "url");
    assert_string_equal(r->indicators[2].value, "http://p.example/it's");
    assert_int_equal(info.n_indicators, 3);
    assert_int_equal(info.n_skipped, 3);
    assert_false(info.tlp_defaulted);
    assert_non_null(strstr(err, "skipped 3 of 6 indicators"));
    assert_non_null(strstr(err, "2 with a pattern that is not one simple"));
    assert_non_null(strstr(err, "1 with a pattern_type other than stix"));
    assert_null(strstr(err, "TLP"));
    payload_destroy(&p);
    json_decref(b);

    /* TLP 1.0 WHITE alone is TLP 2.0 CLEAR. */
    b = load("{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\","
             "\"name\":\"n\",\"object_marking_refs\":[\"marking-definition--"
             "613f2e26-407d-48c7-9eca-b8e91df99dc9\",\"marking-definition--"
             "00000000-0000-4000-8000-000000000000\"]}]}");
    assert_int_equal(stix_import(b, &p, err, sizeof err), RK_OK);
    assert_int_equal(p->notice.tlp, PAYLOAD_TLP_CLEAR);
    assert_string_equal(err, "");
    payload_destroy(&p);
    json_decref(b);

    /* No marking at all: AMBER, and the user is told. */
    b = load("{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\","
             "\"name\":\"n\"}]}");
    assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
    assert_int_equal(p->notice.tlp, PAYLOAD_TLP_AMBER);
    assert_true(info.tlp_defaulted);
    assert_string_equal(err, "no TLP marking: the notice is TLP:AMBER");
    payload_destroy(&p);
    json_decref(b);

    /* Only a note: its first line is the title, its content the text. */
    b = load("{\"type\":\"bundle\",\"objects\":[{\"type\":\"note\","
             "\"content\":\"First line\\nsecond line\",\"object_refs\":[]}]}");
    assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
    assert_string_equal(info.source_type, "note");
    assert_string_equal(p->notice.title, "First line");
    assert_string_equal(p->notice.description, "First line\nsecond line");
    payload_destroy(&p);
    json_decref(b);
}

static void
test_import_clips_long_text(void **state) {
    (void)state;
    char title[601];
    json_t *b;
    payload_t *p = NULL;
    stix_import_info_t info;
    char err[300];

    /* 300 two-byte characters: cut on a character boundary. */
    for (int i = 0; i < 300; i++)
        memcpy(title + 2 * i, "\xc3\xa9", 2);
    title[600] = '\0';
    b = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "bundle", "objects", "type",
                  "incident", "name", title);
    assert_non_null(b);
    assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
    assert_true(info.clipped);
    assert_int_equal(strlen(p->notice.title), PAYLOAD_TITLE_MAX);
    assert_non_null(strstr(err, "text cut"));
    payload_destroy(&p);
    json_decref(b);
}

/* Patterns that are not one simple comparison of a known type, or are cut
 * short: each is skipped and counted, none refuses the bundle. */
static void
test_import_odd_patterns(void **state) {
    (void)state;
    static const char *const pats[] = {
        "",
        "[",
        "[ipv4-addr:value",
        "[ipv4-addr:value =",
        "[ipv4-addr:value = '",
        "[ipv4-addr:value = 'a",
        "[ipv4-addr:value = 'a\\",
        "[ipv4-addr:value = 'a\\n']",
        "[ipv4-addr:value = '']",
        "[ipv4-addr:value = 'a'] x",
        "[ipv4-addr:value != 'a']",
        "[ipv4-addr:value = 'a'] START t'2020-01-01T00:00:00Z' STOP "
        "t'2021-01-01T00:00:00Z'",
        "[file:hashes.' = 'a']",
        "[file:hashes.'SHA-256 = 'a']",
        "[file:hashes.'SHA-512' = 'a']",
        "[mac-addr:value = '00:00:5e:00:53:01']",
        "ipv4-addr:value = 'a'",
    };
    size_t n = sizeof pats / sizeof pats[0];
    json_t *b = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "bundle", "objects",
                          "type", "incident", "name", "n");
    json_t *objs = json_object_get(b, "objects");
    char *long_value = malloc(PAYLOAD_VALUE_MAX + 40);
    payload_t *p = NULL;
    stix_import_info_t info;
    char err[400];

    assert_non_null(long_value);
    strcpy(long_value, "[url:value = '");
    memset(long_value + 14, 'a', PAYLOAD_VALUE_MAX + 1);
    strcpy(long_value + 14 + PAYLOAD_VALUE_MAX + 1, "']");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            json_array_append_new(objs, json_pack("{s:s, s:s, s:s}", "type",
                                                  "indicator", "pattern_type",
                                                  "stix", "pattern", pats[i])),
            0);
    assert_int_equal(
        json_array_append_new(objs, json_pack("{s:s, s:s, s:s}", "type",
                                              "indicator", "pattern_type",
                                              "stix", "pattern", long_value)),
        0);
    assert_int_equal(stix_import_ex(b, &p, &info, err, sizeof err), RK_OK);
    assert_int_equal(info.n_indicators, 0);
    assert_int_equal(info.n_skipped, n + 1);
    assert_int_equal(p->notice.n_indicators, 0);
    assert_non_null(strstr(err, "1 with a value over 2048 bytes"));
    payload_destroy(&p);
    free(long_value);
    json_decref(b);
}

typedef struct {
    const char *json;
    int rc;
    const char *err; /* the start of the error sentence */
} refusal_t;

static void
test_import_refuses(void **state) {
    (void)state;
    static const refusal_t cases[] = {
        {"[1]", RK_ERR_MALFORMED, "bundle: expected a JSON object"},
        {"{\"objects\":[]}", RK_ERR_MALFORMED, "bundle.type: missing"},
        {"{\"type\":\"indicator\",\"objects\":[]}", RK_ERR_MALFORMED,
         "bundle.type: 'indicator', expected \"bundle\""},
        {"{\"type\":\"bundle\"}", RK_ERR_MALFORMED, "bundle.objects: missing"},
        {"{\"type\":\"bundle\",\"id\":3,\"objects\":[]}", RK_ERR_MALFORMED,
         "bundle.id: expected a string"},
        {"{\"type\":\"bundle\",\"objects\":[]}", RK_ERR_MALFORMED,
         "bundle.objects: no incident, report or note"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"note\"},7]}",
         RK_ERR_MALFORMED, "objects[1]: expected a JSON object"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":5}]}", RK_ERR_MALFORMED,
         "objects[0].type: missing or not a string"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\"}]}",
         RK_ERR_MALFORMED, "objects[0].name: missing or empty"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "[\"x\"]}]}",
         RK_ERR_MALFORMED, "objects[0].name: expected a string"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"object_marking_refs\":\"marking-definition--x\"}]}",
         RK_ERR_MALFORMED, "objects[0].object_marking_refs: expected an array"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"x_renraku_severity\":\"urgent\"}]}",
         RK_ERR_MALFORMED,
         "objects[0].x_renraku_severity: unknown value 'urgent'"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"x_renraku_category\":\"spam\"}]}",
         RK_ERR_MALFORMED,
         "objects[0].x_renraku_category: 'spam' is not an RSIT class"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"x_renraku_sectors\":[\"a\",1]}]}",
         RK_ERR_MALFORMED,
         "objects[0].x_renraku_sectors[1]: expected a string"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"x_renraku_detected\":\"yesterday\"}]}",
         RK_ERR_MALFORMED, "objects[0].x_renraku_detected: not an RFC 3339"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\"},{\"type\":\"indicator\",\"pattern\":7,\"pattern_type\":"
         "\"stix\"}]}",
         RK_ERR_MALFORMED, "objects[1].pattern: expected a string"},
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\"},{\"type\":\"indicator\",\"pattern\":\"[url:value = 'a']\"}]}",
         RK_ERR_MALFORMED, "objects[1].pattern_type: missing"},
        /* A rule only the notice knows: rsit_type needs a category. */
        {"{\"type\":\"bundle\",\"objects\":[{\"type\":\"incident\",\"name\":"
         "\"x\",\"x_renraku_rsit_type\":\"ransomware\"}]}",
         RK_ERR_MALFORMED,
         "the notice from objects[0] (incident) does not validate: "
         "notice.rsit_type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = load(cases[i].json);
        payload_t *p = (payload_t *)&p; /* must come back NULL */
        char err[300] = "";
        int rc = stix_import(b, &p, err, sizeof err);
        if (rc != cases[i].rc ||
            strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu: rc %d err '%s', want %d '%s'", i, rc, err,
                     cases[i].rc, cases[i].err);
        assert_null(p);
        json_decref(b);
    }
}

static void
test_import_caps_objects(void **state) {
    (void)state;
    json_t *b = json_pack("{s:s, s:[]}", "type", "bundle", "objects");
    json_t *objs = json_object_get(b, "objects");
    payload_t *p = NULL;
    char err[200];

    for (int i = 0; i < STIX_MAX_OBJECTS; i++)
        assert_int_equal(json_array_append_new(
                             objs, json_pack("{s:s}", "type", "indicator")),
                         0);
    assert_int_equal(
        json_array_append_new(objs, json_pack("{s:s}", "type", "incident")), 0);
    assert_int_equal(stix_import(b, &p, err, sizeof err), RK_ERR_TOO_LARGE);
    assert_string_equal(err,
                        "bundle.objects: 10001 objects, more than the 10000 "
                        "accepted");
    assert_null(p);
    json_decref(b);
}

static void
test_export_refuses(void **state) {
    (void)state;
    payload_notice_t n = full_notice();
    stix_meta_t m = meta();
    json_t *b = (json_t *)&b;
    char err[200];

    n.tlp = (payload_tlp_t)0;
    assert_int_equal(stix_export(&n, &m, &b, err, sizeof err), RK_ERR_INVALID);
    assert_non_null(strstr(err, "notice.tlp"));
    assert_null(b);

    n = full_notice();
    m.sender = "Not A Node";
    assert_int_equal(stix_export(&n, &m, &b, err, sizeof err), RK_ERR_INVALID);
    assert_string_equal(err, "meta.sender: missing or not a node id");

    m = meta();
    m.country = "JPN";
    assert_int_equal(stix_export(&n, &m, &b, err, sizeof err), RK_ERR_INVALID);
    assert_non_null(strstr(err, "meta.country"));

    m = meta();
    m.created_ms = 0;
    assert_int_equal(stix_export(&n, &m, &b, err, sizeof err), RK_ERR_INVALID);
    assert_non_null(strstr(err, "meta.created_ms"));

    /* No organisation or country: the node id names the identity. */
    m = meta();
    m.organisation = NULL;
    m.country = "";
    b = export_ok(&n, &m);
    assert_string_equal(jstr(first_of(b, "identity", NULL), "name"),
                        "jp-csirt");
    assert_null(
        json_object_get(first_of(b, "identity", NULL), "x_renraku_country"));
    json_decref(b);
}

static void
test_load(void **state) {
    (void)state;
    char path[] = "/tmp/test_stix_XXXXXX";
    int fd = mkstemp(path);
    json_t *b = NULL;
    char err[200];
    static const char dup[] = "{\"type\":\"bundle\",\"type\":\"bundle\"}";
    static const char ok[] = "{\"type\":\"bundle\",\"objects\":[]}";

    assert_true(fd >= 0);
    assert_int_equal(write(fd, dup, sizeof dup - 1), (ssize_t)(sizeof dup - 1));
    close(fd);
    assert_int_equal(stix_load(path, &b, err, sizeof err), RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "duplicate"));
    assert_null(b);
    assert_int_equal(rk_write_file(path, ok, sizeof ok - 1, 0600, 0), RK_OK);
    assert_int_equal(stix_load(path, &b, err, sizeof err), RK_OK);
    assert_string_equal(jstr(b, "type"), "bundle");
    json_decref(b);
    unlink(path);
    assert_int_equal(stix_load(path, &b, err, sizeof err), RK_ERR_NOT_FOUND);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_common_properties),
        cmocka_unit_test(test_export_markings),
        cmocka_unit_test(test_export_patterns),
        cmocka_unit_test(test_export_deterministic),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_import_foreign),
        cmocka_unit_test(test_import_clips_long_text),
        cmocka_unit_test(test_import_odd_patterns),
        cmocka_unit_test(test_import_refuses),
        cmocka_unit_test(test_import_caps_objects),
        cmocka_unit_test(test_export_refuses),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
