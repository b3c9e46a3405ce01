/* node_store: a partner node's durable state in one folder (0700): the
 * outbox (envelopes not yet answered by the relay), the sent records (per
 * recipient: stored, delivered, acknowledged, ...), the inbox (verified,
 * opened notices), the quarantine (envelopes that failed verification,
 * kept with the reason) and the node's small state file. Every write is
 * durable before the call returns: a single write through a temporary
 * file, fsync, rename and fsync of the folder; a batch through the
 * store's journal, before its commit returns. Records are JSON objects;
 * envelopes are raw bytes. */
#ifndef NODE_STORE_H
#define NODE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

typedef struct node_store node_store_t;

/* The folders of a store. */
typedef enum {
    NODE_STORE_OUTBOX = 0,     /* <id>.env: envelopes to (re)submit */
    NODE_STORE_SENT = 1,       /* <id>.json: what became of what we sent */
    NODE_STORE_INBOX = 2,      /* <id>.json + <id>.env: what we received */
    NODE_STORE_QUARANTINE = 3, /* <n>.json + <n>.env: refused on arrival */
    NODE_STORE_HOOKS = 4,      /* <id>.json: a notice whose hook is due */
} node_store_box_t;

#define NODE_STORE_N_BOXES 5

/* Opens (creating, mode 0700) dir and its folders. *out is the caller's.
 * Returns 0, RK_ERR_PERMISSION (dir readable by others), RK_ERR_IO, with
 * err naming the path. */
int node_store_open(const char *dir, node_store_t **out, char *err,
                    size_t errlen) RK_WUR;

/* Frees; accepts NULL and sets *self_p to NULL. */
void node_store_close(node_store_t **self_p);

/* How many temporary files (box/<name>.tmp.<pid>) node_store_open removed:
 * with the store's lock held they can only be what a crash left. */
size_t node_store_swept(const node_store_t *self);

/* The store's folder (borrowed). */
const char *node_store_dir(const node_store_t *self);

/* Writes box/<name>.json durably (json borrowed). Returns 0, RK_ERR_IO or
 * RK_ERR_NOMEM. */
int node_store_put_json(node_store_t *self, node_store_box_t box,
                        const char *name, const json_t *json) RK_WUR;

/* Reads box/<name>.json; a new reference owned by the caller, or NULL
 * (missing or unreadable: *rc says which when rc is not NULL, with
 * RK_ERR_MALFORMED for a file that is not a JSON object). */
json_t *node_store_get_json(node_store_t *self, node_store_box_t box,
                            const char *name, int *rc);

/* Writes box/<name>.env durably. Returns 0 or RK_ERR_IO. */
int node_store_put_env(node_store_t *self, node_store_box_t box,
                       const char *name, const uint8_t *env, size_t len) RK_WUR;

/* Reads box/<name>.env; *env is malloc'd and the caller's. Returns 0,
 * RK_ERR_NOT_FOUND, RK_ERR_IO or RK_ERR_TOO_LARGE. */
int node_store_get_env(node_store_t *self, node_store_box_t box,
                       const char *name, uint8_t **env, size_t *len) RK_WUR;

/* True when box/<name>.json exists. A record's JSON is written last (after
 * its .env), so it is the commit point: an .env alone is what a crash
 * between the two writes leaves, and does not count. */
int node_store_has(node_store_t *self, node_store_box_t box, const char *name);

/* Removes box/<name>.json and .env (what exists), durably. Returns 0 or
 * RK_ERR_IO. */
int node_store_remove(node_store_t *self, node_store_box_t box,
                      const char *name) RK_WUR;

/* Removes box/<name>.json, for a file whose loss in a crash only repeats
 * work (a hook's marker): without a sync of the folder, but if the journal
 * may hold the file, with a durable X entry there, so that the next open
 * does not put it back. Returns 0, RK_ERR_INVALID (name) or RK_ERR_IO. */
int node_store_forget(node_store_t *self, node_store_box_t box,
                      const char *name) RK_WUR;

/* The names in a box (without extension), sorted, each once. *names is a
 * malloc'd array of malloc'd strings: free with node_store_free_names.
 * Returns 0, RK_ERR_NOMEM, or RK_ERR_IO when the folder cannot be opened
 * or read (not a folder, gone, no permission), with errno saying why. */
int node_store_list(node_store_t *self, node_store_box_t box, char ***names,
                    size_t *n) RK_WUR;
void node_store_free_names(char **names, size_t n);

