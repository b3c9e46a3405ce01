/* Unit tests for relay/relay_log: round trips across reopen, rotation,
 * torn tails cut and earlier corruption refused, checkpoints that bind the
 * log, proofs, the fault hook (failed writes and the fsync gate) and a
 * read-only mode that never touches a byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "merkle.h"
#include "note.h"
#include "relay_log.h"
#include "rk_log.h"
#include "rk_util.h"

#define ORIGIN "renraku.example/relay.test"

static uint8_t g_pk[32], g_sk[64];

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
    const char *op; /* operation to fail, NULL: none */
    int pass;       /* matching calls let through first */
    int times;      /* failures to inject, -1: forever */
    int err;        /* errno to fail with */
    int fired;      /* failures injected */
    int calls;      /* every call seen */
} fault_t;

static int
s_fault(void *arg, const char *op) {
    fault_t *f = arg;
    f->calls++;
    if (!f->op || strcmp(f->op, op) != 0 || f->times == 0)
        return 0;
    if (f->pass > 0) {
        f->pass--;
        return 0;
    }
    if (f->times > 0)
        f->times--;
    f->fired++;
    errno = f->err;
    return -1;
}

static char *
s_tmpdir(void) {
    char *d = strdup("/tmp/rlog-test-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void
s_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            char sub[4096];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            s_rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void
s_seg(char *out, size_t cap, const char *dir, uint64_t first) {
    snprintf(out, cap, "%s/log/%020" PRIu64 ".seg", dir, first);
}

static void
s_cfg(relay_log_config_t *cfg, const char *dir, const uint8_t *sk,
      uint64_t seg_size, fault_t *f) {
    memset(cfg, 0, sizeof *cfg);
    cfg->dir = dir;
    cfg->origin = ORIGIN;
    cfg->secret_key = sk;
    cfg->public_key = sk ? NULL : g_pk;
    cfg->segment_size = seg_size;
    if (f) {
        cfg->fault = s_fault;
        cfg->fault_arg = f;
    }
}

static relay_log_t *
s_open(const char *dir, relay_log_report_t *rep) {
    relay_log_config_t cfg;
    relay_log_t *log = NULL;
    char err[512];
    int rc;
    s_cfg(&cfg, dir, g_sk, 0, NULL);
    rc = relay_log_open(&cfg, &log, rep, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", dir, rc, err);
    return log;
}

/* Opening must fail with want; err gets the reason. */
static void
s_open_refused(const char *dir, const uint8_t *sk, int want, char *err,
               size_t errlen) {
    relay_log_config_t cfg;
    relay_log_t *log = NULL;
    s_cfg(&cfg, dir, sk, 0, NULL);
    assert_int_equal(relay_log_open(&cfg, &log, NULL, err, errlen), want);
    assert_null(log);
}

/* Record i: a recognisable text and 0..250 bytes of filler. */
static size_t
s_rec(uint64_t i, uint8_t *buf) {
    size_t n = (size_t)snprintf((char *)buf, 64, "record %" PRIu64 "|", i);
    size_t pad = (size_t)((i * 37) % 251);
    memset(buf + n, (int)('a' + i % 26), pad);
    return n + pad;
}

static void
s_append_n(relay_log_t *log, uint64_t from, uint64_t n) {
    uint8_t buf[512];
    uint64_t i, idx;
    for (i = from; i < from + n; i++) {
        size_t len = s_rec(i, buf);
        assert_int_equal(relay_log_append(log, buf, len, &idx), 0);
        assert_int_equal(idx, i);
    }
}

static void
s_check_records(relay_log_t *log, uint64_t n) {
    uint8_t want[512];
    uint64_t i;
    for (i = 0; i < n; i++) {
        uint8_t *got = NULL;
        size_t len = 0, wl = s_rec(i, want);
        assert_int_equal(relay_log_read(log, i, &got, &len), 0);
        assert_int_equal(len, wl);
        assert_memory_equal(got, want, wl);
        free(got);
    }
}

static uint8_t *
s_slurp(const char *path, size_t *len) {
    uint8_t *d = NULL;
    assert_int_equal(rk_read_file(path, 1u << 30, &d, len), 0);
    return d;
}

static void
s_spit(const char *path, const uint8_t *d, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static off_t
s_fsize(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Offset of each record's frame in a single-segment file, found by
 * walking the framing independently of the module. */
static size_t
s_frames(const uint8_t *d, size_t len, size_t *offs, size_t max) {
    size_t off = 16, n = 0;
    while (off + 4 <= len && n < max) {
        uint32_t l = rk_get_be32(d + off);
        if (off + 8 + l > len)
            break;
        offs[n++] = off;
        off += 8 + l;
    }
    return n;
}

/* Every file under dir/log and dir/checkpoints, names and bytes. */
static char *
s_snapshot(const char *dir, size_t *out_len) {
    const char *subs[] = {"log", "checkpoints"};
    char *acc = NULL;
    size_t len = 0;
    for (size_t s = 0; s < 2; s++) {
        char path[4096];
        struct dirent **names = NULL;
        int n;
        snprintf(path, sizeof path, "%s/%s", dir, subs[s]);
        n = scandir(path, &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            char file[4400];
            uint8_t *d;
            size_t dl;
            snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
            if (names[i]->d_name[0] != '.') {
                d = s_slurp(file, &dl);
                acc = realloc(acc, len + strlen(file) + 1 + dl);
                assert_non_null(acc);
                memcpy(acc + len, file, strlen(file) + 1);
                len += strlen(file) + 1;
                memcpy(acc + len, d, dl);
                len += dl;
                free(d);
            }
            free(names[i]);
        }
        free(names);
    }
    *out_len = len;
    return acc;
}

static void
s_sha256_leaf(const uint8_t *rec, size_t len, uint8_t out[32]) {
    crypto_hash_sha256_state st;
    uint8_t zero = 0;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, rec, len);
    crypto_hash_sha256_final(&st, out);
}

static int
s_setup(void **state) {
    (void)state;
    assert_true(sodium_init() >= 0);
    rk_log_level = RK_LOG_WARN;
    crypto_sign_keypair(g_pk, g_sk);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static int
s_count_cb(void *arg, uint64_t index, const uint8_t *rec, size_t len) {
    uint64_t *next = arg;
    uint8_t want[512];
    size_t wl = s_rec(index, want);
    assert_int_equal(index, *next);
    assert_int_equal(len, wl);
    assert_memory_equal(rec, want, wl);
    (*next)++;
    return 0;
}

static void
test_roundtrip(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_report_t rep;
    relay_log_t *log = s_open(dir, &rep);
    uint8_t r1[32], r2[32], leaf[32], buf[512], *d;
    uint64_t next = 50;
    size_t len, rl;

    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.segments, 1);
    s_append_n(log, 0, 100);
    assert_int_equal(relay_log_size(log), 100);
    assert_int_equal(relay_log_durable(log), 0);
    /* Nothing is readable before it is durable. */
    assert_int_equal(relay_log_read(log, 0, &d, &len), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_durable(log), 100);
    assert_int_equal(relay_log_root(log, 100, r1), 0);
    s_check_records(log, 100);
    assert_int_equal(relay_log_foreach(log, 50, s_count_cb, &next), 0);
    assert_int_equal(next, 100);
    relay_log_close(&log);
    assert_null(log);
    relay_log_close(&log); /* twice is harmless */

    /* The file as an auditor reads it, without this module. */
    s_seg(seg, sizeof seg, dir, 0);
    d = s_slurp(seg, &len);
    assert_memory_equal(d, "RNRKLOG1\0\0\0\0\0\0\0\0", 16);
    rl = s_rec(0, buf);
    assert_int_equal(rk_get_be32(d + 16), rl);
    assert_memory_equal(d + 20, buf, rl);
    s_sha256_leaf(buf, rl, leaf);
    assert_memory_equal(d + 20 + rl, leaf, 4);
    free(d);

    log = s_open(dir, &rep);
    assert_int_equal(rep.records, 100);
    assert_int_equal(rep.bytes_cut, 0);
    assert_false(rep.checkpoint_found);
    assert_int_equal(relay_log_size(log), 100);
    assert_int_equal(relay_log_durable(log), 100);
    assert_int_equal(relay_log_root(log, 100, r2), 0);
    assert_memory_equal(r1, r2, 32);
    assert_int_equal(relay_log_leaf_hash(log, 0, r2), 0);
    assert_memory_equal(leaf, r2, 32);
    s_check_records(log, 100);
    /* Limits. */
    assert_int_equal(relay_log_append(log, buf, 0, NULL), RK_ERR_INVALID);
    d = calloc(1, RELAY_LOG_MAX_RECORD + 1);
    assert_non_null(d);
    assert_int_equal(relay_log_append(log, d, RELAY_LOG_MAX_RECORD + 1, NULL),
                     RK_ERR_TOO_LARGE);
    assert_int_equal(relay_log_append(log, d, RELAY_LOG_MAX_RECORD, NULL), 0);
    assert_int_equal(relay_log_sync(log), 0);
    free(d);
    assert_int_equal(relay_log_read(log, 100, &d, &len), 0);
    assert_int_equal(len, RELAY_LOG_MAX_RECORD);
    free(d);
    relay_log_close(&log);
    s_rm_rf(dir);
    free(dir);
}

static void
test_lock(void **state) {
    (void)state;
    char *dir = s_tmpdir(), err[256];
    relay_log_t *log = s_open(dir, NULL);
    s_open_refused(dir, g_sk, RK_ERR_EXISTS, err, sizeof err);
    assert_non_null(strstr(err, "another process"));
    relay_log_close(&log);
    log = s_open(dir, NULL);
    relay_log_close(&log);
    s_rm_rf(dir);
    free(dir);
}

static void
test_rotation(void **state) {
    (void)state;
    char *dir = s_tmpdir(), err[256], seg[4096];
    relay_log_config_t cfg;
    relay_log_report_t rep;
    relay_log_t *log = NULL;
    uint8_t r1[32], r2[32];
    struct dirent **names = NULL;
    int n, segs = 0;

    s_cfg(&cfg, dir, g_sk, 1024, NULL);
    assert_int_equal(relay_log_open(&cfg, &log, NULL, err, sizeof err), 0);
    for (uint64_t i = 0; i < 200; i += 10) {
        s_append_n(log, i, 10);
        assert_int_equal(relay_log_sync(log), 0);
    }
    assert_int_equal(relay_log_root(log, 200, r1), 0);
    relay_log_close(&log);

    snprintf(seg, sizeof seg, "%s/log", dir);
    n = scandir(seg, &names, NULL, alphasort);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        uint64_t first;
        if (sscanf(names[i]->d_name, "%20" SCNu64 ".seg", &first) == 1 &&
            strlen(names[i]->d_name) == 24) {
            uint8_t *d;
            size_t len;
            s_seg(seg, sizeof seg, dir, first);
            d = s_slurp(seg, &len);
            /* The header names the file's first record; a segment moves
             * on once it holds a sync's worth past the size. */
            assert_int_equal(rk_get_be64(d + 8), first);
            assert_int_equal(first % 10, 0);
            free(d);
            segs++;
        }
        free(names[i]);
    }
    free(names);
    assert_true(segs > 5);

    assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
    assert_int_equal(rep.segments, (uint64_t)segs);
    assert_int_equal(rep.records, 200);
    assert_int_equal(relay_log_root(log, 200, r2), 0);
    assert_memory_equal(r1, r2, 32);
    s_check_records(log, 200);
    s_append_n(log, 200, 30);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
    assert_int_equal(rep.records, 230);
    assert_true(rep.segments > (uint64_t)segs);
    s_check_records(log, 230);
    relay_log_close(&log);

    /* A crash while a segment was being created: a leftover temporary
     * file is removed, a partial header at the end is cut. */
    {
        char tmp[4300], next[4200];
        s_seg(next, sizeof next, dir, 230);
        snprintf(tmp, sizeof tmp, "%s.tmp", next);
        s_spit(tmp, (const uint8_t *)"RNRKLOG1", 8);
        s_spit(next, (const uint8_t *)"RNRKL", 5);
        assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
        assert_int_equal(rep.records, 230);
        assert_int_equal(rep.bytes_cut, 5);
        assert_int_not_equal(access(tmp, F_OK), 0);
        assert_int_not_equal(access(next, F_OK), 0);
        s_append_n(log, 230, 1);
        assert_int_equal(relay_log_sync(log), 0);
        relay_log_close(&log);
        assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
        assert_int_equal(rep.records, 231);
        assert_int_equal(rep.bytes_cut, 0);
        s_check_records(log, 231);
        relay_log_close(&log);
    }

    /* A missing middle segment is refused. */
    s_seg(seg, sizeof seg, dir, 20);
    assert_int_equal(unlink(seg), 0);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, "missing"));
    s_open_refused(dir, NULL, RK_ERR_MALFORMED, err, sizeof err);
    s_rm_rf(dir);
    free(dir);
}

static void
test_torn_tail(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_report_t rep;
    relay_log_t *log = s_open(dir, NULL);
    uint8_t *orig, *d, r4[32], r[32];
    size_t len, dl, offs[8];
    int cuts = 0;

    s_append_n(log, 0, 5);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_root(log, 4, r4), 0);
    relay_log_close(&log);
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    assert_int_equal(s_frames(orig, len, offs, 8), 5);

    /* Cut the file at every byte inside the last record. */
    for (size_t cut = offs[4] + 1; cut < len; cut++) {
        s_spit(seg, orig, cut);
        log = s_open(dir, &rep);
        assert_int_equal(rep.records, 4);
        assert_int_equal(rep.bytes_cut, cut - offs[4]);
        assert_true(rep.tail_cut);
        assert_int_equal(s_fsize(seg), (off_t)offs[4]);
        assert_int_equal(relay_log_root(log, 4, r), 0);
        assert_memory_equal(r, r4, 32);
        s_check_records(log, 4);
        relay_log_close(&log);
        cuts++;
    }
    assert_true(cuts > 100);

    /* A wrong check byte in the final record, a zero-filled tail, garbage
     * after the last record: all tails, all cut. */
    d = malloc(len + 4096);
    assert_non_null(d);
    memcpy(d, orig, len);
    d[len - 1] ^= 0x01;
    s_spit(seg, d, len);
    log = s_open(dir, &rep);
    assert_int_equal(rep.records, 4);
    assert_int_equal(rep.bytes_cut, len - offs[4]);
    relay_log_close(&log);

    memcpy(d, orig, len);
    memset(d + len, 0, 4096);
    s_spit(seg, d, len + 4096);
    log = s_open(dir, &rep);
    assert_int_equal(rep.records, 5);
    assert_int_equal(rep.bytes_cut, 4096);
    s_check_records(log, 5);
    relay_log_close(&log);

    randombytes_buf(d + len, 3000);
    d[len] = 0xff; /* an impossible length, whatever follows */
    dl = len + 3000;
    s_spit(seg, d, dl);
    log = s_open(dir, &rep);
    assert_int_equal(rep.records, 5);
    assert_int_equal(rep.bytes_cut, 3000);
    assert_int_equal(s_fsize(seg), (off_t)len);
    /* And the log goes on from there. */
    s_append_n(log, 5, 3);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    log = s_open(dir, &rep);
    assert_int_equal(rep.records, 8);
    assert_int_equal(rep.bytes_cut, 0);
    s_check_records(log, 8);
    relay_log_close(&log);

    free(d);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

static void
test_corrupt_middle(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], err[512], want[128];
    relay_log_t *log = s_open(dir, NULL);
    uint8_t *orig, *d;
    size_t len, offs[16];

    s_append_n(log, 0, 10);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    assert_int_equal(s_frames(orig, len, offs, 16), 10);
    d = malloc(len);
    assert_non_null(d);

    /* A flipped byte inside record 3. */
    memcpy(d, orig, len);
    d[offs[3] + 7] ^= 0x40;
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, "log/00000000000000000000.seg"));
    snprintf(want, sizeof want, "offset %zu: record 3:", offs[3]);
    assert_non_null(strstr(err, want));
    s_open_refused(dir, NULL, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, want));
    {
        size_t gl;
        uint8_t *got = s_slurp(seg, &gl); /* nothing was cut */
        assert_int_equal(gl, len);
        assert_memory_equal(got, d, len);
        free(got);
    }

    /* A flipped bit in record 3's length: the framing is lost, yet the
     * records after it are found, so it is not a tail. */
    memcpy(d, orig, len);
    d[offs[3] + 3] ^= 0x02;
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, want));

    /* A damaged header. */
    memcpy(d, orig, len);
    d[2] = 'X';
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, "magic"));
    memcpy(d, orig, len);
    d[15] = 9;
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, "offset 8"));

    s_spit(seg, orig, len);
    log = s_open(dir, NULL);
    s_check_records(log, 10);
    relay_log_close(&log);
    free(d);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

