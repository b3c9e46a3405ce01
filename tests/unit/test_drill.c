/* Unit tests for clients/drill: a scenario file parses to the right values,
 * each kind of bad scenario is refused naming its field, every inject's
 * payload encodes and says EXERCISE, the scheduling arithmetic, and the
 * MSEL import: the committed example gives the committed scenario, a
 * sheet with errors is refused with every line and field named, deadlines
 * read exactly or refused, and status keywords match at word starts. */
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

#include "drill.h"
#include "rk_util.h"

#define EXAMPLES RK_SOURCE_DIR "/examples/drill/"

static char *
s_read(const char *path, size_t *len) {
    uint8_t *data = NULL;
    assert_int_equal(rk_read_file(path, DRILL_MAX_FILE_BYTES, &data, len), 0);
    return (char *)data;
}

static drill_scenario_t *
s_parse_ok(const char *json) {
    drill_scenario_t *sc = NULL;
    char err[512] = "";
    int rc = drill_scenario_parse(json, strlen(json), "scenario.json", &sc, err,
                                  sizeof err);
    if (rc != 0)
        fail_msg("refused: %s", err);
    return sc;
}

static void
test_example_scenario(void **state) {
    drill_scenario_t *sc = NULL;
    const drill_inject_t *in;
    char err[512] = "";
    (void)state;
    assert_int_equal(drill_scenario_load(EXAMPLES "scenario-example.json", &sc,
                                         err, sizeof err),
                     0);
    assert_string_equal(drill_scenario_exercise(sc), "cyberstorm-2026");
    assert_string_equal(drill_scenario_name(sc),
                        "Cyber Storm 2026: cross-border ransomware");
    assert_int_equal(drill_scenario_n_participants(sc), 4);
    assert_string_equal(drill_scenario_participant(sc, 3), "fr.anssi");
    assert_null(drill_scenario_participant(sc, 4));
    assert_true(drill_scenario_time_scale(sc) == 1.0);
    assert_int_equal(drill_scenario_n_injects(sc), 5);

    in = drill_scenario_inject(sc, 0);
    assert_string_equal(in->id, "1");
    assert_int_equal(in->kind, DRILL_KIND_COMM_CHECK);
    assert_int_equal(in->at_s, 0);
    assert_int_equal(in->expect, PAYLOAD_ACK_RECEIVED);
    assert_int_equal(in->within_s, 15 * 60);
    assert_string_equal(in->from, "EXCON");

    in = drill_scenario_inject(sc, 2);
    assert_string_equal(in->id, "3");
    assert_int_equal(in->kind, DRILL_KIND_ALERT);
    assert_int_equal(in->at_s, 7200);
    assert_int_equal(in->n_to, 2);
    assert_string_equal(in->to[1], "de.bsi");
    assert_int_equal(in->tlp, PAYLOAD_TLP_AMBER);
    assert_int_equal(in->severity, PAYLOAD_SEVERITY_CRITICAL);
    assert_int_equal(in->expect, PAYLOAD_ACK_IN_PROGRESS);
    assert_string_equal(in->wire_title, "[EXERCISE cyberstorm-2026] Same C2 "
                                        "server seen at utilities in two "
                                        "more countries");

    in = drill_scenario_inject(sc, 3);
    assert_string_equal(in->id, "3.1");
    assert_string_equal(in->after, "3");
    assert_int_equal(in->after_index, 2);
    assert_int_equal(in->at_s, 900);
    assert_int_equal(drill_scenario_find(sc, "3.1"), 3);
    assert_int_equal(drill_scenario_find(sc, "9"), -1);

    in = drill_scenario_inject(sc, 4);
    assert_int_equal(in->tlp, PAYLOAD_TLP_CLEAR);
    assert_int_equal(in->expect, PAYLOAD_ACK_RESOLVED);
    assert_int_equal(in->within_s, 7200);
    assert_null(drill_scenario_inject(sc, 5));
    drill_scenario_destroy(&sc);
    assert_null(sc);
    drill_scenario_destroy(&sc);
}

