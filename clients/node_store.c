/* node_store: one file per record. A single write (node_store_put_*) goes
 * through rk_write_file (temporary file, fsync, rename, fsync of the
 * folder), so a crash leaves either the old or the new record, never half
 * of one. A batch (a burst of deliveries) is made durable by one append to
 * the store's journal and one fdatasync; its files, written unnamed
 * (O_TMPFILE), are then linked into place (or, where that does not work,
 * renamed from temporary names) without a sync of their own, and the
 * journal is emptied once a syncfs has made them durable (a checkpoint).
 * At open, the journal puts back whatever of its files a crash lost. */
#define _GNU_SOURCE /* syncfs, O_TMPFILE */
#include "node_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "rk_buf.h"
#include "rk_util.h"

#define S_MAX_JSON (4u * 1024u * 1024u)

/* Unnamed files a batch keeps open until its commit, at most (a burst of
 * 64 deliveries stages up to 192 files); past it, temporary names. */
#define S_MAX_UNNAMED 256

static const char *s_boxes[NODE_STORE_N_BOXES] = {"outbox", "sent", "inbox",
                                                  "quarantine", "hooks"};

struct node_store {
    char dir[3072];
    json_t *state;
    int lock_fd;  /* flock on DIR/lock: one daemon per folder */
    size_t swept; /* temporary files of dead writers removed at open */
    int j_fd;     /* DIR/journal */
    size_t j_len; /* its bytes: whole entries, appended since the checkpoint */
    /* The journal on disk may hold what it must not (a checkpoint's
     * emptying not synced, a failed append not cut back durably, a group
     * not put in place whose cancel failed): a checkpoint must empty it
     * before the next commit or single write to the inbox. */
    int j_unsure;
    /* A checkpoint's syncfs failed: some file the journal holds may not
     * have reached the disk, whatever a later syncfs says. */
    int j_rewrite;
    /* A batch's files are written unnamed (O_TMPFILE) and linked into
     * place (linkat of /proc/self/fd/N), instead of created under a
     * temporary name and renamed: half the directory operations, and a
     * crash leaves no temporary file. Probed at open; off again after a
     * link fails (other than for an existing name). */
    int unnamed;
    /* Unnamed files a batch keeps open until its commit, at most: a
     * quarter of the open-file limit, and no more than S_MAX_UNNAMED. */
    size_t unnamed_max;
    size_t replayed;    /* files the journal put back at open */
    uint64_t j_ignored; /* bytes at its end, of no whole burst, at open */
};

static int s_j_open(node_store_t *self, char *err, size_t errlen);
static int s_j_before_write(node_store_t *self, node_store_box_t box);

static int
s_mkdir(const char *path, char *err, size_t errlen) {
    struct stat st;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return RK_ERR_IO;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a folder", path);
        return RK_ERR_IO;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "%s: readable by others (mode %o); the node's state must "
                 "be 0700",
                 path, (unsigned)(st.st_mode & 0777));
        return RK_ERR_PERMISSION;
    }
    return RK_OK;
}

static int
s_path(const node_store_t *self, char *out, size_t cap, node_store_box_t box,
       const char *name, const char *ext) {
    /* Names are hex ids or counters we make; refuse anything else. */
    for (const char *p = name; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
              *p == '-'))
            return RK_ERR_INVALID;
    if (!*name || strlen(name) > 64)
        return RK_ERR_INVALID;
    if (snprintf(out, cap, "%s/%s/%s%s", self->dir, s_boxes[box], name, ext) >=
        (int)cap)
        return RK_ERR_INVALID;
    return RK_OK;
}