/* Junk after the last record made of plausible lengths (every fourth
 * byte offset reads as 32 KiB): searching it all for a valid frame would
 * hash 768 MiB, quadratic in the junk's size. The search gives up within
 * its budget and the log is refused, not cut: what it did not search may
 * hold records. */
static void
test_junk_tail_budget(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], err[512];
    relay_log_t *log = s_open(dir, NULL);
    size_t len, junk = 128 * 1024;
    uint8_t *orig, *d;

    s_append_n(log, 0, 5);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    d = malloc(len + junk);
    assert_non_null(d);
    memcpy(d, orig, len);
    for (size_t i = 0; i < junk; i += 4)
        memcpy(d + len + i, "\x00\x00\x80\x00", 4);
    s_spit(seg, d, len + junk);
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    assert_non_null(strstr(err, "too costly to search"));
    {
        size_t gl;
        uint8_t *got = s_slurp(seg, &gl); /* nothing was cut */
        assert_int_equal(gl, len + junk);
        free(got);
    }
    free(d);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

/* The frame check and search shared with renraku-audit: what each bad
 * frame is called, the first valid frame after junk found at its offset,
 * nothing found said as such, and a search past its budget stopped. */
static void
test_frame_search(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_t *log = s_open(dir, NULL);
    size_t len, junk = 64, off1, n;
    uint8_t *orig, *d, leaf[32];
    uint32_t rl;
    uint64_t budget, at;

    s_append_n(log, 0, 2);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    off1 = RELAY_LOG_HEADER_LEN + RELAY_LOG_FRAME_OVERHEAD +
           rk_get_be32(orig + RELAY_LOG_HEADER_LEN); /* the second frame */
    assert_null(
        relay_log_frame_check(orig, len, RELAY_LOG_HEADER_LEN, &rl, leaf));
    assert_int_equal(RELAY_LOG_HEADER_LEN + RELAY_LOG_FRAME_OVERHEAD + rl,
                     off1);
    assert_string_equal(relay_log_frame_check(orig, len, len - 2, &rl, leaf),
                        "a partial length field");
    assert_string_equal(relay_log_frame_check(orig, len - 1, off1, &rl, leaf),
                        "the record runs past the end of the segment");
    /* Junk, then the two frames: the first is found, after any offset
     * before it. */
    n = RELAY_LOG_HEADER_LEN + junk + (len - RELAY_LOG_HEADER_LEN);
    d = malloc(n);
    assert_non_null(d);
    memcpy(d, orig, RELAY_LOG_HEADER_LEN);
    for (size_t i = 0; i < junk; i += 4)
        memcpy(d + RELAY_LOG_HEADER_LEN + i, "\x00\x00\x00\x10", 4);
    memcpy(d + RELAY_LOG_HEADER_LEN + junk, orig + RELAY_LOG_HEADER_LEN,
           len - RELAY_LOG_HEADER_LEN);
    assert_string_equal(
        relay_log_frame_check(d, n, RELAY_LOG_HEADER_LEN, &rl, leaf),
        "its check bytes do not match the record (damaged or altered)");
    budget = 1u << 20;
    assert_int_equal(
        relay_log_find_frame(d, n, RELAY_LOG_HEADER_LEN, &budget, &at), 1);
    assert_int_equal(at, RELAY_LOG_HEADER_LEN + junk);
    assert_true(budget < 1u << 20); /* the junk's lengths were hashed */
    /* After the last frame: none. */
    budget = 1u << 20;
    assert_int_equal(relay_log_find_frame(d, n, n - 20, &budget, &at), 0);
    assert_int_equal(at, n);
    /* A budget below one candidate: stopped at it. */
    budget = 8;
    assert_int_equal(
        relay_log_find_frame(d, n, RELAY_LOG_HEADER_LEN, &budget, &at), -1);
    assert_int_equal(at, RELAY_LOG_HEADER_LEN + 4);
    assert_int_equal(budget, 8);
    free(d);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

/* The leaves cache: a restart takes the synced records' hashes from
 * DIR/log/leaves (same root, nothing hashed again), a changed record body
 * that the check bytes cannot see is found by the scrub, and a damaged
 * cache is only a slower start, never a wrong tree. */
static relay_log_t *
s_open_trusting(const char *dir, relay_log_report_t *rep) {
    relay_log_config_t cfg;
    relay_log_t *log = NULL;
    char err[512];
    s_cfg(&cfg, dir, g_sk, 0, NULL);
    cfg.trust_leaves = true;
    if (relay_log_open(&cfg, &log, rep, err, sizeof err) != 0)
        fail_msg("open %s: %s", dir, err);
    return log;
}

static void
test_leaves_cache(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], leaves[4096], err[512];
    relay_log_t *log = s_open(dir, NULL);
    relay_log_scrub_t *job;
    uint8_t root[32], root2[32], *orig, *d, *lv;
    size_t len, lvlen, offs[16];
    uint64_t checked = 0;
    char *note = NULL;
    size_t note_len = 0;

    s_append_n(log, 0, 10);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note, &note_len),
                     0);
    free(note);
    assert_int_equal(relay_log_root(log, 10, root), 0);
    relay_log_close(&log);
    snprintf(leaves, sizeof leaves, "%s/log/leaves", dir);
    lv = s_slurp(leaves, &lvlen);
    assert_int_equal(lvlen, 10 * 32); /* one hash per synced record */

    /* A restart reuses them all and gets the same root. */
    log = s_open_trusting(dir, NULL);
    assert_int_equal(relay_log_root(log, 10, root2), 0);
    assert_memory_equal(root, root2, 32);
    s_check_records(log, 10);
    job = relay_log_scrub_take(log);
    assert_non_null(job);
    assert_int_equal(relay_log_scrub_run(job, &checked, err, sizeof err), 0);
    assert_int_equal(checked, 10);
    relay_log_scrub_free(&job);
    relay_log_close(&log);

    /* A flipped byte in record 3's body: open trusts the cache, the
     * scrub names the record. */
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    assert_int_equal(s_frames(orig, len, offs, 16), 10);
    d = malloc(len);
    assert_non_null(d);
    memcpy(d, orig, len);
    d[offs[3] + 7] ^= 0x40;
    s_spit(seg, d, len);
    log = s_open_trusting(dir, NULL);
    job = relay_log_scrub_take(log);
    assert_non_null(job);
    assert_int_equal(relay_log_scrub_run(job, &checked, err, sizeof err),
                     RK_ERR_MISMATCH);
    assert_non_null(strstr(err, "record 3:"));
    assert_int_equal(checked, 3);
    relay_log_scrub_free(&job);
    relay_log_close(&log);
    /* Without the cache, open itself refuses it, as before. */
    s_open_refused(dir, g_sk, RK_ERR_MALFORMED, err, sizeof err);
    s_spit(seg, orig, len);

    /* A cache with a wrong hash whose first bytes still agree: the
     * checkpoint's root disagrees, open rescans without the cache. */
    memcpy(d, lv, lvlen);
    d[5 * 32 + 20] ^= 1;
    s_spit(leaves, d, lvlen);
    log = s_open_trusting(dir, NULL);
    assert_int_equal(relay_log_root(log, 10, root2), 0);
    assert_memory_equal(root, root2, 32);
    assert_null(relay_log_scrub_take(log));
    relay_log_close(&log);
    /* A cache of garbage: the check bytes disagree at once. */
    memset(d, 0xAB, lvlen);
    s_spit(leaves, d, lvlen);
    log = s_open_trusting(dir, NULL);
    assert_int_equal(relay_log_root(log, 10, root2), 0);
    assert_memory_equal(root, root2, 32);
    relay_log_close(&log);
    /* That open rewrote the cache from the records. */
    free(d);
    d = s_slurp(leaves, &len);
    assert_int_equal(len, lvlen);
    assert_memory_equal(d, lv, lvlen);
    /* A cache larger than the segments could need is not read at all
     * (not this log's; nor a way to make open allocate without bound). */
    {
        size_t big = 1u << 20;
        uint8_t *junk = calloc(1, big);
        assert_non_null(junk);
        s_spit(leaves, junk, big);
        free(junk);
        log = s_open_trusting(dir, NULL);
        assert_int_equal(relay_log_root(log, 10, root2), 0);
        assert_memory_equal(root, root2, 32);
        assert_null(relay_log_scrub_take(log));
        relay_log_close(&log);
    }

    free(d);
    free(lv);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

