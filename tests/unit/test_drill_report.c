/* Unit tests for clients/drill_report: with fixed observed times the
 * computed delivery and answer times, deadlines met or missed, medians and
 * 90th percentiles match hand-computed values; a participant with no
 * delivery is unreachable; a partial report keeps open deadlines pending;
 * CSV quoting, HTML escaping and bad observed input; a send whose fate is
 * unknown is reported so, never as not sent; a long reason in a terminal
 * table is cut between characters. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drill.h"
#include "drill_report.h"
#include "rk_util.h"

/* Time scale 60: PT30M is a 30 s real deadline, PT1H 60 s, PT10M 10 s. */
static const char s_scenario[] =
    "{\"exercise\":\"cs26\",\"name\":\"Storm <b>&</b> \\\"drill\\\"\","
    "\"participants\":[\"a.cert\",\"b.cert\",\"c.cert\",\"d.cert\"],"
    "\"time_scale\":60,\"injects\":["
    "{\"id\":\"i1\",\"at\":0,\"kind\":\"notice\","
    "\"title\":\"<script>alert(1)</script>\","
    "\"expect\":{\"status\":\"acknowledged\",\"within\":\"PT30M\"}},"
    "{\"id\":\"i2\",\"at\":\"PT1H\",\"kind\":\"alert\",\"title\":\"Second\","
    "\"expect\":{\"status\":\"in-progress\",\"within\":\"PT1H\"}},"
    "{\"id\":\"i3\",\"at\":\"PT2H\",\"kind\":\"comm-check\",\"title\":\"Ping\","
    "\"to\":[\"a.cert\"],\"expect\":{\"status\":\"received\","
    "\"within\":\"PT10M\"}}]}";

/* T0 = 07:00:00. i1 at T0, i2 at T0+60 s, i3 at T0+120 s; d.cert never
 * receives anything. */
static const char s_observed[] =
    "{\"exercise\":\"cs26\",\"started\":\"2026-11-22T07:00:00Z\","
    "\"finished\":\"2026-11-22T07:05:00Z\",\"injects\":["
    "{\"id\":\"i1\",\"msg_id\":\"00112233445566778899aabbccddeeff\","
    "\"sent\":\"2026-11-22T07:00:00Z\",\"recipients\":{"
    "\"a.cert\":{\"stored\":\"2026-11-22T07:00:00.200Z\","
    "\"delivered\":\"2026-11-22T07:00:01Z\","
    "\"answered\":\"2026-11-22T07:00:10Z\",\"answer\":\"acknowledged\","
    "\"comment\":\"He said \\\"ok\\\", then\\nleft\"},"
    "\"b.cert\":{\"delivered\":\"2026-11-22T07:00:02Z\","
    "\"answered\":\"2026-11-22T07:00:40Z\",\"answer\":\"acknowledged\","
    "\"comment\":\"=cmd|' /c calc'!A1\"},"
    "\"c.cert\":{\"delivered\":\"2026-11-22T07:00:03Z\","
    "\"answered\":\"2026-11-22T07:00:05Z\",\"answer\":\"received\","
    "\"comment\":\"<img src=x onerror=alert(2)>\"},"
    "\"d.cert\":{\"stored\":\"2026-11-22T07:00:00.100Z\"}}},"
    "{\"id\":\"i2\",\"sent\":\"2026-11-22T07:01:00Z\",\"recipients\":{"
    "\"a.cert\":{\"delivered\":\"2026-11-22T07:01:01Z\","
    "\"answered\":\"2026-11-22T07:01:20Z\",\"answer\":\"in-progress\"},"
    "\"b.cert\":{\"delivered\":\"2026-11-22T07:01:05Z\",\"answers\":["
    "{\"at\":\"2026-11-22T07:02:00Z\",\"status\":\"resolved\"},"
    "{\"at\":\"2026-11-22T07:01:30Z\",\"status\":\"received\"}]},"
    "\"c.cert\":{\"delivered\":\"2026-11-22T07:01:02Z\","
    "\"answered\":\"2026-11-22T07:01:10Z\",\"answer\":\"denied\","
    "\"comment\":\"not ours\"},"
    "\"d.cert\":{}}},"
    "{\"id\":\"i3\",\"sent\":\"2026-11-22T07:02:00Z\",\"recipients\":{"
    "\"a.cert\":{\"delivered\":\"2026-11-22T07:02:00.500Z\","
    "\"answered\":\"2026-11-22T07:02:05Z\",\"answer\":\"acknowledged\"}}}]}";