/* An unnamed file (O_TMPFILE, 0600) in folder dir, or -1 (errno set). */
static int
s_open_unnamed(const char *dir) {
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Gives the unnamed file fd the name path (which must not exist). */
static int
s_link_unnamed(int fd, const char *path) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* Whether unnamed files can be made and linked in dir's inbox: the file
 * system must know O_TMPFILE (ext4, xfs, btrfs, tmpfs do) and /proc be
 * mounted. The probe's name is a temporary one (swept at open). */
static int
s_unnamed_works(const char *dir) {
    char box[4096], name[4200], probe[4300];
    int fd, ok;
    snprintf(box, sizeof box, "%s/%s", dir, s_boxes[NODE_STORE_INBOX]);
    snprintf(name, sizeof name, "%s/probe", box);
    if (rk_tmp_name(probe, sizeof probe, name) != RK_OK)
        return 0;
    fd = s_open_unnamed(box);
    if (fd < 0)
        return 0;
    unlink(probe);
    ok = s_link_unnamed(fd, probe) == 0;
    close(fd);
    if (ok)
        unlink(probe);
    return ok;
}

/* Removes box's temporary files (<name>.tmp.<pid>): with the lock held,
 * no live process writes there, so they are what crashes left. */
static size_t
s_sweep(const char *dir, const char *box) {
    char path[4096];
    DIR *d;
    struct dirent *de;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, box);
    d = opendir(path);
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        const char *t = strstr(de->d_name, ".tmp.");
        if (!t || de->d_name[0] == '.' || !t[5] ||
            strspn(t + 5, "0123456789") != strlen(t + 5))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int
node_store_open(const char *dir, node_store_t **out, char *err, size_t errlen) {
    node_store_t *self;
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;

    if (strlen(dir) >= sizeof self->dir - 32) {
        snprintf(err, errlen, "%s: path too long", dir);
        return RK_ERR_INVALID;
    }
    /* Before anything is made in it, or taken for another daemon's. */
    if (rk_folder_kind(dir) == RK_FOLDER_RELAY) {
        snprintf(err, errlen,
                 "%s is a relay's data folder (its log/ holds the relay's "
                 "log), not a node's state folder: give --state a folder of "
                 "renrakud's own",
                 dir);
        return RK_ERR_INVALID;
    }
    rc = s_mkdir(dir, err, errlen);
    if (rc != RK_OK)
        return rc;
    for (size_t i = 0; i < NODE_STORE_N_BOXES; i++) {
        struct stat top, box;
        snprintf(path, sizeof path, "%s/%s", dir, s_boxes[i]);
        rc = s_mkdir(path, err, errlen);
        if (rc != RK_OK)
            return rc;
        /* One syncfs makes a burst durable (node_store_batch_commit):
         * it reaches one file system. */
        if (stat(dir, &top) != 0 || stat(path, &box) != 0 ||
            top.st_dev != box.st_dev) {
            snprintf(err, errlen,
                     "%s: on another file system than %s; the node's "
                     "folders must all be on one",
                     path, dir);
            return RK_ERR_INVALID;
        }
    }
    self = calloc(1, sizeof *self);
    if (!self)
        return RK_ERR_NOMEM;
    self->j_fd = -1;
    snprintf(self->dir, sizeof self->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/lock", dir);
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (self->lock_fd < 0 || flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", dir,
                 e == EWOULDBLOCK ? "another renrakud is running on this "
                                    "state folder"
                                  : strerror(e));
        if (self->lock_fd >= 0)
            close(self->lock_fd);
        free(self);
        return e == EWOULDBLOCK ? RK_ERR_EXISTS : RK_ERR_IO;
    }
    for (size_t i = 0; i < NODE_STORE_N_BOXES; i++)
        self->swept += s_sweep(dir, s_boxes[i]);
    self->unnamed = s_unnamed_works(dir);
    {
        struct rlimit rl;
        self->unnamed_max = S_MAX_UNNAMED;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
            rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < S_MAX_UNNAMED)
            self->unnamed_max = (size_t)(rl.rlim_cur / 4);
    }
    rc = s_j_open(self, err, errlen);
    if (rc != RK_OK) {
        if (self->j_fd >= 0)
            close(self->j_fd);
        close(self->lock_fd);
        free(self);
        return rc;
    }
    snprintf(path, sizeof path, "%s/state.json", dir);
    rc = rk_read_file(path, S_MAX_JSON, &data, &len);
    if (rc == RK_OK) {
        json_error_t jerr;
        self->state = json_loadb((const char *)data, len, 0, &jerr);
        free(data);
        if (!self->state || !json_is_object(self->state)) {
            snprintf(err, errlen, "%s: corrupt (line %d: %s)", path, jerr.line,
                     jerr.text);
            json_decref(self->state);
            close(self->j_fd);
            close(self->lock_fd);
            free(self);
            return RK_ERR_MALFORMED;
        }
    } else if (rc == RK_ERR_NOT_FOUND) {
        self->state = json_object();
    } else {
        snprintf(err, errlen, "%s: %s", path, rk_strerror(rc));
        close(self->j_fd);
        close(self->lock_fd);
        free(self);
        return rc;
    }
    *out = self;
    return RK_OK;
}

void
node_store_close(node_store_t **self_p) {
    if (!self_p || !*self_p)
        return;
    /* The journal's files made durable, the journal emptied; if that
     * fails it stays, and the next open puts its files back. */
    if (node_store_checkpoint(*self_p, NULL, NULL) != RK_OK) {
        /* kept: the next node_store_open replays it */
    }
    json_decref((*self_p)->state);
    close((*self_p)->j_fd);
    close((*self_p)->lock_fd);
    free(*self_p);
    *self_p = NULL;
}

size_t
node_store_swept(const node_store_t *self) {
    return self->swept;
}

const char *
node_store_dir(const node_store_t *self) {
    return self->dir;
}

int
node_store_put_json(node_store_t *self, node_store_box_t box, const char *name,
                    const json_t *json) {
    char path[4096], *text;
    int e, rc = s_path(self, path, sizeof path, box, name, ".json");
    if (rc == RK_OK)
        rc = s_j_before_write(self, box);
    if (rc != RK_OK)
        return rc;
    text = json_dumps(json, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text)
        return RK_ERR_NOMEM;
    rc = rk_write_file(path, text, strlen(text), 0600, 0);
    e = errno; /* rk_write_file's, for RK_ERR_IO */
    free(text);
    errno = e;
    return rc;
}

json_t *
node_store_get_json(node_store_t *self, node_store_box_t box, const char *name,
                    int *rc_out) {
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    int rc = s_path(self, path, sizeof path, box, name, ".json");
    if (rc == RK_OK)
        rc = rk_read_file(path, S_MAX_JSON, &data, &len);
    if (rc == RK_OK) {
        j = json_loadb((const char *)data, len, 0, NULL);
        if (!json_is_object(j)) { /* a record is an object, never [] */
            json_decref(j);
            j = NULL;
            rc = RK_ERR_MALFORMED;
        }
    }
    free(data);
    if (rc_out)
        *rc_out = rc;
    return j;
}

