/* Unit tests for clients/node_store's batches (a burst of deliveries made
 * durable with one append to the store's journal and one fdatasync):
 * every group's files in place after the commit and no temporary file
 * left; a group with a failed write or a failed rename not in place (its
 * record, the commit point, never), and the other groups unharmed; one
 * file written twice in a batch refused; temporary files removed when a
 * batch is freed without a commit; a temporary file left by a crash not in
 * the way; the batch reusable after a commit; a failing fdatasync of the
 * journal (through -Wl,--wrap) putting nothing in place; checkpoints (a
 * failing syncfs keeps the journal); a single write to the inbox
 * checkpointing first; and after a crash (a child process that commits
 * and exits without closing the store): files lost or cut short put back
 * from the journal, a torn append ignored, a cancelled group not put back,
 * a hostile journal refused by name; a forgotten hook marker not put
 * back. A box that cannot be listed (a file in its place, a read of the
 * folder failing through -Wl,--wrap=readdir) is RK_ERR_IO with its errno,
 * never an empty list. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node_store.h"

typedef struct {
    char dir[256];
    node_store_t *st;
    int named; /* batches stage under temporary names, not unnamed */
} fx_t;

/* Linked with -Wl,--wrap=syncfs,--wrap=fdatasync,--wrap=linkat: the
 * journal's and the checkpoint's syncs fail on demand, with EIO, as a
 * failing disk makes them; linking an unnamed file into place fails with
 * the errno asked for (a security module's EACCES, /proc gone). */
int __real_syncfs(int fd);
int __real_fdatasync(int fd);
int __real_linkat(int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, int flags);
int __wrap_syncfs(int fd);
int __wrap_fdatasync(int fd);
int __wrap_linkat(int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath, int flags);
static int s_syncfs_fails;
static int s_fdatasync_fails;
static int s_linkat_fails; /* an errno */

/* Linked with -Wl,--wrap=readdir: reading a folder fails on demand, with
 * EIO, as a damaged folder's blocks make it. */
struct dirent *__real_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d);
static int s_readdir_fails;

struct dirent *
__wrap_readdir(DIR *d) {
    if (s_readdir_fails) {
        errno = EIO;
        return NULL;
    }
    return __real_readdir(d);
}

