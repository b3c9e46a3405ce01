/* node_store: one file per record, written with rk_write_file (temporary
 * file, fsync, rename, fsync of the folder), so a crash leaves either the
 * old or the new record, never half of one. A batch writes many the same
 * way with one syncfs for all their data and one fsync per folder. */
#define _GNU_SOURCE /* syncfs */
#include "node_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "rk_util.h"

#define S_MAX_JSON (4u * 1024u * 1024u)

static const char *s_boxes[] = {"outbox", "sent", "inbox", "quarantine"};

struct node_store {
    char dir[3072];
    json_t *state;
    int lock_fd;  /* flock on DIR/lock: one daemon per folder */
    size_t swept; /* temporary files of dead writers removed at open */
};

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
    rc = s_mkdir(dir, err, errlen);
    if (rc != RK_OK)
        return rc;
    for (size_t i = 0; i < 4; i++) {
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
    for (size_t i = 0; i < 4; i++)
        self->swept += s_sweep(dir, s_boxes[i]);
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
            close(self->lock_fd);
            free(self);
            return RK_ERR_MALFORMED;
        }
    } else if (rc == RK_ERR_NOT_FOUND) {
        self->state = json_object();
    } else {
        snprintf(err, errlen, "%s: %s", path, rk_strerror(rc));
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
    json_decref((*self_p)->state);
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
    int rc = s_path(self, path, sizeof path, box, name, ".json");
    if (rc != RK_OK)
        return rc;
    text = json_dumps(json, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text)
        return RK_ERR_NOMEM;
    rc = rk_write_file(path, text, strlen(text), 0600, 0);
    free(text);
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
        if (!j)
            rc = RK_ERR_MALFORMED;
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
        return RK_ERR_IO;
    while ((de = readdir(d))) {
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

/* ---- batches: one sync for a burst of files ---- */

typedef struct {
    char *tmp, *path;
    size_t group;
    node_store_box_t box;
    int last;    /* the group's last file so far: its commit point */
    int existed; /* path was there before: never taken back */
} staged_t;

#define S_GROUP_FAILED 1 /* a file of it was not written, or not put */
#define S_GROUP_STAGED 2 /* at least one file of it was written */

struct node_store_batch {
    staged_t *v;
    size_t n, cap;
    uint8_t *groups; /* S_GROUP_* by group */
    size_t cap_groups;
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

static void
s_drop_staged(node_store_batch_t *b) {
    for (size_t i = 0; i < b->n; i++) {
        unlink(b->v[i].tmp);
        free(b->v[i].tmp);
        free(b->v[i].path);
    }
    b->n = 0;
}

void
node_store_batch_free(node_store_batch_t **b_p) {
    if (!b_p || !*b_p)
        return;
    s_drop_staged(*b_p);
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

/* Writes data under path's temporary name and remembers it. */
static int
s_stage(node_store_t *self, node_store_batch_t *b, size_t group,
        node_store_box_t box, const char *name, const char *ext,
        const void *data, size_t len) {
    char path[4096], tmp[4200];
    const uint8_t *p = data;
    size_t done = 0;
    int fd, rc = s_group(b, group);
    staged_t *s;

    if (rc != RK_OK)
        return rc;
    if (b->groups[group] & S_GROUP_FAILED)
        return RK_ERR_IO; /* an earlier file of the group was not written */
    rc = s_path(self, path, sizeof path, box, name, ext);
    if (rc != RK_OK)
        goto failed;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->v[i].path, path) == 0) {
            rc = RK_ERR_EXISTS; /* already in this batch: one file, once */
            goto failed;
        }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
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
    s->tmp = strdup(tmp);
    s->path = strdup(path);
    if (!s->tmp || !s->path) {
        free(s->tmp);
        free(s->path);
        goto failed;
    }
    rc = RK_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a crash of a process with our pid (not this batch's:
         * checked above): not ours to keep. */
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    }
    if (fd >= 0) {
        int ok = fchmod(fd, 0600) == 0;
        while (ok && done < len) {
            ssize_t w = write(fd, p + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                ok = 0;
            else
                done += (size_t)w;
        }
        if (close(fd) != 0 || !ok)
            fd = -1;
    }
    if (fd < 0) {
        unlink(tmp);
        free(s->tmp);
        free(s->path);
        goto failed;
    }
    s->group = group;
    s->box = box;
    s->last = 1;
    {
        struct stat st;
        s->existed = lstat(path, &st) == 0;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].group == group)
            b->v[i].last = 0;
    b->n++;
    b->groups[group] |= S_GROUP_STAGED;
    return RK_OK;
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

/* fsyncs the folders in touched[]; a folder that fails fails the groups
 * with a file there of the given kind (last or not). */
static void
s_sync_folders(node_store_t *self, node_store_batch_t *b, const int *touched,
               int last) {
    for (int box = 0; box < 4; box++) {
        char path[4096];
        int fd, ok;
        if (!touched[box])
            continue;
        snprintf(path, sizeof path, "%s/%s", self->dir, s_boxes[box]);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = fd >= 0 && fsync(fd) == 0;
        if (!ok && !b->why) {
            b->why = "fsync of the folder";
            b->why_errno = errno;
        }
        if (fd >= 0)
            close(fd);
        if (ok)
            continue;
        for (size_t i = 0; i < b->n; i++) {
            staged_t *s = &b->v[i];
            if ((int)s->box != box || s->last != last ||
                (b->groups[s->group] & S_GROUP_FAILED))
                continue;
            b->groups[s->group] |= S_GROUP_FAILED;
            /* Its commit point is not durable: take it back, so a
             * redelivery is written (and acted on) again; unless it
             * replaced one that was in place before this batch. */
            if (last && !s->existed)
                unlink(s->path);
        }
    }
}

int
node_store_batch_commit(node_store_t *self, node_store_batch_t *b) {
    int touched[4] = {0, 0, 0, 0}, any_failed = 0;

    if (b->committed) {
        /* Nothing written since the last commit: no group is in place. */
        memset(b->groups, 0, b->cap_groups);
        return RK_OK;
    }
    b->why = NULL;
    b->why_errno = 0;
    if (b->n) {
        /* One sync for the data of every file (and whatever else of this
         * file system is dirty), instead of one fsync each. Through the
         * lock file's descriptor, open as long as the store: syncfs
         * reports any writeback error since its last call on it. */
        int synced = syncfs(self->lock_fd) == 0;
        if (!synced) {
            b->why = "syncfs";
            b->why_errno = errno;
        }
        /* Each group's files but its last, then the folders; then the last
         * files (the commit points), then the folders again: a record is
         * never durable before the files it stands for. */
        for (int last = 0; last <= 1; last++) {
            memset(touched, 0, sizeof touched);
            for (size_t i = 0; i < b->n; i++) {
                staged_t *s = &b->v[i];
                if (s->last != last)
                    continue;
                if (!synced || (b->groups[s->group] & S_GROUP_FAILED) ||
                    rename(s->tmp, s->path) != 0) {
                    if (synced && !(b->groups[s->group] & S_GROUP_FAILED) &&
                        !b->why) {
                        b->why = "rename";
                        b->why_errno = errno;
                    }
                    b->groups[s->group] |= S_GROUP_FAILED;
                    unlink(s->tmp);
                } else
                    touched[s->box] = 1;
            }
            s_sync_folders(self, b, touched, last);
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].tmp);
        free(b->v[i].path);
    }
    b->n = 0;
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