int
node_store_put_env(node_store_t *self, node_store_box_t box, const char *name,
                   const uint8_t *env, size_t len) {
    char path[4096];
    int rc = s_path(self, path, sizeof path, box, name, ".env");
    if (rc == RK_OK)
        rc = s_j_before_write(self, box);
    if (rc != RK_OK)
        return rc;
    return rk_write_file(path, env, len, 0600, 0);
}

int
node_store_get_env(node_store_t *self, node_store_box_t box, const char *name,
                   uint8_t **env, size_t *len) {
    char path[4096];
    int rc = s_path(self, path, sizeof path, box, name, ".env");
    if (rc != RK_OK)
        return rc;
    return rk_read_file(path, ENVELOPE_MAX_BYTES, env, len);
}

int
node_store_has(node_store_t *self, node_store_box_t box, const char *name) {
    char path[4096];
    struct stat st;
    return s_path(self, path, sizeof path, box, name, ".json") == RK_OK &&
           stat(path, &st) == 0;
}

int
node_store_remove(node_store_t *self, node_store_box_t box, const char *name) {
    char path[4096];
    int fd;
    if (s_j_before_write(self, box) != RK_OK)
        return RK_ERR_IO;
    if (s_path(self, path, sizeof path, box, name, ".json") == RK_OK)
        unlink(path);
    if (s_path(self, path, sizeof path, box, name, ".env") == RK_OK)
        unlink(path);
    snprintf(path, sizeof path, "%s/%s", self->dir, s_boxes[box]);
    fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return RK_ERR_IO;
    if (fsync(fd) != 0) {
        close(fd);
        return RK_ERR_IO;
    }
    close(fd);
    return RK_OK;
}

static int
s_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
node_store_free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int
node_store_list(node_store_t *self, node_store_box_t box, char ***names,
                size_t *n) {
    char path[4096];
    DIR *d;
    struct dirent *de;
    char **v = NULL;
    size_t count = 0, cap = 0;

    snprintf(path, sizeof path, "%s/%s", self->dir, s_boxes[box]);
    d = opendir(path);
    if (!d)
        return RK_ERR_IO; /* errno from opendir */
    /* readdir's NULL is the end, or an error when it sets errno. */
    while ((errno = 0, de = readdir(d))) {
        char *dot = strrchr(de->d_name, '.');
        size_t len;
        if (de->d_name[0] == '.' || !dot ||
            (strcmp(dot, ".json") != 0 && strcmp(dot, ".env") != 0))
            continue;
        len = (size_t)(dot - de->d_name);
        if (count == cap) {
            char **g = realloc(v, (cap ? cap * 2 : 32) * sizeof *g);
            if (!g) {
                closedir(d);
                node_store_free_names(v, count);
                return RK_ERR_NOMEM;
            }
            v = g;
            cap = cap ? cap * 2 : 32;
        }
        v[count] = strndup(de->d_name, len);
        if (!v[count]) {
            closedir(d);
            node_store_free_names(v, count);
            return RK_ERR_NOMEM;
        }
        count++;
    }
    if (errno) {
        int e = errno;
        closedir(d);
        node_store_free_names(v, count);
        errno = e;
        return RK_ERR_IO;
    }
    closedir(d);
    if (count)
        qsort(v, count, sizeof *v, s_cmp);
    /* .json and .env of one name appear once. */
    {
        size_t w = 0;
        for (size_t i = 0; i < count; i++) {
            if (w && strcmp(v[w - 1], v[i]) == 0) {
                free(v[i]);
                continue;
            }
            v[w++] = v[i];
        }
        count = w;
    }
    *names = v;
    *n = count;
    return RK_OK;
}

json_t *
node_store_state(node_store_t *self) {
    return self->state;
}

int
node_store_save_state(node_store_t *self) {
    char path[4096], *text;
    int rc;
    snprintf(path, sizeof path, "%s/state.json", self->dir);
    text = json_dumps(self->state, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text)
        return RK_ERR_NOMEM;
    rc = rk_write_file(path, text, strlen(text), 0600, 0);
    free(text);
    return rc;
}

/* ---- the journal ----
 *
 * DIR/journal holds, since the last checkpoint, every file a batch put in
 * place, whole. An entry is
 *
 *   "RKJ1" | type (1) | box (1) | name length (2, LE) | data length (4, LE)
 *   | name | data | BLAKE2b-128 of all that
 *
 * with type F (a file: box/name holds data), C (the batch's F entries
 * before it are committed: only then are they put in place) or X (box/name
 * was not put in place after all: forget its F entries before this). An
 * entry that does not check ends the journal: what follows it was never
 * committed (a crash in the middle of an append). */

#define S_J_MAGIC "RKJ1"
#define S_J_HEAD 12
#define S_J_MAC 16
#define S_J_MAX_NAME 80
#define S_J_MAX_BYTES (256u * 1024u * 1024u) /* checkpoints failing */

/* Appends one entry to j (a scratch buffer: its failed flag is cleared,
 * the caller checks the return). */