int
__wrap_linkat(int olddirfd, const char *oldpath, int newdirfd,
              const char *newpath, int flags) {
    if (s_linkat_fails) {
        errno = s_linkat_fails;
        return -1;
    }
    return __real_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

int
__wrap_syncfs(int fd) {
    if (s_syncfs_fails) {
        errno = EIO;
        return -1;
    }
    return __real_syncfs(fd);
}

int
__wrap_fdatasync(int fd) {
    if (s_fdatasync_fails) {
        errno = EIO;
        return -1;
    }
    return __real_fdatasync(fd);
}

/* Opens the store at fx->dir, staging the way fx says. */
static void
s_open(fx_t *fx, node_store_t **st) {
    char err[300];
    assert_int_equal(node_store_open(fx->dir, st, err, sizeof err), RK_OK);
    if (fx->named)
        assert_int_equal(node_store_set_unnamed(*st, 0), 0);
    else if (!node_store_set_unnamed(*st, 1))
        skip(); /* no O_TMPFILE (or no /proc) here: the named tests run */
}

static int
s_setup_as(void **state, int named) {
    fx_t *fx = calloc(1, sizeof *fx);
    char tmpl[] = "/tmp/rk-node-store-XXXXXX";
    assert_non_null(fx);
    assert_non_null(mkdtemp(tmpl));
    snprintf(fx->dir, sizeof fx->dir, "%s/st", tmpl);
    fx->named = named;
    *state = fx;
    s_open(fx, &fx->st);
    return 0;
}

static int
s_setup(void **state) {
    return s_setup_as(state, 0);
}

/* As on a file system without O_TMPFILE. */
static int
s_setup_named(void **state) {
    return s_setup_as(state, 1);
}

static int
s_teardown(void **state) {
    fx_t *fx = *state;
    char cmd[400];
    s_syncfs_fails = s_fdatasync_fails = s_linkat_fails = s_readdir_fails = 0;
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

/* File descriptors this process has open. */
static int
s_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* d's own */
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
    int fds = s_open_fds();
    mode_t mask = umask(0277); /* the files are 0600 whatever the umask */
    assert_non_null(b);
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    umask(mask);
    /* Nothing is in place before the commit. */
    for (size_t g = 0; g < 3; g++)
        assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    /* Unnamed files are in no folder; temporary names are not records. */
    assert_int_equal(s_count(fx, "inbox", ".tmp."), fx->named ? 6 : 0);
    assert_int_equal(s_count(fx, "inbox", ""), fx->named ? 6 : 0);
    assert_int_equal(node_store_list(fx->st, NODE_STORE_INBOX, &names, &n),
                     RK_OK);
    assert_int_equal(n, 0);
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
        for (const char *ext = ".env"; ext;
             ext = *ext == '.' && ext[1] == 'e' ? ".json" : NULL) {
            char path[400];
            struct stat st;
            snprintf(path, sizeof path, "%s/inbox/%s%s", fx->dir, s_names[g],
                     ext);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
        }
    }
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    assert_int_equal(s_open_fds(), fds); /* every staged file let go */
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

static void s_expect_env(fx_t *fx, const char *name, size_t g);

static void
test_over_existing(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    char path[400];
    FILE *fp;
    /* An envelope alone, as a crash between the two writes of an older
     * version left it: the batch writes over it. */
    snprintf(path, sizeof path, "%s/inbox/%s.env", fx->dir, s_names[0]);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("an old envelope", fp);
    fclose(fp);
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_false(node_store_batch_failed(b, 0));
    s_expect_env(fx, s_names[0], 0);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    node_store_batch_free(&b);
}

static void
test_many_files(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    char names[150][33];
    struct rlimit rl;
    int open_max = 256; /* unnamed files a batch keeps open, at most */
    /* More files than a batch keeps open unnamed (300): the rest go by
     * temporary names, and every one is in place after the commit. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < 256)
        open_max = (int)(rl.rlim_cur / 4);
    for (size_t g = 0; g < 150; g++) {
        snprintf(names[g], sizeof names[g], "%032zx", g + 100);
        s_stage_group(fx, b, g, names[g]);
    }
    assert_int_equal(s_count(fx, "inbox", ".tmp."),
                     fx->named ? 300 : 300 - open_max);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    for (size_t g = 0; g < 150; g++) {
        assert_false(node_store_batch_failed(b, g));
        assert_true(node_store_has(fx->st, NODE_STORE_INBOX, names[g]));
        s_expect_env(fx, names[g], g);
    }
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    assert_int_equal(s_count(fx, "inbox", ""), 300);
    node_store_batch_free(&b);
}

static void
test_failed_link(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    int fds = s_open_fds(), err = 0;
    /* Linking fails (a security module says no): the burst is not in
     * place and says why; no file is left, none stays open. */
    s_linkat_fails = EACCES;
    for (size_t g = 0; g < 2; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_string_equal(node_store_batch_why(b, &err), "link");
    assert_int_equal(err, EACCES);
    for (size_t g = 0; g < 2; g++) {
        assert_true(node_store_batch_failed(b, g));
        assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    }
    assert_int_equal(s_count(fx, "inbox", ""), 0);
    assert_int_equal(s_open_fds(), fds);
    /* The next burst goes by temporary names, and is kept. */
    s_stage_group(fx, b, 0, s_names[2]);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 2);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
    s_expect_env(fx, s_names[2], 0);
    node_store_batch_free(&b);
}

static void
test_failed_stage_write(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    struct rlimit old, small;
    uint8_t env[100] = {0};
    int err = 0, fds = s_open_fds();
    /* A write that fails (here: past the file size limit, EFBIG) fails
     * its group when staged, and the commit says why. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 50;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(node_store_batch_env(fx->st, b, 0, NODE_STORE_INBOX,
                                          s_names[0], env, sizeof env),
                     RK_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    s_stage_group(fx, b, 1, s_names[1]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    assert_string_equal(node_store_batch_why(b, &err), "write");
    assert_int_equal(err, EFBIG);
    assert_true(node_store_batch_failed(b, 0));
    assert_false(node_store_batch_failed(b, 1));
    assert_int_equal(s_count(fx, "inbox", s_names[0]), 0);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_int_equal(s_open_fds(), fds);
    node_store_batch_free(&b);
}

static void
test_few_fds(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b;
    struct rlimit old, few;
    char names[20][33];
    /* Under a tight limit of open files (24 free), a burst of 40 files
     * still stages: it keeps no more than a quarter of the limit open. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    few = old;
    few.rlim_cur = (rlim_t)s_open_fds() + 24;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &few), 0);
    node_store_close(&fx->st);
    s_open(fx, &fx->st);
    b = node_store_batch_new();
    for (size_t g = 0; g < 20; g++) {
        snprintf(names[g], sizeof names[g], "%032zx", g + 500);
        s_stage_group(fx, b, g, names[g]);
    }
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    for (size_t g = 0; g < 20; g++)
        assert_true(node_store_has(fx->st, NODE_STORE_INBOX, names[g]));
    node_store_batch_free(&b);
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
    /* Nor is its envelope in the journal: the next open would put it
     * back. */
    {
        char path[400];
        uint8_t buf[8192];
        FILE *fp;
        size_t len;
        snprintf(path, sizeof path, "%s/journal", fx->dir);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        assert_true(len > 0);
        assert_non_null(memmem(buf, len, s_names[0], strlen(s_names[0])));
        assert_null(memmem(buf, len, s_names[1], strlen(s_names[1])));
    }
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
test_free_uncommitted(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    int fds = s_open_fds();
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), fx->named ? 6 : 0);
    node_store_batch_free(&b);
    assert_int_equal(s_count(fx, "inbox", ""), 0);
    assert_int_equal(s_open_fds(), fds);
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

static void
s_expect_env(fx_t *fx, const char *name, size_t g) {
    uint8_t *env = NULL;
    size_t len = 0;
    assert_int_equal(
        node_store_get_env(fx->st, NODE_STORE_INBOX, name, &env, &len), RK_OK);
    assert_int_equal(len, 100);
    assert_int_equal(env[0], (int)g + 1);
    assert_int_equal(env[99], (int)g + 1);
    free(env);
}

static off_t
s_journal_size(const fx_t *fx) {
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/journal", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void
test_journal_sync_fails(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    int err = 0;
    size_t before;
    /* Group 0's record is in place from an earlier burst. */
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    before = node_store_journal_bytes(fx->st);
    assert_true(before > 0);

    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g + 1, s_names[g]);
    s_fdatasync_fails = 1;
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_ERR_IO);
    s_fdatasync_fails = 0;
    /* Nothing is durable, so nothing new is put in place, and the journal
     * is cut back to its committed bursts. */
    assert_string_equal(node_store_batch_why(b, &err),
                        "fdatasync of the journal");
    assert_int_equal(err, EIO);
    for (size_t g = 1; g <= 3; g++)
        assert_true(node_store_batch_failed(b, g));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
    assert_int_equal(node_store_journal_bytes(fx->st), before);
    assert_int_equal(s_journal_size(fx), (off_t)before);
    /* The cut could not be synced either (the wrapped fdatasync failed
     * again): a checkpoint is due before anything else is written. */
    assert_true(node_store_checkpoint_pending(fx->st));

    /* The disk is back: the same burst again goes through, after a
     * checkpoint that empties the journal first. */
    for (size_t g = 1; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    for (size_t g = 0; g < 3; g++)
        assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[g]));
    assert_true(node_store_journal_bytes(fx->st) <
                2 * before); /* this burst only */
    node_store_batch_free(&b);
}