static void
test_defaults_and_scheduling(void **state) {
    drill_scenario_t *sc, *back = NULL;
    const drill_inject_t *in;
    json_t *j, *j2;
    char err[256];
    (void)state;
    sc = s_parse_ok(
        "{\"exercise\":\"cs26\",\"participants\":[\"jp.nisc\",\"g7\"],"
        "\"time_scale\":60,\"injects\":["
        "{\"id\":\"i0\",\"at\":0,\"kind\":\"alert\",\"title\":\"EXERCISE: "
        "wake up\"},"
        "{\"id\":\"i1\",\"at\":\"PT2H\",\"kind\":\"notice\",\"title\":\"t\","
        "\"expect\":{\"status\":\"acknowledged\",\"within\":\"PT30M\"}},"
        "{\"id\":\"i2\",\"at\":\"P1DT1M30S\",\"kind\":\"comm-check\","
        "\"title\":\"ping\",\"after\":\"i1\",\"to\":[\"jp.nisc\"]}]}");
    assert_string_equal(drill_scenario_name(sc), "cs26");
    in = drill_scenario_inject(sc, 0);
    assert_true(in->to_default);
    assert_int_equal(in->n_to, 2);
    assert_string_equal(in->to[1], "g7");
    assert_int_equal(in->tlp, PAYLOAD_TLP_GREEN);
    assert_int_equal(in->severity, PAYLOAD_SEVERITY_HIGH); /* alert */
    assert_int_equal(in->expect, PAYLOAD_ACK_ACKNOWLEDGED);
    assert_int_equal(in->within_s, 0);
    /* Already says EXERCISE: not prefixed again. */
    assert_string_equal(in->wire_title, "EXERCISE: wake up");
    assert_string_equal(in->wire_text, "EXERCISE: wake up");
    assert_int_equal(drill_inject_deadline_ms(sc, 0), 0);
    /* PT2H / 60 = 2 real minutes; PT30M / 60 = 30 real seconds. */
    assert_int_equal(drill_inject_due_ms(sc, 1), 120000);
    assert_int_equal(drill_inject_deadline_ms(sc, 1), 30000);
    /* P1DT1M30S = 86490 s / 60 = 1441.5 s. */
    assert_int_equal(drill_scenario_inject(sc, 2)->at_s, 86490);
    assert_int_equal(drill_inject_due_ms(sc, 2), 1441500);

    /* The canonical JSON reads back to the same scenario. */
    j = drill_scenario_to_json(sc);
    assert_non_null(j);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "injects"), 2), "at")),
        "P1DT1M30S");
    assert_int_equal(drill_scenario_from_json(j, NULL, &back, err, sizeof err),
                     0);
    j2 = drill_scenario_to_json(back);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    drill_scenario_destroy(&back);
    drill_scenario_destroy(&sc);
}