static int
s_j_put(rk_wbuf_t *j, int type, node_store_box_t box, const char *name,
        const void *data, size_t len) {
    size_t nlen = strlen(name), need = S_J_HEAD + nlen + len + S_J_MAC;
    uint8_t *e;
    if (nlen > S_J_MAX_NAME || len > S_MAX_JSON)
        return RK_ERR_INVALID;
    j->failed = 0;
    if (rk_wbuf_reserve(j, need) != RK_OK)
        return RK_ERR_NOMEM;
    e = j->p + j->len;
    memcpy(e, S_J_MAGIC, 4);
    e[4] = (uint8_t)type;
    e[5] = (uint8_t)box;
    e[6] = (uint8_t)nlen;
    e[7] = (uint8_t)(nlen >> 8);
    for (int i = 0; i < 4; i++)
        e[8 + i] = (uint8_t)(len >> (8 * i));
    memcpy(e + S_J_HEAD, name, nlen);
    if (len)
        memcpy(e + S_J_HEAD + nlen, data, len);
    crypto_generichash(e + S_J_HEAD + nlen + len, S_J_MAC, e,
                       S_J_HEAD + nlen + len, NULL, 0);
    j->len += need;
    return RK_OK;
}

/* Appends j at the journal's end and makes it durable. On failure the
 * journal is cut back to where it was; *why names the step. */
static int
s_j_append(node_store_t *self, const rk_wbuf_t *j, const char **why, int *err) {
    size_t done = 0;
    if (self->j_len + j->len > S_J_MAX_BYTES) {
        *why = "journal full (its checkpoints fail)";
        *err = ENOSPC;
        return RK_ERR_IO;
    }
    while (done < j->len) {
        ssize_t w = pwrite(self->j_fd, j->p + done, j->len - done,
                           (off_t)(self->j_len + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *why = "write of the journal";
            *err = w < 0 ? errno : ENOSPC;
            goto failed;
        }
        done += (size_t)w;
    }
    if (fdatasync(self->j_fd) != 0) {
        *why = "fdatasync of the journal";
        *err = errno;
        goto failed;
    }
    self->j_len += j->len;
    return RK_OK;
failed:
    /* The entries may be on disk whole, their C too, though the fdatasync
     * failed: cut them off, durably, or a crash would let the next open
     * put back what was never confirmed. Failing that, the journal must
     * be emptied (a checkpoint) before anything else is written. */
    if (ftruncate(self->j_fd, (off_t)self->j_len) != 0 ||
        fdatasync(self->j_fd) != 0)
        self->j_unsure = 1;
    return RK_ERR_IO;
}

/* Writes data to tmp (created, 0600), without a sync. */
static int
s_write_tmp(const char *tmp, const void *data, size_t len) {
    int ok, fd, e;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a crash of a process with our pid: not ours to keep. */
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    }
    if (fd < 0)
        return RK_ERR_IO;
    ok = fchmod(fd, 0600) == 0 && rk_write_all(fd, data, len) == RK_OK;
    e = errno;
    if (close(fd) != 0 || !ok) {
        if (ok)
            e = errno;
        unlink(tmp);
        errno = e;
        return RK_ERR_IO;
    }
    return RK_OK;
}

/* One committed F entry of a journal read back. */
typedef struct {
    node_store_box_t box;
    char name[S_J_MAX_NAME + 1];
    const uint8_t *data;
    size_t len;
    int dead; /* cancelled (X) */
} jfile_t;

static void
s_j_kill(jfile_t *f, size_t n, node_store_box_t box, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (f[i].box == box && strcmp(f[i].name, name) == 0)
            f[i].dead = 1;
}

/* The committed files of the journal in buf (borrowed by *out), and the
 * bytes of whole entries up to the last C or X (*valid). */
static int
s_j_parse(const uint8_t *buf, size_t len, jfile_t **out, size_t *n_out,
          size_t *valid) {
    jfile_t *f = NULL;
    size_t n = 0, cap = 0, committed = 0, off = 0;
    *valid = 0;
    while (len - off >= S_J_HEAD + S_J_MAC) {
        const uint8_t *e = buf + off;
        size_t nlen = (size_t)e[6] | (size_t)e[7] << 8, dlen = 0;
        uint8_t mac[S_J_MAC];
        int type = e[4];
        for (int i = 0; i < 4; i++)
            dlen |= (size_t)e[8 + i] << (8 * i);
        if (memcmp(e, S_J_MAGIC, 4) != 0 || e[5] >= NODE_STORE_N_BOXES ||
            nlen > S_J_MAX_NAME || dlen > S_MAX_JSON ||
            len - off - S_J_HEAD - S_J_MAC < nlen + dlen ||
            (type != 'F' && type != 'C' && type != 'X'))
            break;
        crypto_generichash(mac, S_J_MAC, e, S_J_HEAD + nlen + dlen, NULL, 0);
        if (sodium_memcmp(mac, e + S_J_HEAD + nlen + dlen, S_J_MAC) != 0)
            break;
        off += S_J_HEAD + nlen + dlen + S_J_MAC;
        if (type == 'C') {
            committed = n;
            *valid = off;
            continue;
        }
        if (n == cap) {
            jfile_t *g = realloc(f, (cap = cap ? cap * 2 : 64) * sizeof *g);
            if (!g) {
                free(f);
                return RK_ERR_NOMEM;
            }
            f = g;
        }
        f[n].box = (node_store_box_t)e[5];
        memcpy(f[n].name, e + S_J_HEAD, nlen);
        f[n].name[nlen] = '\0';
        f[n].data = e + S_J_HEAD + nlen;
        f[n].len = dlen;
        f[n].dead = 0;
        if (type == 'X') {
            s_j_kill(f, committed, f[n].box, f[n].name);
            *valid = off; /* not a file: nothing to keep of it */
            continue;
        }
        n++;
    }
    *out = f;
    *n_out = committed;
    return RK_OK;
}