static void
test_checkpoint(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    const char *why = NULL;
    int err = 0;
    for (size_t g = 0; g < 3; g++)
        s_stage_group(fx, b, g, s_names[g]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_journal_bytes(fx->st) > 0);
    assert_int_equal(s_journal_size(fx),
                     (off_t)node_store_journal_bytes(fx->st));

    /* A failing syncfs: the journal is kept, every byte of it. */
    s_syncfs_fails = 1;
    assert_int_equal(node_store_checkpoint(fx->st, &why, &err), RK_ERR_IO);
    assert_string_equal(why, "syncfs");
    assert_int_equal(err, EIO);
    assert_true(node_store_journal_bytes(fx->st) > 0);
    assert_int_equal(s_journal_size(fx),
                     (off_t)node_store_journal_bytes(fx->st));
    /* A file lost since (as a failed writeback loses it) is written
     * again before the next syncfs. */
    {
        char path[400];
        snprintf(path, sizeof path, "%s/inbox/%s.env", fx->dir, s_names[1]);
        assert_int_equal(truncate(path, 0), 0);
    }
    s_syncfs_fails = 0;
    assert_int_equal(node_store_checkpoint(fx->st, &why, &err), RK_OK);
    assert_null(why);
    assert_int_equal(node_store_journal_bytes(fx->st), 0);
    assert_int_equal(s_journal_size(fx), 0);
    for (size_t g = 0; g < 3; g++)
        s_expect_env(fx, s_names[g], g);
    /* An empty journal: nothing to do. */
    assert_int_equal(node_store_checkpoint(fx->st, NULL, NULL), RK_OK);
    node_store_batch_free(&b);
}

