/* Unit tests for proto/payload: round trips of every body through protobuf
 * and JSON, a known-answer encoding, each validation rule naming its field,
 * and the ways untrusted bytes or JSON must be refused. */
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

#include "payload.h"
#include "renraku.pb-c.h"
#include "rk_util.h"

#define DETECTED_MS 1795331880000ull /* 2026-11-22T07:18:00Z */

static const uint8_t s_msg_id[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                                     0xcc, 0xdd, 0xee, 0xff};
static const char *const s_sectors[] = {"energy", "health"};
static const char *const s_refs[] = {"https://example.org/advisory/1",
                                     "CVE-2026-0001"};
static const payload_indicator_t s_inds[] = {
    {"ipv4-addr", "192.0.2.1", "C2 server"},
    {"file:hashes.SHA-256",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL},
};

/* A notice with every field set. */
static payload_t
full_notice(void) {
    payload_t p = {.kind = PAYLOAD_NOTICE};
    p.notice = (payload_notice_t){
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
        .n_indicators = 2,
        .requested_action = "Block the address; report sightings.",
        .contact = "soc@example.org\n+81 3 0000 0000",
        .references = s_refs,
        .n_references = 2,
        .detected_ms = DETECTED_MS + 5, /* with milliseconds */
    };
    return p;
}

/* The smallest valid notice. */
static payload_t
min_notice(void) {
    payload_t p = {.kind = PAYLOAD_NOTICE};
    p.notice.incident_id = "I-1";
    p.notice.title = "Test";
    p.notice.tlp = PAYLOAD_TLP_GREEN;
    return p;
}

static payload_t
an_ack(void) {
    payload_t p = {.kind = PAYLOAD_ACK};
    memcpy(p.ack.ref_msg_id, s_msg_id, 16);
    p.ack.status = PAYLOAD_ACK_DENIED;
    p.ack.comment = "Not our constituency.";
    return p;
}

static payload_t
a_comm_check(void) {
    payload_t p = {.kind = PAYLOAD_COMM_CHECK};
    p.comm_check.check_id = "cc-2026-11";
    p.comm_check.text = "Communication check: please acknowledge.";
    p.comm_check.respond_by_ms = DETECTED_MS + 3600000;
    return p;
}

static const payload_notice_t s_drill_notice = {
    .incident_id = "EX-7",
    .title = "EXERCISE: DDoS against a registry",
    .tlp = PAYLOAD_TLP_CLEAR,
    .category = "test",
    .rsit_type = "ddos",
};

static payload_t
a_drill_inject(void) {
    payload_t p = {.kind = PAYLOAD_DRILL_INJECT};
    p.drill_inject = (payload_drill_inject_t){
        .drill_id = "apcert-2026",
        .inject_id = "inject-3",
        .title = "Registry under attack",
        .text = "EXERCISE EXERCISE EXERCISE\nAcknowledge within 30 minutes.",
        .expected = PAYLOAD_ACK_ACKNOWLEDGED,
        .respond_by_ms = DETECTED_MS + 1800000,
        .notice = &s_drill_notice,
    };
    return p;
}

static payload_t
a_drill_reply(void) {
    payload_t p = {.kind = PAYLOAD_DRILL_REPLY};
    p.drill_reply.drill_id = "apcert-2026";
    p.drill_reply.inject_id = "inject-3";
    memcpy(p.drill_reply.ref_msg_id, s_msg_id, 16);
    p.drill_reply.status = PAYLOAD_ACK_IN_PROGRESS;
    p.drill_reply.text = "EXERCISE: looking into it";
    return p;
}

/* ---- Comparison helpers ---- */

static void
assert_opt_str(const char *a, const char *b) {
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_notice_equal(const payload_notice_t *a, const payload_notice_t *b) {
    assert_string_equal(a->incident_id, b->incident_id);
    assert_string_equal(a->title, b->title);
    assert_opt_str(a->description, b->description);
    assert_int_equal(a->purpose, b->purpose);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->tlp, b->tlp);
    assert_int_equal(a->severity, b->severity);
    assert_opt_str(a->category, b->category);
    assert_opt_str(a->rsit_type, b->rsit_type);
    assert_int_equal(a->n_sectors, b->n_sectors);
    for (size_t i = 0; i < a->n_sectors; i++)
        assert_string_equal(a->sectors[i], b->sectors[i]);
    assert_int_equal(a->n_indicators, b->n_indicators);
    for (size_t i = 0; i < a->n_indicators; i++) {
        assert_string_equal(a->indicators[i].type, b->indicators[i].type);
        assert_string_equal(a->indicators[i].value, b->indicators[i].value);
        assert_opt_str(a->indicators[i].description,
                       b->indicators[i].description);
    }
    assert_opt_str(a->requested_action, b->requested_action);
    assert_opt_str(a->contact, b->contact);
    assert_int_equal(a->n_references, b->n_references);
    for (size_t i = 0; i < a->n_references; i++)
        assert_string_equal(a->references[i], b->references[i]);
    assert_int_equal(a->detected_ms, b->detected_ms);
}