static void
test_durations(void **state) {
    static const struct {
        const char *text;
        long long s; /* -1: refused */
        const char *canon;
    } v[] = {
        {"PT0S", 0, "PT0S"},
        {"PT30M", 1800, "PT30M"},
        {"PT2H30M", 9000, "PT2H30M"},
        {"P1D", 86400, "P1D"},
        {"P1DT4H", 100800, "P1DT4H"},
        {"PT90M", 5400, "PT1H30M"},
        {"P30D", 2592000, "P30D"},
        {"P31D", -1, NULL},
        {"PT30", -1, NULL},
        {"P", -1, NULL},
        {"PT", -1, NULL},
        {"PT1M2H", -1, NULL},
        {"P1H", -1, NULL},
        {"pt30m", -1, NULL},
        {"PT1.5H", -1, NULL},
        {"PT-1M", -1, NULL},
        {"PT9999999999S", -1, NULL},
        {"", -1, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t s = 0;
        char out[32];
        int rc = drill_duration_parse(v[i].text, &s);
        if (v[i].s < 0) {
            if (rc == 0)
                fail_msg("accepted '%s'", v[i].text);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(s, (uint64_t)v[i].s);
        drill_duration_format(out, sizeof out, s);
        assert_string_equal(out, v[i].canon);
    }
}

/* A scenario around one inject; BAD is spliced in as the inject's extra
 * keys, or replaces the whole document when it starts with '!'. */
static void
s_refused(const char *json, const char *want) {
    drill_scenario_t *sc = NULL;
    char err[512] = "";
    int rc = drill_scenario_parse(json, strlen(json), "scenario.json", &sc, err,
                                  sizeof err);
    if (rc == 0)
        fail_msg("accepted: %s", json);
    assert_null(sc);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

#define HEAD "{\"exercise\":\"x26\",\"participants\":[\"a.cert\"],"
#define INJ(extra)                                                             \
    HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":\"notice\","            \
         "\"title\":\"t\"" extra "}]}"

static void
test_bad_scenarios(void **state) {
    (void)state;
    s_refused(HEAD "\"colour\":1,\"injects\":[]}",
              "scenario.json: colour: unknown key");
    s_refused(INJ(",\"colour\":1"), "scenario.json: injects[0].colour: "
                                    "unknown key");
    s_refused(INJ(",\"expect\":{\"soon\":true}"),
              "scenario.json: injects[0].expect.soon: unknown key");
    s_refused(INJ(",\"expect\":{\"within\":\"PT30\"}"),
              "scenario.json: injects[0].expect.within: 'PT30' is not an "
              "ISO 8601 duration");
    s_refused(INJ(",\"expect\":{\"within\":0}"),
              "scenario.json: injects[0].expect.within: a deadline of 0");
    s_refused(INJ(",\"expect\":{\"status\":\"denied\"}"),
              "injects[0].expect.status: unknown value 'denied'");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":\"P31D\",\"kind\":"
                   "\"notice\",\"title\":\"t\"}]}",
              "injects[0].at: 'P31D' is not");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":2592001,\"kind\":"
                   "\"notice\",\"title\":\"t\"}]}",
              "injects[0].at: 2592001 seconds is out of range");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":-1,\"kind\":"
                   "\"notice\",\"title\":\"t\"}]}",
              "injects[0].at: -1 seconds is out of range");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"kind\":\"notice\","
                   "\"title\":\"t\"}]}",
              "injects[0].at: missing");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":\"notice\","
                   "\"title\":\"t\"},{\"id\":\"a\",\"at\":0,\"kind\":"
                   "\"notice\",\"title\":\"u\"}]}",
              "injects[1].id: 'a' is also the id of injects[0]");
    s_refused(INJ(",\"after\":\"zz\""),
              "injects[0].after: 'zz' is not the id of any inject");
    s_refused(INJ(",\"after\":\"a\""),
              "injects[0].after: 'a' is not an earlier inject: it is "
              "injects[0]");
    /* A forward reference, the only way to build a cycle, is refused. */
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":\"notice\","
                   "\"title\":\"t\",\"after\":\"b\"},{\"id\":\"b\",\"at\":0,"
                   "\"kind\":\"notice\",\"title\":\"u\",\"after\":\"a\"}]}",
              "injects[0].after: 'b' is not an earlier inject: it is "
              "injects[1]");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":\"memo\","
                   "\"title\":\"t\"}]}",
              "injects[0].kind: unknown value 'memo'");
    s_refused(HEAD "\"injects\":[{\"id\":\"a b\",\"at\":0,\"kind\":"
                   "\"notice\",\"title\":\"t\"}]}",
              "injects[0].id: 'a b' is not an inject id");
    s_refused(INJ(",\"tlp\":\"PURPLE\""), "injects[0].tlp: unknown value");
    s_refused(INJ(",\"severity\":\"dire\""),
              "injects[0].severity: unknown value");
    s_refused(INJ(",\"to\":[\"Bad Id\"]"),
              "injects[0].to[0]: 'Bad Id' is not a node id");
    s_refused(INJ(",\"to\":[]"), "injects[0].to: empty");
    s_refused(INJ(",\"text\":\"a\\u0007b\""),
              "injects[0].text: contains a control character");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":"
                   "\"notice\",\"title\":\"line\\nbreak\"}]}",
              "injects[0].title: contains a control character");
    s_refused(HEAD "\"injects\":[{\"id\":\"a\",\"at\":0,\"kind\":"
                   "\"notice\"}]}",
              "injects[0].title: missing");
    s_refused(HEAD "\"injects\":[]}", "injects: not a non-empty array");
    s_refused("{\"exercise\":\"Cyber Storm\",\"participants\":[\"a\"],"
              "\"injects\":[]}",
              "scenario.json: exercise: 'Cyber Storm' is not a drill id");
    s_refused("{\"exercise\":\"x\",\"participants\":[\"a\",\"a\"],"
              "\"injects\":[]}",
              "participants[1]: 'a' is listed twice");
    s_refused("{\"exercise\":\"x\",\"injects\":[]}", "participants: missing");
    s_refused("{\"exercise\":\"x\",\"participants\":[\"a\"],"
              "\"time_scale\":0.5,\"injects\":[]}",
              "time_scale: 0.5 is out of range");
    s_refused("{\"exercise\":\"x\",\n\"participants\":[\"a\"],\n"
              "\"injects\":[,]}",
              "scenario.json:3:");
    s_refused("{\"exercise\":\"x\",\"exercise\":\"y\"}", "scenario.json:1:");
    s_refused("[1]", "scenario.json: not a JSON object");
}

/* Every inject's payload encodes, decodes, says EXERCISE in title and
 * text and carries RSIT category "test". */
/* An "after" inject sent to someone its trigger never reaches would wait
 * forever: refused, naming the inject and the participant; recipients of
 * the trigger as written (a group by its name) and a follow-up without
 * "to" are fine. */