static void
test_put_checkpoints_first(void **state) {
    fx_t *fx = *state;
    node_store_batch_t *b = node_store_batch_new();
    json_t *rec;
    s_stage_group(fx, b, 0, s_names[0]);
    assert_int_equal(node_store_batch_commit(fx->st, b), RK_OK);
    assert_true(node_store_journal_bytes(fx->st) > 0);
    rec = node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[0], NULL);
    assert_non_null(rec);
    json_object_set_new(rec, "read", json_true());
    /* The checkpoint cannot be made: the record is not written over (the
     * journal would put the old one back at the next open). */
    s_syncfs_fails = 1;
    assert_int_equal(
        node_store_put_json(fx->st, NODE_STORE_INBOX, s_names[0], rec),
        RK_ERR_IO);
    s_syncfs_fails = 0;
    /* A box the journal never holds is written at once. */
    assert_int_equal(
        node_store_put_json(fx->st, NODE_STORE_SENT, s_names[1], rec), RK_OK);
    assert_true(node_store_journal_bytes(fx->st) > 0);
    assert_int_equal(
        node_store_put_json(fx->st, NODE_STORE_INBOX, s_names[0], rec), RK_OK);
    assert_int_equal(node_store_journal_bytes(fx->st), 0);
    json_decref(rec);
    /* Reopened, the record read is the one written last. */
    node_store_close(&fx->st);
    {
        char err[300];
        assert_int_equal(node_store_open(fx->dir, &fx->st, err, sizeof err),
                         RK_OK);
    }
    rec = node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[0], NULL);
    assert_non_null(rec);
    assert_true(json_is_true(json_object_get(rec, "read")));
    json_decref(rec);
    node_store_batch_free(&b);
}

/* A crash: the store is closed here; a child opens it, runs body (which
 * returns nonzero on a failure) and exits without closing the store (no
 * checkpoint), which stays reachable through fx for valgrind. */