/* A file name a batch writes: <id>.json or <id>.env, as s_path allows. */
static int
s_name_ok(const char *name) {
    const char *dot = strrchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : 0;
    return len && len <= 64 && strspn(name, "0123456789abcdef-") == len &&
           (strcmp(dot, ".json") == 0 || strcmp(dot, ".env") == 0);
}

/* Puts each file the journal holds in place (written again unless what is
 * there is the same, or always when force), in the journal's order: a
 * record after its envelope, a later version of a file after an earlier
 * one. */
static int
s_j_replay(node_store_t *self, const jfile_t *f, size_t n, int force,
           size_t *rewritten, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char path[4096], tmp[4200];
        uint8_t *have = NULL;
        size_t have_len = 0;
        int same;
        if (f[i].dead)
            continue;
        if (!s_name_ok(f[i].name) ||
            snprintf(path, sizeof path, "%s/%s/%s", self->dir,
                     s_boxes[f[i].box], f[i].name) >= (int)sizeof path) {
            snprintf(err, errlen, "%s/journal: a file name not ours: %s",
                     self->dir, f[i].name);
            return RK_ERR_MALFORMED;
        }
        same = !force &&
               rk_read_file(path, f[i].len, &have, &have_len) == RK_OK &&
               have_len == f[i].len &&
               (f[i].len == 0 || memcmp(have, f[i].data, f[i].len) == 0);
        free(have);
        if (same)
            continue;
        if (rk_tmp_name(tmp, sizeof tmp, path) != RK_OK ||
            s_write_tmp(tmp, f[i].data, f[i].len) != RK_OK ||
            rename(tmp, path) != 0) {
            int e = errno;
            snprintf(err, errlen, "%s: cannot put back from the journal: %s",
                     path, strerror(e));
            unlink(tmp);
            errno = e;
            return RK_ERR_IO;
        }
        (*rewritten)++;
    }
    return RK_OK;
}

/* Reads the journal's first len bytes (or all of it when len is
 * SIZE_MAX) and puts its files in place. */
static int
s_j_restore(node_store_t *self, size_t len, int force, size_t *rewritten,
            uint64_t *ignored, char *err, size_t errlen) {
    struct stat st;
    uint8_t *buf = NULL;
    jfile_t *f = NULL;
    size_t n = 0, valid = 0, done = 0;
    int rc;

    if (fstat(self->j_fd, &st) != 0) {
        snprintf(err, errlen, "%s/journal: %s", self->dir, strerror(errno));
        return RK_ERR_IO;
    }
    if (st.st_size > (off_t)S_J_MAX_BYTES + (off_t)S_J_MAX_BYTES / 4) {
        snprintf(err, errlen,
                 "%s/journal: %lld bytes, more than this store writes "
                 "(%u)",
                 self->dir, (long long)st.st_size, S_J_MAX_BYTES);
        return RK_ERR_MALFORMED;
    }
    if (len == SIZE_MAX)
        len = (size_t)st.st_size;
    if (len > (size_t)st.st_size) {
        snprintf(err, errlen,
                 "%s/journal: %lld bytes, less than this store appended "
                 "(%zu)",
                 self->dir, (long long)st.st_size, len);
        return RK_ERR_MALFORMED;
    }
    if (!len)
        return RK_OK;
    if (!(buf = malloc(len)))
        return RK_ERR_NOMEM;
    while (done < len) {
        ssize_t r = pread(self->j_fd, buf + done, len - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s/journal: %s", self->dir,
                     r < 0 ? strerror(errno) : "shorter than it was");
            free(buf);
            return RK_ERR_IO;
        }
        done += (size_t)r;
    }
    rc = s_j_parse(buf, len, &f, &n, &valid);
    if (rc == RK_OK)
        rc = s_j_replay(self, f, n, force, rewritten, err, errlen);
    if (rc == RK_OK && ignored)
        *ignored = len - valid;
    free(f);
    free(buf);
    return rc;
}

static int
s_j_open(node_store_t *self, char *err, size_t errlen) {
    char path[4096];
    const char *why = NULL;
    int rc, e = 0;
    snprintf(path, sizeof path, "%s/journal", self->dir);
    self->j_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (self->j_fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return RK_ERR_IO;
    }
    /* Every file written again, not only those that differ from what is
     * read back: a writeback error an earlier run never saw would leave
     * the page cache right and the disk wrong. */
    rc = s_j_restore(self, SIZE_MAX, 1, &self->replayed, &self->j_ignored, err,
                     errlen);
    if (rc != RK_OK)
        return rc;
    /* Whatever it held is in place: make that durable, and empty it. */
    self->j_unsure = 1;
    if (node_store_checkpoint(self, &why, &e) != RK_OK) {
        snprintf(err, errlen, "%s: %s: %s", path, why, strerror(e));
        return RK_ERR_IO;
    }
    return RK_OK;
}

