/* Unit tests of clients/audit: the c2sp.org/tlog-proof format (round trip,
 * strict parsing) and its check (a flipped bit or a wrong index fails),
 * RFC 4180 CSV quoting, time and speed parsing, event filters, and the
 * bounded search of verify for a valid frame after a bad one. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "relay_log.h"
#include "rk_util.h"

#define N_LEAVES 5

/* A signed tree of five records and a proof of record 3. */
typedef struct {
    uint8_t pk[32], sk[64];
    note_verifier_t v;
    merkle_tree_t *tree;
    char rec[N_LEAVES][32];
    audit_proof_t proof;
} s_fix_t;

static int
s_setup(void **state) {
    s_fix_t *f = calloc(1, sizeof *f);
    checkpoint_t cp;
    uint8_t leaf[MERKLE_HASH_LEN];
    size_t n = 0;
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    crypto_sign_keypair(f->pk, f->sk);
    snprintf(f->v.name, sizeof f->v.name, "renraku/relay.test");
    memcpy(f->v.pk, f->pk, 32);
    f->v.key_id = note_key_id(f->v.name, f->pk);
    f->tree = merkle_tree_new();
    for (int i = 0; i < N_LEAVES; i++) {
        snprintf(f->rec[i], sizeof f->rec[i], "record number %d", i);
        merkle_leaf_hash((const uint8_t *)f->rec[i], strlen(f->rec[i]), leaf);
        assert_int_equal(merkle_tree_append(f->tree, leaf), RK_OK);
    }
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", f->v.name);
    cp.size = N_LEAVES;
    assert_int_equal(merkle_tree_root(f->tree, N_LEAVES, cp.root), RK_OK);
    assert_int_equal(checkpoint_sign(&cp, f->v.name, f->sk,
                                     &f->proof.checkpoint,
                                     &f->proof.checkpoint_len),
                     RK_OK);
    f->proof.index = 3;
    f->proof.extra_len = strlen(f->rec[3]);
    f->proof.extra = malloc(f->proof.extra_len);
    memcpy(f->proof.extra, f->rec[3], f->proof.extra_len);
    assert_int_equal(merkle_tree_inclusion_proof(
                         f->tree, 3, N_LEAVES, (uint8_t *)f->proof.hashes, &n),
                     RK_OK);
    f->proof.n_hashes = n;
    *state = f;
    return 0;
}

static int
s_teardown(void **state) {
    s_fix_t *f = *state;
    audit_proof_clear(&f->proof);
    merkle_tree_destroy(&f->tree);
    free(f);
    return 0;
}

static void
test_proof_round_trip(void **state) {
    s_fix_t *f = *state;
    char *text = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    audit_proof_t p;
    const char *why = NULL;

    assert_int_equal(audit_proof_format(&f->proof, &text, &len), RK_OK);
    assert_int_equal(strncmp(text, "c2sp.org/tlog-proof@v1\nextra ", 29), 0);
    assert_non_null(strstr(text, "\nindex 3\n"));
    assert_int_equal(audit_proof_parse((const uint8_t *)text, len, &p, &why),
                     RK_OK);
    assert_int_equal(p.index, 3);
    assert_int_equal(p.n_hashes, f->proof.n_hashes);
    assert_memory_equal(p.hashes, f->proof.hashes,
                        p.n_hashes * MERKLE_HASH_LEN);
    assert_int_equal(p.extra_len, f->proof.extra_len);
    assert_memory_equal(p.extra, f->proof.extra, p.extra_len);
    assert_int_equal(p.checkpoint_len, f->proof.checkpoint_len);
    assert_string_equal(p.checkpoint, f->proof.checkpoint);
    assert_int_equal(audit_proof_format(&p, &again, &len2), RK_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, text, len);
    assert_int_equal(audit_proof_check(&p, &f->v, NULL, &why), RK_OK);
    audit_proof_clear(&p);
    free(text);
    free(again);
}

