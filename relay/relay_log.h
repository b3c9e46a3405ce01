/* relay_log: the relay's durable, tamper-evident log, which is also its
 * queue. Frames opaque records into segment files with group commit,
 * recovers and verifies them at start, keeps their RFC 6962 tree, signs
 * checkpoints and answers proofs. It does not know what a record means
 * (proto/record.h does); docs/LOG-FORMAT.md is the file format. */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "merkle.h"
#include "rk_error.h"

/* Largest record: a 1 MiB envelope plus room for the record's metadata. */
#define RELAY_LOG_MAX_RECORD (1024u * 1024u + 8192u)
/* Bytes of a segment header: "RNRKLOG1" || u64be first index. */
#define RELAY_LOG_HEADER_LEN 16u
/* Bytes a record takes in a segment beyond its own: length and check. */
#define RELAY_LOG_FRAME_OVERHEAD 8u
/* After a bad frame, the search for the next byte offset where a valid
 * frame starts (relay_log_open at the tail, renraku-audit verify) hashes
 * each candidate frame. Junk that reads as a long frame length every few
 * bytes would make it quadratic (hours for one segment), so a search
 * hashes at most RELAY_LOG_SCAN_BASE + RELAY_LOG_SCAN_PER_BYTE x the bytes
 * it covers; honest damage costs a few record lengths per bad frame. */
#define RELAY_LOG_SCAN_BASE (256u * 1024u * 1024u)
#define RELAY_LOG_SCAN_PER_BYTE 16u

/* Checks the frame at off of a segment's bytes buf[0 .. size): length
 * field, length in range, record inside the segment, check bytes equal to
 * the record's leaf hash. Returns NULL and sets *rec_len and leaf when it
 * checks; otherwise a sentence saying what is wrong (*rec_len set once the
 * length field was read, else 0). Shared with renraku-audit verify. */
const char *relay_log_frame_check(const uint8_t *buf, uint64_t size,
                                  uint64_t off, uint32_t *rec_len,
                                  uint8_t leaf[32]);

/* The first offset after `after` where a valid frame starts in
 * buf[0 .. size). Returns 1 and *at; 0 when there is none (*at = size);
 * -1 when hashing the next candidate would take more than *budget bytes
 * (*at = that candidate's offset). Each candidate hashed is taken from
 * *budget. Most junk fails on the length alone, at no cost. */
int relay_log_find_frame(const uint8_t *buf, uint64_t size, uint64_t after,
                         uint64_t *budget, uint64_t *at);
/* Default segment size at which the log moves to a new segment. */
#define RELAY_LOG_SEGMENT_DEFAULT (64u * 1024u * 1024u)
/* Default bytes of appended frames held before they are written out
 * without waiting for the sync. */
#define RELAY_LOG_WRITE_BUFFER_DEFAULT (1024u * 1024u)

/* Fault injection for chaos tests: called with "write", "fdatasync",
 * "ftruncate", "fsync" (a folder, or a file after a cut) or "checkpoint"
 * (before a checkpoint file is written) just before the log makes that
 * call. Returning -1 with errno set makes the call fail as if the OS had
 * failed it; returning 0 lets it run. */
typedef int (*relay_log_fault_fn)(void *arg, const char *op);

typedef struct {
    const char *dir;      /* DIR: DIR/log/ and DIR/checkpoints/ (borrowed) */
    const char *origin;   /* checkpoint origin line (borrowed) */
    const char *key_name; /* note key name; NULL: the origin (borrowed) */
    /* The relay's 64-byte Ed25519 secret key, borrowed and read until
     * relay_log_close; NULL opens read-only: nothing is written, cut or
     * signed (auditors, tools). */
    const uint8_t *secret_key;
    /* The relay's 32-byte public key, to verify the newest checkpoint in
     * read-only mode; NULL with a secret key: taken from it (and when both
     * are given they must agree). NULL in read-only mode: checkpoints are
     * not checked and the report says so. Borrowed during open only. */
    const uint8_t *public_key;
    /* Earlier public keys of the same signer (the same key name), n of
     * them: the newest checkpoint signed by one of them is accepted at open
     * as one signed by the key above (after a rotation of the relay's
     * keys, its checkpoints were signed by its previous key); later
     * checkpoints are signed with the secret key. Borrowed during open
     * only; NULL with 0: none. */
    const uint8_t (*earlier_keys)[32];
    size_t n_earlier_keys;
    uint64_t segment_size; /* move to a new segment past this; 0: default */
    /* Appended frames are buffered and written with one pwrite at the
     * next sync, or before the buffer would pass this many bytes; 0:
     * RELAY_LOG_WRITE_BUFFER_DEFAULT. */
    size_t write_buffer;
    relay_log_fault_fn fault; /* NULL in production */
    void *fault_arg;          /* passed to fault */
    /* Write mode only: take each synced record's leaf hash from the
     * DIR/log/leaves cache when its check bytes agree, instead of hashing
     * it again; the newest checkpoint's root still vouches for the tree.
     * A record whose body changed on disk is then found by
     * relay_log_scrub, not by open. false: open hashes every record. */
    bool trust_leaves;
} relay_log_config_t;

