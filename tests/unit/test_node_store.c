/* Unit tests for clients/node_store's batches (a burst of deliveries made
 * durable with one sync): every group's files in place after the commit
 * and no temporary file left; a group with a failed write or a failed
 * rename not in place (its record, the commit point, never), and the other
 * groups unharmed; a record never put in place when its envelope could
 * not be; one file written twice in a batch refused; temporary files
 * removed when a batch is freed without a commit; a temporary file left by
 * a crash not in the way; the batch reusable after a commit; a failing
 * syncfs or folder fsync (through -Wl,--wrap) putting nothing new in place
 * and taking nothing back that was there before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_store.h"

typedef struct {
    char dir[256];
    node_store_t *st;
} fx_t;

/* Linked with -Wl,--wrap=syncfs,--wrap=fsync: the commit's syncs fail on
 * demand, with EIO, as a failing disk makes them. */
int __real_syncfs(int fd);
int __real_fsync(int fd);
int __wrap_syncfs(int fd);
int __wrap_fsync(int fd);
static int s_syncfs_fails;
static int s_fsync_fails_at; /* the Nth fsync from now fails; 0: none */

int
__wrap_syncfs(int fd) {
    if (s_syncfs_fails) {
        errno = EIO;
        return -1;
    }
    return __real_syncfs(fd);
}

int
__wrap_fsync(int fd) {
    if (s_fsync_fails_at > 0 && --s_fsync_fails_at == 0) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static int
s_setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char tmpl[] = "/tmp/rk-node-store-XXXXXX", err[300];
    assert_non_null(fx);
    assert_non_null(mkdtemp(tmpl));
    snprintf(fx->dir, sizeof fx->dir, "%s/st", tmpl);
    assert_int_equal(node_store_open(fx->dir, &fx->st, err, sizeof err), RK_OK);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    fx_t *fx = *state;
    char cmd[400];
    node_store_close(&fx->st);
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(fx->dir) - 3),
             fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* Files in box whose name contains what. */
static int
s_count(const fx_t *fx, const char *box, const char *what) {
    char path[400];
    DIR *d;
    struct dirent *de;
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", fx->dir, box);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strstr(de->d_name, what))
            n++;
    closedir(d);
    return n;
}

static const char *s_names[] = {"00000000000000000000000000000001",
                                "00000000000000000000000000000002",
                                "00000000000000000000000000000003"};

static void
s_stage_group(fx_t *fx, node_store_batch_t *b, size_t g, const char *name) {
    json_t *rec = json_pack("{s:s}", "msg_id", name);
    uint8_t env[100];
    memset(env, (int)g + 1, sizeof env);
    assert_int_equal(node_store_batch_env(fx->st, b, g, NODE_STORE_INBOX, name,
                                          env, sizeof env),
                     RK_OK);
    assert_int_equal(
        node_store_batch_json(fx->st, b, g, NODE_STORE_INBOX, name, rec),
        RK_OK);
    json_decref(rec);
}

static void
test_commit_all(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    char **names = NULL;
    size_t n = 0;
    assert_non_null(b);
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    /* Nothing is in place before the commit. */
    for (size_t g = 0; g < 3; g++)
        assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 6);
    assert_int_equal(node_store_list(fx->st, NODE_STORE_INBOX, &names, &n),
                     RK_OK);
    assert_int_equal(n, 0); /* temporary files are not records */
    node_store_free_names(names, n);

    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    for (size_t g = 0; g < 3; g++) {
        uint8_t *env = NULL;
        size_t len = 0;
        json_t *rec;
        assert_false(node_store_batch_failed(b, g));
        assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
        assert_int_equal(node_store_get_env(fx->st, NODE_STORE_INBOX,
                                            s_names[g], &env, &len),
                         RK_OK);
        assert_int_equal(len, 100);
        assert_int_equal(env[0], (int)g + 1);
        free(env);
        rec = node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[g], NULL);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "msg_id")),
                            s_names[g]);
        json_decref(rec);
    }
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    assert_int_equal(node_store_list(fx->st, NODE_STORE_INBOX, &names, &n),
                     RK_OK);
    assert_int_equal(n, 3);
    node_store_free_names(names, n);

    /* Reusable: a second burst, and an empty commit. */
    s_stage_group(fx, b, 0, "00000000000000000000000000000004");
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX,
                               "00000000000000000000000000000004"));
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    /* An empty commit tells of no group, not of the burst before. */
    assert_true(node_store_batch_failed(b, 0));
    assert_null(node_store_batch_why(b, NULL));
    node_store_batch_free(&b);
    assert_null(b);
}