/* Records of one length, so two can change places in the file. */
static void
s_append_fixed(relay_log_t *log, uint64_t from, uint64_t n) {
    for (uint64_t i = from; i < from + n; i++) {
        char rec[48];
        snprintf(rec, sizeof rec, "fixed record %06u", (unsigned)(i % 1000000));
        assert_int_equal(
            relay_log_append(log, (const uint8_t *)rec, strlen(rec), NULL), 0);
    }
}

static void
test_checkpoint(void **state) {
    (void)state;
    char *dir = s_tmpdir(), path[4096], *note = NULL, *note2 = NULL;
    char *vkey = NULL;
    relay_log_report_t rep;
    relay_log_t *log = s_open(dir, NULL);
    note_verifier_t v;
    checkpoint_t cp, cp2;
    uint8_t root[32], *d;
    size_t len, len2, dl;
    const char *why = NULL;

    s_append_n(log, 0, 12);
    assert_int_equal(relay_log_latest_checkpoint(log, &note, &len, &cp),
                     RK_ERR_NOT_FOUND);
    assert_int_equal(relay_log_sync(log), 0);
    s_append_n(log, 12, 3); /* not durable: not in the checkpoint */
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note, &len), 0);

    assert_int_equal(note_vkey_format(ORIGIN, g_pk, &vkey), 0);
    assert_int_equal(note_vkey_parse(vkey, &v), 0);
    assert_int_equal(
        checkpoint_open((const uint8_t *)note, len, &v, ORIGIN, &cp, &why), 0);
    assert_int_equal(cp.size, 12);
    assert_int_equal(relay_log_root(log, 12, root), 0);
    assert_memory_equal(cp.root, root, 32);
    assert_int_equal(cp.n_ext, 0);
    snprintf(path, sizeof path, "%s/checkpoints/%020d.note", dir, 12);
    d = s_slurp(path, &dl);
    assert_int_equal(dl, len);
    assert_memory_equal(d, note, len);
    free(d);

    /* Nothing new is durable: the same note, no new signature. */
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note2, &len2), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(note2, note, len);
    free(note2);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note2, &len2), 0);
    assert_int_equal(
        checkpoint_open((const uint8_t *)note2, len2, &v, ORIGIN, &cp2, &why),
        0);
    assert_int_equal(cp2.size, 15);
    free(note2);
    assert_int_equal(relay_log_latest_checkpoint(log, &note2, &len2, &cp2), 0);
    assert_int_equal(cp2.size, 15);
    free(note2);
    relay_log_close(&log);

    log = s_open(dir, &rep);
    assert_true(rep.checkpoint_found);
    assert_int_equal(rep.checkpoint_size, 15);
    relay_log_close(&log);

    /* Another relay key does not sign this log's checkpoints. */
    {
        uint8_t pk2[32], sk2[64];
        char err[512];
        crypto_sign_keypair(pk2, sk2);
        s_open_refused(dir, sk2, RK_ERR_UNKNOWN_KEY, err, sizeof err);
        assert_non_null(strstr(err, "00000000000000000015.note"));
    }
    /* A checkpoint with a forged signature is refused. */
    snprintf(path, sizeof path, "%s/checkpoints/%020d.note", dir, 15);
    d = s_slurp(path, &dl);
    {
        char err[512];
        uint8_t *bad = malloc(dl);
        assert_non_null(bad);
        memcpy(bad, d, dl);
        bad[dl - 6] = bad[dl - 6] == 'A' ? 'B' : 'A';
        s_spit(path, bad, dl);
        s_open_refused(dir, g_sk, RK_ERR_BAD_SIGNATURE, err, sizeof err);
        s_spit(path, d, dl);
        free(bad);
    }
    free(d);
    free(note);
    free(vkey);
    s_rm_rf(dir);
    free(dir);
}

