/* audit: the auditor's checks over a copy of the relay's log, offline:
 * framing, the Merkle tree, every checkpoint, every record and envelope
 * signature against the roster of its time; the timeline of events, the
 * c2sp.org/tlog-proof of one message and consistency of two checkpoints.
 * It never writes the log and never opens content (it holds no key). */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "checkpoint.h"
#include "envelope.h"
#include "merkle.h"
#include "note.h"
#include "record.h"
#include "rk_error.h"

/* First line of a c2sp.org/tlog-proof file. */
#define AUDIT_PROOF_HEADER "c2sp.org/tlog-proof@v1"
/* Largest proof file read: base64 of the largest record, the hashes and a
 * checkpoint note with room to spare. */
#define AUDIT_PROOF_MAX_BYTES (2u * 1024u * 1024u)

/* ---- verify ---------------------------------------------------------- */

/* After a bad frame, verify looks for the next byte offset where a valid
 * frame starts within the relay log's budget (RELAY_LOG_SCAN_BASE +
 * RELAY_LOG_SCAN_PER_BYTE x the bytes of all segments, for one run);
 * past it the rest of the segment is reported as not checked. */

/* One problem found by audit_verify. Every pointer is borrowed for the
 * callback only. */
typedef struct {
    const char *file;   /* "log/<20 digits>.seg", "checkpoints/<...>.note"
                           or NULL when no one file is at fault */
    int64_t offset;     /* byte offset in file, -1 when none */
    int64_t index;      /* record position in the log, -1 when none */
    const char *reason; /* one sentence */
} audit_problem_t;

typedef void (*audit_problem_fn)(void *arg, const audit_problem_t *p);

/* Called now and then while reading: bytes of segments read so far, of
 * all segments, and records seen. */
typedef void (*audit_progress_fn)(void *arg, uint64_t done, uint64_t total,
                                  uint64_t records);

/* Called for each record that decoded, in log order, on the thread that
 * called audit_verify: pos is its position in the log, r is borrowed for
 * the call. It sees exactly the records verify checks (a torn tail is not
 * one), but a problem may still be found after it: trust what it saw only
 * once audit_verify returned 0. Returns 0 to go on, or an rk_err_t that
 * stops audit_verify, which then returns it. */
typedef int (*audit_record_fn)(void *arg, uint64_t pos, const record_t *r);

typedef struct {
    const char *dir; /* LOGDIR: DIR/log/ and DIR/checkpoints/ (borrowed) */
    const note_verifier_t *relay; /* pinned relay vkey (borrowed) */
    /* Other keys of the same relay (same name), n_relay_more of them,
     * borrowed: after a rotation of its keys, its earlier checkpoints are
     * signed by its previous key; a checkpoint signed by any of these
     * counts as the relay's. NULL with 0: none. */
    const note_verifier_t *relay_more;
    size_t n_relay_more;
    const note_verifier_t *coordinator; /* pinned coordinator (borrowed) */
    bool all;                 /* report every problem, not only the first */
    unsigned threads;         /* signature threads; 0: one per online core */
    audit_problem_fn problem; /* receives problems in log order */
    void *problem_arg;
    audit_progress_fn progress; /* NULL: none */
    void *progress_arg;
    audit_record_fn record; /* NULL: none; e.g. renraku-audit compare */
    void *record_arg;
} audit_verify_config_t;

/* What audit_verify saw. by_type is indexed by type - RECORD_ACCEPTED. */
typedef struct {
    uint64_t records;              /* valid frames read (torn tail excluded) */
    uint64_t by_type[7];           /* records that decoded, by type */
    uint64_t segments;             /* segment files */
    uint64_t bytes;                /* bytes of segment files */
    uint64_t tail_bytes;           /* torn tail ignored at the end of the log */
    uint64_t tail_offset;          /* where it starts ... */
    char tail_file[48];            /* ... in this segment ("log/...seg") */
    uint64_t checkpoints;          /* checkpoint files examined */
    uint64_t checkpoint_size;      /* largest valid checkpoint's size */
    uint64_t rosters;              /* roster records verified */
    uint64_t roster_serial;        /* the last one's serial */
    uint64_t signatures;           /* envelope signatures that verified */
    uint64_t prev_roster;          /* of those, verified with the roster just
                                      replaced (same group commit) */
    uint64_t nodes;                /* distinct node ids named */
    uint64_t first_ms, last_ms;    /* relay times of first and last record */
    uint64_t problems;             /* problems found (reported or not) */
    uint64_t scan_bytes;           /* hashed looking for a valid frame after
                                      a bad one (see RELAY_LOG_SCAN_BASE) */
    uint8_t root[MERKLE_HASH_LEN]; /* root over all records read */
} audit_summary_t;