static void
assert_payload_equal(const payload_t *a, const payload_t *b) {
    assert_int_equal(a->kind, b->kind);
    switch (a->kind) {
    case PAYLOAD_NOTICE:
        assert_notice_equal(&a->notice, &b->notice);
        break;
    case PAYLOAD_ACK:
        assert_memory_equal(a->ack.ref_msg_id, b->ack.ref_msg_id, 16);
        assert_int_equal(a->ack.status, b->ack.status);
        assert_opt_str(a->ack.comment, b->ack.comment);
        break;
    case PAYLOAD_COMM_CHECK:
        assert_string_equal(a->comm_check.check_id, b->comm_check.check_id);
        assert_opt_str(a->comm_check.text, b->comm_check.text);
        assert_int_equal(a->comm_check.respond_by_ms,
                         b->comm_check.respond_by_ms);
        break;
    case PAYLOAD_DRILL_INJECT:
        assert_string_equal(a->drill_inject.drill_id, b->drill_inject.drill_id);
        assert_string_equal(a->drill_inject.inject_id,
                            b->drill_inject.inject_id);
        assert_string_equal(a->drill_inject.title, b->drill_inject.title);
        assert_string_equal(a->drill_inject.text, b->drill_inject.text);
        assert_int_equal(a->drill_inject.expected, b->drill_inject.expected);
        assert_int_equal(a->drill_inject.respond_by_ms,
                         b->drill_inject.respond_by_ms);
        if (!a->drill_inject.notice || !b->drill_inject.notice)
            assert_ptr_equal(a->drill_inject.notice, b->drill_inject.notice);
        else
            assert_notice_equal(a->drill_inject.notice, b->drill_inject.notice);
        break;
    case PAYLOAD_DRILL_REPLY:
        assert_string_equal(a->drill_reply.drill_id, b->drill_reply.drill_id);
        assert_string_equal(a->drill_reply.inject_id, b->drill_reply.inject_id);
        assert_memory_equal(a->drill_reply.ref_msg_id,
                            b->drill_reply.ref_msg_id, 16);
        assert_int_equal(a->drill_reply.status, b->drill_reply.status);
        assert_opt_str(a->drill_reply.text, b->drill_reply.text);
        break;
    default:
        fail_msg("unknown kind %d", (int)a->kind);
    }
}

static uint8_t *
unhex_alloc(const char *hex, size_t *len) {
    uint8_t *b;
    *len = strlen(hex) / 2;
    b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(rk_unhex(b, *len, hex), RK_OK);
    return b;
}

/* ---- Known answer ---- */

/* Computed independently of protobuf-c (field by field from the .proto):
 * notice{incident_id "I-1", title "Test", tlp AMBER, severity HIGH,
 * category "fraud", sectors ["energy"], indicators [{ipv4-addr,
 * 192.0.2.1}], detected_ms 1795331880000}. */
static const char *s_kat_hex =
    "0a3d0a03492d3112045465737430033804420566726175645206656e657267795a16"
    "0a09697076342d6164647212093139322e302e322e3178c0e8f990a034";
static const char *const s_kat_sectors[] = {"energy"};
static const payload_indicator_t s_kat_ind[] = {
    {"ipv4-addr", "192.0.2.1", NULL}};

static payload_t
kat_notice(void) {
    payload_t p = {.kind = PAYLOAD_NOTICE};
    p.notice.incident_id = "I-1";
    p.notice.title = "Test";
    p.notice.tlp = PAYLOAD_TLP_AMBER;
    p.notice.severity = PAYLOAD_SEVERITY_HIGH;
    p.notice.category = "fraud";
    p.notice.sectors = s_kat_sectors;
    p.notice.n_sectors = 1;
    p.notice.indicators = s_kat_ind;
    p.notice.n_indicators = 1;
    p.notice.detected_ms = DETECTED_MS;
    return p;
}

static void
test_known_answer(void **state) {
    payload_t p = kat_notice();
    uint8_t *buf = NULL, *want;
    size_t len = 0, want_len;
    char *hex;
    payload_t *back = NULL;
    (void)state;

    assert_int_equal(payload_encode(&p, &buf, &len, NULL), RK_OK);
    hex = malloc(2 * len + 1);
    assert_non_null(hex);
    rk_hex(hex, buf, len);
    assert_string_equal(hex, s_kat_hex);

    want = unhex_alloc(s_kat_hex, &want_len);
    assert_int_equal(payload_decode(want, want_len, &back, NULL), RK_OK);
    assert_int_equal(back->kind, PAYLOAD_NOTICE);
    assert_string_equal(back->notice.title, "Test");
    assert_int_equal(back->notice.tlp, PAYLOAD_TLP_AMBER);
    assert_int_equal(back->notice.severity, PAYLOAD_SEVERITY_HIGH);
    assert_int_equal(back->notice.purpose, PAYLOAD_PURPOSE_NONE);
    assert_null(back->notice.description);
    assert_string_equal(back->notice.indicators[0].value, "192.0.2.1");
    assert_int_equal(back->notice.detected_ms, DETECTED_MS);
    payload_destroy(&back);
    assert_null(back);
    payload_destroy(&back); /* twice is harmless */
    payload_destroy(NULL);
    free(want);
    free(hex);
    free(buf);
}

/* ---- Round trips ---- */