/* True when hay contains needle, ignoring ASCII case. */
static bool
s_has_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static drill_scenario_t *
s_scenario_new(void) {
    drill_scenario_t *sc = NULL;
    char err[256] = "";
    if (drill_scenario_parse(s_scenario, strlen(s_scenario), "s.json", &sc, err,
                             sizeof err))
        fail_msg("%s", err);
    return sc;
}

static drill_report_t *
s_report(const drill_scenario_t *sc, const char *observed) {
    drill_report_t *r = NULL;
    char err[512] = "";
    json_error_t jerr;
    json_t *j = json_loads(observed, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("test JSON: %s", jerr.text);
    if (drill_report_new(sc, j, &r, err, sizeof err))
        fail_msg("%s", err);
    json_decref(j);
    return r;
}

static json_t *
s_report_json(const drill_report_t *r) {
    char *text = drill_report_json(r);
    json_t *j;
    assert_non_null(text);
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    free(text);
    return j;
}

/* The result row of participant p and inject i. */
static json_t *
s_row(json_t *rep, const char *p, const char *i) {
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(rep, "results"), k, v) {
        if (!strcmp(json_string_value(json_object_get(v, "participant")), p) &&
            !strcmp(json_string_value(json_object_get(v, "inject")), i))
            return v;
    }
    fail_msg("no row %s x %s", p, i);
    return NULL;
}

static json_t *
s_part(json_t *rep, const char *p) {
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(rep, "participants"), k, v) {
        if (!strcmp(json_string_value(json_object_get(v, "id")), p))
            return v;
    }
    fail_msg("no participant %s", p);
    return NULL;
}

static long long
s_int(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return (long long)json_integer_value(v);
}

static void
s_expect_row(json_t *rep, const char *p, const char *i, long long delivered,
             long long answered, const char *outcome, int met) {
    json_t *row = s_row(rep, p, i);
    json_t *m = json_object_get(row, "deadline_met");
    if (delivered < 0)
        assert_true(json_is_null(json_object_get(row, "delivered_after_ms")));
    else
        assert_int_equal(s_int(row, "delivered_after_ms"), delivered);
    if (answered < 0)
        assert_true(json_is_null(json_object_get(row, "answered_after_ms")));
    else {
        assert_int_equal(s_int(row, "answered_after_ms"), answered);
        assert_int_equal(s_int(row, "answered_after_scenario_ms"),
                         answered * 60);
    }
    if (strcmp(json_string_value(json_object_get(row, "outcome")), outcome))
        fail_msg("%s x %s: outcome %s, expected %s", p, i,
                 json_string_value(json_object_get(row, "outcome")), outcome);
    if (met < 0)
        assert_true(json_is_null(m));
    else
        assert_true(json_is_boolean(m) && json_is_true(m) == met);
}