/* A burst of records made durable together, for what arrives faster than
 * one fsync a file allows. Each file is written under a temporary name at
 * once (box/<name>.<ext>.tmp.<pid>, which node_store_list ignores). The
 * commit appends every file of the burst, whole, to the store's journal
 * (DIR/journal) and makes that durable with one fdatasync; it then renames
 * the files into place in the order they were written, without a sync of
 * their own. Files belong to groups (one per delivery, say); a group's last
 * file is renamed after its others (and not when one of them could not
 * be), so a reader never sees a record without its envelope, and a
 * group counts as in place only if all of its files are. A crash before
 * the journal's fdatasync leaves only temporary files, which the next
 * node_store_open removes; a crash after it loses nothing: the next
 * node_store_open puts back, from the journal, any file that is missing
 * or not whole. A checkpoint (node_store_checkpoint) makes the files
 * durable with one syncfs and empties the journal. */
typedef struct node_store_batch node_store_batch_t;

node_store_batch_t *node_store_batch_new(void);

/* Removes the temporary files not committed; accepts NULL, sets *b_p to
 * NULL. */
void node_store_batch_free(node_store_batch_t **b_p);

/* Writes box/<name>.env (.json) under its temporary name, in group. On
 * failure the group is failed (its other files are dropped at the commit,
 * and node_store_batch_failed says so after it, which is where callers
 * may look instead of here). Returns 0, RK_ERR_IO, RK_ERR_INVALID (name)
 * or RK_ERR_NOMEM. */
int node_store_batch_env(node_store_t *self, node_store_batch_t *b,
                         size_t group, node_store_box_t box, const char *name,
                         const uint8_t *env, size_t len);
int node_store_batch_json(node_store_t *self, node_store_batch_t *b,
                          size_t group, node_store_box_t box, const char *name,
                          const json_t *json);

/* Makes every file of the batch durable and in place, as described above.
 * Returns 0 when all are; RK_ERR_IO otherwise, when node_store_batch_failed
 * says which groups are not (their temporary files are removed). The
 * batch is then empty, ready for the next burst. */
int node_store_batch_commit(node_store_t *self, node_store_batch_t *b);

/* After a commit, the step of it that failed first ("write of the
 * journal", "fdatasync of the journal", "rename") with its errno in *err,
 * or NULL (every failure was a write, which its caller saw, or none). */
const char *node_store_batch_why(const node_store_batch_t *b, int *err);

/* After a commit: false only when every file of group was written, is in
 * place and durable (in the journal). A group with no file in the batch counts
 * as not in place. What a commit tells holds until the next write to the batch.
 */
int node_store_batch_failed(const node_store_batch_t *b, size_t group);

/* Makes every file the journal holds durable (one syncfs, through a
 * descriptor open as long as the store, so any writeback error since the
 * last checkpoint is seen) and empties the journal. A single write
 * (node_store_put_*, node_store_remove) to the inbox or the quarantine
 * checkpoints first, and so does node_store_close. Returns 0, or RK_ERR_IO
 * with the step that failed in *why and its errno in *err (either may be
 * NULL): the journal is then kept, and after a failed syncfs the next
 * checkpoint writes its files again before it syncs. */
int node_store_checkpoint(node_store_t *self, const char **why,
                          int *err) RK_WUR;

/* The journal's size: what a checkpoint would empty. */
size_t node_store_journal_bytes(const node_store_t *self);

/* True while a checkpoint is due: the journal holds files, or a failed
 * write left it to be emptied before the next commit. */
int node_store_checkpoint_pending(const node_store_t *self);

/* What node_store_open found in the journal: the files it wrote again
 * (every one it held: the node stopped before they were synced), and the
 * bytes at its end that were not a committed burst (a crash during an
 * append; those deliveries were never confirmed). */
size_t node_store_replayed(const node_store_t *self);
uint64_t node_store_journal_ignored(const node_store_t *self);

/* How a batch stages its files: unnamed (O_TMPFILE, then linked into
 * place: the default where the probe at open found it works) or under
 * temporary names, then renamed (on 0: as on a file system without
 * O_TMPFILE, or without /proc). Returns the way in force: on 1, only
 * where it works. For tests of both ways. */
int node_store_set_unnamed(node_store_t *self, int on);

/* The node's small state (receipts seen up to, roster serial, quarantine
 * counter): a borrowed object to change, then node_store_save_state. */
json_t *node_store_state(node_store_t *self);
int node_store_save_state(node_store_t *self) RK_WUR;

#endif
