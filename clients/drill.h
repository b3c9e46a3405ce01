/* drill: exercise scenarios for renraku-drill: the scenario file (JSON),
 * the import of a MSEL spreadsheet (CSV) into one, the payload of every
 * inject and the scheduling arithmetic. No I/O beyond reading a file, no
 * relay: the runner sends what this module builds. docs/DRILLS.md. */
#ifndef DRILL_H
#define DRILL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "payload.h"
#include "rk_error.h"

#define DRILL_MAX_FILE_BYTES (8u * 1024u * 1024u) /* scenario or MSEL file */
#define DRILL_MAX_INJECTS 1000
#define DRILL_MAX_PARTICIPANTS ENVELOPE_MAX_RECIPIENTS
#define DRILL_INJECT_ID_MAX 32           /* bytes of [A-Za-z0-9._-] */
#define DRILL_FROM_MAX 64                /* the informational "from" */
#define DRILL_MAX_OFFSET_S 2592000       /* 30 days: "at" and "within" */
#define DRILL_TIME_SCALE_MAX 86400       /* a day into a second */
#define DRILL_MSEL_DEFAULT_WITHIN_S 3600 /* MSEL row without a deadline */
#define DRILL_MSEL_MAX_ERRORS 25         /* problems listed before "... more" */

/* How an inject travels. notice and alert are drill-inject envelopes whose
 * payload carries a notice (an alert's severity defaults to high);
 * comm-check is a comm-check envelope with the exercise flag. */
typedef enum {
    DRILL_KIND_NOTICE = 1,
    DRILL_KIND_ALERT = 2,
    DRILL_KIND_COMM_CHECK = 3,
} drill_kind_t;

/* One inject, as parsed. Every pointer lives as long as its scenario. */
typedef struct {
    const char *id;        /* unique in the scenario, [A-Za-z0-9._-]{1,32} */
    uint64_t at_s;         /* offset in scenario seconds: from the start, or
                              from the participant's answer to "after" */
    const char *after;     /* NULL, or the id of an earlier inject */
    size_t after_index;    /* index of that inject when after is set */
    const char *const *to; /* n_to node ids or groups, never empty */
    size_t n_to;
    bool to_default; /* "to" was absent: the scenario's participants */
    drill_kind_t kind;
    const char *from;       /* NULL or who plays the sender (informational) */
    const char *title;      /* as written */
    const char *text;       /* as written, NULL when absent */
    const char *wire_title; /* title as sent: with "[EXERCISE <id>] " in
                               front unless it already says EXERCISE */
    const char *wire_text;  /* text (or the title) as sent, likewise */
    payload_tlp_t tlp;      /* default GREEN */
    payload_severity_t severity; /* 0: not given (alert: default high) */
    payload_ack_status_t expect; /* default acknowledged */
    uint64_t within_s;           /* answer deadline, scenario s; 0: none */
} drill_inject_t;

typedef struct drill_scenario drill_scenario_t;

/* Builds a scenario from its JSON form (borrowed; load it with
 * JSON_REJECT_DUPLICATES). filename (may be NULL: "scenario") only names
 * the source in errors. Refuses unknown keys, wrong types, bad ids,
 * duplicate inject ids, an "after" naming an unknown or later inject,
 * offsets out of range and any inject whose payload would not encode. On
 * success *out is the caller's (drill_scenario_destroy). On failure err
 * (errlen bytes, may be NULL) gets "FILE: PATH: problem", e.g.
 * "scenario.json: injects[2].expect.within: 'PT30' is not an ISO 8601
 * duration (e.g. PT30M) or a number of seconds". Returns 0,
 * RK_ERR_MALFORMED or RK_ERR_NOMEM. */
int drill_scenario_from_json(const json_t *json, const char *filename,
                             drill_scenario_t **out, char *err,
                             size_t errlen) RK_WUR;

/* As drill_scenario_from_json on JSON text (borrowed, len bytes); a syntax
 * error names the line: "scenario.json:12: ...". Returns 0,
 * RK_ERR_MALFORMED, RK_ERR_TOO_LARGE (over DRILL_MAX_FILE_BYTES) or
 * RK_ERR_NOMEM. */
int drill_scenario_parse(const char *text, size_t len, const char *filename,
                         drill_scenario_t **out, char *err,
                         size_t errlen) RK_WUR;

/* Reads path and parses it (a ".csv" path goes through drill_msel_import
 * with defaults). Returns what those return, or RK_ERR_NOT_FOUND /
 * RK_ERR_IO with err naming the file. */
int drill_scenario_load(const char *path, drill_scenario_t **out, char *err,
                        size_t errlen) RK_WUR;

/* Frees a scenario; accepts NULL and sets *self_p to NULL. */
void drill_scenario_destroy(drill_scenario_t **self_p);

/* The canonical JSON form (offsets as ISO 8601 durations, defaults
 * written out except "to"), which drill_scenario_from_json reads back to
 * an equal scenario. A new reference owned by the caller, NULL when out of
 * memory. */
json_t *drill_scenario_to_json(const drill_scenario_t *sc);