/* Checks a copy of the relay's log in cfg->dir: segment headers, framing
 * and continuity (a torn tail at the very end is ignored and counted
 * unless a checkpoint covers it; a search for the next valid frame that
 * exceeds its budget is a problem, never a torn tail); the tree
 * recomputed from the records; every checkpoint file (signature by
 * cfg->relay, origin = its key name, size = the file name, size within
 * the log, root = the recomputed root at that size), and at least one of
 * them must match the log (none: a problem, since nothing the relay
 * signed was checked); every record decodes and its index is its
 * position; roster records verify with cfg->coordinator and their serials
 * grow; every accepted envelope's sender matches, and its signature
 * verifies with the sender's key in the roster of its time (signatures
 * spread over cfg->threads); delivered and expired records name an
 * earlier accepted record with the same msg id and one of its recipients,
 * each recipient at most once (delivered once, or expired once). Problems
 * go to cfg->problem in log order: only the first unless cfg->all. *sum
 * (may be NULL) is filled. cfg->record (may be NULL) sees each record
 * that decoded. Returns 0 (nothing wrong), RK_ERR_MISMATCH (problems
 * found), RK_ERR_INVALID (bad config), RK_ERR_NOT_FOUND (no DIR/log),
 * RK_ERR_IO, RK_ERR_NOMEM or what cfg->record returned, with err naming
 * the cause for all but the first two. */
int audit_verify(const audit_verify_config_t *cfg, audit_summary_t *sum,
                 char *err, size_t errlen) RK_WUR;

/* ---- timeline, export, replay ---------------------------------------- */

/* One record as the timeline shows it. Strings are NUL-terminated and
 * owned by the event (audit_event_clear); empty when not applicable. */
typedef struct {
    uint64_t index;
    uint64_t time_ms; /* relay clock */
    record_type_t type;
    char *from;    /* accepted: sender; delivered/expired: the original
                      sender when known; refused: the peer */
    char *to;      /* recipients, comma-separated */
    char kind[24]; /* envelope kind name */
    char msg_id[2 * ENVELOPE_MSG_ID_LEN + 1]; /* hex */
    char drill[ENVELOPE_DRILL_ID_MAX + 1];    /* drill id when exercise */
    uint64_t size;       /* accepted: envelope bytes; refused: bytes refused;
                            roster: signed roster bytes */
    uint64_t created_ms; /* accepted: the sender's created time */
    uint64_t accepted_index; /* delivered, expired: the accepted record */
    int code;                /* refused: reject code, else 0 */
    char code_name[24];      /* refused: its short name */
    char *reason;            /* refused: reason; relay: event and detail;
                                roster: "serial N" */
} audit_event_t;

/* Which events to show. A zero filter lets everything through. */
typedef struct {
    const char *node;     /* sender, recipient or peer equals it */
    envelope_kind_t kind; /* 0: any */
    const char *drill;    /* drill id equals it */
    uint64_t since_ms;    /* time_ms >= since_ms */
    uint64_t until_ms;    /* time_ms < until_ms; 0: no bound */
    bool has_msg;
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
} audit_filter_t;

/* Frees the event's strings and zeroes it; accepts NULL. */
void audit_event_clear(audit_event_t *ev);

/* Fills *ev from a decoded record, without context (delivered and expired
 * events then have no sender or kind). Returns 0 or RK_ERR_NOMEM. */
int audit_event_from_record(const record_t *r, audit_event_t *ev) RK_WUR;

/* True when ev passes f (NULL passes everything). */
bool audit_filter_match(const audit_filter_t *f, const audit_event_t *ev);

typedef int (*audit_event_fn)(void *arg, const audit_event_t *ev);

/* Reads the log in dir read-only (relay_log; a torn tail is ignored, a
 * damaged log refused: run audit_verify) and calls cb for each record
 * that passes f, in log order, with delivered and expired events
 * completed from their accepted record. The event is borrowed for the
 * call. cb returns 0 to go on. Returns 0, cb's non-zero value, or an
 * rk_err_t with err set (RK_ERR_NOT_FOUND: no log; RK_ERR_MALFORMED: a
 * damaged log or a record that does not decode). */
int audit_events(const char *dir, const audit_filter_t *f, audit_event_fn cb,
                 void *arg, char *err, size_t errlen) RK_WUR;

/* One timeline line: "TIME index=N TYPE FROM -> TO kind=K msg=M size=S
 * [code=C reason=\"...\"]". No newline. Returns a malloc'd string or NULL
 * when out of memory. */
char *audit_event_line(const audit_event_t *ev);

/* The event as one compact JSON object (no newline); malloc'd or NULL. */
char *audit_event_json(const audit_event_t *ev);