static void
test_proof_check_refuses(void **state) {
    s_fix_t *f = *state;
    audit_proof_t *p = &f->proof;
    note_verifier_t other = f->v;
    const char *why = NULL;
    checkpoint_t cp;

    assert_int_equal(audit_proof_check(p, &f->v, &cp, &why), RK_OK);
    assert_int_equal(cp.size, N_LEAVES);
    /* A flipped bit in the record. */
    p->extra[2] ^= 0x01;
    assert_int_equal(audit_proof_check(p, &f->v, NULL, &why), RK_ERR_MISMATCH);
    assert_non_null(strstr(why, "not in the checkpoint's tree"));
    p->extra[2] ^= 0x01;
    /* A flipped bit in a proof hash. */
    p->hashes[1][7] ^= 0x80;
    assert_int_equal(audit_proof_check(p, &f->v, NULL, &why), RK_ERR_MISMATCH);
    p->hashes[1][7] ^= 0x80;
    /* The wrong index: same proof length, another place. */
    p->index = 2;
    assert_int_equal(audit_proof_check(p, &f->v, NULL, &why), RK_ERR_MISMATCH);
    p->index = N_LEAVES;
    assert_int_equal(audit_proof_check(p, &f->v, NULL, &why), RK_ERR_INVALID);
    p->index = 3;
    /* A flipped bit in the signed checkpoint. */
    p->checkpoint[5] ^= 0x01;
    assert_int_not_equal(audit_proof_check(p, &f->v, NULL, &why), RK_OK);
    p->checkpoint[5] ^= 0x01;
    /* Another key. */
    other.pk[0] ^= 0x01;
    other.key_id = note_key_id(other.name, other.pk);
    assert_int_equal(audit_proof_check(p, &other, NULL, &why),
                     RK_ERR_UNKNOWN_KEY);
    assert_int_equal(audit_proof_check(p, &f->v, NULL, &why), RK_OK);
}

static void
test_proof_without_extra(void **state) {
    s_fix_t *f = *state;
    audit_proof_t p = f->proof;
    char *text = NULL;
    size_t len = 0;
    const char *why = NULL;
    audit_proof_t q;
    p.extra = NULL;
    p.extra_len = 0;
    assert_int_equal(audit_proof_format(&p, &text, &len), RK_OK);
    assert_int_equal(strncmp(text, "c2sp.org/tlog-proof@v1\nindex 3\n", 31), 0);
    assert_int_equal(audit_proof_parse((const uint8_t *)text, len, &q, &why),
                     RK_OK);
    assert_null(q.extra);
    assert_int_equal(audit_proof_check(&q, &f->v, NULL, &why),
                     RK_ERR_MALFORMED);
    audit_proof_clear(&q);
    free(text);
}

static int
s_parse(const char *text) {
    audit_proof_t p;
    const char *why = NULL;
    int rc = audit_proof_parse((const uint8_t *)text, strlen(text), &p, &why);
    if (rc == RK_OK)
        audit_proof_clear(&p);
    else
        assert_non_null(why);
    return rc;
}

static void
test_proof_parse_refuses(void **state) {
    const char *h = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    char buf[8192];
    (void)state;
    snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 0\n%s\n\ncp\n", h);
    assert_int_equal(s_parse(buf), RK_OK);
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v2\nindex 0\n\ncp\n"),
                     RK_ERR_MALFORMED);
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n"),
                     RK_ERR_MALFORMED);
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n"),
                     RK_ERR_MALFORMED);
    assert_int_equal(
        s_parse("c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\ncp\n"),
        RK_ERR_MALFORMED);
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nindex 0\ncp\n"),
                     RK_ERR_MALFORMED); /* "cp" is not a hash */
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nindex 0\n\n"),
                     RK_ERR_MALFORMED); /* no checkpoint */
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nindex 0\n\ncp"),
                     RK_ERR_MALFORMED); /* no final newline */
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nextra \nindex 0\n\n"
                             "cp\n"),
                     RK_ERR_MALFORMED); /* empty extra */
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nextra QQ=\nindex 0\n\n"
                             "cp\n"),
                     RK_ERR_MALFORMED); /* bad padding */
    /* Non-canonical base64: the last character's unused bits set. */
    assert_int_equal(s_parse("c2sp.org/tlog-proof@v1\nextra QR==\nindex 0\n\n"
                             "cp\n"),
                     RK_ERR_MALFORMED);
    snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 0\n%.43sV\n\ncp\n",
             h);
    assert_int_equal(s_parse(buf), RK_ERR_MALFORMED);
    /* 65 hashes. */
    {
        size_t n = (size_t)snprintf(buf, sizeof buf,
                                    "c2sp.org/tlog-proof@v1\nindex 0\n");
        for (int i = 0; i < 65; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", h);
        snprintf(buf + n, sizeof buf - n, "\ncp\n");
        assert_int_equal(s_parse(buf), RK_ERR_MALFORMED);
    }
}

