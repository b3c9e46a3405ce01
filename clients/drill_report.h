/* drill_report: what happened in a drill, per participant and inject,
 * from a scenario and the times the runner observed; as a terminal table,
 * JSON, CSV and one self-contained HTML page. No I/O, no clock: the same
 * input always gives the same report. docs/DRILLS.md. */
#ifndef DRILL_REPORT_H
#define DRILL_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "drill.h"
#include "rk_error.h"

/* The observed results: the runner's side of the interface, one JSON
 * object. Times are RFC 3339 UTC strings (rk_time_parse), real wall-clock
 * times; an absent time means it did not happen. Unknown keys are refused.
 *
 * {
 *   "exercise": "cyberstorm-2026",   optional; must equal the scenario's
 *   "started": T,                    required: the drill's start
 *   "finished": T,                   optional: absent while it runs (the
 *                                    report is then partial)
 *   "stopped": true,                 optional: stopped at "finished" before
 *                                    its end (Ctrl-C, daemon lost): the
 *                                    report is partial
 *   "stop_reason": "...",            optional: why, shown in the report
 *   "time_scale": 60,                optional, default the scenario's
 *   "participants": ["jp.nisc"],     optional: the node ids after groups
 *                                    were expanded; default the
 *                                    scenario's participants
 *   "injects": [{
 *     "id": "2",                     a scenario inject id
 *     "msg_id": HEX32,               optional, the message sent
 *     "sent": T,                     optional, default for its recipients
 *     "recipients": {                node id -> what happened to it
 *       "us.cisa": {
 *         "sent": T,                 optional, overrides the inject's (an
 *                                    "after" inject goes out per node)
 *         "msg_id": HEX32,           optional, overrides the inject's
 *         "stored": T,               the relay logged it
 *         "delivered": T,            the node's receipt
 *         "answered": T,             first answer: time,
 *         "answer": "acknowledged",  its status,
 *         "comment": "...",          and its text (optional)
 *         "answers": [{"at": T, "status": S, "comment": C}],
 *                                    instead of the three above: every
 *                                    answer, in any order
 *         "error": "..."             optional: why it was not sent (then
 *                                    the inject's "sent" does not apply)
 *         "send_unknown": "..."      optional: why it is not known whether
 *                                    it was sent (the daemon took the send
 *                                    and never answered); not with "sent"
 *                                    or "error", and the inject's "sent"
 *                                    does not apply
 *       }}}],
 *   "unreachable": ["x", {"id": "y", "reason": "no key in roster"}]
 *                                    optional: nodes the runner could not
 *                                    address at all
 * }
 *
 * A row (participant x inject) exists when the inject lists that
 * recipient, or the scenario addresses the inject to it by name or to
 * every participant. Computed per row, in real milliseconds and in
 * scenario milliseconds (real x time_scale): delivery time (delivered -
 * sent), answer time (first answer of any status - sent), the time of the
 * first sufficient answer (the one credited), and the outcome:
 *   met          an answer with the expected status or a later one
 *                (received < acknowledged < in-progress < resolved; denied
 *                never counts) came within the deadline (within_s /
 *                time_scale real seconds after sent), or at all when the
 *                inject has no deadline
 *   late         such an answer came, after the deadline       (missed)
 *   wrong-status answers came, none with a sufficient status, and the
 *                deadline passed or the drill ran to its end   (missed)
 *   no-answer    no answer, and the deadline passed or the drill ran to
 *                its end (finished, not stopped)               (missed)
 *   pending      no sufficient answer yet, deadline still open at "as of"
 *                (finished, else the latest time in the input) and the
 *                drill did not run to its end
 *   not-sent     the inject never went to this participant
 *   unknown      it is not known whether it went ("send_unknown")
 * Per participant: reachable (at least one inject delivered); median and
 * 90th percentile of its answer times by the nearest-rank method (the
 * ceil(p/100 x n)-th smallest; the median of 2 values is the lower). */
typedef struct drill_report drill_report_t;

/* Computes the report of scenario sc (borrowed; must outlive the report)
 * from observed (borrowed). On success *out is the caller's
 * (drill_report_destroy). On failure err (errlen bytes, may be NULL) gets
 * "observed: PATH: problem", e.g. "observed: injects[0].recipients.us-cisa
 * .delivered: 'yesterday' is not an RFC 3339 UTC time". Returns 0,
 * RK_ERR_MALFORMED or RK_ERR_NOMEM. */
int drill_report_new(const drill_scenario_t *sc, const json_t *observed,
                     drill_report_t **out, char *err, size_t errlen) RK_WUR;

/* Frees a report; accepts NULL and sets *self_p to NULL. */
void drill_report_destroy(drill_report_t **self_p);

/* The renderings: malloc'd NUL-terminated text owned by the caller, or
 * NULL when out of memory.
 *   text: a table per participant and inject, per-participant summary and
 *         who was never reached, for a terminal (UTF-8, no colour codes);
 *   json: every computed value, pretty-printed (see docs/DRILLS.md);
 *   csv:  RFC 4180 with CRLF, a header row, one row per participant x
 *         inject;
 *   html: one page, inline CSS and SVG (timeline, response-time chart),
 *         no script and no network; every string from the input is
 *         escaped. */
char *drill_report_text(const drill_report_t *r);
char *drill_report_json(const drill_report_t *r);
char *drill_report_csv(const drill_report_t *r);
char *drill_report_html(const drill_report_t *r);

#endif
