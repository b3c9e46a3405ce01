/* drill_sim: fork/exec of renrakud per simulated participant. */
#include "drill_sim.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "rk_log.h"
#include "rk_util.h"

typedef struct {
    char id[64];
    char state[3200];
    char log[3200]; /* its renrakud's stdout and stderr */
    pid_t pid;      /* 0 once reaped */
    int connected;
    int exited;  /* reaped after it exited by itself (not stopped by us) */
    int wstatus; /* ... with this waitpid status */
} sim_proc_t;

struct drill_sim {
    sim_proc_t *p;
    size_t n;
};

static pid_t
s_spawn(const drill_sim_config_t *cfg, const drill_sim_node_t *node,
        const char *state, const char *logf, char *err, size_t errlen) {
    char key[3200], delay[32], noexec[3300];
    pid_t pid;
    snprintf(key, sizeof key, "%s/%s.key", cfg->keys_dir, node->id);
    snprintf(delay, sizeof delay, "%d", node->delay_ms);
    /* Made before the fork: the child only writes it. */
    snprintf(noexec, sizeof noexec,
             "renraku-drill: cannot run %s: ", cfg->renrakud);
    pid = fork();
    if (pid == 0) {
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        const char *why;
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(cfg->renrakud, "renrakud", "--key", key, "--roster", cfg->roster,
              "--coordinator", cfg->coordinator, "--state", state, "--relay",
              cfg->relay, "--auto-answer", node->answer, "--answer-delay-ms",
              delay, "--resubmit-ms", "2000", (char *)NULL);
        /* Said in its log, which simulate shows when it exits. */
        why = strerror(errno);
        if (write(2, noexec, strlen(noexec)) < 0 ||
            write(2, why, strlen(why)) < 0 || write(2, "\n", 1) < 0)
            _exit(127);
        _exit(127);
    }
    if (pid < 0)
        snprintf(err, errlen, "%s: fork: %s", node->id, strerror(errno));
    return pid;
}

int
drill_sim_start(const drill_sim_config_t *cfg, const drill_sim_node_t *nodes,
                size_t n, drill_sim_t **out, char *err, size_t errlen) {
    drill_sim_t *self = calloc(1, sizeof *self);
    if (!self || !(self->p = calloc(n ? n : 1, sizeof *self->p))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return RK_ERR_NOMEM;
    }
    if ((mkdir(cfg->state_root, 0700) != 0 && errno != EEXIST) ||
        (mkdir(cfg->log_dir, 0700) != 0 && errno != EEXIST)) {
        snprintf(err, errlen, "%s or %s: %s", cfg->state_root, cfg->log_dir,
                 strerror(errno));
        drill_sim_stop(&self);
        return RK_ERR_IO;
    }
    for (size_t i = 0; i < n; i++) {
        sim_proc_t *p = &self->p[i];
        snprintf(p->id, sizeof p->id, "%s", nodes[i].id);
        snprintf(p->state, sizeof p->state, "%s/%s", cfg->state_root,
                 nodes[i].id);
        snprintf(p->log, sizeof p->log, "%s/%s.log", cfg->log_dir, nodes[i].id);
        p->pid = s_spawn(cfg, &nodes[i], p->state, p->log, err, errlen);
        if (p->pid < 0) {
            drill_sim_stop(&self);
            return RK_ERR_IO;
        }
        self->n++;
    }
    *out = self;
    return RK_OK;
}

static int
s_connected(const char *state) {
    json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
    char err[256];
    int ok = 0;
    if (ctl_call(state, req, 1000, &reply, err, sizeof err) == RK_OK)
        ok = json_is_true(json_object_get(reply, "connected"));
    json_decref(req);
    json_decref(reply);
    return ok;
}

void
drill_sim_status_text(int wstatus, char *buf, size_t len) {
    if (WIFEXITED(wstatus))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(buf, len, "ended (wait status %d)", wstatus);
}

/* Reaps p if its renrakud has exited, and logs it. Returns 1 if it did. */
static int
s_reap(sim_proc_t *p) {
    int status;
    char how[200];
    if (p->pid <= 0 || waitpid(p->pid, &status, WNOHANG) != p->pid)
        return 0;
    p->pid = 0;
    p->connected = 0;
    p->exited = 1;
    p->wstatus = status;
    drill_sim_status_text(status, how, sizeof how);
    log_error("event=simulated_participant_exited node=%s status=%d "
              "how=\"%s\" log=%s",
              p->id, WIFEXITED(status) ? WEXITSTATUS(status) : -1, how, p->log);
    return 1;
}

size_t
drill_sim_wait_connected(drill_sim_t *self, int timeout_ms,
                         const volatile sig_atomic_t *stop) {
    uint64_t end = rk_mono_us() / 1000 + (uint64_t)timeout_ms;
    size_t count = 0;
    int exited = 0;
    do {
        count = 0;
        for (size_t i = 0; i < self->n; i++) {
            sim_proc_t *p = &self->p[i];
            /* A daemon that exited will never connect: no point waiting
             * out the timeout for it. The others get a short grace, so
             * that all those a shared cause stopped are named. */
            if (s_reap(p) && !exited) {
                uint64_t grace = rk_mono_us() / 1000 + DRILL_SIM_EXIT_GRACE_MS;
                exited = 1;
                if (grace < end)
                    end = grace;
            }
            if (!p->connected && p->pid > 0) {
                struct stat st;
                char sock[3300];
                snprintf(sock, sizeof sock, "%s/control.sock", p->state);
                if (stat(sock, &st) == 0)
                    p->connected = s_connected(p->state);
            }
            count += p->connected != 0;
        }
        if (count == self->n || (stop && *stop))
            break;
        {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    } while (rk_mono_us() / 1000 < end);
    return count;
}

size_t
drill_sim_running(drill_sim_t *self) {
    size_t running = 0;
    for (size_t i = 0; i < self->n; i++) {
        sim_proc_t *p = &self->p[i];
        if (p->pid <= 0 || s_reap(p))
            continue;
        running++;
    }
    return running;
}

size_t
drill_sim_count(const drill_sim_t *self) {
    return self ? self->n : 0;
}

int
drill_sim_node(const drill_sim_t *self, size_t i, const char **id,
               const char **log, int *wstatus) {
    const sim_proc_t *p = &self->p[i];
    assert(i < self->n);
    *id = p->id;
    *log = p->log;
    if (p->exited)
        *wstatus = p->wstatus;
    return p->exited;
}

void
drill_sim_stop(drill_sim_t **self_p) {
    drill_sim_t *self;
    uint64_t end;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        if (self->p[i].pid > 0)
            kill(self->p[i].pid, SIGTERM);
    end = rk_mono_us() / 1000 + 5000;
    for (size_t i = 0; i < self->n; i++) {
        sim_proc_t *p = &self->p[i];
        while (p->pid > 0) {
            int status;
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                p->pid = 0;
                break;
            }
            if (rk_mono_us() / 1000 > end) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                p->pid = 0;
                break;
            }
            {
                struct timespec ts = {0, 20 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
    free(self->p);
    free(self);
    *self_p = NULL;
}