static void
test_csv_quoting(void **state) {
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {"\"", "\"\"\"\""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *q = audit_csv_field(cases[i].in);
        assert_non_null(q);
        assert_string_equal(q, cases[i].out);
        free(q);
    }
}

static void
s_event(audit_event_t *ev, uint64_t time_ms, const char *from, const char *to) {
    memset(ev, 0, sizeof *ev);
    ev->index = 7;
    ev->time_ms = time_ms;
    ev->type = RECORD_REFUSED;
    ev->from = strdup(from);
    ev->to = strdup(to);
    ev->reason = strdup("recipient x, \"y\": revoked");
    ev->code = 12;
    snprintf(ev->code_name, sizeof ev->code_name, "recipient-inactive");
    snprintf(ev->msg_id, sizeof ev->msg_id, "00112233445566778899aabbccddeeff");
    snprintf(ev->kind, sizeof ev->kind, "notice");
}

static void
test_csv_row(void **state) {
    audit_event_t ev;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    (void)state;
    assert_non_null(m);
    s_event(&ev, 1795334376402ull, "jp.nisc", "us.cisa,sg.csa");
    audit_csv_header(m);
    assert_int_equal(audit_event_csv(&ev, m), RK_OK);
    fclose(m);
    assert_string_equal(
        buf, "time,time_ms,index,type,from,to,kind,msg_id,drill,size,"
             "created_ms,accepted_index,code,reason\r\n"
             "2026-11-22T07:59:36.402Z,1795334376402,7,refused,jp.nisc,"
             "\"us.cisa,sg.csa\",notice,00112233445566778899aabbccddeeff,,0,,,"
             "recipient-inactive,\"recipient x, \"\"y\"\": revoked\"\r\n");
    free(buf);
    audit_event_clear(&ev);
}

static void
test_time_and_speed(void **state) {
    uint64_t ms = 0;
    double x = -1;
    (void)state;
    assert_int_equal(audit_time_parse("2026-11-22T07:59:36.402Z", &ms), RK_OK);
    assert_int_equal(ms, 1795334376402ull);
    assert_int_equal(audit_time_parse("1795334376402", &ms), RK_OK);
    assert_int_equal(ms, 1795334376402ull);
    assert_int_equal(audit_time_parse("yesterday", &ms), RK_ERR_MALFORMED);
    assert_int_equal(audit_time_parse("", &ms), RK_ERR_MALFORMED);
    assert_int_equal(audit_time_parse("12345678901234567890", &ms),
                     RK_ERR_MALFORMED);
    assert_int_equal(audit_speed_parse("max", &x), RK_OK);
    assert_true(x == 0);
    assert_int_equal(audit_speed_parse("10x", &x), RK_OK);
    assert_true(x == 10);
    assert_int_equal(audit_speed_parse("0.5", &x), RK_OK);
    assert_true(x == 0.5);
    assert_int_equal(audit_speed_parse("0x", &x), RK_ERR_MALFORMED);
    assert_int_equal(audit_speed_parse("-2x", &x), RK_ERR_MALFORMED);
    assert_int_equal(audit_speed_parse("10xx", &x), RK_ERR_MALFORMED);
    assert_int_equal(audit_speed_parse("fast", &x), RK_ERR_MALFORMED);
}