static void
test_checkpoint_binds(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], err[512], *note = NULL;
    relay_log_t *log = s_open(dir, NULL);
    relay_log_report_t rep;
    uint8_t *orig, *d, *snap_a, *snap_b;
    size_t len, offs[16], nl, sa, sb, fl;

    s_append_fixed(log, 0, 10);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note, &nl), 0);
    free(note);
    relay_log_close(&log);
    s_seg(seg, sizeof seg, dir, 0);
    orig = s_slurp(seg, &len);
    assert_int_equal(s_frames(orig, len, offs, 16), 10);
    fl = offs[1] - offs[0];
    d = malloc(len);
    assert_non_null(d);

    /* Swapped records 2 and 6: framing fine, root wrong. */
    memcpy(d, orig, len);
    memcpy(d + offs[2], orig + offs[6], fl);
    memcpy(d + offs[6], orig + offs[2], fl);
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MISMATCH, err, sizeof err);
    assert_non_null(strstr(err, "root"));
    s_open_refused(dir, NULL, RK_ERR_MISMATCH, err, sizeof err);

    /* Record 4 replaced by another well-framed record: root wrong. */
    memcpy(d, orig, len);
    d[offs[4] + 4 + 3] ^= 0x01;
    {
        uint8_t leaf[32];
        s_sha256_leaf(d + offs[4] + 4, fl - 8, leaf);
        memcpy(d + offs[4] + fl - 4, leaf, 4);
    }
    s_spit(seg, d, len);
    s_open_refused(dir, g_sk, RK_ERR_MISMATCH, err, sizeof err);
    assert_non_null(strstr(err, "root"));

    /* The last signed record gone at a frame boundary: shorter than the
     * checkpoint. */
    s_spit(seg, orig, offs[9]);
    s_open_refused(dir, g_sk, RK_ERR_MISMATCH, err, sizeof err);
    assert_non_null(strstr(err, "9 valid records"));

    /* Torn inside the last signed record: the cut would go below the
     * checkpoint, so nothing is cut and the open is refused. */
    s_spit(seg, orig, len - 3);
    snap_a = (uint8_t *)s_snapshot(dir, &sa);
    s_open_refused(dir, g_sk, RK_ERR_MISMATCH, err, sizeof err);
    snap_b = (uint8_t *)s_snapshot(dir, &sb);
    assert_int_equal(sa, sb);
    assert_memory_equal(snap_a, snap_b, sa);
    free(snap_a);
    free(snap_b);

    s_spit(seg, orig, len);
    log = s_open(dir, &rep);
    assert_int_equal(rep.checkpoint_size, 10);
    relay_log_close(&log);
    free(d);
    free(orig);
    s_rm_rf(dir);
    free(dir);
}

