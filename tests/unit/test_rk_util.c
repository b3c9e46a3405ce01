/* Unit tests for common/rk_util: encodings, times, durable files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rk_util.h"

static void
test_base64_and_hex(void **state) {
    uint8_t out[16];
    size_t n = 0;
    char hex[9];
    (void)state;
    char *b = rk_b64((const uint8_t *)"renraku", 7);
    assert_string_equal(b, "cmVucmFrdQ==");
    assert_int_equal(rk_unb64(out, sizeof out, &n, b, strlen(b)), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "renraku", 7);
    free(b);
    assert_int_equal(rk_unb64(out, sizeof out, &n, "cmVu!!", 6),
                     RK_ERR_MALFORMED);
    /* Bytes >= 0x80 are not base64, whatever libsodium 1.0.18 thinks. */
    assert_int_equal(rk_unb64(out, sizeof out, &n, "\xc2\xbe\xcf\xb0", 4),
                     RK_ERR_MALFORMED);
    assert_int_equal(rk_unb64(out, sizeof out, &n, "cm=ucmFr", 8),
                     RK_ERR_MALFORMED);
    assert_int_equal(rk_unb64(out, 2, &n, "cmVucmFrdQ==", 12),
                     RK_ERR_TOO_LARGE);
    rk_hex(hex, (const uint8_t *)"\x01\xab\xff\x00", 4);
    assert_string_equal(hex, "01abff00");
    assert_int_equal(rk_unhex(out, 4, "01abff00"), 0);
    assert_memory_equal(out, "\x01\xab\xff\x00", 4);
    assert_int_equal(rk_unhex(out, 4, "01abff0"), RK_ERR_MALFORMED);
    assert_int_equal(rk_unhex(out, 4, "01abff0g"), RK_ERR_MALFORMED);
}

static void
test_times(void **state) {
    char buf[40];
    uint64_t ms = 0;
    (void)state;
    assert_int_equal(rk_time_parse("2026-11-22T07:18:00Z", &ms), 0);
    assert_int_equal(ms, 1795331880000ull);
    rk_time_format(buf, sizeof buf, ms);
    assert_string_equal(buf, "2026-11-22T07:18:00Z");
    assert_int_equal(rk_time_parse("2026-11-22T07:18:00.25Z", &ms), 0);
    assert_int_equal(ms, 1795331880250ull);
    rk_time_format(buf, sizeof buf, ms);
    assert_string_equal(buf, "2026-11-22T07:18:00.250Z");
    assert_int_equal(rk_time_parse("2026-11-22 07:18:00Z", &ms),
                     RK_ERR_MALFORMED);
    assert_int_equal(rk_time_parse("2026-13-22T07:18:00Z", &ms),
                     RK_ERR_MALFORMED);
    assert_int_equal(rk_time_parse("2026-11-22T07:18:00+09:00", &ms),
                     RK_ERR_MALFORMED);
}

