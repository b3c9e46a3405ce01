/* rk_log: the event line writer behind log_debug/info/warn/error. */
#include "rk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

rk_log_level_t rk_log_level = RK_LOG_INFO;

static const char *s_names[] = {"debug", "info", "warn", "error", "off"};

int
rk_log_set_level(const char *name) {
    for (int i = 0; i <= RK_LOG_OFF; i++) {
        if (strcmp(name, s_names[i]) == 0) {
            rk_log_level = (rk_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void
rk_log_write(rk_log_level_t level, const char *fmt, ...) {
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    char line[2048];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent writers do not interleave. */
    fprintf(stderr, "ts=%s.%03ldZ level=%s %s\n", stamp, ts.tv_nsec / 1000000L,
            s_names[level], line);
}
