/* drill_sim: simulated participants for drill rehearsals. Starts one real
 * renrakud per participant (its own key and state folder) with
 * --auto-answer, so a rehearsal exercises the relay and the nodes exactly as
 * a real drill does; stops them all. No scenario logic here. */
#ifndef DRILL_SIM_H
#define DRILL_SIM_H

#include <stddef.h>
#include <sys/types.h>

#include "rk_error.h"

typedef struct {
    const char *id;     /* node id; its key is KEYS_DIR/<id>.key */
    const char *answer; /* status it answers with, e.g. "acknowledged" */
    int delay_ms;       /* how long after arrival it answers */
} drill_sim_node_t;

typedef struct {
    const char *renrakud;    /* path of the renrakud binary */
    const char *keys_dir;    /* folder of <id>.key files */
    const char *roster;      /* signed roster */
    const char *coordinator; /* pinned coordinator key (vkey or .pub) */
    const char *relay;       /* relay endpoint */
    const char *state_root;  /* state folders go in STATE_ROOT/<id> */
    const char *log_dir;     /* each daemon logs to LOG_DIR/<id>.log */
} drill_sim_config_t;

typedef struct drill_sim drill_sim_t;

/* Starts a renrakud for each node. *out is the caller's. err names the
 * first node that could not start. Returns 0, RK_ERR_IO or RK_ERR_NOMEM;
 * on failure every daemon started is stopped again. */
int drill_sim_start(const drill_sim_config_t *cfg,
                    const drill_sim_node_t *nodes, size_t n, drill_sim_t **out,
                    char *err, size_t errlen) RK_WUR;

/* Waits (bounded by timeout_ms) until every daemon answers on its control
 * socket and reports the relay connected. Returns how many are connected. */
size_t drill_sim_wait_connected(drill_sim_t *self, int timeout_ms);

/* How many daemons are still running (a crashed one is reaped and
 * logged). */
size_t drill_sim_running(drill_sim_t *self);

/* Stops every daemon (SIGTERM, then SIGKILL after a grace period) and
 * frees; accepts NULL and sets *self_p to NULL. */
void drill_sim_stop(drill_sim_t **self_p);

#endif