static void
test_proofs(void **state) {
    (void)state;
    char *dir = s_tmpdir();
    relay_log_t *log = s_open(dir, NULL);
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    uint8_t root[32], root1[32], leaf[32];
    size_t n;

    s_append_n(log, 0, 37);
    assert_int_equal(relay_log_sync(log), 0);
    s_append_n(log, 37, 2); /* not durable: no proofs for them */
    for (uint64_t size = 1; size <= 37; size++) {
        assert_int_equal(relay_log_root(log, size, root), 0);
        for (uint64_t i = 0; i < size; i++) {
            uint8_t rec[512];
            size_t rl = s_rec(i, rec);
            s_sha256_leaf(rec, rl, leaf);
            assert_int_equal(relay_log_inclusion_proof(log, i, size, proof, &n),
                             0);
            assert_int_equal(
                merkle_verify_inclusion(i, size, leaf, proof, n, root), 0);
        }
        for (uint64_t s1 = 1; s1 <= size; s1++) {
            assert_int_equal(relay_log_root(log, s1, root1), 0);
            assert_int_equal(
                relay_log_consistency_proof(log, s1, size, proof, &n), 0);
            assert_int_equal(
                merkle_verify_consistency(s1, size, root1, root, proof, n), 0);
        }
    }
    assert_int_equal(relay_log_inclusion_proof(log, 37, 38, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(relay_log_consistency_proof(log, 5, 38, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(relay_log_consistency_proof(log, 0, 5, proof, &n),
                     RK_ERR_INVALID);
    relay_log_close(&log);
    s_rm_rf(dir);
    free(dir);
}

/* Closes *log, opens dir again without faults, checks it holds exactly
 * records 0..n-1 with nothing cut, and removes dir. */
static void
s_reopen_check(relay_log_t **log, char *dir, uint64_t n) {
    char err[256];
    relay_log_config_t cfg;
    relay_log_report_t rep;
    relay_log_close(log);
    s_cfg(&cfg, dir, g_sk, 0, NULL);
    assert_int_equal(relay_log_open(&cfg, log, &rep, err, sizeof err), 0);
    assert_int_equal(rep.records, n);
    assert_int_equal(rep.bytes_cut, 0);
    s_check_records(*log, n);
    relay_log_close(log);
    s_rm_rf(dir);
    free(dir);
}

/* A failed write refuses the whole unsynced batch at its sync, as a
 * failed fdatasync does: the records are buffered and written by the
 * sync with one pwrite. */
/* A new log in dir (faults through f; a write buffer of write_buffer
 * bytes when not 0) with records 0..n-1 appended and synced; seg gets the
 * path of its first segment. */
static relay_log_t *
s_open_synced(const char *dir, fault_t *f, size_t write_buffer, uint64_t n,
              char *seg, size_t seg_cap) {
    relay_log_config_t cfg;
    relay_log_t *log = NULL;
    char err[256];
    s_cfg(&cfg, dir, g_sk, 0, f);
    if (write_buffer)
        cfg.write_buffer = write_buffer;
    assert_int_equal(relay_log_open(&cfg, &log, NULL, err, sizeof err), 0);
    s_seg(seg, seg_cap, dir, 0);
    s_append_n(log, 0, n);
    assert_int_equal(relay_log_sync(log), 0);
    return log;
}

static void
test_fault_write(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_t *log = NULL;
    fault_t f = {0};
    uint8_t r5[32], r[32];
    off_t before;
    struct rlimit old, lim;
    int calls;

    log = s_open_synced(dir, &f, 0, 5, seg, sizeof seg);
    assert_int_equal(relay_log_root(log, 5, r5), 0);
    before = s_fsize(seg);

    /* Appends are buffered: nothing reaches the file before the sync, and
     * the sync writes the batch with one write call. */
    calls = f.calls;
    s_append_n(log, 5, 3);
    assert_int_equal(s_fsize(seg), before);
    assert_int_equal(f.calls, calls);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(f.calls, calls + 2); /* "write", "fdatasync" */
    assert_true(s_fsize(seg) > before);
    relay_log_close(&log);
    s_rm_rf(dir);
    free(dir);
    dir = s_tmpdir();

    log = s_open_synced(dir, &f, 0, 5, seg, sizeof seg);
    before = s_fsize(seg);

    /* The disk is full: the batch of three is refused whole, the log is
     * back at its durable size and root, and nothing is left in the file. */
    s_append_n(log, 5, 3);
    assert_int_equal(relay_log_size(log), 8);
    f = (fault_t){.op = "write", .times = -1, .err = ENOSPC};
    assert_int_equal(relay_log_sync(log), RK_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(f.fired, 1);
    assert_int_equal(relay_log_size(log), 5);
    assert_int_equal(relay_log_durable(log), 5);
    assert_int_equal(s_fsize(seg), before);
    assert_int_equal(relay_log_root(log, 5, r), 0);
    assert_memory_equal(r, r5, 32);
    f.times = 0;

    /* A real short write: the OS writes 10 bytes, then refuses; the 10
     * bytes are cut. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 10;
    s_append_n(log, 5, 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(relay_log_sync(log), RK_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(s_fsize(seg), before);
    assert_int_equal(relay_log_size(log), 5);

    /* It works again, and nothing half-written is left to cut. */
    s_append_n(log, 5, 3);
    assert_int_equal(relay_log_sync(log), 0);
    s_reopen_check(&log, dir, 8);
}

/* A batch larger than the write buffer is written out before its sync;
 * when that write fails, the append says so, later appends are refused,
 * and the sync refuses the whole unsynced batch and cuts it. */
static void
test_fault_write_early(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_t *log = NULL;
    fault_t f = {0};
    uint8_t rec[512], r4[32], r[32];
    off_t before;
    size_t rl;

    log = s_open_synced(dir, &f, 600, 4, seg, sizeof seg);
    assert_int_equal(relay_log_root(log, 4, r4), 0);
    before = s_fsize(seg);

    /* Without a fault, records go out as the buffer fills. */
    s_append_n(log, 4, 8);
    assert_true(s_fsize(seg) > before);
    assert_int_equal(relay_log_durable(log), 4);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_durable(log), 12);
    s_reopen_check(&log, dir, 12);

    dir = s_tmpdir();
    f = (fault_t){0};
    log = s_open_synced(dir, &f, 600, 4, seg, sizeof seg);
    before = s_fsize(seg);

    /* The disk fills while a large batch is appended. */
    f = (fault_t){.op = "write", .times = -1, .err = ENOSPC};
    {
        uint64_t i = 4;
        int rc = RK_OK;
        for (; i < 40 && rc == RK_OK; i++) {
            rl = s_rec(i, rec);
            rc = relay_log_append(log, rec, rl, NULL);
        }
        assert_int_equal(rc, RK_ERR_IO);
        assert_int_equal(errno, ENOSPC);
        assert_true(i < 40);
    }
    assert_int_equal(f.fired, 1);
    /* Sticky until the sync: the next append is refused without a try. */
    rl = s_rec(99, rec);
    assert_int_equal(relay_log_append(log, rec, rl, NULL), RK_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(f.fired, 1);
    f.times = 0; /* the disk has room again: the batch is still refused */
    assert_int_equal(relay_log_sync(log), RK_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(relay_log_size(log), 4);
    assert_int_equal(s_fsize(seg), before);
    assert_int_equal(relay_log_root(log, 4, r), 0);
    assert_memory_equal(r, r4, 32);

    /* Later appends work. */
    s_append_n(log, 4, 6);
    assert_int_equal(relay_log_sync(log), 0);
    s_reopen_check(&log, dir, 10);
}

/* At close, records appended but never synced are written if they can
 * be; when that write fails the synced ones are all there at the next
 * open and nothing half-written is left. */
static void
test_close_write_fails(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096];
    relay_log_t *log = NULL;
    fault_t f = {0};

    log = s_open_synced(dir, &f, 0, 5, seg, sizeof seg);
    s_append_n(log, 5, 2);
    f = (fault_t){.op = "write", .times = -1, .err = ENOSPC};
    relay_log_close(&log);
    assert_int_equal(f.fired, 1);
    assert_null(log);
    s_reopen_check(&log, dir, 5);
}

static void
test_fault_sync(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], err[256];
    relay_log_config_t cfg;
    relay_log_report_t rep;
    relay_log_t *log = NULL;
    fault_t f = {0};
    uint8_t r5[32], r[32], rec[512], *got;
    off_t durable_bytes;
    size_t len, rl;

    log = s_open_synced(dir, &f, 0, 5, seg, sizeof seg);
    assert_int_equal(relay_log_root(log, 5, r5), 0);
    durable_bytes = s_fsize(seg);

    s_append_n(log, 5, 3);
    assert_int_equal(relay_log_size(log), 8);
    f = (fault_t){.op = "fdatasync", .times = 1, .err = EIO};
    assert_int_equal(relay_log_sync(log), RK_ERR_IO);
    assert_int_equal(f.fired, 1);
    assert_int_equal(relay_log_size(log), 5);
    assert_int_equal(relay_log_durable(log), 5);
    assert_int_equal(relay_log_root(log, relay_log_size(log), r), 0);
    assert_memory_equal(r, r5, 32);
    assert_int_equal(relay_log_root(log, 6, r), RK_ERR_INVALID);
    assert_int_equal(s_fsize(seg), durable_bytes);

    /* Later appends work; they take the dropped records' indexes. */
    rl = s_rec(5, rec);
    rec[0] = 'R';
    assert_int_equal(relay_log_append(log, rec, rl, NULL), 0);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_durable(log), 6);
    relay_log_close(&log);

    s_cfg(&cfg, dir, g_sk, 0, NULL);
    assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
    assert_int_equal(rep.records, 6);
    assert_int_equal(rep.bytes_cut, 0);
    s_check_records(log, 5);
    assert_int_equal(relay_log_read(log, 5, &got, &len), 0);
    assert_int_equal(len, rl);
    assert_memory_equal(got, rec, rl);
    free(got);
    relay_log_close(&log);
    s_rm_rf(dir);
    free(dir);
}

static void
test_read_only(void **state) {
    (void)state;
    char *dir = s_tmpdir(), seg[4096], err[512], *note = NULL, *snap1, *snap2;
    relay_log_config_t cfg;
    relay_log_report_t rep;
    relay_log_t *log = s_open(dir, NULL);
    uint8_t *d, r[32], r9[32];
    size_t len, nl, s1, s2, offs[16];

    s_append_n(log, 0, 9);
    assert_int_equal(relay_log_sync(log), 0);
    assert_int_equal(relay_log_checkpoint(log, rk_now_ms(), &note, &nl), 0);
    free(note);
    assert_int_equal(relay_log_root(log, 9, r9), 0);
    s_append_n(log, 9, 1);
    assert_int_equal(relay_log_sync(log), 0);
    relay_log_close(&log);
    /* A torn tail: half of record 9. */
    s_seg(seg, sizeof seg, dir, 0);
    d = s_slurp(seg, &len);
    assert_int_equal(s_frames(d, len, offs, 16), 10);
    s_spit(seg, d, offs[9] + (len - offs[9]) / 2);
    free(d);

    snap1 = s_snapshot(dir, &s1);
    s_cfg(&cfg, dir, NULL, 0, NULL);
    assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err), 0);
    assert_int_equal(rep.records, 9);
    assert_true(rep.bytes_cut > 0);
    assert_false(rep.tail_cut);
    assert_true(rep.checkpoint_found);
    assert_int_equal(rep.checkpoint_size, 9);
    assert_int_equal(relay_log_root(log, 9, r), 0);
    assert_memory_equal(r, r9, 32);
    s_check_records(log, 9);
    assert_int_equal(relay_log_append(log, (const uint8_t *)"x", 1, NULL),
                     RK_ERR_INVALID);
    assert_int_equal(relay_log_sync(log), RK_ERR_INVALID);
    assert_int_equal(relay_log_checkpoint(log, 0, &note, &nl), RK_ERR_INVALID);
    relay_log_close(&log);
    snap2 = s_snapshot(dir, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(snap1, snap2, s1);
    free(snap1);
    free(snap2);

    /* Read-only with another public key: the checkpoint is refused. */
    {
        uint8_t pk2[32], sk2[64];
        crypto_sign_keypair(pk2, sk2);
        cfg.public_key = pk2;
        assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err),
                         RK_ERR_UNKNOWN_KEY);
        cfg.public_key = g_pk;
    }
    /* Read-only on nothing creates nothing. */
    {
        char missing[4200];
        struct stat st;
        snprintf(missing, sizeof missing, "%s/none", dir);
        cfg.dir = missing;
        assert_int_equal(relay_log_open(&cfg, &log, &rep, err, sizeof err),
                         RK_ERR_NOT_FOUND);
        assert_int_not_equal(stat(missing, &st), 0);
    }
    s_rm_rf(dir);
    free(dir);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_junk_tail_budget),
        cmocka_unit_test(test_frame_search),
        cmocka_unit_test(test_leaves_cache),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_checkpoint_binds),
        cmocka_unit_test(test_proofs),
        cmocka_unit_test(test_fault_write),
        cmocka_unit_test(test_fault_write_early),
        cmocka_unit_test(test_close_write_fails),
        cmocka_unit_test(test_fault_sync),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