static void
roundtrip_bytes(const payload_t *p) {
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    payload_t *back = NULL;
    const char *why = "unset";

    assert_int_equal(payload_encode(p, &buf, &len, &why), RK_OK);
    assert_null(why);
    assert_int_equal(payload_decode(buf, len, &back, &why), RK_OK);
    assert_null(why);
    assert_payload_equal(p, back);
    /* Re-encoding what was decoded gives the same bytes. */
    assert_int_equal(payload_encode(back, &buf2, &len2, NULL), RK_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    payload_destroy(&back);
    free(buf);
    free(buf2);
}

static void
test_roundtrip_every_kind(void **state) {
    payload_t all[] = {full_notice(),  min_notice(),     an_ack(),
                       a_comm_check(), a_drill_inject(), a_drill_reply()};
    payload_t bare_cc = {.kind = PAYLOAD_COMM_CHECK};
    payload_t bare_inject = a_drill_inject();
    (void)state;

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        roundtrip_bytes(&all[i]);
    bare_cc.comm_check.check_id = "c";
    roundtrip_bytes(&bare_cc);
    bare_inject.drill_inject.notice = NULL;
    bare_inject.drill_inject.expected = PAYLOAD_ACK_NONE;
    bare_inject.drill_inject.respond_by_ms = 0;
    roundtrip_bytes(&bare_inject);
}

static void
roundtrip_json(const payload_t *p) {
    json_t *j = payload_to_json(p), *j2;
    payload_t *back = NULL;
    char err[256];

    assert_non_null(j);
    assert_int_equal(payload_from_json(j, &back, err, sizeof err), RK_OK);
    assert_payload_equal(p, back);
    j2 = payload_to_json(back);
    assert_non_null(j2);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    json_decref(j);
    payload_destroy(&back);
}

static void
test_json_roundtrip_every_kind(void **state) {
    payload_t all[] = {full_notice(),  min_notice(),     an_ack(),
                       a_comm_check(), a_drill_inject(), a_drill_reply()};
    (void)state;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        roundtrip_json(&all[i]);
}

static char *
dump(const json_t *j) {
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(s);
    return s;
}

/* What a user of the CLI or the ticketing hook reads. */
static void
test_json_values(void **state) {
    payload_t n = full_notice(), a = an_ack(), d = a_drill_inject();
    json_t *j;
    char *s;
    (void)state;

    j = payload_to_json(&n);
    assert_non_null(j);
    s = dump(json_object_get(j, "notice"));
    assert_non_null(strstr(s, "\"tlp\":\"AMBER+STRICT\""));
    assert_non_null(strstr(s, "\"severity\":\"critical\""));
    assert_non_null(strstr(s, "\"purpose\":\"mitigation\""));
    assert_non_null(strstr(s, "\"status\":\"in-progress\""));
    assert_non_null(strstr(s, "\"detected\":\"2026-11-22T07:18:00.005Z\""));
    assert_non_null(strstr(s, "\"sectors\":[\"energy\",\"health\"]"));
    /* The second indicator has no description: the key is absent. */
    assert_non_null(strstr(s, "{\"type\":\"file:hashes.SHA-256\",\"value\":"));
    free(s);
    json_decref(j);

    j = payload_to_json(&a);
    s = dump(j);
    assert_string_equal(s, "{\"ack\":{\"comment\":\"Not our constituency.\","
                           "\"ref_msg_id\":"
                           "\"00112233445566778899aabbccddeeff\","
                           "\"status\":\"denied\"}}");
    free(s);
    json_decref(j);

    j = payload_to_json(&d);
    s = dump(j);
    assert_non_null(strstr(s, "\"expected\":\"acknowledged\""));
    assert_non_null(strstr(s, "\"respond_by\":\"2026-11-22T07:48:00Z\""));
    assert_non_null(strstr(s, "\"notice\":{\"category\":\"test\""));
    free(s);
    json_decref(j);

    /* An invalid payload has no JSON form. */
    n.notice.tlp = 0;
    assert_null(payload_to_json(&n));
}

/* Hand-written JSON with relaxed spellings: the first pass canonicalises,
 * later passes are stable. */
static void
test_json_text_stable(void **state) {
    const char *text =
        "{\"notice\": {\"incident_id\": \"X-1\", \"title\": \"Phish\","
        " \"tlp\": \"amber+strict\", \"severity\": \"HIGH\","
        " \"category\": \"Fraud\", \"sectors\": [],"
        " \"detected\": \"2026-11-22T07:18:00.500Z\"}}";
    json_error_t jerr;
    json_t *in = json_loads(text, JSON_REJECT_DUPLICATES, &jerr), *out1, *out2;
    payload_t *p = NULL, *q = NULL;
    char err[256], *s;
    (void)state;

    assert_non_null(in);
    assert_int_equal(payload_from_json(in, &p, err, sizeof err), RK_OK);
    assert_int_equal(p->notice.tlp, PAYLOAD_TLP_AMBER_STRICT);
    assert_int_equal(p->notice.severity, PAYLOAD_SEVERITY_HIGH);
    assert_string_equal(p->notice.category, "fraud");
    assert_int_equal(p->notice.n_sectors, 0);
    assert_int_equal(p->notice.detected_ms, DETECTED_MS + 500);
    out1 = payload_to_json(p);
    s = dump(out1);
    assert_string_equal(s, "{\"notice\":{\"category\":\"fraud\",\"detected\":"
                           "\"2026-11-22T07:18:00.500Z\",\"incident_id\":"
                           "\"X-1\",\"severity\":\"high\",\"title\":"
                           "\"Phish\",\"tlp\":\"AMBER+STRICT\"}}");
    assert_int_equal(payload_from_json(out1, &q, err, sizeof err), RK_OK);
    out2 = payload_to_json(q);
    assert_true(json_equal(out1, out2));
    free(s);
    json_decref(in);
    json_decref(out1);
    json_decref(out2);
    payload_destroy(&p);
    payload_destroy(&q);
}

/* ---- Validation: every rule names its field ---- */

static void
expect_invalid(const payload_t *p, const char *want) {
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    assert_int_equal(payload_encode(p, &buf, &len, &why), RK_ERR_INVALID);
    assert_null(buf);
    assert_non_null(why);
    assert_string_equal(why, want);
    why = NULL;
    assert_int_equal(payload_validate(p, &why), RK_ERR_INVALID);
    assert_string_equal(why, want);
}

static void
test_validation_notice(void **state) {
    char long_title[PAYLOAD_TITLE_MAX + 2];
    const char *bad_sectors[] = {"energy", ""};
    payload_indicator_t bad_ind[] = {{"url", "", NULL}};
    payload_indicator_t *many;
    payload_t p;
    uint8_t *buf = NULL;
    size_t len;
    (void)state;

    p = min_notice();
    p.notice.title = "";
    expect_invalid(&p, "notice.title is empty");
    p.notice.title = NULL;
    expect_invalid(&p, "notice.title is missing");
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    p.notice.title = long_title; /* 257 bytes */
    expect_invalid(&p, "notice.title is longer than 256 bytes");
    long_title[PAYLOAD_TITLE_MAX] = '\0'; /* exactly 256: fine */
    assert_int_equal(payload_encode(&p, &buf, &len, NULL), RK_OK);
    free(buf);
    p.notice.title = "two\nlines";
    expect_invalid(&p, "notice.title has a control character");
    p.notice.title = "C1 \xc2\x9b control";
    expect_invalid(&p, "notice.title has a control character");

    p = min_notice();
    p.notice.incident_id = "";
    expect_invalid(&p, "notice.incident_id is empty");
    p = min_notice();
    p.notice.description = "bad \xc3\x28 byte";
    expect_invalid(&p, "notice.description is not valid UTF-8");
    p.notice.description = "overlong \xc0\xaf slash";
    expect_invalid(&p, "notice.description is not valid UTF-8");
    p.notice.description = "surrogate \xed\xa0\x80";
    expect_invalid(&p, "notice.description is not valid UTF-8");
    p.notice.description = "cut \xe6\x97";
    expect_invalid(&p, "notice.description is not valid UTF-8");
    p.notice.description = "\x1b[31mred\x1b[0m";
    expect_invalid(&p, "notice.description has a control character");
    p.notice.description = "";
    expect_invalid(&p, "notice.description is empty");

    p = min_notice();
    p.notice.tlp = 0;
    expect_invalid(&p, "notice.tlp is missing or not a TLP 2.0 level");
    p.notice.tlp = (payload_tlp_t)6;
    expect_invalid(&p, "notice.tlp is missing or not a TLP 2.0 level");
    p = min_notice();
    p.notice.severity = (payload_severity_t)6;
    expect_invalid(&p, "notice.severity is not a known value");
    p = min_notice();
    p.notice.purpose = (payload_purpose_t)-1;
    expect_invalid(&p, "notice.purpose is not a known value");
    p = min_notice();
    p.notice.status = (payload_status_t)4;
    expect_invalid(&p, "notice.status is not a known value");

    p = min_notice();
    p.notice.category = "malware";
    expect_invalid(&p, "notice.category is not an RSIT class");
    p.notice.category = "Fraud"; /* canonical spelling only */
    expect_invalid(&p, "notice.category is not an RSIT class");
    p.notice.category = NULL;
    p.notice.rsit_type = "phishing";
    expect_invalid(&p, "notice.rsit_type is set without a category");

    p = min_notice();
    p.notice.sectors = bad_sectors;
    p.notice.n_sectors = 2;
    expect_invalid(&p, "notice.sectors[] is empty");
    p.notice.sectors = NULL;
    expect_invalid(&p, "notice.sectors is NULL but n_sectors is not 0");
    p.notice.n_sectors = PAYLOAD_MAX_SECTORS + 1;
    expect_invalid(&p, "notice.sectors has more than 64 entries");

    p = min_notice();
    p.notice.indicators = bad_ind;
    p.notice.n_indicators = 1;
    expect_invalid(&p, "notice.indicators[].value is empty");
    bad_ind[0].value = "http://example.org/";
    bad_ind[0].type = NULL;
    expect_invalid(&p, "notice.indicators[].type is missing");
    many = calloc(PAYLOAD_MAX_INDICATORS + 1, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i <= PAYLOAD_MAX_INDICATORS; i++) {
        many[i].type = "ipv4-addr";
        many[i].value = "192.0.2.1";
    }
    p.notice.indicators = many;
    p.notice.n_indicators = PAYLOAD_MAX_INDICATORS + 1;
    expect_invalid(&p, "notice.indicators has more than 1000 entries");
    p.notice.n_indicators = PAYLOAD_MAX_INDICATORS; /* at the limit: fine */
    assert_int_equal(payload_encode(&p, &buf, &len, NULL), RK_OK);
    free(buf);
    free(many);

    p = min_notice();
    p.notice.detected_ms = PAYLOAD_TIME_MAX_MS + 1;
    expect_invalid(&p, "notice.detected_ms is after the year 9999");

    p.kind = (payload_kind_t)9;
    expect_invalid(&p, "payload kind is not a known body");
}

static void
test_validation_other_kinds(void **state) {
    payload_t p;
    payload_notice_t n = s_drill_notice;
    (void)state;

    p = an_ack();
    p.ack.comment = NULL;
    expect_invalid(&p, "ack.comment is required when the status is denied");
    p.ack.status = PAYLOAD_ACK_RECEIVED; /* no comment needed */
    assert_int_equal(payload_validate(&p, NULL), RK_OK);
    p.ack.status = 0;
    expect_invalid(&p, "ack.status is missing or not a known value");

    p = a_comm_check();
    p.comm_check.check_id = NULL;
    expect_invalid(&p, "comm_check.check_id is missing");

    p = a_drill_inject();
    p.drill_inject.text = "Please acknowledge.";
    expect_invalid(&p, "drill_inject.text does not contain EXERCISE");
    p.drill_inject.text = NULL;
    expect_invalid(&p, "drill_inject.text is missing");
    p = a_drill_inject();
    p.drill_inject.drill_id = "APCERT 2026";
    expect_invalid(&p, "drill_inject.drill_id is not a valid id "
                       "(a-z, 0-9, '.', '_', '-')");
    p = a_drill_inject();
    n.category = "fraud";
    p.drill_inject.notice = &n;
    expect_invalid(&p,
                   "drill_inject.notice.category must be \"test\" in a drill");
    n.category = NULL;
    expect_invalid(&p, "drill_inject.notice.category is missing");
    n = s_drill_notice;
    n.title = "";
    expect_invalid(&p, "drill_inject.notice.title is empty");

    p = a_drill_reply();
    p.drill_reply.status = (payload_ack_status_t)6;
    expect_invalid(&p, "drill_reply.status is missing or not a known value");
    p = a_drill_reply();
    p.drill_reply.inject_id = "";
    expect_invalid(&p, "drill_reply.inject_id is empty");
}

static void
test_encode_too_large(void **state) {
    payload_t p = min_notice();
    payload_indicator_t *many = calloc(PAYLOAD_MAX_INDICATORS, sizeof *many);
    char *value = malloc(PAYLOAD_VALUE_MAX + 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    json_t *j;
    (void)state;

    assert_non_null(many);
    assert_non_null(value);
    memset(value, 'a', PAYLOAD_VALUE_MAX);
    value[PAYLOAD_VALUE_MAX] = '\0';
    for (size_t i = 0; i < PAYLOAD_MAX_INDICATORS; i++) {
        many[i].type = "url";
        many[i].value = value;
    }
    p.notice.indicators = many;
    p.notice.n_indicators = PAYLOAD_MAX_INDICATORS; /* about 2 MB */
    assert_int_equal(payload_validate(&p, NULL), RK_OK);
    assert_int_equal(payload_encode(&p, &buf, &len, &why), RK_ERR_TOO_LARGE);
    assert_null(buf);
    assert_string_equal(why, "payload encodes to more than 262144 bytes");

    /* The same through JSON is refused up front. */
    j = payload_to_json(&p);
    assert_non_null(j);
    {
        payload_t *q = NULL;
        char err[128];
        assert_int_equal(payload_from_json(j, &q, err, sizeof err),
                         RK_ERR_TOO_LARGE);
        assert_null(q);
        assert_string_equal(err, "notice: encodes to more than 262144 bytes");
    }
    json_decref(j);
    free(value);
    free(many);
}

/* ---- Decoding untrusted bytes ---- */

static void
expect_decode(const uint8_t *buf, size_t len, int rc, const char *why_want) {
    payload_t *p = NULL;
    const char *why = NULL;
    assert_int_equal(payload_decode(buf, len, &p, &why), rc);
    assert_null(p);
    assert_non_null(why);
    if (why_want)
        assert_string_equal(why, why_want);
}

static void
expect_decode_hex(const char *hex, int rc, const char *why_want) {
    size_t len;
    uint8_t *b = unhex_alloc(hex, &len);
    expect_decode(b, len, rc, why_want);
    free(b);
}

static void
test_decode_refuses_garbage(void **state) {
    uint8_t *kat, *big;
    size_t kat_len;
    (void)state;

    expect_decode(NULL, 0, RK_ERR_MALFORMED, "payload is empty");
    expect_decode((const uint8_t *)"", 0, RK_ERR_MALFORMED, "payload is empty");
    expect_decode_hex("ffffffff", RK_ERR_MALFORMED,
                      "payload does not decode as protobuf");
    /* Notice without the required title. */
    expect_decode_hex("0a070a03492d313003", RK_ERR_MALFORMED,
                      "payload does not decode as protobuf");

    /* Every strict prefix of a valid encoding is refused. */
    kat = unhex_alloc(s_kat_hex, &kat_len);
    for (size_t n = 1; n < kat_len; n++)
        expect_decode(kat, n, RK_ERR_MALFORMED, NULL);

    /* Oversized input is refused before any parsing. */
    big = calloc(1, ENVELOPE_MAX_PAYLOAD + 1);
    assert_non_null(big);
    memcpy(big, kat, kat_len);
    expect_decode(big, ENVELOPE_MAX_PAYLOAD + 1, RK_ERR_TOO_LARGE,
                  "payload larger than 262144 bytes");
    free(big);
    free(kat);
}

static void
test_decode_refuses_unknown_fields(void **state) {
    (void)state;
    /* Payload field 9 (varint) after a valid notice. */
    expect_decode_hex("0a0a0a03492d311201543003"
                      "4801",
                      RK_ERR_VERSION,
                      "payload has fields unknown to version 1");
    /* Only an unknown field: no body, and not ours. */
    expect_decode_hex("4801", RK_ERR_VERSION,
                      "payload has fields unknown to version 1");
    /* Field 20 (varint, tag a0 01) inside the notice. */
    expect_decode_hex("0a0d0a03492d311201543003a00101", RK_ERR_VERSION,
                      "notice has fields unknown to version 1");
    /* Field 9 inside an indicator. */
    expect_decode_hex("0a140a03492d3112015430035a080a01751201764801",
                      RK_ERR_VERSION,
                      "indicator has fields unknown to version 1");
    /* The same bytes without the unknown fields decode. */
    {
        size_t len;
        uint8_t *b =
            unhex_alloc("0a120a03492d3112015430035a060a0175120176", &len);
        payload_t *p = NULL;
        assert_int_equal(payload_decode(b, len, &p, NULL), RK_OK);
        assert_string_equal(p->notice.indicators[0].type, "u");
        payload_destroy(&p);
        free(b);
    }
}

/* Packs a protobuf-c Payload so tests can craft what payload_encode would
 * never produce. */
static uint8_t *
pack_pb(const Renraku__Payload *pb, size_t *len) {
    uint8_t *b;
    *len = renraku__payload__get_packed_size(pb);
    b = malloc(*len + 1);
    assert_non_null(b);
    renraku__payload__pack(pb, b);
    return b;
}

static void
test_decode_refuses_bad_values(void **state) {
    Renraku__Payload pb = RENRAKU__PAYLOAD__INIT;
    Renraku__Ack ack = RENRAKU__ACK__INIT;
    Renraku__Notice n = RENRAKU__NOTICE__INIT;
    Renraku__DrillReply dr = RENRAKU__DRILL_REPLY__INIT;
    uint8_t id[17] = {0}, *b; /* 17: room for the too-long id */
    size_t len;
    (void)state;

    pb.body_case = RENRAKU__PAYLOAD__BODY_ACK;
    pb.ack = &ack;
    ack.ref_msg_id.data = id;
    ack.ref_msg_id.len = 15;
    ack.status = RENRAKU__ACK_STATUS__ACK_RECEIVED;
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED, "ack.ref_msg_id is not 16 bytes");
    free(b);
    ack.ref_msg_id.len = 16;
    ack.status = (Renraku__AckStatus)9;
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED,
                  "ack.status is missing or not a known value");
    free(b);

    pb.body_case = RENRAKU__PAYLOAD__BODY_DRILL_REPLY;
    pb.drill_reply = &dr;
    dr.drill_id = "d";
    dr.inject_id = "i";
    dr.ref_msg_id.data = id;
    dr.ref_msg_id.len = 17;
    dr.status = RENRAKU__ACK_STATUS__ACK_RECEIVED;
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED,
                  "drill_reply.ref_msg_id is not 16 bytes");
    free(b);

    pb.body_case = RENRAKU__PAYLOAD__BODY_NOTICE;
    pb.notice = &n;
    n.incident_id = "I-1";
    n.title = "T";
    n.tlp = (Renraku__Tlp)7;
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED,
                  "notice.tlp is missing or not a TLP 2.0 level");
    free(b);
    n.tlp = RENRAKU__TLP__TLP_RED;
    n.title = "bad \xff utf-8";
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED, "notice.title is not valid UTF-8");
    free(b);
    n.title = "";
    b = pack_pb(&pb, &len);
    expect_decode(b, len, RK_ERR_MALFORMED, "notice.title is empty");
    free(b);
}