static void
test_computed_values(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = s_report(sc, s_observed);
    json_t *rep = s_report_json(r), *sum, *p;
    (void)state;

    /* i1 (deadline 30 s): a answers in 10 s, b in 40 s (late), c only
     * "received" (not enough), d never gets it. */
    s_expect_row(rep, "a.cert", "i1", 1000, 10000, "met", 1);
    s_expect_row(rep, "b.cert", "i1", 2000, 40000, "late", 0);
    s_expect_row(rep, "c.cert", "i1", 3000, 5000, "wrong-status", 0);
    s_expect_row(rep, "d.cert", "i1", -1, -1, "no-answer", 0);
    assert_string_equal(json_string_value(json_object_get(
                            s_row(rep, "a.cert", "i1"), "stored")),
                        "2026-11-22T07:00:00.200Z");
    assert_int_equal(s_int(s_row(rep, "a.cert", "i1"), "deadline_ms"), 30000);
    /* i2 (deadline 60 s): b's first answer "received" at 30 s, then
     * "resolved" at exactly 60 s: met (a later status, on time). c denies. */
    s_expect_row(rep, "a.cert", "i2", 1000, 20000, "met", 1);
    s_expect_row(rep, "b.cert", "i2", 5000, 30000, "met", 1);
    assert_string_equal(json_string_value(json_object_get(
                            s_row(rep, "b.cert", "i2"), "answer")),
                        "received");
    s_expect_row(rep, "c.cert", "i2", 2000, 10000, "wrong-status", 0);
    s_expect_row(rep, "d.cert", "i2", -1, -1, "no-answer", 0);
    /* i3 only to a: "acknowledged" satisfies "received". */
    s_expect_row(rep, "a.cert", "i3", 500, 5000, "met", 1);
    assert_int_equal(json_array_size(json_object_get(rep, "results")), 9);

    /* Nearest rank: a [5, 10, 20] s -> median 10 s, p90 20 s; b [30, 40]
     * -> median 30, p90 40; c [5, 10] -> 5 and 10. */
    p = s_part(rep, "a.cert");
    assert_int_equal(s_int(p, "median_answer_ms"), 10000);
    assert_int_equal(s_int(p, "p90_answer_ms"), 20000);
    assert_int_equal(s_int(p, "median_answer_scenario_ms"), 600000);
    assert_int_equal(s_int(p, "met"), 3);
    assert_true(json_is_true(json_object_get(p, "reachable")));
    p = s_part(rep, "b.cert");
    assert_int_equal(s_int(p, "median_answer_ms"), 30000);
    assert_int_equal(s_int(p, "p90_answer_ms"), 40000);
    assert_int_equal(s_int(p, "missed"), 1);
    p = s_part(rep, "c.cert");
    assert_int_equal(s_int(p, "median_answer_ms"), 5000);
    assert_int_equal(s_int(p, "p90_answer_ms"), 10000);
    p = s_part(rep, "d.cert");
    assert_true(json_is_false(json_object_get(p, "reachable")));
    assert_true(json_is_null(json_object_get(p, "median_answer_ms")));
    assert_int_equal(s_int(p, "delivered"), 0);

    /* All seven answers [5,5,10,10,20,30,40] s: median (4th) 10 s, p90
     * (7th) 40 s. */
    sum = json_object_get(rep, "summary");
    assert_int_equal(s_int(sum, "median_answer_ms"), 10000);
    assert_int_equal(s_int(sum, "p90_answer_ms"), 40000);
    assert_int_equal(s_int(sum, "participants"), 4);
    assert_int_equal(s_int(sum, "reachable"), 3);
    assert_int_equal(s_int(sum, "met"), 4);
    assert_int_equal(s_int(sum, "missed"), 5);
    assert_int_equal(s_int(sum, "delivered"), 7);
    assert_int_equal(s_int(sum, "answered"), 7);
    assert_int_equal(s_int(sum, "injects_sent"), 3);
    assert_int_equal(json_array_size(json_object_get(sum, "never_reached")), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(sum, "never_reached"), 0)),
                        "d.cert");
    assert_true(json_is_false(json_object_get(rep, "partial")));
    json_decref(rep);

    /* The terminal table says the same. */
    {
        char *t = drill_report_text(r);
        assert_non_null(t);
        assert_non_null(strstr(t, "EXERCISE cs26"));
        assert_non_null(strstr(t, "never reached (1): d.cert"));
        assert_non_null(strstr(t, "MISSED (late)"));
        assert_non_null(strstr(t, "40.0s (40m00s)"));
        free(t);
    }
    drill_report_destroy(&r);
    assert_null(r);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* Without "finished", answers still within their deadline are pending;
 * a runner's "unreachable" list gives the reason. */