static void
test_after_recipients(void **state) {
    drill_scenario_t *sc;
    (void)state;
    /* Validation has no roster: a follow-up to one member of a group its
     * trigger went to is valid here (the run checks it, groups expanded),
     * as are follow-ups with and without "to". */
    sc = s_parse_ok("{\"exercise\":\"e3\",\"participants\":[\"p1\",\"g\"],"
                    "\"injects\":[{\"id\":\"i1\",\"at\":0,\"to\":[\"g\"],"
                    "\"kind\":\"notice\",\"title\":\"Trigger\"},"
                    "{\"id\":\"i2\",\"at\":1,\"after\":\"i1\",\"to\":[\"p1\"],"
                    "\"kind\":\"notice\",\"title\":\"To a member\"},"
                    "{\"id\":\"i3\",\"at\":1,\"after\":\"i2\","
                    "\"kind\":\"notice\",\"title\":\"To whoever got i2\"}]}");
    assert_int_equal(drill_scenario_n_injects(sc), 3);
    drill_scenario_destroy(&sc);
}

/* A deadline that rounds to 0 ms at a large time scale is still a
 * deadline (1 ms), never "none". */
static void
test_deadline_rounding(void **state) {
    drill_scenario_t *sc;
    (void)state;
    sc = s_parse_ok("{\"exercise\":\"fast\",\"participants\":[\"p1\"],"
                    "\"time_scale\":86400,\"injects\":[{\"id\":\"i1\","
                    "\"at\":0,\"kind\":\"notice\",\"title\":\"t\","
                    "\"expect\":{\"within\":\"PT30S\"}},{\"id\":\"i2\","
                    "\"at\":0,\"kind\":\"notice\",\"title\":\"t\"}]}");
    assert_int_equal(drill_inject_deadline_ms(sc, 0), 1);
    assert_int_equal(drill_inject_deadline_ms(sc, 1), 0);
    assert_int_equal(drill_deadline_ms(30, 86400), 1);
    assert_int_equal(drill_deadline_ms(1, 86400), 1);
    assert_int_equal(drill_deadline_ms(0, 86400), 0);
    /* Still rounded to the nearest otherwise: 100 s / 60 = 1666.7 ms. */
    assert_int_equal(drill_deadline_ms(100, 60), 1667);
    assert_int_equal(drill_deadline_ms(3600, 86400), 42);
    drill_scenario_destroy(&sc);
}

static void
test_payloads(void **state) {
    drill_scenario_t *sc = NULL;
    char err[512];
    (void)state;
    assert_int_equal(drill_scenario_load(EXAMPLES "scenario-example.json", &sc,
                                         err, sizeof err),
                     0);
    for (size_t i = 0; i < drill_scenario_n_injects(sc); i++) {
        const drill_inject_t *in = drill_scenario_inject(sc, i);
        drill_message_t m;
        payload_t *back = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        const char *why = NULL;
        assert_int_equal(drill_inject_message(sc, i, 1795331880000ull, &m), 0);
        assert_string_equal(m.drill_id, "cyberstorm-2026");
        if (payload_encode(&m.payload, &buf, &len, &why) != 0)
            fail_msg("inject %s: %s", in->id, why);
        assert_int_equal(payload_decode(buf, len, &back, &why), 0);
        assert_true(payload_kind_matches(back, m.kind));
        if (in->kind == DRILL_KIND_COMM_CHECK) {
            assert_int_equal(m.kind, ENVELOPE_KIND_COMM_CHECK);
            assert_non_null(strstr(back->comm_check.text, "EXERCISE"));
            assert_string_equal(back->comm_check.check_id, in->id);
            assert_int_equal(back->comm_check.respond_by_ms, 1795331880000ull);
        } else {
            const payload_drill_inject_t *d = &back->drill_inject;
            assert_int_equal(m.kind, ENVELOPE_KIND_DRILL_INJECT);
            assert_string_equal(d->drill_id, "cyberstorm-2026");
            assert_string_equal(d->inject_id, in->id);
            assert_non_null(strstr(d->title, "[EXERCISE cyberstorm-2026] "));
            assert_non_null(strstr(d->text, "[EXERCISE cyberstorm-2026] "));
            assert_int_equal(d->expected, in->expect);
            assert_non_null(d->notice);
            assert_string_equal(d->notice->category, "test");
            assert_non_null(strstr(d->notice->title, "EXERCISE"));
            assert_int_equal(d->notice->tlp, in->tlp);
        }
        payload_destroy(&back);
        free(buf);
    }
    {
        drill_message_t m;
        assert_int_equal(drill_inject_message(sc, 99, 0, &m), RK_ERR_INVALID);
    }
    drill_scenario_destroy(&sc);
}