static void
test_failed_write(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    json_t *rec = json_object();
    uint8_t env[10] = {0};
    s_stage_group(fx, b, 0, s_names[0]);
    /* Group 1: its envelope is written, its record cannot be (a name the
     * store refuses): the group fails, its envelope is not put in place. */
    assert_int_equal(node_store_batch_env(fx->st, b, 1, NODE_STORE_INBOX,
                                          s_names[1], env, sizeof env),
                     RK_OK);
    assert_int_equal(
        node_store_batch_json(fx->st, b, 1, NODE_STORE_INBOX, "NOT/HEX", rec),
        RK_ERR_INVALID);
    /* A later write to a failed group is refused at once. */
    assert_int_equal(
        node_store_batch_json(fx->st, b, 1, NODE_STORE_INBOX, s_names[1], rec),
        RK_ERR_IO);
    s_stage_group(fx, b, 2, s_names[2]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_false(node_store_batch_failed(b, 0));
    assert_true(node_store_batch_failed(b, 1));
    assert_false(node_store_batch_failed(b, 2));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
    assert_int_equal(s_count(fx, "inbox", s_names[1]), 0);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    /* The next burst starts clean. */
    s_stage_group(fx, b, 1, s_names[1]);
    assert_false(node_store_batch_failed(b, 1));
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    json_decref(rec);
    node_store_batch_free(&b);
}

/* A non-empty folder where inbox/<name><ext> goes: renaming a file there
 * fails at the commit, even for root. */
static void
s_block(const fx_t *fx, const char *name, const char *ext) {
    char path[400];
    snprintf(path, sizeof path, "%s/inbox/%s%s", fx->dir, name, ext);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/inbox/%s%s/x", fx->dir, name, ext);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* Stages groups 0..2 with group 1 blocked at ext; commits. */
static node_store_batch_t *
s_commit_blocked(fx_t *fx, const char *ext) {
    node_store_batch_t *b = node_store_batch_new();
    s_block(fx, s_names[1], ext);
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_false(node_store_batch_failed(b, 0));
    assert_true(node_store_batch_failed(b, 1));
    assert_false(node_store_batch_failed(b, 2));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    return b;
}

static void
test_failed_rename(void **state) {
    fx_t *fx = *state;
    /* Group 1's record cannot be put in place: the group is not in the
     * inbox, whatever happened to its envelope; the others are. */
    node_store_batch_t *b = s_commit_blocked(fx, ".json");
    int err = 0;
    assert_null(
        node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[1], NULL));
    /* The commit says which step failed, for the log. */
    assert_non_null(node_store_batch_why(b, &err));
    assert_string_equal(node_store_batch_why(b, &err), "rename");
    assert_int_not_equal(err, 0);
    /* An empty commit after it: nothing failed, nothing in place. */
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_batch_failed(b, 0));
    node_store_batch_free(&b);
}

static void
test_failed_rename_of_envelope(void **state) {
    fx_t *fx = *state;
    /* Group 1's envelope cannot be put in place: its record (the commit
     * point, renamed only after the envelope is durable) must not be
     * either, or the node would take a redelivery for a duplicate and
     * never keep the envelope. */
    node_store_batch_t *b = s_commit_blocked(fx, ".env");
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    /* A group with nothing in the batch is not in place. */
    assert_true(node_store_batch_failed(b, 7));
    assert_true(node_store_batch_failed(b, 100000));
    node_store_batch_free(&b);
}