static void
test_partial(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = s_report(
        sc, "{\"started\":\"2026-11-22T07:00:00Z\",\"unreachable\":["
            "{\"id\":\"d.cert\",\"reason\":\"no key in roster\"}],"
            "\"injects\":[{\"id\":\"i1\",\"sent\":\"2026-11-22T07:00:00Z\","
            "\"recipients\":{\"a.cert\":{\"delivered\":"
            "\"2026-11-22T07:00:01Z\",\"answered\":\"2026-11-22T07:00:10Z\","
            "\"answer\":\"acknowledged\"},\"b.cert\":{\"delivered\":"
            "\"2026-11-22T07:00:02Z\"},\"d.cert\":{\"error\":\"no key\"}}}]}");
    json_t *rep = s_report_json(r);
    (void)state;
    assert_true(json_is_true(json_object_get(rep, "partial")));
    s_expect_row(rep, "a.cert", "i1", 1000, 10000, "met", 1);
    s_expect_row(rep, "b.cert", "i1", 2000, -1, "pending", -1);
    s_expect_row(rep, "d.cert", "i1", -1, -1, "not-sent", -1);
    s_expect_row(rep, "c.cert", "i2", -1, -1, "not-sent", -1);
    assert_string_equal(json_string_value(json_object_get(
                            s_part(rep, "d.cert"), "unreachable_reason")),
                        "no key in roster");
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* A drill stopped before its end (Ctrl-C, its daemon lost) is partial:
 * deadlines still open when it stopped are pending, not missed, and the
 * reason is in every rendering. */
static void
test_stopped(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    /* Stopped at T0+20 s: i1's 30 s deadline is open; i3's 10 s deadline
     * (sent at T0+5 s) passed. */
    drill_report_t *r = s_report(
        sc, "{\"started\":\"2026-11-22T07:00:00Z\","
            "\"finished\":\"2026-11-22T07:00:20Z\",\"stopped\":true,"
            "\"stop_reason\":\"lost the controller's renrakud\","
            "\"injects\":[{\"id\":\"i1\",\"sent\":\"2026-11-22T07:00:00Z\","
            "\"recipients\":{\"a.cert\":{\"delivered\":"
            "\"2026-11-22T07:00:01Z\",\"answered\":\"2026-11-22T07:00:10Z\","
            "\"answer\":\"acknowledged\"},\"b.cert\":{\"delivered\":"
            "\"2026-11-22T07:00:02Z\"},\"c.cert\":{\"answered\":"
            "\"2026-11-22T07:00:03Z\",\"answer\":\"received\"},"
            "\"d.cert\":{}}},"
            "{\"id\":\"i3\",\"sent\":\"2026-11-22T07:00:05Z\","
            "\"recipients\":{\"a.cert\":{}}}]}");
    json_t *rep = s_report_json(r);
    char *text = drill_report_text(r), *html = drill_report_html(r);
    (void)state;
    assert_true(json_is_true(json_object_get(rep, "partial")));
    assert_true(json_is_true(json_object_get(rep, "stopped")));
    assert_string_equal(json_string_value(json_object_get(rep, "stop_reason")),
                        "lost the controller's renrakud");
    s_expect_row(rep, "a.cert", "i1", 1000, 10000, "met", 1);
    s_expect_row(rep, "b.cert", "i1", 2000, -1, "pending", -1);
    s_expect_row(rep, "c.cert", "i1", -1, 3000, "pending", -1);
    s_expect_row(rep, "d.cert", "i1", -1, -1, "pending", -1);
    s_expect_row(rep, "a.cert", "i3", -1, -1, "no-answer", 0);
    assert_int_equal(s_int(json_object_get(rep, "summary"), "pending"), 3);
    assert_non_null(text);
    assert_non_null(strstr(text, "STOPPED 2026-11-22T07:00:20Z before its end "
                                 "(partial report: lost the controller's "
                                 "renrakud)"));
    /* It cannot say "never" of someone it stopped watching. */
    assert_null(strstr(text, "never reached"));
    /* c.cert answered without a receipt seen: its answer proves it was
     * reached. */
    assert_non_null(strstr(text, "not reached so far (1): d.cert"));
    assert_non_null(html);
    assert_non_null(strstr(html, "partial report: stopped"));
    assert_non_null(strstr(html, "lost the controller&#39;s renrakud"));
    free(text);
    free(html);
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* The first answer with the expected status (or a later one) counts, at
 * its own time, whatever came before it. */
static void
test_later_sufficient_answer(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    /* i1 expects acknowledged within 30 s. */
    drill_report_t *r = s_report(
        sc, "{\"started\":\"2026-11-22T07:00:00Z\","
            "\"finished\":\"2026-11-22T07:01:00Z\",\"injects\":[{\"id\":"
            "\"i1\",\"sent\":\"2026-11-22T07:00:00Z\",\"recipients\":{"
            "\"a.cert\":{\"answers\":["
            "{\"at\":\"2026-11-22T07:00:01Z\",\"status\":\"received\"},"
            "{\"at\":\"2026-11-22T07:00:05Z\",\"status\":\"acknowledged\","
            "\"comment\":\"on it\"}]},"
            "\"b.cert\":{\"answers\":["
            "{\"at\":\"2026-11-22T07:00:01Z\",\"status\":\"received\"},"
            "{\"at\":\"2026-11-22T07:00:40Z\",\"status\":\"acknowledged\"}]},"
            "\"c.cert\":{\"answers\":["
            "{\"at\":\"2026-11-22T07:00:02Z\",\"status\":\"denied\","
            "\"comment\":\"no\"},"
            "{\"at\":\"2026-11-22T07:00:01Z\",\"status\":\"received\"}]}}}]}");
    json_t *rep = s_report_json(r);
    char *text = drill_report_text(r);
    (void)state;
    s_expect_row(rep, "a.cert", "i1", -1, 1000, "met", 1);
    assert_string_equal(json_string_value(json_object_get(
                            s_row(rep, "a.cert", "i1"), "answer")),
                        "received");
    assert_int_equal(
        s_int(s_row(rep, "a.cert", "i1"), "answered_as_expected_after_ms"),
        5000);
    assert_string_equal(
        json_string_value(json_object_get(s_row(rep, "a.cert", "i1"),
                                          "answered_as_expected")),
        "2026-11-22T07:00:05Z");
    s_expect_row(rep, "b.cert", "i1", -1, 1000, "late", 0);
    assert_int_equal(
        s_int(s_row(rep, "b.cert", "i1"), "answered_as_expected_after_ms"),
        40000);
    s_expect_row(rep, "c.cert", "i1", -1, 1000, "wrong-status", 0);
    assert_true(json_is_null(
        json_object_get(s_row(rep, "c.cert", "i1"), "answered_as_expected")));
    assert_non_null(text);
    assert_non_null(strstr(text, "met (acknowledged after 5.0s)"));
    free(text);
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* PT30S at time scale 86400 is a 0.35 ms deadline: 1 ms, not "none", so
 * an answer 30 minutes later is late. */
static void
test_tiny_deadline(void **state) {
    drill_scenario_t *sc = NULL;
    drill_report_t *r;
    json_t *rep, *row;
    char err[256] = "";
    static const char scen[] =
        "{\"exercise\":\"fast\",\"participants\":[\"p1\"],"
        "\"time_scale\":86400,\"injects\":[{\"id\":\"i1\",\"at\":0,"
        "\"kind\":\"notice\",\"title\":\"t\",\"expect\":{\"within\":"
        "\"PT30S\"}}]}";
    (void)state;
    if (drill_scenario_parse(scen, strlen(scen), "s.json", &sc, err,
                             sizeof err))
        fail_msg("%s", err);
    r = s_report(sc, "{\"started\":\"2026-11-22T07:00:00Z\","
                     "\"finished\":\"2026-11-22T07:40:00Z\",\"injects\":[{"
                     "\"id\":\"i1\",\"sent\":\"2026-11-22T07:00:00Z\","
                     "\"recipients\":{\"p1\":{\"answered\":"
                     "\"2026-11-22T07:30:00Z\",\"answer\":\"acknowledged\"}}}"
                     "]}");
    rep = s_report_json(r);
    row = s_row(rep, "p1", "i1");
    assert_int_equal(s_int(row, "deadline_ms"), 1);
    assert_string_equal(json_string_value(json_object_get(row, "outcome")),
                        "late");
    assert_true(json_is_false(json_object_get(row, "deadline_met")));
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

static void
test_csv(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = s_report(sc, s_observed);
    char *csv = drill_report_csv(r);
    size_t lines = 0;
    bool inq = false;
    (void)state;
    assert_non_null(csv);
    assert_memory_equal(csv, "exercise,participant,inject,kind,title,", 38);
    /* Quotes doubled, the comma and line break kept inside quotes. */
    assert_non_null(strstr(csv, ",\"He said \"\"ok\"\", then\nleft\","));
    /* A formula is quoted and defused. */
    assert_non_null(strstr(csv, ",\"'=cmd|' /c calc'!A1\","));
    assert_non_null(strstr(
        csv, "cs26,b.cert,i1,notice,<script>alert(1)</script>,acknowledged,"
             "30000,2026-11-22T07:00:00Z,,2026-11-22T07:00:02Z,"
             "2026-11-22T07:00:40Z,acknowledged,"));
    assert_non_null(strstr(csv, ",40000,2400000,false,late,true\r\n"));
    /* One header and nine records, each ended by CRLF outside quotes. */
    for (const char *p = csv; *p; p++) {
        if (*p == '"')
            inq = !inq;
        if (!inq && p[0] == '\r' && p[1] == '\n')
            lines++;
        if (!inq && *p == '\n')
            assert_true(p > csv && p[-1] == '\r');
    }
    assert_false(inq);
    assert_int_equal(lines, 10);
    free(csv);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* OWASP CSV injection: a field starting with = + - @ tab or CR is quoted
 * and starts with ' so a spreadsheet shows it as text. */
static void
test_csv_injection(void **state) {
    static const char *const lead[] = {"=1+1",     "+1",     "-1",
                                       "@SUM(A1)", "\t=1+1", "\r=1+1"};
    static const char *const want[] = {",\"'=1+1\",",   ",\"'+1\",",
                                       ",\"'-1\",",     ",\"'@SUM(A1)\",",
                                       ",\"'\t=1+1\",", ",\"'\r=1+1\","};
    (void)state;
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++) {
        drill_scenario_t *sc = s_scenario_new();
        json_t *obs = json_pack("{s:s,s:s,s:[{s:s,s:s,s:{s:{s:s,s:s,s:s}}}]}",
                                "started", "2026-11-22T07:00:00Z", "finished",
                                "2026-11-22T07:05:00Z", "injects", "id", "i1",
                                "sent", "2026-11-22T07:00:00Z", "recipients",
                                "a.cert", "answered", "2026-11-22T07:00:10Z",
                                "answer", "acknowledged", "comment", lead[i]);
        drill_report_t *r = NULL;
        char err[256] = "", *csv;
        assert_non_null(obs);
        assert_int_equal(drill_report_new(sc, obs, &r, err, sizeof err), 0);
        csv = drill_report_csv(r);
        assert_non_null(csv);
        if (!strstr(csv, want[i]))
            fail_msg("comment %zu not defused in: %s", i, csv);
        free(csv);
        drill_report_destroy(&r);
        json_decref(obs);
        drill_scenario_destroy(&sc);
    }
}

static void
test_html(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = s_report(sc, s_observed);
    char *html = drill_report_html(r);
    const char *out = getenv("RK_DRILL_HTML_OUT");
    (void)state;
    assert_non_null(html);
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "EXERCISE"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&lt;img src=x onerror=alert(2)&gt;"));
    assert_non_null(strstr(html, "Storm &lt;b&gt;&amp;&lt;/b&gt; &quot;drill"));
    assert_false(s_has_ci(html, "<script"));
    assert_false(s_has_ci(html, "<img"));
    assert_null(strstr(html, "<b>&</b>"));
    /* Self-contained: the only URL is the SVG namespace. */
    for (const char *p = html; (p = strstr(p, "://")); p++)
        assert_memory_equal(p - 4, "http://www.w3.org/2000/svg", 26);
    assert_false(s_has_ci(html, "url("));
    assert_false(s_has_ci(html, "@import"));
    if (out) {
        FILE *f = fopen(out, "w");
        assert_non_null(f);
        fputs(html, f);
        fclose(f);
    }
    free(html);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

static void
s_bad(const char *observed, const char *want) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = NULL;
    char err[512] = "";
    json_t *j = json_loads(observed, 0, NULL);
    assert_non_null(j);
    if (drill_report_new(sc, j, &r, err, sizeof err) == 0)
        fail_msg("accepted %s", observed);
    assert_null(r);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
    json_decref(j);
    drill_scenario_destroy(&sc);
}

/* The runner lost its daemon after the daemon took a send it never
 * answered, and found no record of it: the row is "unknown", with why, in
 * every rendering; never "not-sent", which would claim what no one knows. */
static void
test_send_unknown(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    drill_report_t *r = s_report(
        sc, "{\"started\":\"2026-11-22T07:00:00Z\","
            "\"finished\":\"2026-11-22T07:00:20Z\",\"stopped\":true,"
            "\"stop_reason\":\"inject i1: unknown whether it was sent\","
            "\"injects\":[{\"id\":\"i1\",\"sent\":\"2026-11-22T07:00:00Z\","
            "\"recipients\":{\"a.cert\":{},"
            "\"b.cert\":{\"send_unknown\":\"renrakud took the send "
            "(request_id drill-1) but did not answer\"},"
            "\"c.cert\":{\"error\":\"not sent: renrakud never took it\"},"
            "\"d.cert\":{}}}]}");
    json_t *rep = s_report_json(r), *row;
    char *text = drill_report_text(r), *csv = drill_report_csv(r),
         *html = drill_report_html(r);
    (void)state;
    row = s_row(rep, "b.cert", "i1");
    assert_string_equal(json_string_value(json_object_get(row, "outcome")),
                        "unknown");
    assert_true(json_is_null(json_object_get(row, "sent")));
    assert_true(json_is_null(json_object_get(row, "deadline_met")));
    assert_string_equal(
        json_string_value(json_object_get(row, "error")),
        "renrakud took the send (request_id drill-1) but did not answer");
    /* The inject's "sent" is a.cert's and d.cert's, not b.cert's. */
    s_expect_row(rep, "a.cert", "i1", -1, -1, "pending", -1);
    s_expect_row(rep, "d.cert", "i1", -1, -1, "pending", -1);
    s_expect_row(rep, "c.cert", "i1", -1, -1, "not-sent", -1);
    assert_int_equal(s_int(json_object_get(rep, "summary"), "unknown"), 1);
    assert_int_equal(s_int(s_part(rep, "b.cert"), "unknown"), 1);
    assert_int_equal(s_int(s_part(rep, "c.cert"), "unknown"), 0);
    assert_non_null(text);
    assert_non_null(strstr(text, "UNKNOWN whether sent"));
    assert_non_null(strstr(text, "renrakud took the send (request_id "
                                 "drill-1) but did not answer"));
    assert_non_null(strstr(text, "not sent: renrakud never took it"));
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",unknown,"));
    assert_non_null(html);
    assert_non_null(strstr(html, "unknown whether sent"));
    assert_non_null(strstr(html, "<td class=\"o unknown\">unknown</td>"));
    free(text);
    free(csv);
    free(html);
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

/* A stop reason longer than the table shows, all two-byte characters
 * after one ASCII byte: the table cuts it between two characters and
 * marks the cut (300 bytes split the 150th); the JSON keeps all of it. */
static void
test_long_reason_cut(void **state) {
    drill_scenario_t *sc = s_scenario_new();
    char reason[1 + 400 * 2 + 1], observed[1200], want[400];
    drill_report_t *r;
    json_t *rep;
    char *text;
    (void)state;
    reason[0] = 'x';
    for (size_t i = 0; i < 400; i++)
        memcpy(reason + 1 + 2 * i, "\xC3\xA9", 2); /* é */
    reason[sizeof reason - 1] = '\0';
    snprintf(observed, sizeof observed,
             "{\"started\":\"2026-11-22T07:00:00Z\","
             "\"finished\":\"2026-11-22T07:00:20Z\",\"stopped\":true,"
             "\"stop_reason\":\"%s\"}",
             reason);
    r = s_report(sc, observed);
    rep = s_report_json(r);
    text = drill_report_text(r);
    assert_string_equal(json_string_value(json_object_get(rep, "stop_reason")),
                        reason);
    assert_non_null(text);
    assert_true(rk_utf8_valid(text, strlen(text)));
    /* 'x' and 149 whole characters (299 bytes), then the mark. */
    snprintf(want, sizeof want, "(partial report: %.299s\xE2\x80\xA6), time",
             reason);
    assert_non_null(strstr(text, want));
    free(text);
    json_decref(rep);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

static void
test_bad_observed(void **state) {
    (void)state;
    s_bad("{}", "observed: started: missing");
    s_bad("{\"started\":\"yesterday\"}",
          "observed: started: 'yesterday' is not an RFC 3339 UTC time");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"colour\":1}",
          "observed: : unknown key 'colour'");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"exercise\":\"other\"}",
          "observed: exercise: 'other' is not the scenario's exercise");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i9\"}]}",
          "observed: injects[0].id: 'i9' is not an inject of the scenario");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i1\",\"recipients\":{\"a.cert\":{\"delivered\":\"soon\"}}}]}",
          "observed: injects[0].recipients.a.cert.delivered: 'soon' is not");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i1\",\"recipients\":{\"a.cert\":{\"sent\":"
          "\"2026-11-22T07:00:00Z\",\"answered\":\"2026-11-22T07:00:00Z\"}}}"
          "]}",
          "observed: injects[0].recipients.a.cert.answer: missing");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i1\",\"recipients\":{\"a.cert\":{\"delivered\":"
          "\"2026-11-22T07:00:00Z\"}}}]}",
          "no \"sent\" time");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i1\",\"recipients\":{\"A B\":{}}}]}",
          "observed: injects[0].recipients: 'A B' is not a node id");
    s_bad("{\"started\":\"2026-11-22T07:00:00Z\",\"injects\":[{\"id\":"
          "\"i1\",\"recipients\":{\"a.cert\":{\"sent\":"
          "\"2026-11-22T07:00:00Z\",\"send_unknown\":\"lost\"}}}]}",
          "observed: injects[0].recipients.a.cert: \"send_unknown\" beside "
          "\"sent\" or \"error\"");
}