int
node_store_checkpoint(node_store_t *self, const char **why, int *err) {
    const char *w = NULL;
    int e = 0, rc = RK_ERR_IO;
    if (!self->j_len && !self->j_unsure)
        return RK_OK;
    if (self->j_rewrite) {
        char msg[300];
        size_t n = 0;
        if (s_j_restore(self, self->j_len, 1, &n, NULL, msg, sizeof msg) !=
            RK_OK) {
            w = "writing the journal's files again";
            e = errno ? errno : EIO;
            goto out;
        }
    }
    /* One sync for every file put in place since the last checkpoint.
     * Through the lock file's descriptor, open as long as the store:
     * syncfs reports any writeback error since its last call on it. */
    if (syncfs(self->lock_fd) != 0) {
        w = "syncfs";
        e = errno;
        self->j_rewrite = 1;
        goto out;
    }
    self->j_rewrite = 0;
    if (ftruncate(self->j_fd, 0) != 0) {
        w = "emptying the journal";
        e = errno;
        goto out;
    }
    self->j_len = 0;
    self->j_unsure = 1;
    if (fdatasync(self->j_fd) != 0) {
        w = "fdatasync of the journal";
        e = errno;
        goto out;
    }
    self->j_unsure = 0;
    rc = RK_OK;
out:
    if (why)
        *why = w;
    if (err)
        *err = e;
    return rc;
}

/* A file the journal may hold is about to be written over or removed by
 * another way than a batch: the journal must no longer hold it, or the
 * next open would put the old file back. */
static int
s_j_before_write(node_store_t *self, node_store_box_t box) {
    if (box != NODE_STORE_INBOX && box != NODE_STORE_QUARANTINE)
        return RK_OK;
    return node_store_checkpoint(self, NULL, NULL);
}

int
node_store_forget(node_store_t *self, node_store_box_t box, const char *name) {
    char path[4096], file[S_J_MAX_NAME + 1];
    rk_wbuf_t j = {0};
    const char *why = NULL;
    int rc = s_path(self, path, sizeof path, box, name, ".json"), err = 0;
    if (rc != RK_OK)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return RK_ERR_IO;
    if (!self->j_len)
        return RK_OK; /* not in the journal: nothing can bring it back */
    snprintf(file, sizeof file, "%s.json", name);
    rc = s_j_put(&j, 'X', box, file, NULL, 0);
    if (rc == RK_OK)
        rc = s_j_append(self, &j, &why, &err);
    rk_wbuf_free(&j);
    return rc;
}

size_t
node_store_journal_bytes(const node_store_t *self) {
    return self->j_len;
}

int
node_store_checkpoint_pending(const node_store_t *self) {
    return self->j_len || self->j_unsure;
}

size_t
node_store_replayed(const node_store_t *self) {
    return self->replayed;
}

uint64_t
node_store_journal_ignored(const node_store_t *self) {
    return self->j_ignored;
}

int
node_store_set_unnamed(node_store_t *self, int on) {
    if (!on)
        self->unnamed = 0;
    else if (!self->unnamed)
        self->unnamed = s_unnamed_works(self->dir);
    return self->unnamed;
}

/* ---- batches: one fdatasync for a burst of files ---- */

typedef struct {
    char *tmp; /* its temporary name; NULL when unnamed (fd) */
    char *path;
    int fd;          /* the unnamed file, or -1 */
    int placed;      /* put in place by the commit */
    size_t off, len; /* its journal entry, in the batch's entries */
    size_t group;
    node_store_box_t box;
} staged_t;

#define S_GROUP_FAILED 1    /* a file of it was not written, or not put */
#define S_GROUP_STAGED 2    /* at least one file of it was written */
#define S_GROUP_JOURNALED 4 /* its files are in the journal, committed */

struct node_store_batch {
    staged_t *v;
    size_t n, cap;
    size_t unnamed;  /* of them, open unnamed files */
    int no_unnamed;  /* out of file descriptors: temporary names */
    uint8_t *groups; /* S_GROUP_* by group */
    size_t cap_groups;
    /* The staged files' journal entries, written (and hashed) once when
     * staged; kept between bursts, so it stops allocating. */
    rk_wbuf_t entries;
    int committed; /* groups[] tells the last commit's outcome */
    /* The first step of the last commit that failed, and its errno. */
    const char *why;
    int why_errno;
};

node_store_batch_t *
node_store_batch_new(void) {
    node_store_batch_t *b = calloc(1, sizeof *b);
    if (b && !(b->groups = calloc(64, 1))) {
        free(b);
        return NULL;
    }
    if (b)
        b->cap_groups = 64;
    return b;
}

/* Lets a staged file go: the unnamed one vanishes, the temporary name is
 * removed unless it was put in place. */
static void
s_release(staged_t *s, int in_place) {
    if (s->fd >= 0)
        close(s->fd);
    else if (!in_place)
        unlink(s->tmp);
    free(s->tmp);
    free(s->path);
}