/* The committed MSEL imports to exactly the committed scenario. */
static void
test_msel_example(void **state) {
    drill_scenario_t *from_csv = NULL, *from_json = NULL;
    drill_msel_opts_t opts = {.exercise = "cyberstorm-2026",
                              .name = "Cyber Storm 2026: cross-border "
                                      "ransomware"};
    char err[2048] = "";
    size_t len;
    char *csv = s_read(EXAMPLES "msel-example.csv", &len);
    json_t *a, *b;
    int rc;
    (void)state;
    rc = drill_msel_import_ex(csv, len, "msel-example.csv", &opts, &from_csv,
                              err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(drill_scenario_load(EXAMPLES "scenario-example.json",
                                         &from_json, err, sizeof err),
                     0);
    a = drill_scenario_to_json(from_csv);
    b = drill_scenario_to_json(from_json);
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_INDENT(1)), *y = json_dumps(b, 0);
        fail_msg("MSEL gives\n%s\nexpected\n%s", x, y);
    }
    json_decref(a);
    json_decref(b);
    /* The quoted description kept its line break, quotes and commas. */
    assert_string_equal(drill_scenario_inject(from_csv, 1)->text,
                        drill_scenario_inject(from_json, 1)->text);
    assert_non_null(
        strstr(drill_scenario_inject(from_csv, 1)->text, "\"203.0.113.7\","));
    drill_scenario_destroy(&from_csv);

    /* Without options: exercise id and name from the file name. */
    assert_int_equal(drill_msel_import(csv, len, "/tmp/Cyber Storm 2026.csv",
                                       &from_csv, err, sizeof err),
                     0);
    assert_string_equal(drill_scenario_exercise(from_csv), "cyber-storm-2026");
    assert_string_equal(drill_scenario_name(from_csv), "Cyber Storm 2026");
    drill_scenario_destroy(&from_csv);
    /* drill_scenario_load picks the importer by extension. */
    assert_int_equal(drill_scenario_load(EXAMPLES "msel-example.csv", &from_csv,
                                         err, sizeof err),
                     0);
    assert_string_equal(drill_scenario_exercise(from_csv), "msel-example");
    drill_scenario_destroy(&from_csv);
    drill_scenario_destroy(&from_json);
    free(csv);
}

static drill_scenario_t *
s_msel_ok(const char *csv) {
    drill_scenario_t *sc = NULL;
    char err[2048] = "";
    if (drill_msel_import(csv, strlen(csv), "msel.csv", &sc, err, sizeof err))
        fail_msg("refused: %s", err);
    return sc;
}

/* Header variants, type and expected-action mappings, deadlines. */
static void
test_msel_mappings(void **state) {
    static const struct {
        const char *type, *expect;
        drill_kind_t kind;
        payload_ack_status_t status;
        uint64_t within;
    } v[] = {
        {"", "", DRILL_KIND_NOTICE, PAYLOAD_ACK_ACKNOWLEDGED, 3600},
        {"E-mail", "Acknowledge receipt", DRILL_KIND_COMM_CHECK,
         PAYLOAD_ACK_ACKNOWLEDGED, 3600},
        {"phone call", "Confirm receipt within 10 minutes",
         DRILL_KIND_COMM_CHECK, PAYLOAD_ACK_RECEIVED, 600},
        {"ALERT", "Start triage, 45m", DRILL_KIND_ALERT,
         PAYLOAD_ACK_IN_PROGRESS, 2700},
        {"Comm_Check", "read it (PT5M)", DRILL_KIND_COMM_CHECK,
         PAYLOAD_ACK_RECEIVED, 300},
        {"incident", "Resolve the incident within 1h30m", DRILL_KIND_NOTICE,
         PAYLOAD_ACK_RESOLVED, 5400},
        {"Flash", "call back the duty officer in 2 hours", DRILL_KIND_ALERT,
         PAYLOAD_ACK_ACKNOWLEDGED, 7200},
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char csv[512];
        drill_scenario_t *sc;
        const drill_inject_t *in;
        snprintf(csv, sizeof csv,
                 "Inject #,Time (HH:MM),Method,Recipients,Details,"
                 "Expected Player Action\n1,+01:05,%s,a.cert,Text,\"%s\"\n",
                 v[i].type, v[i].expect);
        sc = s_msel_ok(csv);
        in = drill_scenario_inject(sc, 0);
        if (in->kind != v[i].kind || in->expect != v[i].status ||
            in->within_s != v[i].within)
            fail_msg("row %zu: kind %d status %d within %llu", i, in->kind,
                     in->expect, (unsigned long long)in->within_s);
        assert_int_equal(in->at_s, 3900);
        assert_string_equal(in->title, "Text"); /* from the description */
        drill_scenario_destroy(&sc);
    }
}