static void
test_decode_refuses_non_canonical(void **state) {
    uint8_t *kat, *twice;
    size_t kat_len;
    const char *why_nc = "payload is not in canonical form (a repeated "
                         "field or a NUL inside a string)";
    (void)state;

    /* Title "Te\0st": protobuf-c would cut it to "Te". */
    expect_decode_hex("0a0e0a03492d3112055465007374"
                      "3003",
                      RK_ERR_MALFORMED, why_nc);
    /* The same notice twice: protobuf-c would merge them. */
    kat = unhex_alloc(s_kat_hex, &kat_len);
    twice = malloc(2 * kat_len);
    assert_non_null(twice);
    memcpy(twice, kat, kat_len);
    memcpy(twice + kat_len, kat, kat_len);
    expect_decode(twice, 2 * kat_len, RK_ERR_MALFORMED, why_nc);
    free(twice);
    free(kat);
}

/* ---- Kinds and names ---- */

static void
test_kind_matches(void **state) {
    payload_t n = min_notice(), a = an_ack(), c = a_comm_check(),
              i = a_drill_inject(), r = a_drill_reply();
    (void)state;

    assert_true(payload_kind_matches(&n, ENVELOPE_KIND_NOTICE));
    assert_true(payload_kind_matches(&n, ENVELOPE_KIND_ALERT));
    assert_false(payload_kind_matches(&n, ENVELOPE_KIND_ACK));
    assert_false(payload_kind_matches(&n, ENVELOPE_KIND_DRILL_INJECT));
    assert_true(payload_kind_matches(&a, ENVELOPE_KIND_ACK));
    assert_true(payload_kind_matches(&a, ENVELOPE_KIND_STATUS_UPDATE));
    assert_false(payload_kind_matches(&a, ENVELOPE_KIND_NOTICE));
    assert_true(payload_kind_matches(&c, ENVELOPE_KIND_COMM_CHECK));
    assert_false(payload_kind_matches(&c, ENVELOPE_KIND_ACK));
    assert_true(payload_kind_matches(&i, ENVELOPE_KIND_DRILL_INJECT));
    assert_false(payload_kind_matches(&i, ENVELOPE_KIND_DRILL_REPLY));
    assert_true(payload_kind_matches(&r, ENVELOPE_KIND_DRILL_REPLY));
    assert_false(payload_kind_matches(&r, ENVELOPE_KIND_COMM_CHECK));
    assert_false(payload_kind_matches(&r, (envelope_kind_t)0));
    assert_false(payload_kind_matches(NULL, ENVELOPE_KIND_NOTICE));
}