/* What relay_log_open found. */
typedef struct {
    uint64_t records;         /* valid records, after any cut */
    uint64_t segments;        /* segment files in use */
    uint64_t bytes_cut;       /* torn or corrupt tail bytes found */
    bool tail_cut;            /* those bytes were removed (not read-only) */
    bool checkpoint_found;    /* a checkpoint was loaded and checked */
    uint64_t checkpoint_size; /* its tree size (0 when none) */
} relay_log_report_t;

typedef struct relay_log relay_log_t;

/* Receives each record of relay_log_foreach: rec (len bytes) is borrowed
 * for the call only. Return 0 to go on, anything else to stop. */
typedef int (*relay_log_record_fn)(void *arg, uint64_t index,
                                   const uint8_t *rec, size_t len);

/* Opens (in write mode creating DIR, DIR/log and DIR/checkpoints, 0700,
 * and taking an exclusive lock on DIR/lock) and recovers the log: reads
 * every segment in order and checks its header, framing, index continuity
 * and each record's check bytes; rebuilds the tree; loads the newest
 * checkpoint, verifies its signature and refuses a log shorter than it or
 * whose root at its size differs. A torn or corrupt tail of the last
 * segment (nothing valid after the first bad frame) is cut off in write
 * mode, ignored in read-only mode; anything wrong before that is refused.
 * What was read is made durable (fdatasync) before it counts as durable.
 * On success *out is the caller's (relay_log_close) and *report (if not
 * NULL) is filled. On failure *out is NULL and err (if not NULL) gets one
 * line naming the file, byte offset and record index where it applies.
 * Returns 0; RK_ERR_INVALID (bad config); RK_ERR_NOT_FOUND (read-only and
 * DIR/log missing); RK_ERR_EXISTS (another process holds the lock);
 * RK_ERR_MALFORMED (corrupt segment or checkpoint file, missing segment);
 * RK_ERR_VERSION (unknown segment magic); RK_ERR_BAD_SIGNATURE or
 * RK_ERR_UNKNOWN_KEY (the newest checkpoint is not signed by this key);
 * RK_ERR_MISMATCH (log shorter than the checkpoint or another root; or
 * public and secret key disagree); RK_ERR_NOMEM; RK_ERR_IO. */
int relay_log_open(const relay_log_config_t *cfg, relay_log_t **out,
                   relay_log_report_t *report, char *err, size_t errlen) RK_WUR;

/* The records whose hashes open took from the leaves cache, to be hashed
 * again off the serving thread. Self-contained: owns copies of what it
 * needs and touches no relay_log state, so it may run on another thread
 * while the log is appended to. */
typedef struct relay_log_scrub relay_log_scrub_t;

/* Takes the scrub job of this open (NULL when open hashed everything).
 * The caller owns it: relay_log_scrub_free. */
relay_log_scrub_t *relay_log_scrub_take(relay_log_t *self);

/* Hashes every record the job covers and compares it with the hash open
 * used. Returns 0 when all agree, the number checked in *checked; or
 * RK_ERR_MISMATCH (a record's bytes changed since it was synced: err names
 * the segment, offset and record), RK_ERR_IO or RK_ERR_NOMEM. */
int relay_log_scrub_run(relay_log_scrub_t *job, uint64_t *checked, char *err,
                        size_t errlen) RK_WUR;

/* Makes a running relay_log_scrub_run stop soon with RK_ERR_IO (the
 * relay stopping); safe from another thread. */
void relay_log_scrub_cancel(relay_log_scrub_t *job);

void relay_log_scrub_free(relay_log_scrub_t **job_p);

/* Closes the files and frees the log; accepts NULL and an already closed
 * log, sets *self_p to NULL. Records appended since the last
 * relay_log_sync are not synced (they were never acknowledged). */
void relay_log_close(relay_log_t **self_p);

/* Appends one record (len bytes, 1..RELAY_LOG_MAX_RECORD, borrowed and
 * copied), not yet durable, and adds its leaf to the tree. The framed
 * record is buffered: the next sync writes the batch with one pwrite (a
 * system call per record was a tenth of the relay's CPU per message),
 * and when the buffer would pass write_buffer bytes it is written out
 * first. Starts a new segment first when the current one has reached the
 * segment size and nothing is waiting for a sync. *index (if not NULL)
 * gets the record's index. When that early write-out fails, this record
 * is not added and every later append fails too until the next sync,
 * which refuses the whole unsynced batch (RK_ERR_IO) and cuts it, as a
 * failed fdatasync does. Returns 0; RK_ERR_INVALID (read-only, len 0);
 * RK_ERR_TOO_LARGE; RK_ERR_NOMEM; RK_ERR_IO (errno tells why; also every
 * call after a failure the log could not undo, until it is reopened). */
int relay_log_append(relay_log_t *self, const uint8_t *rec, size_t len,
                     uint64_t *index) RK_WUR;