static void
s_msel_refused(const char *csv, const char *const *want, size_t n) {
    drill_scenario_t *sc = NULL;
    char err[4096] = "";
    if (drill_msel_import(csv, strlen(csv), "msel.csv", &sc, err, sizeof err) ==
        0)
        fail_msg("accepted: %s", csv);
    assert_null(sc);
    for (size_t i = 0; i < n; i++)
        if (!strstr(err, want[i]))
            fail_msg("errors\n%s\ndo not contain '%s'", err, want[i]);
}

static void
test_msel_errors(void **state) {
    /* Every problem of the sheet at once, each with its line and field;
     * line numbers count the line break inside the quoted field. */
    static const char csv[] =
        "\xEF\xBB\xBF#,Time,Type,From,To,Description,Expected action\r\n"
        "1,00:00,notice,EXCON,a.cert,fine,ack\r\n"
        "2,25:61,notice,EXCON,a.cert,bad time,ack\r\n"
        "3,01:00,carrier pigeon,EXCON,a.cert,bad type,ack\r\n"
        "4,01:00,notice,EXCON,JP.NISC;a.cert,\"two\r\nlines\",ack\r\n"
        "1,02:00,notice,EXCON,a.cert,repeated sequence,ack\r\n"
        ",02:00,notice,EXCON,a.cert,no sequence,ack\r\n"
        "7,02:00,notice,EXCON,,no recipient,ack\r\n"
        "8,02:00,notice,EXCON,a.cert,,ack\r\n"
        "9,2h,notice,EXCON,a.cert,time,within 0 minutes\r\n";
    static const char *const want[] = {
        "msel.csv:3: time: '25:61' is not HH:MM, HH:MM:SS or +HH:MM",
        "msel.csv:4: type: 'carrier pigeon' is not a known inject type",
        "msel.csv:5: to: 'JP.NISC' is not a node id or group",
        "msel.csv:7: sequence: '1' repeats line 2",
        "msel.csv:8: sequence: empty",
        "msel.csv:9: to: empty",
        "msel.csv:10: description: empty",
        "msel.csv:11: time: '2h' is not HH:MM",
        "msel.csv:11: expected action: the deadline is 0",
    };
    static const char *const header[] = {
        "msel.csv:1: header: no time column",
        "msel.csv:1: header: no to column",
    };
    static const char *const quote[] = {
        "msel.csv:3: a quoted field is not closed"};
    static const char *const after[] = {
        "msel.csv:2: after: '2' is not the sequence of an earlier row",
        "msel.csv:3: deadline: 'soon' is not a deadline"};
    static const char *const extra[] = {
        "msel.csv:2: 8 fields, but the header has 7 columns"};
    static const char *const empty[] = {"msel.csv: empty (no header row)"};
    static const char *const none[] = {
        "msel.csv: no injects (only a header row)"};
    static const char *const more[] = {
        "msel.csv:2: time:", "msel.csv:26: time:",
        "msel.csv: 15 more problems not shown"};
    char big[4096];
    size_t n;
    (void)state;
    s_msel_refused(csv, want, sizeof want / sizeof want[0]);
    s_msel_refused("Seq,Subject,Mode\n1,x,notice\n", header, 2);
    s_msel_refused("#,time,to,text\n1,00:00,a.cert,ok\n2,00:00,a.cert,\"oops\n",
                   quote, 1);
    s_msel_refused("#,time,to,text,after,deadline\n"
                   "1,00:00,a.cert,x,2,\n"
                   "2,00:00,a.cert,y,1,soon\n",
                   after, 2);
    s_msel_refused("#,time,to,text,expected,type,from\n"
                   "1,00:00,a.cert,x,ack,notice,EXCON,surprise\n",
                   extra, 1);
    s_msel_refused("", empty, 1);
    s_msel_refused("\r\n\r\n", empty, 1);
    s_msel_refused("#,time,to,text\r\n,,,\r\n", none, 1);
    /* Forty bad rows: the first DRILL_MSEL_MAX_ERRORS listed, a count of
     * the rest. */
    n = (size_t)snprintf(big, sizeof big, "#,time,to,text\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%d,99:99,a.cert,x\n",
                              i + 1);
    s_msel_refused(big, more, 3);
}

/* One row with an expected action and a deadline cell; NULL when refused,
 * with the errors in err. */
static drill_scenario_t *
s_msel_row1(const char *expect, const char *deadline, char *err,
            size_t errlen) {
    char csv[1024];
    drill_scenario_t *sc = NULL;
    snprintf(csv, sizeof csv,
             "Seq,Time,To,Description,Expected action,Deadline\n"
             "1,00:00,a.cert,Text,\"%s\",\"%s\"\n",
             expect, deadline);
    if (drill_msel_import(csv, strlen(csv), "msel.csv", &sc, err, errlen))
        return NULL;
    return sc;
}