static void
test_filters(void **state) {
    audit_event_t ev;
    audit_filter_t f;
    (void)state;
    s_event(&ev, 2000, "jp.nisc", "us.cisa,sg.csa");
    memset(&f, 0, sizeof f);
    assert_true(audit_filter_match(NULL, &ev));
    assert_true(audit_filter_match(&f, &ev));
    /* --since is inclusive, --until exclusive. */
    f.since_ms = 2000;
    assert_true(audit_filter_match(&f, &ev));
    f.since_ms = 2001;
    assert_false(audit_filter_match(&f, &ev));
    f.since_ms = 0;
    f.until_ms = 2000;
    assert_false(audit_filter_match(&f, &ev));
    f.until_ms = 2001;
    assert_true(audit_filter_match(&f, &ev));
    f.until_ms = 0;
    /* --node: the sender or a whole recipient id, not a prefix. */
    f.node = "sg.csa";
    assert_true(audit_filter_match(&f, &ev));
    f.node = "jp.nisc";
    assert_true(audit_filter_match(&f, &ev));
    f.node = "us.cis";
    assert_false(audit_filter_match(&f, &ev));
    f.node = NULL;
    f.kind = ENVELOPE_KIND_ALERT;
    assert_false(audit_filter_match(&f, &ev));
    f.kind = ENVELOPE_KIND_NOTICE;
    assert_true(audit_filter_match(&f, &ev));
    f.has_msg = true;
    assert_int_equal(rk_unhex(f.msg_id, 16, "00112233445566778899aabbccddeeff"),
                     RK_OK);
    assert_true(audit_filter_match(&f, &ev));
    f.msg_id[15] ^= 1;
    assert_false(audit_filter_match(&f, &ev));
    f.has_msg = false;
    f.drill = "ex-1";
    assert_false(audit_filter_match(&f, &ev));
    audit_event_clear(&ev);
}

/* A log folder with a signed checkpoint of size 0 and one segment holding
 * no record, only n_words repetitions of the 4 bytes word after its
 * header: junk that reads as a frame length at every fourth byte. */