static void
test_names(void **state) {
    (void)state;
    assert_int_equal(payload_tlp_from_name("AMBER+STRICT"),
                     PAYLOAD_TLP_AMBER_STRICT);
    assert_int_equal(payload_tlp_from_name("amber+strict"),
                     PAYLOAD_TLP_AMBER_STRICT);
    assert_int_equal(payload_tlp_from_name("Clear"), PAYLOAD_TLP_CLEAR);
    assert_int_equal(payload_tlp_from_name("AMBR"), 0);
    assert_int_equal(payload_tlp_from_name("WHITE"), 0); /* TLP 1.0 */
    assert_int_equal(payload_tlp_from_name(NULL), 0);
    assert_string_equal(payload_tlp_name(PAYLOAD_TLP_RED), "RED");
    assert_string_equal(payload_tlp_name(PAYLOAD_TLP_AMBER_STRICT),
                        "AMBER+STRICT");
    assert_string_equal(payload_tlp_name(0), "unknown");
    assert_string_equal(payload_tlp_name((payload_tlp_t)6), "unknown");

    assert_string_equal(payload_severity_name(PAYLOAD_SEVERITY_INFO), "info");
    assert_int_equal(payload_severity_from_name("Critical"),
                     PAYLOAD_SEVERITY_CRITICAL);
    assert_string_equal(payload_purpose_name(PAYLOAD_PURPOSE_TRACEBACK),
                        "traceback");
    assert_int_equal(payload_purpose_from_name("WATCH"), PAYLOAD_PURPOSE_WATCH);
    assert_string_equal(payload_status_name(PAYLOAD_STATUS_IN_PROGRESS),
                        "in-progress");
    assert_int_equal(payload_status_from_name("resolved"),
                     PAYLOAD_STATUS_RESOLVED);
    assert_int_equal(payload_status_from_name("in_progress"), 0);
    assert_string_equal(payload_ack_status_name(PAYLOAD_ACK_ACKNOWLEDGED),
                        "acknowledged");
    assert_int_equal(payload_ack_status_from_name("In-Progress"),
                     PAYLOAD_ACK_IN_PROGRESS);
    assert_int_equal(payload_ack_status_from_name("denied"),
                     PAYLOAD_ACK_DENIED);
    assert_string_equal(payload_kind_name(PAYLOAD_DRILL_INJECT),
                        "drill_inject");

    assert_string_equal(payload_rsit_class(0), "abusive-content");
    assert_string_equal(payload_rsit_class(6), "information-content-security");
    assert_string_equal(payload_rsit_class(10), "test");
    assert_null(payload_rsit_class(11));
    assert_string_equal(payload_rsit_class_from_name("Malicious-Code"),
                        "malicious-code");
    assert_null(payload_rsit_class_from_name("malware"));
    assert_null(payload_rsit_class_from_name(NULL));
}