static void
s_crash(fx_t *fx, int (*body)(fx_t *fx, node_store_t *st, void *arg),
        void *arg) {
    pid_t pid;
    int status = 0;
    node_store_close(&fx->st);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[300];
        node_store_t *st = NULL;
        int bad = node_store_open(fx->dir, &st, err, sizeof err) != RK_OK;
        if (!bad && fx->named)
            node_store_set_unnamed(st, 0);
        fx->st = st;
        _exit(bad || body(fx, st, arg) ? 3 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct {
    const char *const *names;
    size_t n;
    int one_burst;
    const char *block;
} bursts_t;

/* s_crash's body: commits the bursts (groups named by names[], one burst
 * each unless one_burst), blocking inbox/<block>.json first when block is
 * not NULL. */
static int
s_bursts(fx_t *fx, node_store_t *st, void *arg) {
    const bursts_t *a = arg;
    node_store_batch_t *b = node_store_batch_new();
    int bad = !b;
    if (a->block)
        s_block(fx, a->block, ".json");
    for (size_t g = 0; !bad && g < a->n; g++) {
        json_t *rec = json_pack("{s:s}", "msg_id", a->names[g]);
        uint8_t env[100];
        memset(env, (int)g + 1, sizeof env);
        bad |= node_store_batch_env(st, b, g, NODE_STORE_INBOX, a->names[g],
                                    env, sizeof env) != RK_OK;
        bad |= node_store_batch_json(st, b, g, NODE_STORE_INBOX, a->names[g],
                                     rec) != RK_OK;
        json_decref(rec);
        if (!a->one_burst || g == a->n - 1)
            bad |= node_store_batch_commit(st, b) != RK_OK && !a->block;
    }
    node_store_batch_free(&b);
    return bad;
}

/* A crash after the bursts s_bursts commits: the journal holds them. */
static void
s_crash_after(fx_t *fx, const char *const *names, size_t n, int one_burst,
              const char *block) {
    bursts_t a = {names, n, one_burst, block};
    s_crash(fx, s_bursts, &a);
    assert_true(s_journal_size(fx) > 0);
}

static void
s_reopen(fx_t *fx) {
    s_open(fx, &fx->st);
}

static void
test_replay_after_crash(void **state) {
    fx_t *fx = *state;
    char path[400];
    s_crash_after(fx, s_names, 3, 1, NULL);
    /* What a crash of a file system without a journal can leave of files
     * renamed but never synced: one missing, one cut short. */
    snprintf(path, sizeof path, "%s/inbox/%s.json", fx->dir, s_names[0]);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/inbox/%s.env", fx->dir, s_names[1]);
    assert_int_equal(truncate(path, 10), 0);
    s_reopen(fx);
    /* Every file it held is written again, not only those it sees lost. */
    assert_int_equal(node_store_replayed(fx->st), 6);
    assert_int_equal(node_store_journal_ignored(fx->st), 0);
    for (size_t g = 0; g < 3; g++) {
        json_t *rec =
            node_store_get_json(fx->st, NODE_STORE_INBOX, s_names[g], NULL);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "msg_id")),
                            s_names[g]);
        json_decref(rec);
        s_expect_env(fx, s_names[g], g);
    }
    /* Put back, synced, and the journal emptied. */
    assert_int_equal(s_journal_size(fx), 0);
    assert_int_equal(node_store_journal_bytes(fx->st), 0);
    assert_int_equal(s_count(fx, "inbox", ".tmp."), 0);
}

static void
test_torn_append(void **state) {
    fx_t *fx = *state;
    char path[400];
    s_crash_after(fx, s_names, 2, 0, NULL); /* two bursts */
    /* The second burst's append was cut short by the crash: its commit
     * entry is not whole, and its files were never renamed (nor confirmed:
     * the relay delivers them again). */
    snprintf(path, sizeof path, "%s/journal", fx->dir);
    assert_int_equal(truncate(path, s_journal_size(fx) - 5), 0);
    for (const char *ext = ".json"; ext; ext = ext[1] == 'j' ? ".env" : NULL) {
        snprintf(path, sizeof path, "%s/inbox/%s%s", fx->dir, s_names[1], ext);
        assert_int_equal(unlink(path), 0);
    }
    snprintf(path, sizeof path, "%s/inbox/%s.json", fx->dir, s_names[0]);
    assert_int_equal(unlink(path), 0);
    s_reopen(fx);
    assert_int_equal(node_store_replayed(fx->st), 2); /* burst 1's files */
    assert_true(node_store_journal_ignored(fx->st) > 0);
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_int_equal(s_count(fx, "inbox", s_names[1]), 0);
    assert_int_equal(s_journal_size(fx), 0);
}

static void
test_cancelled_group(void **state) {
    fx_t *fx = *state;
    char path[400];
    /* Group 1's record could not be renamed into place: the burst reported
     * it failed (not confirmed); the journal must not put it back. */
    s_crash_after(fx, s_names, 3, 1, s_names[1]);
    snprintf(path, sizeof path, "%s/inbox/%s.json/x", fx->dir, s_names[1]);
    assert_int_equal(rmdir(path), 0);
    snprintf(path, sizeof path, "%s/inbox/%s.json", fx->dir, s_names[1]);
    assert_int_equal(rmdir(path), 0);
    s_reopen(fx);
    assert_int_equal(node_store_replayed(fx->st), 4); /* groups 0 and 2 */
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[0]));
    assert_false(node_store_has(fx->st, NODE_STORE_INBOX, s_names[1]));
    assert_true(node_store_has(fx->st, NODE_STORE_INBOX, s_names[2]));
}

/* s_crash's body: commits two hook markers and forgets the first (its
 * hook ran); the journal still holds both. */