static void
s_junk_log(const s_fix_t *f, char dir[64], const uint8_t word[4],
           size_t n_words) {
    char path[128];
    merkle_tree_t *empty = merkle_tree_new();
    checkpoint_t cp;
    char *note = NULL;
    size_t len = 0;
    FILE *fp;
    snprintf(dir, 64, "/tmp/rk-test-audit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", f->v.name);
    assert_non_null(empty);
    assert_int_equal(merkle_tree_root(empty, 0, cp.root), RK_OK);
    merkle_tree_destroy(&empty);
    assert_int_equal(checkpoint_sign(&cp, f->v.name, f->sk, &note, &len),
                     RK_OK);
    snprintf(path, sizeof path, "%s/checkpoints/%020d.note", dir, 0);
    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(fwrite(note, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    free(note);
    snprintf(path, sizeof path, "%s/log/%020d.seg", dir, 0);
    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(fwrite("RNRKLOG1\0\0\0\0\0\0\0\0", 1, 16, fp), 16);
    for (size_t i = 0; i < n_words; i++)
        assert_int_equal(fwrite(word, 1, 4, fp), 4);
    assert_int_equal(fclose(fp), 0);
}

static void
s_rm_log(const char *dir) {
    char path[128];
    snprintf(path, sizeof path, "%s/log/%020d.seg", dir, 0);
    unlink(path);
    snprintf(path, sizeof path, "%s/checkpoints/%020d.note", dir, 0);
    unlink(path);
    snprintf(path, sizeof path, "%s/log", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    rmdir(path);
    rmdir(dir);
}

typedef struct {
    int n;
    char file[64];
    int64_t offset, index;
    char reason[1024];
} s_probs_t;

static void
s_on_problem(void *arg, const audit_problem_t *p) {
    s_probs_t *ps = arg;
    if (ps->n++)
        return; /* the first is kept */
    snprintf(ps->file, sizeof ps->file, "%s", p->file ? p->file : "");
    ps->offset = p->offset;
    ps->index = p->index;
    snprintf(ps->reason, sizeof ps->reason, "%s", p->reason);
}

static int
s_verify_junk(const s_fix_t *f, const char *dir, audit_summary_t *sum,
              s_probs_t *ps) {
    audit_verify_config_t cfg;
    char err[256];
    memset(&cfg, 0, sizeof cfg);
    memset(ps, 0, sizeof *ps);
    cfg.dir = dir;
    cfg.relay = &f->v;
    cfg.coordinator = &f->v; /* no roster record to check */
    cfg.all = true;
    cfg.threads = 1;
    cfg.problem = s_on_problem;
    cfg.problem_arg = ps;
    return audit_verify(&cfg, sum, err, sizeof err);
}

/* Junk built to stall the search (a 64 KiB length at every fourth byte:
 * 1 GiB to hash for a complete search) is searched within the budget, and
 * the rest of the segment is reported as not checked: neither a torn tail
 * nor a pass. Counted in bytes hashed, not timed. */
static void
test_verify_scan_budget(void **state) {
    s_fix_t *f = *state;
    static const uint8_t word[4] = {0x00, 0x01, 0x00, 0x00};
    audit_summary_t sum;
    s_probs_t ps;
    char dir[64];
    uint64_t budget;
    s_junk_log(f, dir, word, 32768);
    assert_int_equal(s_verify_junk(f, dir, &sum, &ps), RK_ERR_MISMATCH);
    budget = RELAY_LOG_SCAN_BASE + RELAY_LOG_SCAN_PER_BYTE * sum.bytes;
    assert_int_equal(sum.bytes, 16 + 131072);
    assert_true(sum.scan_bytes <= budget);
    assert_true(sum.scan_bytes > budget - 65536); /* stopped at the limit */
    assert_int_equal(sum.tail_bytes, 0);
    assert_int_equal(sum.records, 0);
    assert_int_equal(sum.problems, 1);
    assert_int_equal(ps.n, 1);
    assert_string_equal(ps.file, "log/00000000000000000000.seg");
    assert_int_equal(ps.offset, 16);
    assert_int_equal(ps.index, 0);
    assert_non_null(strstr(ps.reason, "the search for a valid frame after it "
                                      "gave up at offset "));
    assert_non_null(strstr(ps.reason, "so the 131072 bytes from offset 16 to "
                                      "the end of the segment are not "
                                      "checked"));
    s_rm_log(dir);
}

/* The same kind of junk, short enough to search through: a torn tail as
 * before, with the search's work counted. */
static void
test_verify_scan_torn_tail(void **state) {
    s_fix_t *f = *state;
    static const uint8_t word[4] = {0x00, 0x00, 0x08, 0x00};
    audit_summary_t sum;
    s_probs_t ps;
    char dir[64];
    s_junk_log(f, dir, word, 1024);
    assert_int_equal(s_verify_junk(f, dir, &sum, &ps), RK_OK);
    assert_int_equal(ps.n, 0);
    assert_int_equal(sum.tail_bytes, 4096);
    assert_int_equal(sum.tail_offset, 16);
    assert_string_equal(sum.tail_file, "log/00000000000000000000.seg");
    assert_true(sum.scan_bytes > 0);
    assert_true(sum.scan_bytes < 4096 * 2048 / 4);
    s_rm_log(dir);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_proof_round_trip, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_proof_check_refuses, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_proof_without_extra, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_proof_parse_refuses),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_row),
        cmocka_unit_test(test_time_and_speed),
        cmocka_unit_test(test_filters),
        cmocka_unit_test_setup_teardown(test_verify_scan_budget, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_verify_scan_torn_tail, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