/* ---- JSON refusals ---- */

static void
expect_json_error(const char *text, int rc, const char *want) {
    json_error_t jerr;
    json_t *j =
        json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    payload_t *p = NULL;
    char err[512];

    if (!j)
        fail_msg("test JSON does not parse: %s (%s)", jerr.text, text);
    assert_int_equal(payload_from_json(j, &p, err, sizeof err), rc);
    assert_null(p);
    assert_string_equal(err, want);
    json_decref(j);
}

#define NOTICE_OK "\"incident_id\":\"I-1\",\"title\":\"T\",\"tlp\":\"RED\""
#define MSGID "\"00112233445566778899aabbccddeeff\""

static void
test_json_errors(void **state) {
    const int M = RK_ERR_MALFORMED;
    (void)state;

    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"title\":\"T\","
                      "\"tlp\":\"AMBR\"}}",
                      M,
                      "notice.tlp: unknown value 'AMBR' (expected CLEAR, "
                      "GREEN, AMBER, AMBER+STRICT or RED)");
    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"title\":\"T\"}}",
                      M, "notice.tlp: missing");
    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"tlp\":\"RED\"}}",
                      M, "notice.title: missing");
    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"title\":5,"
                      "\"tlp\":\"RED\"}}",
                      M, "notice.title: expected a string");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"colour\":\"red\"}}", M,
                      "notice: unknown key 'colour'");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"tlp_x\":1,\"\\u001b\":1}}",
                      M, "notice: unknown key 'tlp_x'");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"severity\":3}}", M,
                      "notice.severity: expected a string (info, low, "
                      "medium, high or critical)");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"sectors\":\"energy\"}}", M,
                      "notice.sectors: expected an array");
    expect_json_error("{\"notice\":{" NOTICE_OK
                      ",\"sectors\":[\"energy\",\"\"]}}",
                      M, "notice.sectors[1]: must not be empty");
    expect_json_error("{\"notice\":{" NOTICE_OK
                      ",\"indicators\":[{\"type\":\"url\"}]}}",
                      M, "notice.indicators[0].value: missing");
    expect_json_error("{\"notice\":{" NOTICE_OK
                      ",\"indicators\":[{\"type\":\"url\",\"value\":\"u\"},"
                      "{\"type\":\"url\",\"value\":\"v\",\"tag\":1}]}}",
                      M, "notice.indicators[1]: unknown key 'tag'");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"indicators\":[7]}}", M,
                      "notice.indicators[0]: expected an object");
    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"tlp\":\"RED\","
                      "\"title\":\"a\\u0000b\"}}",
                      M, "notice.title: contains a NUL character");
    expect_json_error("{\"notice\":{\"incident_id\":\"I-1\",\"tlp\":\"RED\","
                      "\"title\":\"a\\nb\"}}",
                      M, "notice.title: contains a control character");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"category\":\"malware\"}}",
                      M,
                      "notice.category: unknown RSIT class 'malware' "
                      "(expected abusive-content, malicious-code, "
                      "information-gathering, intrusion-attempts, "
                      "intrusions, availability, "
                      "information-content-security, fraud, vulnerable, "
                      "other or test)");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"rsit_type\":\"x\"}}", M,
                      "notice.rsit_type is set without a category");
    expect_json_error(
        "{\"notice\":{" NOTICE_OK ",\"detected\":\"2026-02-31T00:00:00Z\"}}", M,
        "notice.detected: not a date and time between 1970 "
        "and 9999");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"detected\":1795331880000}}",
                      M, "notice.detected: expected an RFC 3339 time string");
    expect_json_error("{\"notice\":{" NOTICE_OK ",\"detected\":\"yesterday\"}}",
                      M,
                      "notice.detected: expected an RFC 3339 UTC time like "
                      "2026-11-22T07:18:00Z");
    expect_json_error("{\"notice\":[]}", M, "notice: expected an object");

    expect_json_error("{\"ack\":{\"ref_msg_id\":"
                      "\"00112233445566778899AABBCCDDEEFF\","
                      "\"status\":\"received\"}}",
                      M, "ack.ref_msg_id: expected 32 lower-case hex digits");
    expect_json_error("{\"ack\":{\"ref_msg_id\":\"0011\","
                      "\"status\":\"received\"}}",
                      M, "ack.ref_msg_id: expected 32 lower-case hex digits");
    expect_json_error("{\"ack\":{\"ref_msg_id\":" MSGID
                      ",\"status\":\"denied\"}}",
                      M, "ack.comment is required when the status is denied");
    expect_json_error(
        "{\"ack\":{\"ref_msg_id\":" MSGID ",\"status\":\"refused\"}}", M,
        "ack.status: unknown value 'refused' (expected "
        "received, acknowledged, in-progress, resolved or "
        "denied)");
    expect_json_error("{\"ack\":{\"status\":\"received\"}}", M,
                      "ack.ref_msg_id: missing");

    expect_json_error("{\"comm_check\":{\"check_id\":\"c\","
                      "\"respond_by\":\"10000-01-01T00:00:00Z\"}}",
                      M,
                      "comm_check.respond_by: expected an RFC 3339 UTC time "
                      "like 2026-11-22T07:18:00Z");
    expect_json_error("{\"drill_inject\":{\"drill_id\":\"d\",\"inject_id\":"
                      "\"i\",\"title\":\"t\",\"text\":\"EXERCISE\","
                      "\"notice\":{" NOTICE_OK ",\"category\":\"fraud\"}}}",
                      M,
                      "drill_inject.notice.category: must be \"test\" in a "
                      "drill");
    expect_json_error("{\"drill_inject\":{\"drill_id\":\"d\",\"inject_id\":"
                      "\"i\",\"title\":\"t\",\"text\":\"EXERCISE\","
                      "\"notice\":{" NOTICE_OK "}}}",
                      M, "drill_inject.notice.category: missing");
    expect_json_error("{\"drill_inject\":{\"drill_id\":\"d\",\"inject_id\":"
                      "\"i\",\"title\":\"t\",\"text\":\"exercise\"}}",
                      M, "drill_inject.text does not contain EXERCISE");
    expect_json_error("{\"drill_reply\":{\"drill_id\":\"d\",\"inject_id\":"
                      "\"i\",\"ref_msg_id\":" MSGID "}}",
                      M, "drill_reply.status: missing");

    expect_json_error("[]", M,
                      "payload: expected an object with exactly one of "
                      "notice, ack, comm_check, drill_inject or drill_reply");
    expect_json_error("{}", M,
                      "payload: expected an object with exactly one of "
                      "notice, ack, comm_check, drill_inject or drill_reply");
    expect_json_error("{\"notice\":{" NOTICE_OK "},\"ack\":{}}", M,
                      "payload: expected an object with exactly one of "
                      "notice, ack, comm_check, drill_inject or drill_reply");
    expect_json_error("{\"alert\":{}}", M,
                      "payload: unknown key 'alert' (expected notice, ack, "
                      "comm_check, drill_inject or drill_reply)");
}

