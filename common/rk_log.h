/* rk_log: one key=value line per event on stderr, for operators to grep and
 * ship. The level is checked before the arguments are evaluated. Never pass
 * keys or payload bytes; log the peer id and the reason. */
#ifndef RK_LOG_H
#define RK_LOG_H

typedef enum {
    RK_LOG_DEBUG = 0,
    RK_LOG_INFO = 1,
    RK_LOG_WARN = 2,
    RK_LOG_ERROR = 3,
    RK_LOG_OFF = 4,
} rk_log_level_t;

extern rk_log_level_t rk_log_level;

/* Sets the threshold from "debug", "info", "warn", "error" or "off".
 * Returns 0, or -1 for an unknown name (the level is then unchanged). */
int rk_log_set_level(const char *name);

/* Writes "ts=... level=... " followed by the formatted event and a newline. */
void rk_log_write(rk_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define RK_LOG_AT(lvl, ...)                                                    \
    do {                                                                       \
        if ((lvl) >= rk_log_level)                                             \
            rk_log_write((lvl), __VA_ARGS__);                                  \
    } while (0)
#define log_debug(...) RK_LOG_AT(RK_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) RK_LOG_AT(RK_LOG_INFO, __VA_ARGS__)
#define log_warn(...) RK_LOG_AT(RK_LOG_WARN, __VA_ARGS__)
#define log_error(...) RK_LOG_AT(RK_LOG_ERROR, __VA_ARGS__)

#endif
