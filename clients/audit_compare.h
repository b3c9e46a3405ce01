/* audit_compare: compares the logs of two independent relays that the
 * same nodes submit to (docs/NODE.md "Several relays"), by msg id and by
 * roster serial, from compact per-message state (never whole envelopes).
 * It judges only records audit_verify has checked; it reads no file. */
#ifndef AUDIT_COMPARE_H
#define AUDIT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "record.h"
#include "rk_error.h"

/* The two logs, in the order the auditor named them. */
#define AUDIT_COMPARE_A 0
#define AUDIT_COMPARE_B 1

/* What a finding is. */
typedef enum {
    AUDIT_COMPARE_ENVELOPES = 1, /* one msg id, different envelope bytes */
    AUDIT_COMPARE_ROSTERS,       /* one roster serial, different rosters */
    AUDIT_COMPARE_ONE_LOG,       /* a message accepted by one relay only */
    AUDIT_COMPARE_NOT_REACHED,   /* a recipient neither relay delivered */
    AUDIT_COMPARE_ROSTER_ONE,    /* a roster serial in one log only */
    AUDIT_COMPARE_DELIVERED_ONE, /* a recipient delivered by one relay only */
} audit_compare_kind_t;

/* How much it weighs: contradictions make the logs disagree (exit 1),
 * differences leave them incomplete (exit 3), the rest informs. */
typedef enum {
    AUDIT_COMPARE_INFO = 0,
    AUDIT_COMPARE_DIFFERENCE = 1,
    AUDIT_COMPARE_CONTRADICTION = 2,
} audit_compare_severity_t;

/* One finding, as audit_compare_foreach hands it out. Every pointer is
 * borrowed for the callback only. */
typedef struct {
    audit_compare_kind_t kind;
    audit_compare_severity_t severity;
    const char *kind_name; /* "envelopes-differ", "only-in-a", ... */
    const char *cls;       /* ONE_LOG: "runs-past", "ends-before",
                              "starts-after", "refused", "empty";
                              NOT_REACHED: "expired", "open",
                              "expired-open"; else "" */
    uint64_t time_ms;      /* relay clock: the earliest record concerned */
    const char *msg_id;    /* hex, "" for roster findings */
    const char *from;      /* sender, "" for roster findings */
    const char *to;        /* recipients, comma-separated; NOT_REACHED and
                              DELIVERED_ONE: the recipient concerned */
    const char *env_kind;  /* envelope kind name, "" for rosters */
    uint64_t serial;       /* roster findings: the serial, else 0 */
    int64_t index[2];      /* the record in log A, in log B; -1: none */
    const char *text;      /* one sentence: what it means */
} audit_compare_finding_t;

/* Counts over the messages compared (those in the window) and the
 * rosters. */
typedef struct {
    uint64_t messages[2];         /* accepted in the window, by log */
    uint64_t both;                /* accepted by both, same bytes */
    uint64_t only[2];             /* accepted by log A only, by log B only */
    uint64_t only_ends[2];        /* of those, where the other log ends before
                                     (or holds nothing, or starts after) */
    uint64_t contradictions;      /* envelope and roster contradictions */
    uint64_t not_reached;         /* (message, recipient) neither delivered */
    uint64_t not_reached_expired; /* of those, expired wherever held */
    uint64_t rosters_both;        /* serials in both logs, same text */
    uint64_t rosters_one;         /* serials in one log only */
    uint64_t info;                /* informational findings */
    uint64_t findings;            /* all findings */
    uint64_t last_ms[2];          /* each log's last record (0: empty log) */
} audit_compare_counts_t;

typedef struct audit_compare audit_compare_t;

/* A new, empty comparison; NULL when out of memory. The caller owns it
 * (audit_compare_destroy). */
audit_compare_t *audit_compare_new(void);

/* Frees it; accepts NULL and an already-destroyed one, and sets *self_p
 * to NULL. */
void audit_compare_destroy(audit_compare_t **self_p);

/* Takes one record of log `log` (AUDIT_COMPARE_A or _B), in log order,
 * at position pos; r is borrowed for the call. Keeps per accepted
 * message its msg id, the SHA-256 of its envelope bytes, sender, kind,
 * index, times and each recipient's outcome; per roster its serial and
 * the SHA-256 of its text; refusals of a node's own submission that name
 * a msg id (per msg id and sender, the first for good, else the first a
 * node retries); relay stops and starts. Records that a verified log
 * cannot hold (an envelope that does not decode, a repeated msg id, a
 * receipt for an unknown message) are skipped: audit_verify reports
 * them. Returns 0, RK_ERR_INVALID (a bad log number, or a record after
 * audit_compare_finish) or RK_ERR_NOMEM. */
int audit_compare_add(audit_compare_t *self, int log, uint64_t pos,
                      const record_t *r) RK_WUR;

/* Compares what was added: messages accepted (by the relay clock of the
 * log that holds them, the earlier when both do) in [since_ms, until_ms)
 * (until_ms 0: no bound); contradictions (rosters, and msg ids with two
 * envelopes) whatever the window. Fills *counts and prepares the findings
 * in time order. Call once, after every record of both logs. Returns 0,
 * RK_ERR_INVALID (called twice) or RK_ERR_NOMEM. */
int audit_compare_finish(audit_compare_t *self, uint64_t since_ms,
                         uint64_t until_ms,
                         audit_compare_counts_t *counts) RK_WUR;

typedef int (*audit_compare_fn)(void *arg, const audit_compare_finding_t *f);

/* Calls cb for each finding, in time order (ties in log order), after
 * audit_compare_finish. cb returns 0 to go on. Returns 0, cb's non-zero
 * value, RK_ERR_INVALID (not finished) or RK_ERR_NOMEM. */
int audit_compare_foreach(audit_compare_t *self, audit_compare_fn cb,
                          void *arg) RK_WUR;

/* One finding as a line: "TIME SEVERITY KIND [CLASS] msg=M FROM -> TO
 * kind=K a.index=I b.index=J: TEXT" (rosters: "TIME SEVERITY KIND
 * serial=S a.index=I b.index=J: TEXT"); "-" for an index a log lacks.
 * No newline. malloc'd, or NULL when out of memory. */
char *audit_compare_line(const audit_compare_finding_t *f);

/* The finding as one compact JSON object (no newline); malloc'd or NULL. */
char *audit_compare_json(const audit_compare_finding_t *f);

/* "contradiction", "difference" or "info"; static. */
const char *audit_compare_severity_name(audit_compare_severity_t s);

#endif