/* A short error buffer is cut, never overrun; a NULL one is allowed. */
static void
test_json_error_buffer(void **state) {
    json_t *j = json_loads("{\"notice\":{\"title\":1}}", 0, NULL);
    payload_t *p = NULL;
    char err[12];
    (void)state;

    assert_non_null(j);
    memset(err, 'z', sizeof err);
    assert_int_equal(payload_from_json(j, &p, err, 8), RK_ERR_MALFORMED);
    assert_string_equal(err, "notice.");
    assert_int_equal(err[8], 'z');
    assert_int_equal(payload_from_json(j, &p, NULL, 0), RK_ERR_MALFORMED);
    assert_null(p);
    json_decref(j);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_roundtrip_every_kind),
        cmocka_unit_test(test_json_roundtrip_every_kind),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_json_text_stable),
        cmocka_unit_test(test_validation_notice),
        cmocka_unit_test(test_validation_other_kinds),
        cmocka_unit_test(test_encode_too_large),
        cmocka_unit_test(test_decode_refuses_garbage),
        cmocka_unit_test(test_decode_refuses_unknown_fields),
        cmocka_unit_test(test_decode_refuses_bad_values),
        cmocka_unit_test(test_decode_refuses_non_canonical),
        cmocka_unit_test(test_kind_matches),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_error_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