/* The CSV header and one CSV row (RFC 4180: fields quoted when they hold
 * a comma, a quote, CR or LF; quotes doubled), each ending in CRLF. */
void audit_csv_header(FILE *out);
int audit_event_csv(const audit_event_t *ev, FILE *out) RK_WUR;

/* s as one RFC 4180 field; malloc'd or NULL when out of memory. */
char *audit_csv_field(const char *s);

/* Parses a time for --since/--until: RFC 3339 UTC
 * ("2026-11-22T07:18:00Z", optional ".fff") or Unix milliseconds. Returns
 * 0 or RK_ERR_MALFORMED. */
int audit_time_parse(const char *text, uint64_t *ms) RK_WUR;

/* Parses a replay speed: "max" (*factor = 0: no waiting) or a positive
 * number with an optional "x" ("10x", "0.5"). Returns 0 or
 * RK_ERR_MALFORMED. */
int audit_speed_parse(const char *text, double *factor) RK_WUR;

/* ---- proofs ---------------------------------------------------------- */

/* A c2sp.org/tlog-proof@v1: extra data (here the logged record bytes),
 * the leaf index, the inclusion proof and the signed checkpoint. */
typedef struct {
    uint8_t *extra; /* malloc'd, NULL when absent */
    size_t extra_len;
    uint64_t index;
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    size_t n_hashes;
    char *checkpoint; /* the signed note verbatim, malloc'd, NUL after */
    size_t checkpoint_len;
} audit_proof_t;

/* Frees the proof's buffers and zeroes it; accepts NULL. */
void audit_proof_clear(audit_proof_t *p);

/* Formats p as the text of a .tlog-proof file. *out is malloc'd (NUL
 * after, not counted) and the caller's. Returns 0, RK_ERR_INVALID (no
 * checkpoint, one not ending in '\n', too many hashes) or RK_ERR_NOMEM. */
int audit_proof_format(const audit_proof_t *p, char **out, size_t *len) RK_WUR;

/* Parses untrusted proof text: header line, optional "extra BASE64",
 * "index N" (decimal, no leading zero), up to MERKLE_MAX_PROOF lines of
 * base64 32-byte hashes, an empty line, then the checkpoint note (not
 * verified here). On success *out is filled (audit_proof_clear); on
 * failure it is left zeroed and *why (if not NULL) names the problem.
 * Returns 0, RK_ERR_TOO_LARGE, RK_ERR_MALFORMED or RK_ERR_NOMEM. */
int audit_proof_parse(const uint8_t *text, size_t len, audit_proof_t *out,
                      const char **why) RK_WUR;

/* Verifies a parsed proof: the checkpoint is signed by relay with the
 * origin relay->name; the extra data is present; SHA-256(0x00 || extra)
 * is leaf index of the checkpoint's tree. *cp (may be NULL) gets the
 * checkpoint. *why as above. Returns 0, the errors of checkpoint_open,
 * RK_ERR_MALFORMED (no extra data), RK_ERR_INVALID (index outside the
 * tree or a proof of the wrong length) or RK_ERR_MISMATCH (the leaf is
 * not included). */
int audit_proof_check(const audit_proof_t *p, const note_verifier_t *relay,
                      checkpoint_t *cp, const char **why) RK_WUR;

/* Builds the proof of the accepted record whose envelope has msg_id,
 * against the newest checkpoint in dir (signed by relay and checked
 * against the log when it is opened). *out is filled (audit_proof_clear).
 * err names the problem. Returns 0, RK_ERR_NOT_FOUND (no such accepted
 * record, or no checkpoint covers it yet), or the errors of relay_log_open
 * and relay_log_read. */
int audit_prove(const char *dir, const note_verifier_t *relay,
                const uint8_t msg_id[ENVELOPE_MSG_ID_LEN], audit_proof_t *out,
                char *err, size_t errlen) RK_WUR;

/* Proves from the log in dir that the checkpoint note new_note extends
 * old_note and checks the proof against both signed roots. Both must be
 * signed by relay; old size <= new size <= the log's size. *old_cp,
 * *new_cp (may be NULL) get the checkpoints, proof (MERKLE_MAX_PROOF
 * hashes) and *n the proof. Returns 0, the errors of checkpoint_open,
 * RK_ERR_INVALID (the old one is larger, or the new one beyond the log),
 * RK_ERR_MISMATCH (not consistent) or the errors of relay_log_open. */
int audit_consistency(const char *dir, const note_verifier_t *relay,
                      const uint8_t *old_note, size_t old_len,
                      const uint8_t *new_note, size_t new_len,
                      checkpoint_t *old_cp, checkpoint_t *new_cp,
                      uint8_t *proof, size_t *n, char *err,
                      size_t errlen) RK_WUR;

#endif