/* Deadlines in the expected action and in the deadline column: whole
 * numbers with units in groups, decimals exactly. The first rows are the
 * reviewer's findings (they read as 5 h, 5 h, 1 h, 1 h). */
static void
test_msel_deadlines(void **state) {
    static const struct {
        const char *expect, *deadline;
        uint64_t within;
    } v[] = {
        {"Acknowledge within 1.5 hours", "", 5400},
        {"Acknowledge", "1.5h", 5400},
        {"Acknowledge", "1h 30m", 5400},
        {"Acknowledge within 1 hour 30 minutes", "", 5400},
        {"Acknowledge", "1 hour 30 minutes", 5400},
        {"Acknowledge within 1h30m", "", 5400},
        {"Acknowledge within 1 hour and 30 minutes", "", 5400},
        {"Acknowledge", "90 min", 5400},
        {"Acknowledge", "90", 5400}, /* a bare number is minutes */
        {"Acknowledge", "01:30", 5400},
        {"Acknowledge", "within 1 Hr 30 Min", 5400},
        {"Acknowledge", "pt1h30m", 5400},
        {"Acknowledge within 0.5 h", "", 1800},
        {"Acknowledge within .5 h", "", 1800},
        {"Acknowledge", "1.25 min", 75},
        {"Acknowledge", "1d 2h 3m 4s", 93784},
        {"Acknowledge", "30 days", 2592000},
        {"Ack within 2h 3 teams", "", 7200},
        {"Ack by 14:30 on 2026-05-01, within 10 min", "", 600},
        {"Ack within 15 min, resolve within 4 hours", "", 900},
        {"Ack within PT30M", "", 1800},
        {"Priority P1 incident over P2P", "", 3600},  /* no deadline */
        {"Acknowledge within 2 hours", "45 sec", 45}, /* the column wins */
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char err[1024] = "";
        drill_scenario_t *sc =
            s_msel_row1(v[i].expect, v[i].deadline, err, sizeof err);
        if (!sc)
            fail_msg("row %zu ('%s', '%s') refused: %s", i, v[i].expect,
                     v[i].deadline, err);
        if (drill_scenario_inject(sc, 0)->within_s != v[i].within)
            fail_msg("row %zu ('%s', '%s'): within %llu, expected %llu", i,
                     v[i].expect, v[i].deadline,
                     (unsigned long long)drill_scenario_inject(sc, 0)->within_s,
                     (unsigned long long)v[i].within);
        drill_scenario_destroy(&sc);
    }
}

/* A deadline that cannot be read exactly is refused, naming the line and
 * the column, never read as another deadline. */