static void
test_files(void **state) {
    char dir[] = "/tmp/rk_util_XXXXXX";
    char path[256];
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat st;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    assert_int_equal(rk_read_file(path, 100, &data, &len), RK_ERR_NOT_FOUND);
    assert_int_equal(rk_write_file(path, "hello", 5, 0600, 1), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rk_write_file(path, "again", 5, 0600, 1), RK_ERR_EXISTS);
    assert_int_equal(rk_read_file(path, 100, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    assert_int_equal(rk_read_file(path, 4, &data, &len), RK_ERR_TOO_LARGE);
    assert_int_equal(rk_write_file(path, "again", 5, 0644, 0), 0);
    assert_int_equal(rk_read_file(path, 100, &data, &len), 0);
    assert_memory_equal(data, "again", 5);
    free(data);
    unlink(path);
    rmdir(dir);
}

static void
test_write_all(void **state) {
    char path[] = "/tmp/rk_util_w_XXXXXX";
    uint8_t big[200000], *data = NULL;
    size_t len = 0;
    int fd = mkstemp(path), p[2];
    (void)state;
    assert_true(fd >= 0);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(rk_write_all(fd, big, sizeof big), RK_OK);
    assert_int_equal(close(fd), 0);
    assert_int_equal(rk_read_file(path, sizeof big, &data, &len), RK_OK);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(data, big, sizeof big);
    free(data);
    unlink(path);
    /* Nobody reads any more: an error that says why, not a hang. */
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(rk_write_all(p[1], "x", 1), RK_ERR_IO);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
}

/* Numbers on a command line: the whole text, finite, or NAN. */
static void
test_parse_finite(void **state) {
    (void)state;
    assert_true(rk_parse_finite("2.5") == 2.5);
    assert_true(rk_parse_finite("-3") == -3.0);
    assert_true(rk_parse_finite("1e3") == 1000.0);
    assert_true(isnan(rk_parse_finite("")));
    assert_true(isnan(rk_parse_finite("5s")));
    assert_true(isnan(rk_parse_finite(" ")));
    assert_true(isnan(rk_parse_finite("inf")));
    assert_true(isnan(rk_parse_finite("nan")));
    assert_true(isnan(rk_parse_finite("1e999")));
}

/* Copies cut to fit, never inside a character; text for JSON made valid
 * UTF-8 so that jansson takes it. */
static void
test_str_copy_and_utf8(void **state) {
    char out[8], s[64];
    (void)state;
    rk_str_copy(out, sizeof out, "relay.jp");
    assert_string_equal(out, "relay.j");
    rk_str_copy(out, sizeof out, "p1");
    assert_string_equal(out, "p1");
    /* "ab" + three 2-byte characters: the third does not fit whole. */
    rk_str_copy(out, sizeof out, "ab\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_string_equal(out, "ab\xc3\xa9\xc3\xa9");
    /* A 3-byte character (U+65E5) cut after its first byte is dropped. */
    rk_str_copy(out, 4, "ab\xe6\x97\xa5");
    assert_string_equal(out, "ab");

    strcpy(s, "state \xe6\x97\xa5\xe6\x9c\xac ok");
    assert_int_equal(rk_utf8_scrub(s), 0);
    assert_string_equal(s, "state \xe6\x97\xa5\xe6\x9c\xac ok");
    /* What "%.8s" makes of that: a character cut in two. */
    snprintf(s, 10, "%.8s", "state \xe6\x97\xa5");
    assert_int_equal(rk_utf8_scrub(s), 2);
    assert_string_equal(s, "state ??");
    /* A stray continuation, an overlong '/', a surrogate, past U+10FFFF. */
    strcpy(s, "a\x80"
              "b\xc0\xaf"
              "c\xed\xa0\x80"
              "d\xf4\x90\x80\x80"
              "e");
    assert_int_equal(rk_utf8_scrub(s), 10);
    assert_string_equal(s, "a?b??c???d????e");
    /* The largest character is kept. */
    strcpy(s, "\xf4\x8f\xbf\xbf");
    assert_int_equal(rk_utf8_scrub(s), 0);
}

/* The refusal text for argv, after getopt_long runs over it as the
 * programs do (":" first, long options only). */
static const char *
s_refused(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"drill", required_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},
                                         {"title", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    static char why[300];
    int c;
    optind = 0; /* glibc: start over */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if (c == '?' || c == ':') {
            rk_opt_refused(why, sizeof why, argv, opts, c == ':');
            return why;
        }
    return "(accepted)";
}

/* Each refusal names the option at fault, also where argv[optind - 1]
 * is another argument (a cluster after a long option and its value). */
static void
test_opt_refused(void **state) {
    char *a1[] = {"p", "--bogus", NULL};
    char *a2[] = {"p", "--d", "x", NULL};
    char *a3[] = {"p", "--data", NULL};
    char *a4[] = {"p", "--js=1", NULL};
    char *a5[] = {"p", "--data=d", "-xy", NULL};
    char *a6[] = {"p", "--json=x", "-j", NULL};
    char *a7[] = {"p", "--title", "t", "-xy", NULL};
    char *a8[] = {"p", "--json", "-q", NULL};
    char *a9[] = {"p", "--dat", NULL};
    (void)state;
    assert_string_equal(s_refused(2, a1), "unknown option --bogus");
    assert_string_equal(s_refused(3, a2), "ambiguous option --d");
    assert_string_equal(s_refused(2, a3), "--data needs a value");
    assert_string_equal(s_refused(2, a4), "--json takes no value");
    assert_string_equal(s_refused(3, a5), "unknown option -x");
    assert_string_equal(s_refused(3, a6), "--json takes no value");
    assert_string_equal(s_refused(4, a7), "unknown option -x");
    assert_string_equal(s_refused(3, a8), "unknown option -q");
    assert_string_equal(s_refused(2, a9), "--data needs a value");
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_and_hex),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_parse_finite),
        cmocka_unit_test(test_str_copy_and_utf8),
        cmocka_unit_test(test_opt_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
