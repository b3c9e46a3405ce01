/* drill_sim: simulated participants for drill rehearsals. Starts one real
 * renrakud per participant (its own key and state folder) with
 * --auto-answer, so a rehearsal exercises the relay and the nodes exactly as
 * a real drill does; stops them all. No scenario logic here. */
#ifndef DRILL_SIM_H
#define DRILL_SIM_H

#include <signal.h>
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
 * socket and reports the relay connected. Stops waiting at once when *stop
 * (may be NULL) becomes non-zero, and soon after a daemon exits: the one
 * that exited is reaped and logged (event=simulated_participant_exited),
 * and the others get up to DRILL_SIM_EXIT_GRACE_MS more, so that a cause
 * they share (a bad roster) has every daemon it stopped reaped and named
 * (drill_sim_node). Returns how many are connected. */
size_t drill_sim_wait_connected(drill_sim_t *self, int timeout_ms,
                                const volatile sig_atomic_t *stop);

#define DRILL_SIM_EXIT_GRACE_MS 500

/* How many daemons are still running (a crashed one is reaped and
 * logged). */
size_t drill_sim_running(drill_sim_t *self);

/* How many nodes were started. */
size_t drill_sim_count(const drill_sim_t *self);

/* Node i (below drill_sim_count): its id and the path of its log file
 * (both borrowed, valid until drill_sim_stop). Returns 1 with its waitpid
 * status in *wstatus when its renrakud exited by itself (reaped by
 * drill_sim_wait_connected or drill_sim_running), 0 while it runs. */
int drill_sim_node(const drill_sim_t *self, size_t i, const char **id,
                   const char **log, int *wstatus);

/* A waitpid status in words, e.g. "exited with status 1" or "was killed
 * by signal 9 (Killed)", into buf (always terminated). */
void drill_sim_status_text(int wstatus, char *buf, size_t len);

/* Stops every daemon (SIGTERM, then SIGKILL after a grace period) and
 * frees; accepts NULL and sets *self_p to NULL. */
void drill_sim_stop(drill_sim_t **self_p);

#endif