static void
s_drop_staged(node_store_batch_t *b) {
    for (size_t i = 0; i < b->n; i++)
        s_release(&b->v[i], 0);
    b->n = 0;
    b->unnamed = 0;
    b->no_unnamed = 0;
    b->entries.len = 0;
}

void
node_store_batch_free(node_store_batch_t **b_p) {
    if (!b_p || !*b_p)
        return;
    s_drop_staged(*b_p);
    rk_wbuf_free(&(*b_p)->entries);
    free((*b_p)->v);
    free((*b_p)->groups);
    free(*b_p);
    *b_p = NULL;
}

/* Makes room for group; after a commit, forgets its outcome first. */
static int
s_group(node_store_batch_t *b, size_t group) {
    if (b->committed) {
        memset(b->groups, 0, b->cap_groups);
        b->committed = 0;
        b->why = NULL;
        b->why_errno = 0;
    }
    if (group >= b->cap_groups) {
        size_t cap = group + 64;
        uint8_t *g = realloc(b->groups, cap);
        if (!g)
            return RK_ERR_NOMEM; /* the group stays unstaged: not kept */
        memset(g + b->cap_groups, 0, cap - b->cap_groups);
        b->groups = g;
        b->cap_groups = cap;
    }
    return RK_OK;
}

/* Remembers the first step of the batch that failed, and why. */
static void
s_fail(node_store_batch_t *b, const char *why, int err) {
    if (!b->why) {
        b->why = why;
        b->why_errno = err;
    }
}

/* Writes data to an unnamed file (or under path's temporary name) and
 * remembers it, with its journal entry. */
static int
s_stage(node_store_t *self, node_store_batch_t *b, size_t group,
        node_store_box_t box, const char *name, const char *ext,
        const void *data, size_t len) {
    char path[4096], tmp[4200];
    int rc = s_group(b, group);
    staged_t *s;

    if (rc != RK_OK)
        return rc;
    if (b->groups[group] & S_GROUP_FAILED)
        return RK_ERR_IO; /* an earlier file of the group was not written */
    rc = s_path(self, path, sizeof path, box, name, ext);
    if (rc == RK_OK && len > S_MAX_JSON)
        rc = RK_ERR_TOO_LARGE;
    if (rc != RK_OK)
        goto failed;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->v[i].path, path) == 0) {
            rc = RK_ERR_EXISTS; /* already in this batch: one file, once */
            goto failed;
        }
    rc = RK_ERR_NOMEM;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        staged_t *g = realloc(b->v, cap * sizeof *g);
        if (!g)
            goto failed;
        b->v = g;
        b->cap = cap;
    }
    s = &b->v[b->n];
    s->tmp = NULL;
    s->fd = -1;
    s->placed = 0;
    s->path = strdup(path);
    s->off = b->entries.len;
    if (!s->path || s_j_put(&b->entries, 'F', box, strrchr(path, '/') + 1, data,
                            len) != RK_OK)
        goto undo;
    s->len = b->entries.len - s->off;
    /* Unnamed while the batch holds few open files; past that, or out of
     * file descriptors, under a temporary name. */
    if (self->unnamed && !b->no_unnamed && b->unnamed < self->unnamed_max) {
        *strrchr(path, '/') = '\0';
        s->fd = s_open_unnamed(path);
        if (s->fd < 0 && (errno == EMFILE || errno == ENFILE))
            b->no_unnamed = 1;
        if (s->fd >= 0 && rk_write_all(s->fd, data, len) != RK_OK) {
            s_fail(b, "write", errno);
            rc = RK_ERR_IO;
            goto undo;
        }
    }
    if (s->fd >= 0)
        b->unnamed++;
    else {
        if (rk_tmp_name(tmp, sizeof tmp, s->path) != RK_OK ||
            !(s->tmp = strdup(tmp)))
            goto undo;
        rc = s_write_tmp(tmp, data, len);
        if (rc != RK_OK) {
            s_fail(b, "write", errno);
            goto undo;
        }
    }
    s->group = group;
    s->box = box;
    b->n++;
    b->groups[group] |= S_GROUP_STAGED;
    return RK_OK;
undo:
    if (s->fd >= 0)
        close(s->fd);
    free(s->tmp);
    free(s->path);
    b->entries.len = s->off;
failed:
    b->groups[group] |= S_GROUP_FAILED;
    return rc;
}

int
node_store_batch_env(node_store_t *self, node_store_batch_t *b, size_t group,
                     node_store_box_t box, const char *name, const uint8_t *env,
                     size_t len) {
    return s_stage(self, b, group, box, name, ".env", env, len);
}