static void
test_same_file_twice(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    uint8_t env[10] = {1};
    /* The second write of one file in one batch is refused (and fails its
     * group); the first is not harmed. */
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_env(fx->st, b, 1, NODE_STORE_INBOX,
                                          s_names[0], env, sizeof env),
                     RK_ERR_EXISTS);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_false(node_store_batch_failed(b, 0));
    assert_true(node_store_batch_failed(b, 1));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    {
        uint8_t *got = NULL;
        size_t len = 0;
        assert_int_equal(node_store_get_env(fx->st, NODE_STORE_INBOX,
                                            s_names[0], &got, &len),
                         RK_OK);
        assert_int_equal(len, 100); /* group 0's, not the refused one */
        free(got);
    }
    node_store_batch_free(&b);
}

static void
test_syncfs_fails(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    int err = 0;
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    s_syncfs_fails = 1;
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    s_syncfs_fails = 0;
    /* Nothing is durable, so nothing is put in place. */
    for (size_t g = 0; g < 3; g++) {
        assert_true(node_store_batch_failed(b, g));
        assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    }
    assert_int_equal(s_count(fx, "inbox", s_names[0]), 0);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    assert_string_equal(node_store_batch_why(b, &err), "syncfs");
    assert_int_equal(err, EIO);
    node_store_batch_free(&b);
}

static void
test_folder_fsync_fails(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    int err = 0;
    /* Group 0's record is in place from an earlier burst. */
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);

    /* The folder's fsync after the envelopes fails: no record is put in
     * place (group 0's earlier one stays). */
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    s_fsync_fails_at = 1;
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_int_equal(s_fsync_fails_at, 0);
    assert_string_equal(node_store_batch_why(b, &err), "fsync of the folder");
    assert_int_equal(err, EIO);
    for (size_t g = 0; g < 3; g++)
        assert_true(node_store_batch_failed(b, g));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));

    /* The fsync after the records fails: the records just put in place
     * are taken back (a redelivery writes them again), not the one that
     * was there before this batch. */
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    s_fsync_fails_at = 2;
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_int_equal(s_fsync_fails_at, 0);
    for (size_t g = 0; g < 3; g++)
        assert_true(node_store_batch_failed(b, g));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);

    /* The disk is back: the same burst again goes through. */
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    for (size_t g = 0; g < 3; g++)
        assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    node_store_batch_free(&b);
}

static void
test_free_uncommitted(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 6);
    node_store_batch_free(&b);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    for (size_t g = 0; g < 3; g++)
        assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
}

static void
test_stale_temporary(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    char path[400];
    FILE *fp;
    /* What a crash of an earlier process with our pid left. */
    snprintf(path, sizeof path, "%s/inbox/%s.json.tmp.%ld", fx->dir, s_names[0],
             (long)getpid());
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("half a record", fp);
    fclose(fp);
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    {
        json_t *rec =
            node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[0], NULL);
        assert_non_null(rec); /* the new record, not the leftover */
        json_decref(rec);
    }
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    node_store_batch_free(&b);
}

static void
test_sweep_at_open(void **state) {
    fx_t *fx = *state;
    char path[400], err[300];
    const char *files[] = {
        "inbox/00000000000000000000000000000001.json.tmp.99999",
        "quarantine/0000000000000007-00aa.env.tmp.1", "inbox/keep.tmp.note"};
    assert_int_equal(node_store_swept(fx->st), 0);
    for (size_t i = 0; i < 3; i++) {
        FILE *fp;
        snprintf(path, sizeof path, "%s/%s", fx->dir, files[i]);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("left by a crash", fp);
        fclose(fp);
    }
    /* Reopened (the lock held again): what crashes left is removed, and
     * nothing else. */
    node_store_close(&fx->st);
    assert_int_equal(node_store_open(fx->dir, &fx->st, err, sizeof err), RK_OK);
    assert_int_equal(node_store_swept(fx->st), 2);
    assert_int_equal(s_count(fx, "inbox", ".json.tmp."), 0);
    assert_int_equal(s_count(fx, "quarantine", ".tmp."), 0);
    assert_int_equal(s_count(fx, "inbox", "keep.tmp.note"), 1);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename_of_envelope, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_same_file_twice, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_syncfs_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_folder_fsync_fails, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_at_open, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_free_uncommitted, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_stale_temporary, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
