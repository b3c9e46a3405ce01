/* rk_util: clock, encodings, times and file helpers. */
#include "rk_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t
rk_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
rk_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
rk_hex(char *out, const uint8_t *bin, size_t len) {
    sodium_bin2hex(out, 2 * len + 1, bin, len);
}

int
rk_unhex(uint8_t *bin, size_t len, const char *hex) {
    size_t got = 0;
    const char *end = NULL;

    if (strlen(hex) != 2 * len)
        return RK_ERR_MALFORMED;
    if (sodium_hex2bin(bin, len, hex, 2 * len, NULL, &got, &end) != 0 ||
        got != len || *end != '\0')
        return RK_ERR_MALFORMED;
    return RK_OK;
}

char *
rk_b64(const uint8_t *bin, size_t len) {
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    sodium_bin2base64(out, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int
rk_unb64(uint8_t *bin, size_t cap, size_t *out_len, const char *text,
         size_t text_len) {
    const char *end = NULL;
    size_t got = 0;

    /* libsodium 1.0.18 decodes some bytes >= 0x80 as if they were '/':
     * accept only the standard alphabet, padding last. */
    for (size_t i = 0; i < text_len; i++) {
        char c = text[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (c == '=' && i + 2 >= text_len && text_len % 4 == 0) {
            for (size_t j = i; j < text_len; j++)
                if (text[j] != '=')
                    return RK_ERR_MALFORMED;
            break;
        }
        if (!ok)
            return RK_ERR_MALFORMED;
    }
    /* Each 4 characters give at most 3 bytes: refuse before decoding. */
    if (text_len / 4 * 3 > cap + 2)
        return RK_ERR_TOO_LARGE;
    if (sodium_base642bin(bin, cap, text, text_len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return (text_len / 4 * 3 > cap) ? RK_ERR_TOO_LARGE : RK_ERR_MALFORMED;
    if (end != text + text_len)
        return RK_ERR_MALFORMED;
    *out_len = got;
    return RK_OK;
}

void
rk_time_format(char *out, size_t cap, uint64_t ms) {
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;
    char base[24];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms % 1000u)
        snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000u));
    else
        snprintf(out, cap, "%sZ", base);
}

int
rk_time_parse(const char *text, uint64_t *ms) {
    struct tm tm;
    unsigned frac = 0;
    int n = 0;
    const char *p;
    time_t secs;

    memset(&tm, 0, sizeof tm);
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return RK_ERR_MALFORMED;
    p = text + n;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            frac = frac * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (digits == 0)
            return RK_ERR_MALFORMED;
        while (digits++ < 3)
            frac *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return RK_ERR_MALFORMED;
    if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return RK_ERR_MALFORMED;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    secs = timegm(&tm);
    if (secs < 0)
        return RK_ERR_MALFORMED;
    *ms = (uint64_t)secs * 1000u + frac;
    return RK_OK;
}

int
rk_read_file(const char *path, size_t max, uint8_t **data, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int rc = RK_ERR_IO;

    if (fd < 0)
        return errno == ENOENT ? RK_ERR_NOT_FOUND : RK_ERR_IO;
    if (fstat(fd, &st) != 0)
        goto cleanup;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto cleanup;
    }
    if ((uint64_t)st.st_size > max) {
        rc = RK_ERR_TOO_LARGE;
        goto cleanup;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto cleanup;
        got += (size_t)r;
    }
    buf[got] = 0;
    *data = buf;
    *len = got;
    buf = NULL;
    rc = RK_OK;
cleanup:
    free(buf);
    close(fd);
    return rc;
}

static int
s_fsync_dir(const char *path) {
    char *copy = strdup(path);
    int fd, e, rc = RK_ERR_IO;

    if (!copy)
        return RK_ERR_NOMEM;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) == 0)
            rc = RK_OK;
        e = errno;
        close(fd);
        errno = e;
    }
    e = errno;
    free(copy);
    errno = e; /* fsync's or open's, for RK_ERR_IO */
    return rc;
}

int
rk_tmp_name(char *out, size_t cap, const char *path) {
    int n = snprintf(out, cap, "%s.tmp.%ld", path, (long)getpid());
    return n >= 0 && (size_t)n < cap ? RK_OK : RK_ERR_INVALID;
}

int
rk_write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return RK_ERR_IO;
        }
        done += (size_t)w;
    }
    return RK_OK;
}