int
node_store_batch_json(node_store_t *self, node_store_batch_t *b, size_t group,
                      node_store_box_t box, const char *name,
                      const json_t *json) {
    char *text = json_dumps(json, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    int rc;
    if (!text) {
        if (s_group(b, group) == RK_OK)
            b->groups[group] |= S_GROUP_FAILED;
        return RK_ERR_NOMEM;
    }
    rc = s_stage(self, b, group, box, name, ".json", text, strlen(text));
    free(text);
    return rc;
}

/* Puts a staged file in place, over a file of that name if there is one
 * (an envelope a crash left without its record): 0, or -1 with errno set
 * and *step the step that failed. */
static int
s_put_in_place(staged_t *s, const char **step) {
    char tmp[4200];
    int e;
    *step = "rename";
    if (s->fd < 0)
        return rename(s->tmp, s->path);
    *step = "link";
    if (s_link_unnamed(s->fd, s->path) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    /* linkat does not replace: link under a temporary name, rename. */
    if (rk_tmp_name(tmp, sizeof tmp, s->path) != RK_OK) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    if (s_link_unnamed(s->fd, tmp) != 0)
        return -1;
    *step = "rename";
    if (rename(tmp, s->path) == 0)
        return 0;
    e = errno;
    unlink(tmp);
    errno = e;
    return -1;
}

/* Leaves in the batch's entries only those of the groups not failed (in
 * the order staged), then C; nothing when every group failed. */
static int
s_j_batch(node_store_batch_t *b) {
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        const staged_t *s = &b->v[i];
        if (b->groups[s->group] & S_GROUP_FAILED)
            continue;
        if (w != s->off)
            memmove(b->entries.p + w, b->entries.p + s->off, s->len);
        w += s->len;
    }
    b->entries.len = w;
    return w ? s_j_put(&b->entries, 'C', NODE_STORE_OUTBOX, "", NULL, 0)
             : RK_OK;
}

int
node_store_batch_commit(node_store_t *self, node_store_batch_t *b) {
    rk_wbuf_t *j = &b->entries;
    int any_failed = 0, cancel = 0, journaled = 0;

    if (b->committed) {
        /* Nothing written since the last commit: no group is in place. */
        memset(b->groups, 0, b->cap_groups);
        b->why = NULL;
        b->why_errno = 0;
        return RK_OK;
    }
    /* b->why may tell of a file that could not be staged. */
    if (b->n) {
        const char *why = NULL;
        int err = 0;
        /* Durable: one append to the journal and one fdatasync for every
         * file of the burst; after a failed append whose cut-back is not
         * durable, only once a checkpoint has emptied the journal. */
        if (self->j_unsure && node_store_checkpoint(self, &why, &err) != RK_OK)
            s_fail(b, why, err);
        else if (s_j_batch(b) != RK_OK)
            s_fail(b, "journal entry", ENOMEM);
        else if (j->len && s_j_append(self, j, &why, &err) != RK_OK)
            s_fail(b, why, err);
        else
            journaled = 1;
        /* In place, in the order they were written: a group's last file
         * after its others, so a reader never sees a record without its
         * envelope, and the first group's record without waiting for the
         * other groups' links. The journal holds them until a checkpoint
         * syncs them. */
        for (size_t i = 0; i < b->n; i++) {
            staged_t *s = &b->v[i];
            uint8_t *g = &b->groups[s->group];
            const char *step = NULL;
            if (journaled && !(*g & S_GROUP_FAILED))
                *g |= S_GROUP_JOURNALED;
            if (journaled && !(*g & S_GROUP_FAILED) &&
                s_put_in_place(s, &step) == 0) {
                s->placed = 1;
                continue;
            }
            if (journaled && !(*g & S_GROUP_FAILED)) {
                s_fail(b, step, errno);
                cancel = 1;
                /* Linking fails for more than this file (/proc gone, a
                 * security module): the next bursts use temporary names. */
                if (s->fd >= 0 && strcmp(step, "link") == 0)
                    self->unnamed = 0;
            }
            *g |= S_GROUP_FAILED;
        }
        /* A group the journal holds but that is not in place: the journal
         * says so (X), or the next open would put it in place, and a
         * redelivery would then be taken for a duplicate and never acted
         * on. */
        if (cancel) {
            j->len = 0;
            for (size_t i = 0; i < b->n; i++) {
                staged_t *s = &b->v[i];
                if ((b->groups[s->group] &
                     (S_GROUP_FAILED | S_GROUP_JOURNALED)) ==
                        (S_GROUP_FAILED | S_GROUP_JOURNALED) &&
                    s_j_put(j, 'X', s->box, strrchr(s->path, '/') + 1, NULL,
                            0) != RK_OK)
                    s_fail(b, "journal entry", ENOMEM);
            }
            if (s_j_append(self, j, &why, &err) != RK_OK) {
                /* Told before the rename: the worse news. Until a
                 * checkpoint empties the journal, a crash would let the
                 * next open put those groups in place. */
                b->why = why;
                b->why_errno = err;
                self->j_unsure = 1;
            }
        }
    }
    for (size_t i = 0; i < b->n; i++)
        s_release(&b->v[i], b->v[i].placed);
    b->n = 0;
    b->unnamed = 0;
    b->no_unnamed = 0;
    j->len = 0;
    b->committed = 1;
    for (size_t g = 0; g < b->cap_groups; g++)
        any_failed |= (b->groups[g] & S_GROUP_FAILED) != 0;
    return any_failed ? RK_ERR_IO : RK_OK;
}

const char *
node_store_batch_why(const node_store_batch_t *b, int *err) {
    if (err)
        *err = b->why_errno;
    return b->why;
}

int
node_store_batch_failed(const node_store_batch_t *b, size_t group) {
    return group >= b->cap_groups ||
           (b->groups[group] & (S_GROUP_FAILED | S_GROUP_STAGED)) !=
               S_GROUP_STAGED;
}