/* Group commit: one write and one fdatasync for everything appended since
 * the last sync; afterwards relay_log_durable equals relay_log_size. When
 * the write or the fdatasync fails, the unsynced records cannot be
 * trusted: they are cut
 * from the file and dropped from the tree (size and root go back to the
 * durable ones), and RK_ERR_IO tells the caller to refuse them, never to
 * acknowledge them; later appends work. Returns 0, RK_ERR_INVALID
 * (read-only), RK_ERR_IO. */
int relay_log_sync(relay_log_t *self) RK_WUR;

/* relay_log_sync in three steps, so that the write and the fdatasync can
 * run on another thread while the caller verifies the next batch: begin
 * (on the log's thread) says what to write and sync; run (any thread)
 * calls the fault hook, pwrite and fdatasync; end (on the log's thread)
 * makes the records durable or,
 * on failure, rolls them back exactly as relay_log_sync does. Between
 * begin and end the caller makes no other call on the log. */
typedef struct {
    bool needed; /* false: nothing to sync (run and end do nothing) */
    int fd;
    relay_log_fault_fn fault;
    void *fault_arg;
    const uint8_t *buf; /* the batch's frames still to write (the log's) */
    size_t len;
    uint64_t off; /* where they go in the segment */
    bool failed;
    bool write_failed; /* the write failed (not the fdatasync) */
    int err;
} relay_log_sync_t;

int relay_log_sync_begin(relay_log_t *self, relay_log_sync_t *job) RK_WUR;
void relay_log_sync_run(relay_log_sync_t *job);
int relay_log_sync_end(relay_log_t *self, relay_log_sync_t *job) RK_WUR;

/* Records appended (durable or not). */
uint64_t relay_log_size(const relay_log_t *self);

/* Records known to be on disk. */
uint64_t relay_log_durable(const relay_log_t *self);

/* Reads durable record index from its segment. *rec is malloc'd (len
 * bytes) and the caller's. The bytes are checked against the record's
 * leaf hash in the tree. Returns 0, RK_ERR_NOT_FOUND (index >= durable),
 * RK_ERR_MISMATCH (the file changed under the log), RK_ERR_MALFORMED,
 * RK_ERR_NOMEM, RK_ERR_IO. */
int relay_log_read(relay_log_t *self, uint64_t index, uint8_t **rec,
                   size_t *len) RK_WUR;

/* Calls cb for each durable record from index from on, in order, as
 * relay_log_read reads them. Returns 0 when all were seen (from >=
 * durable: none), the callback's non-zero value when it stopped, or an
 * error of relay_log_read. */
int relay_log_foreach(relay_log_t *self, uint64_t from, relay_log_record_fn cb,
                      void *arg) RK_WUR;

/* Root of the tree at size leaves (0..relay_log_size) into out. Returns
 * 0 or RK_ERR_INVALID. */
int relay_log_root(const relay_log_t *self, uint64_t size,
                   uint8_t out[MERKLE_HASH_LEN]) RK_WUR;

/* Leaf hash of record index (< relay_log_size) into out. Returns 0 or
 * RK_ERR_INVALID. */
int relay_log_leaf_hash(const relay_log_t *self, uint64_t index,
                        uint8_t out[MERKLE_HASH_LEN]) RK_WUR;

/* Inclusion proof of record index in the tree of size leaves (size at
 * most relay_log_durable), RFC 9162 order. proof must hold
 * MERKLE_MAX_PROOF hashes; *n gets their number. Returns 0 or
 * RK_ERR_INVALID (index >= size, size beyond the durable size). */
int relay_log_inclusion_proof(const relay_log_t *self, uint64_t index,
                              uint64_t size, uint8_t *proof, size_t *n) RK_WUR;

/* Consistency proof from size1 to size2 leaves (0 < size1 <= size2 <=
 * relay_log_durable). proof must hold MERKLE_MAX_PROOF hashes; *n gets
 * their number (0 when equal). Returns 0 or RK_ERR_INVALID. */
int relay_log_consistency_proof(const relay_log_t *self, uint64_t size1,
                                uint64_t size2, uint8_t *proof,
                                size_t *n) RK_WUR;

/* Signs a checkpoint at the durable size and stores it durably as
 * DIR/checkpoints/<size>.note, unless the newest checkpoint already
 * covers that size: then the newest is returned and nothing is signed.
 * Never signs a size smaller than a checkpoint it holds. now_ms is the
 * relay clock, for the operator's log line only: checkpoints carry no
 * extension lines, so that standard tlog tools read them. *note (the
 * signed note, *len bytes, NUL after) is malloc'd and the caller's.
 * Returns 0, RK_ERR_INVALID (read-only), RK_ERR_NOMEM, RK_ERR_IO, or the
 * errors of checkpoint_sign. */
int relay_log_checkpoint(relay_log_t *self, uint64_t now_ms, char **note,
                         size_t *len) RK_WUR;

/* The newest checkpoint held (loaded at open or signed since). *note
 * (malloc'd, the caller's; *len bytes) and *cp are filled when not NULL.
 * Returns 0, RK_ERR_NOT_FOUND (none yet) or RK_ERR_NOMEM. */
int relay_log_latest_checkpoint(const relay_log_t *self, char **note,
                                size_t *len, checkpoint_t *cp) RK_WUR;

#endif