int
rk_write_file(const char *path, const void *data, size_t len, unsigned mode,
              int exclusive) {
    char tmp[4096];
    int fd, e, rc = RK_ERR_IO;
    struct stat st;

    if (exclusive && lstat(path, &st) == 0)
        return RK_ERR_EXISTS;
    if (rk_tmp_name(tmp, sizeof tmp, path) != RK_OK)
        return RK_ERR_INVALID;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              (mode_t)mode);
    if (fd < 0)
        return RK_ERR_IO;
    if (fchmod(fd, (mode_t)mode) != 0 || rk_write_all(fd, data, len) != RK_OK)
        goto cleanup;
    if (fsync(fd) != 0)
        goto cleanup;
    if (close(fd) != 0) {
        fd = -1;
        goto cleanup;
    }
    fd = -1;
    if (exclusive) {
        /* link() fails if path appeared meanwhile: never overwrite. */
        if (link(tmp, path) != 0) {
            rc = errno == EEXIST ? RK_ERR_EXISTS : RK_ERR_IO;
            goto cleanup;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        goto cleanup;
    }
    return s_fsync_dir(path);
cleanup:
    e = errno; /* the failure's, not the cleanup's */
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return rc;
}

void
rk_str_copy(char *dst, size_t cap, const char *src) {
    size_t n = strnlen(src, cap - 1);
    if (src[n]) /* cut: not inside a character */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t
rk_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t c = s[0];
    uint32_t v, min;
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1fu, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0fu, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool
rk_utf8_valid(const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    uint32_t cp;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = rk_utf8_next(p + i, n - i, &cp)))
            return false;
    return true;
}

size_t
rk_utf8_scrub(char *s) {
    size_t bad = 0, left = strlen(s);
    uint32_t cp;
    for (uint8_t *p = (uint8_t *)s; *p;) {
        size_t n = rk_utf8_next(p, left, &cp);
        if (n) {
            left -= n;
            p += n;
        } else {
            *p++ = '?';
            left--;
            bad++;
        }
    }
    return bad;
}

void
rk_malloc_keep(void) {
    /* Tuning only: a libc that refuses keeps its defaults. Setting the
     * trim threshold also fixes the mmap threshold, so that is set too. */
    (void)mallopt(M_TRIM_THRESHOLD, 32 << 20);
    (void)mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

double
rk_parse_finite(const char *text) {
    char *end = NULL;
    double v = strtod(text, &end);
    return end != text && *end == '\0' && isfinite(v) ? v : NAN;
}

void
rk_opt_refused(char *out, size_t len, char *const *argv,
               const struct option *opts, int missing) {
    const char *a = optind > 0 ? argv[optind - 1] : "";
    const char *c;
    /* The argument just finished, when it is a long option that explains
     * the refusal; otherwise getopt is in (or just left) a cluster of
     * short options, and optopt is the letter. */
    if (a[0] == '-' && a[1] == '-' && a[2]) {
        const struct option *hit = NULL;
        size_t n = strcspn(a, "="), hits = 0;
        for (const struct option *o = opts; o->name; o++)
            if (strncmp(a + 2, o->name, n - 2) == 0) {
                hit = o;
                if (strlen(o->name) == n - 2) { /* exact: wins */
                    hits = 1;
                    break;
                }
                hits++;
            }
        if (!optopt) {
            snprintf(out, len, "%s option %.*s",
                     hits > 1 ? "ambiguous" : "unknown", (int)n, a);
            return;
        }
        if (hits == 1 && hit->val == optopt) {
            if (missing && hit->has_arg == required_argument && !a[n]) {
                snprintf(out, len, "--%s needs a value", hit->name);
                return;
            }
            if (!missing && hit->has_arg == no_argument && a[n] == '=') {
                snprintf(out, len, "--%s takes no value", hit->name);
                return;
            }
        }
    }
    if (missing) { /* only long options take values */
        snprintf(out, len, "%.*s needs a value", (int)strcspn(a, "="), a);
        return;
    }
    if (optopt > ' ' && optopt < 0x7f) {
        snprintf(out, len, "unknown option -%c", optopt);
        return;
    }
    /* A byte of a character beyond ASCII (optopt negative): name the
     * argument that holds it, the cluster getopt is in or the one it
     * finished. */
    c = argv[optind];
    if (!optopt || !c || c[0] != '-' || !strchr(c + 1, optopt))
        c = a;
    snprintf(out, len, "unknown option in %s", c);
}

int
rk_folder_kind(const char *dir) {
    char path[4096];
    struct stat st;
    struct dirent *de;
    DIR *d;
    int relay = 0, node;

    snprintf(path, sizeof path, "%s/log", dir);
    if ((d = opendir(path))) {
        while (!relay && (de = readdir(d))) {
            size_t n = strlen(de->d_name);
            relay = n > 4 && strcmp(de->d_name + n - 4, ".seg") == 0;
        }
        closedir(d);
    }
    snprintf(path, sizeof path, "%s/journal", dir);
    node = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    return relay && !node   ? RK_FOLDER_RELAY
           : node && !relay ? RK_FOLDER_NODE
                            : RK_FOLDER_OTHER;
}