static void
test_msel_deadline_refusals(void **state) {
    static const struct {
        const char *expect, *deadline, *error;
    } v[] = {
        {"Ack within 1.3333 h", "",
         "msel.csv:2: expected action: '1.3333 h' is not a whole number of "
         "seconds"},
        {"Ack", "0.1 s", "msel.csv:2: deadline: '0.1 s' is not a whole number"},
        {"Ack", "1.0000000001 h",
         "msel.csv:2: deadline: '1.0000000001' has "
         "too many decimals"},
        {"Ack within 1,5 hours", "",
         "msel.csv:2: expected action: '1,5 hours' has a decimal comma"},
        {"Ack within 1-2 hours", "",
         "msel.csv:2: expected action: '1-2 hours' is a range"},
        {"Ack within 1 hour, 30 minutes", "",
         "msel.csv:2: expected action: '1 hour, 30 minutes' has a comma "
         "between units"},
        {"Ack within 30m 1h", "",
         "msel.csv:2: expected action: '30m 1h' does not go from the largest "
         "unit to the smallest"},
        {"Ack", "1h 30m 10m",
         "msel.csv:2: deadline: '1h 30m 10m' does not go from the largest"},
        {"Ack within 1h 30", "",
         "msel.csv:2: expected action: '1h 30' ends with a number without a "
         "unit"},
        {"Ack", "1h 30",
         "msel.csv:2: deadline: '1h 30' ends with a number without a unit"},
        {"Ack within 01:30", "",
         "msel.csv:2: expected action: 'within 01:30' is not a deadline with "
         "a unit"},
        {"Ack within 2 weeks", "",
         "msel.csv:2: expected action: 'within 2 weeks' is not a deadline "
         "with a unit"},
        {"Ack (PT1.5H)", "",
         "msel.csv:2: expected action: 'PT1.5H' is not an ISO 8601 "
         "duration"},
        {"Ack within 40 days", "",
         "msel.csv:2: expected action: '40 days' is over 30 days"},
        {"Ack", "31 days", "msel.csv:2: deadline: '31 days' is over 30 days"},
        {"Ack within 0 h", "",
         "msel.csv:2: expected action: the deadline is 0"},
        {"Ack", "1.5",
         "msel.csv:2: deadline: '1.5' is not a deadline such "
         "as 30m"},
        {"Ack", "2 hours please",
         "msel.csv:2: deadline: '2 hours please' is not a deadline"},
        {"Ack", "in a bit",
         "msel.csv:2: deadline: 'in a bit' is not a "
         "deadline"},
        {"Ack", "0h", "msel.csv:2: deadline: '0h' is not a deadline"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char err[1024] = "";
        drill_scenario_t *sc =
            s_msel_row1(v[i].expect, v[i].deadline, err, sizeof err);
        if (sc)
            fail_msg(
                "row %zu ('%s', '%s') accepted: within %llu", i, v[i].expect,
                v[i].deadline,
                (unsigned long long)drill_scenario_inject(sc, 0)->within_s);
        if (!strstr(err, v[i].error))
            fail_msg("row %zu: errors\n%s\ndo not contain '%s'", i, err,
                     v[i].error);
    }
}

/* Keywords count only at the start of a word, case ignored; agent nouns
 * and "closely" are not actions. */
static void
test_msel_keywords(void **state) {
    static const struct {
        const char *expect;
        payload_ack_status_t status;
    } v[] = {
        {"Acknowledge; do not disclose to the press", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Notify your analyst and acknowledge", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Notify your analysts", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Monitor closely", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Brief the investigator and the coordinator",
         PAYLOAD_ACK_ACKNOWLEDGED},
        {"Check your DNS resolver logs", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Notify first responders, confirm receipt", PAYLOAD_ACK_RECEIVED},
        {"Within progress reports, confirm", PAYLOAD_ACK_RECEIVED},
        {"Already on it; confirm", PAYLOAD_ACK_RECEIVED},
        {"Close the ticket", PAYLOAD_ACK_RESOLVED},
        {"Incident closed", PAYLOAD_ACK_RESOLVED},
        {"ack, then \xE2\x80\x9C"
         "close\xE2\x80\x9D",
         PAYLOAD_ACK_RESOLVED},
        {"RESOLVE it", PAYLOAD_ACK_RESOLVED},
        {"Remediation plan", PAYLOAD_ACK_RESOLVED},
        {"Analyse the logs", PAYLOAD_ACK_IN_PROGRESS},
        {"Send your analysis", PAYLOAD_ACK_IN_PROGRESS},
        {"Analyzing", PAYLOAD_ACK_IN_PROGRESS},
        {"Set the incident in-progress", PAYLOAD_ACK_IN_PROGRESS},
        {"Investigate", PAYLOAD_ACK_IN_PROGRESS},
        {"Coordinate with CERT-EU", PAYLOAD_ACK_IN_PROGRESS},
        {"Confirm receipt", PAYLOAD_ACK_RECEIVED},
        {"Read it", PAYLOAD_ACK_RECEIVED},
        {"Ready? reply", PAYLOAD_ACK_ACKNOWLEDGED},
        {"Track it", PAYLOAD_ACK_ACKNOWLEDGED},
        {"", PAYLOAD_ACK_ACKNOWLEDGED},
    };
    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char err[1024] = "";
        drill_scenario_t *sc = s_msel_row1(v[i].expect, "", err, sizeof err);
        if (!sc)
            fail_msg("row %zu ('%s') refused: %s", i, v[i].expect, err);
        if (drill_scenario_inject(sc, 0)->expect != v[i].status)
            fail_msg(
                "row %zu ('%s'): status %s, expected %s", i, v[i].expect,
                payload_ack_status_name(drill_scenario_inject(sc, 0)->expect),
                payload_ack_status_name(v[i].status));
        drill_scenario_destroy(&sc);
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_scenario),
        cmocka_unit_test(test_defaults_and_scheduling),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bad_scenarios),
        cmocka_unit_test(test_after_recipients),
        cmocka_unit_test(test_deadline_rounding),
        cmocka_unit_test(test_payloads),
        cmocka_unit_test(test_msel_example),
        cmocka_unit_test(test_msel_mappings),
        cmocka_unit_test(test_msel_errors),
        cmocka_unit_test(test_msel_deadlines),
        cmocka_unit_test(test_msel_deadline_refusals),
        cmocka_unit_test(test_msel_keywords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