/* The terminal tables stay aligned with ids longer than their default
 * columns (20 characters for a participant, 8 for an inject): every row's
 * "sent" and "reachable" fields start under their header. */
static void
test_columns_fit_ids(void **state) {
    static const char scen[] =
        "{\"exercise\":\"cs26\",\"name\":\"Long ids\","
        "\"participants\":[\"a.cert\","
        "\"ministry-of-digital-affairs.cert\"],\"injects\":["
        "{\"id\":\"check\",\"at\":0,\"kind\":\"comm-check\","
        "\"title\":\"Ping\",\"expect\":{\"status\":\"received\","
        "\"within\":\"PT10M\"}},"
        "{\"id\":\"ransomware-wave-2\",\"at\":0,\"kind\":\"alert\","
        "\"title\":\"Wave\",\"expect\":{\"status\":\"acknowledged\","
        "\"within\":\"PT10M\"}}]}";
    drill_scenario_t *sc = NULL;
    drill_report_t *r;
    char err[256] = "", *text, *line, *save = NULL;
    size_t sent_col = 0, reach_col = 0, rows = 0, sums = 0;
    int table = 0;
    (void)state;
    if (drill_scenario_parse(scen, strlen(scen), "s.json", &sc, err,
                             sizeof err))
        fail_msg("%s", err);
    r = s_report(sc, "{\"started\":\"2026-11-22T07:00:00Z\","
                     "\"finished\":\"2026-11-22T07:05:00Z\",\"injects\":["
                     "{\"id\":\"check\",\"sent\":\"2026-11-22T07:00:00Z\","
                     "\"recipients\":{\"a.cert\":{},"
                     "\"ministry-of-digital-affairs.cert\":{}}},"
                     "{\"id\":\"ransomware-wave-2\","
                     "\"sent\":\"2026-11-22T07:00:00Z\",\"recipients\":{"
                     "\"a.cert\":{},\"ministry-of-digital-affairs.cert\":{}}}"
                     "]}");
    text = drill_report_text(r);
    assert_non_null(text);
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "participant", 11) == 0) {
            char *s = strstr(line, " sent "), *re = strstr(line, " reachable ");
            table = s ? 1 : re ? 2 : 0;
            if (s)
                sent_col = (size_t)(s - line) + 1;
            if (re)
                reach_col = (size_t)(re - line) + 1;
            continue;
        }
        if (table == 1 && (strncmp(line, "a.cert ", 7) == 0 ||
                           strncmp(line, "ministry-", 9) == 0)) {
            assert_true(strlen(line) > sent_col);
            assert_memory_equal(line + sent_col, "T+", 2);
            assert_int_equal(line[sent_col - 1], ' ');
            rows++;
        } else if (table == 2 && (strncmp(line, "a.cert ", 7) == 0 ||
                                  strncmp(line, "ministry-", 9) == 0)) {
            assert_true(strlen(line) > reach_col);
            assert_memory_equal(line + reach_col, "NO", 2);
            sums++;
        }
    }
    assert_int_equal(rows, 4);
    assert_int_equal(sums, 2);
    free(text);
    drill_report_destroy(&r);
    drill_scenario_destroy(&sc);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_computed_values),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_stopped),
        cmocka_unit_test(test_later_sufficient_answer),
        cmocka_unit_test(test_tiny_deadline),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_injection),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_send_unknown),
        cmocka_unit_test(test_long_reason_cut),
        cmocka_unit_test(test_columns_fit_ids),
        cmocka_unit_test(test_bad_observed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
