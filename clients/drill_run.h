/* drill_run: runs a scenario over the real relay through the controller's
 * own renrakud (its control socket): sends each inject on schedule with the
 * exercise flag and drill id, follows every participant's receipts and
 * answers, and returns the observed results for drill_report. Stops by
 * itself when every inject is answered or past its deadline, or early on
 * *stop (Ctrl-C) or when the controller's daemon is lost, with what was
 * seen so far marked partial. */
#ifndef DRILL_RUN_H
#define DRILL_RUN_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "drill.h"
#include "rk_error.h"

typedef struct {
    const char *state_dir;       /* the controller's renrakud state folder */
    const drill_scenario_t *sc;  /* borrowed */
    double time_scale;           /* 0: the scenario's */
    uint64_t grace_ms;           /* the drill ends once every participant
                                    answered as expected or is this long
                                    past its deadline (without a deadline,
                                    past the send); answers that come
                                    before the end still count; 0: 5000 */
    uint64_t ctl_lost_ms;        /* the control socket failing for this
                                    long stops the drill; 0: 10000 */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop early */
    FILE *progress;              /* live progress lines, or NULL */
} drill_run_config_t;

/* Runs the drill. *results (the caller's, NULL when the drill never
 * started) is the observed-results JSON of drill_report.h: start and end
 * times, the scale, and per inject the msg ids and, per participant, when
 * it was sent, stored, delivered and every answer with its own time.
 * Returns:
 *   0            the drill ran to its end, or was stopped by *stop: then
 *                the results say "stopped": true and "stop_reason";
 *   RK_ERR_IO    it started but could not go on: the controller's daemon
 *                stopped answering on its control socket for ctl_lost_ms,
 *                or a send failed; *results is set and marked stopped
 *                (partial), and err names the socket or the inject. An
 *                inject whose send failed is, per recipient: not sent
 *                ("error") when no try reached the daemon or it refused;
 *                sent, when a try reached it unanswered and its sent
 *                records (STATE/sent) hold the send's request id; else
 *                "send_unknown", never "not sent";
 *   other codes  it could not start (no daemon, an unknown participant):
 *                *results stays NULL, err says why. */
int drill_run(const drill_run_config_t *cfg, json_t **results, char *err,
              size_t errlen) RK_WUR;

#endif