/* Accessors; strings are borrowed from sc. */
const char *drill_scenario_exercise(const drill_scenario_t *sc);
const char *drill_scenario_name(const drill_scenario_t *sc);
double drill_scenario_time_scale(const drill_scenario_t *sc);
size_t drill_scenario_n_participants(const drill_scenario_t *sc);
const char *drill_scenario_participant(const drill_scenario_t *sc, size_t i);
size_t drill_scenario_n_injects(const drill_scenario_t *sc);
/* The i-th inject (file order), NULL past the end. */
const drill_inject_t *drill_scenario_inject(const drill_scenario_t *sc,
                                            size_t i);
/* Index of the inject named id, or -1. */
long drill_scenario_find(const drill_scenario_t *sc, const char *id);

/* Scheduling in real milliseconds, rounded to the nearest: an inject's
 * offset is at_s * 1000 / time_scale after the start of the drill (or,
 * with "after", after the participant's answer to that inject); its
 * deadline is within_s * 1000 / time_scale after it was sent to a
 * participant (0: no deadline), never less than 1 ms when there is one,
 * so a short deadline at a large time scale stays a deadline.
 * i must be < drill_scenario_n_injects. */
uint64_t drill_inject_due_ms(const drill_scenario_t *sc, size_t i);
uint64_t drill_inject_deadline_ms(const drill_scenario_t *sc, size_t i);

/* The deadline arithmetic of drill_inject_deadline_ms for any time scale
 * (the runner's --time-scale, a results file's): within_s scenario seconds
 * in real ms, rounded to the nearest, at least 1 when within_s > 0; 0 when
 * within_s is 0 (no deadline). time_scale must be > 0. */
uint64_t drill_deadline_ms(uint64_t within_s, double time_scale);

/* Whether an answer of status s meets an inject that expects expect: the
 * expected status or a later one; denied (and no answer, 0) never do.
 * The runner and the report grade by this one rule. */
bool drill_answer_meets(payload_ack_status_t s, payload_ack_status_t expect);

/* What the runner sends for one inject. Fill it with drill_inject_message
 * and do not copy it: payload.drill_inject.notice points at notice. */
typedef struct {
    envelope_kind_t kind;    /* DRILL_INJECT or COMM_CHECK */
    const char *drill_id;    /* the exercise id: header exercise flag + id */
    payload_t payload;       /* strings borrowed from the scenario */
    payload_notice_t notice; /* category "test"; unused for comm-check */
} drill_message_t;

/* Fills *m for inject i of sc. respond_by_ms (Unix ms, 0: none) is the
 * answer deadline the recipient sees; the runner computes it as send time
 * + drill_inject_deadline_ms. Title and text say EXERCISE, any notice has
 * RSIT category "test", and the result always passes payload_encode:
 * drill_scenario_from_json refused every inject for which it would not.
 * Returns 0, or RK_ERR_INVALID when i is out of range or respond_by_ms is
 * past PAYLOAD_TIME_MAX_MS. */
int drill_inject_message(const drill_scenario_t *sc, size_t i,
                         uint64_t respond_by_ms, drill_message_t *m) RK_WUR;

/* Names: "notice", "alert", "comm-check"; and back (0 when unknown). */
const char *drill_kind_name(drill_kind_t k);
drill_kind_t drill_kind_from_name(const char *name);

/* Parses a scenario offset: an ISO 8601 duration of whole units,
 * "P[nD][T[nH][nM][nS]]" ("PT2H30M", "P1DT4H"). Returns 0 and *s, or
 * RK_ERR_MALFORMED (also past DRILL_MAX_OFFSET_S). */
int drill_duration_parse(const char *text, uint64_t *s) RK_WUR;
/* Writes the canonical duration ("PT2H30M", "P1DT4H", "PT0S") into out. */
void drill_duration_format(char *out, size_t cap, uint64_t s);

/* Options of a MSEL import; any field may be 0/NULL for its default. */
typedef struct {
    const char *exercise; /* default: from the file name, e.g.
                             "Cyber Storm 2026.csv" -> "cyber-storm-2026" */
    const char *name;     /* default: the file name without its extension */
    double time_scale;    /* default 1 */
    uint64_t default_within_s; /* default DRILL_MSEL_DEFAULT_WITHIN_S */
} drill_msel_opts_t;

/* Imports a MSEL spreadsheet exported as CSV (csv: len bytes, borrowed;
 * RFC 4180, a UTF-8 BOM is skipped). The header row names the columns
 * (docs/DRILLS.md lists the names and mappings). filename (may be NULL:
 * "msel.csv") names the source in errors and gives the default exercise
 * id and name. Every problem is collected, up to DRILL_MSEL_MAX_ERRORS,
 * one per line of err: "msel.csv:7: time: '25:61' is not HH:MM, HH:MM:SS
 * or +HH:MM" (the line where the row starts). On success *out is the
 * caller's (drill_scenario_destroy). Returns 0, RK_ERR_MALFORMED,
 * RK_ERR_TOO_LARGE or RK_ERR_NOMEM. */
int drill_msel_import(const char *csv, size_t len, const char *filename,
                      drill_scenario_t **out, char *err, size_t errlen) RK_WUR;

/* As drill_msel_import with options (opts may be NULL). */
int drill_msel_import_ex(const char *csv, size_t len, const char *filename,
                         const drill_msel_opts_t *opts, drill_scenario_t **out,
                         char *err, size_t errlen) RK_WUR;

#endif