static int
s_two_markers(fx_t *fx, node_store_t *st, void *arg) {
    node_store_batch_t *b = node_store_batch_new();
    json_t *m = json_object();
    int bad = !b || !m;
    (void)fx;
    (void)arg;
    for (size_t g = 0; !bad && g < 2; g++)
        bad |= node_store_batch_json(st, b, g, NODE_STORE_HOOKS, s_names[g],
                                     m) != RK_OK;
    bad = bad || node_store_batch_commit(st, b) != RK_OK ||
          node_store_forget(st, NODE_STORE_HOOKS, s_names[0]) != RK_OK;
    json_decref(m);
    node_store_batch_free(&b);
    return bad;
}

static void
test_forget_survives_crash(void **state) {
    fx_t *fx = *state;
    char path[400];
    s_crash(fx, s_two_markers, NULL);
    s_reopen(fx);
    /* The forgotten one is not put back; the other is. */
    snprintf(path, sizeof path, "%s/hooks/%s.json", fx->dir, s_names[0]);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/hooks/%s.json", fx->dir, s_names[1]);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(node_store_replayed(fx->st), 1);
    /* With an empty journal, forgetting needs no entry. */
    assert_int_equal(node_store_forget(fx->st, NODE_STORE_HOOKS, s_names[1]),
                     RK_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(node_store_journal_bytes(fx->st), 0);
    assert_int_equal(node_store_forget(fx->st, NODE_STORE_HOOKS, "../x"),
                     RK_ERR_INVALID);
}

/* One journal entry as the format says (node_store.c), checked. */
static size_t
s_entry(uint8_t *out, int type, int box, const char *name, const char *data) {
    size_t nlen = strlen(name), dlen = strlen(data);
    memcpy(out, "RKJ1", 4);
    out[4] = (uint8_t)type;
    out[5] = (uint8_t)box;
    out[6] = (uint8_t)nlen;
    out[7] = 0;
    out[8] = (uint8_t)dlen;
    out[9] = out[10] = out[11] = 0;
    memcpy(out + 12, name, nlen);
    memcpy(out + 12 + nlen, data, dlen);
    crypto_generichash(out + 12 + nlen + dlen, 16, out, 12 + nlen + dlen, NULL,
                       0);
    return 12 + nlen + dlen + 16;
}

static void
s_write_journal(const fx_t *fx, const uint8_t *buf, size_t len) {
    char path[400];
    FILE *fp;
    snprintf(path, sizeof path, "%s/journal", fx->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void
test_hostile_journal(void **state) {
    fx_t *fx = *state;
    uint8_t buf[1024];
    char err[300];
    size_t n = 0;
    node_store_close(&fx->st);
    /* Noise: not one entry checks; ignored, nothing put anywhere. */
    randombytes_buf(buf, 300);
    s_write_journal(fx, buf, 300);
    s_reopen(fx);
    assert_int_equal(node_store_replayed(fx->st), 0);
    assert_int_equal(node_store_journal_ignored(fx->st), 300);
    assert_int_equal(s_journal_size(fx), 0);
    node_store_close(&fx->st);

    /* A whole, checked entry naming a file outside its box: refused, by
     * name, and nothing written. */
    n = s_entry(buf, 'F', 2, "../state.json", "{\"evil\":1}");
    n += s_entry(buf + n, 'C', 0, "", "");
    s_write_journal(fx, buf, n);
    assert_int_equal(node_store_open(fx->dir, &fx->st, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_null(fx->st);
    assert_non_null(strstr(err, "journal"));
    assert_non_null(strstr(err, "../state.json"));
    /* A name no batch writes, inside the box: refused as well. */
    n = s_entry(buf, 'F', 2, "lock", "x");
    n += s_entry(buf + n, 'C', 0, "", "");
    s_write_journal(fx, buf, n);
    assert_int_equal(node_store_open(fx->dir, &fx->st, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "lock"));

    /* A box that does not exist: the entry does not check as one. */
    n = s_entry(buf, 'F', 9, "00000000000000000000000000000001.json", "{}");
    n += s_entry(buf + n, 'C', 0, "", "");
    s_write_journal(fx, buf, n);
    s_reopen(fx);
    assert_int_equal(node_store_replayed(fx->st), 0);
    assert_int_equal(node_store_journal_ignored(fx->st), n);

    /* Written twice in the journal: the later wins. */
    node_store_close(&fx->st);
    n = s_entry(buf, 'F', 2, "00000000000000000000000000000001.json",
                "{\"v\":1}");
    n += s_entry(buf + n, 'C', 0, "", "");
    n += s_entry(buf + n, 'F', 2, "00000000000000000000000000000001.json",
                 "{\"v\":2}");
    n += s_entry(buf + n, 'C', 0, "", "");
    s_write_journal(fx, buf, n);
    s_reopen(fx);
    assert_int_equal(node_store_replayed(fx->st), 2);
    {
        json_t *rec = node_store_get_json(
            fx->st, NODE_STORE_INBOX, "00000000000000000000000000000001", NULL);
        assert_non_null(rec);
        assert_int_equal(json_integer_value(json_object_get(rec, "v")), 2);
        json_decref(rec);
    }
}

/* A record file that is not a JSON object (cut short, or [] / "x" left
 * by hand) is unreadable, with RK_ERR_MALFORMED, not returned as if it
 * were a record; a missing one is RK_ERR_NOT_FOUND. */
static void
test_get_json_not_an_object(void **state) {
    fx_t *fx = *state;
    static const char *const bad[] = {"[]", "\"x\"", "3", "{\"msg_id\": \"tr"};
    char path[512];
    int rc = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f;
        snprintf(path, sizeof path,
                 "%s/inbox/00000000000000000000000000000001.json", fx->dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        assert_null(node_store_get_json(
            fx->st, NODE_STORE_INBOX, "00000000000000000000000000000001", &rc));
        assert_int_equal(rc, RK_ERR_MALFORMED);
    }
    assert_null(node_store_get_json(fx->st, NODE_STORE_INBOX,
                                    "00000000000000000000000000000002", &rc));
    assert_int_equal(rc, RK_ERR_NOT_FOUND);
}

/* A box that cannot be listed is RK_ERR_IO with errno saying why, which
 * renrakud reports (a listing's "FOLDER UNREADABLE"): a read of the folder
 * that fails is not the end of an empty folder, and a file in the folder's
 * place is ENOTDIR. */
static void
test_list_unreadable(void **state) {
    fx_t *fx = *state;
    char path[512];
    char **names = NULL;
    size_t n = 0;
    json_t *rec = json_pack("{s:s}", "msg_id", "x");
    FILE *f;
    assert_int_equal(node_store_put_json(fx->st, NODE_STORE_SENT,
                                         "00000000000000000000000000000001",
                                         rec),
                     RK_OK);
    json_decref(rec);
    s_readdir_fails = 1;
    errno = 0;
    assert_int_equal(node_store_list(fx->st, NODE_STORE_SENT, &names, &n),
                     RK_ERR_IO);
    assert_int_equal(errno, EIO);
    s_readdir_fails = 0;
    assert_int_equal(node_store_list(fx->st, NODE_STORE_SENT, &names, &n),
                     RK_OK);
    assert_int_equal(n, 1);
    node_store_free_names(names, n);

    snprintf(path, sizeof path, "%s/quarantine", fx->dir);
    assert_int_equal(rmdir(path), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    errno = 0;
    assert_int_equal(node_store_list(fx->st, NODE_STORE_QUARANTINE, &names, &n),
                     RK_ERR_IO);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
}

#define S_NAMED(f)                                                             \
    { #f " (temporary names)", f, s_setup_named, s_teardown, NULL }

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_link, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_stage_write, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_few_fds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_over_existing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_many_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_rename_of_envelope, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_same_file_twice, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_journal_sync_fails, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_put_checkpoints_first, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_crash, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_torn_append, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_group, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_journal, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_forget_survives_crash, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_at_open, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_free_uncommitted, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_get_json_not_an_object, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_list_unreadable, s_setup,
                                        s_teardown),
        /* Staged under temporary names, as where O_TMPFILE or /proc is
         * missing. */
        S_NAMED(test_commit_all),
        S_NAMED(test_failed_stage_write),
        S_NAMED(test_few_fds),
        S_NAMED(test_over_existing),
        S_NAMED(test_many_files),
        S_NAMED(test_failed_write),
        S_NAMED(test_failed_rename),
        S_NAMED(test_failed_rename_of_envelope),
        S_NAMED(test_free_uncommitted),
        S_NAMED(test_replay_after_crash),
        S_NAMED(test_cancelled_group),
        S_NAMED(test_stale_temporary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
