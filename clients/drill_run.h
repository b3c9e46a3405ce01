/* drill_run: runs a scenario over the real relay through the controller's
 * own renrakud (its control socket): sends each inject on schedule with the
 * exercise flag and drill id, follows every participant's receipts and
 * answers, and returns the observed results for drill_report. Stops by
 * itself when every inject is answered or past its deadline, or on *stop
 * (Ctrl-C) with what was seen so far. */
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
    uint64_t grace_ms;           /* wait this long past the last deadline
                                    (or, without deadlines, past the last
                                    send) for late answers; 0: 5000 */
    volatile sig_atomic_t *stop; /* set by a signal handler: stop early */
    FILE *progress;              /* live progress lines, or NULL */
} drill_run_config_t;

/* Runs the drill. *results (the caller's) is the observed-results JSON of
 * drill_report.h: start and end times, the scale, and per inject the msg
 * ids and, per participant, when it was sent, stored, delivered and
 * answered and with what. Returns 0 (also when stopped early: the results
 * say "stopped": true), or an rk_err_t with err naming the problem (no
 * daemon, an unknown participant, a send refused). */
int drill_run(const drill_run_config_t *cfg, json_t **results, char *err,
              size_t errlen) RK_WUR;

#endif
