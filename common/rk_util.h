/* rk_util: small helpers every module needs: clock, byte order, hex and
 * base64, RFC 3339 times, bounded file reads and durable file writes.
 * No protocol knowledge lives here. */
#ifndef RK_UTIL_H
#define RK_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

/* Milliseconds since the Unix epoch, wall clock. */
uint64_t rk_now_ms(void);

/* Microseconds on the monotonic clock: for spans, never set back. */
uint64_t rk_mono_us(void);

static inline void
rk_put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void
rk_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void
rk_put_be64(uint8_t *p, uint64_t v) {
    rk_put_be32(p, (uint32_t)(v >> 32));
    rk_put_be32(p + 4, (uint32_t)v);
}
static inline uint32_t
rk_get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t
rk_get_be64(const uint8_t *p) {
    return ((uint64_t)rk_get_be32(p) << 32) | rk_get_be32(p + 4);
}

/* Lower-case hex of bin into out, which must hold 2*len+1 bytes. */
void rk_hex(char *out, const uint8_t *bin, size_t len);

/* Decodes exactly len bytes of hex (no separators). Returns 0 or
 * RK_ERR_MALFORMED when the text is not 2*len hex digits. */
int rk_unhex(uint8_t *bin, size_t len, const char *hex) RK_WUR;

/* Standard base64 (RFC 4648 section 4, with padding). Returns a malloc'd,
 * NUL-terminated string owned by the caller, or NULL when out of memory. */
char *rk_b64(const uint8_t *bin, size_t len);

/* Decodes standard base64 into bin (capacity cap). *out_len gets the size.
 * Returns 0, RK_ERR_MALFORMED for bad text or trailing garbage, or
 * RK_ERR_TOO_LARGE when the result would not fit. */
int rk_unb64(uint8_t *bin, size_t cap, size_t *out_len, const char *text,
             size_t text_len) RK_WUR;

/* Formats ms since the epoch as "2026-11-22T07:18:00Z" (or with ".123"
 * when ms is not a whole second) into out (at least 32 bytes). */
void rk_time_format(char *out, size_t cap, uint64_t ms);

/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z". Returns 0 or
 * RK_ERR_MALFORMED. */
int rk_time_parse(const char *text, uint64_t *ms) RK_WUR;

/* A finite number read from the whole of text (strtod), or NAN when text
 * is not one: a range check such as !(v > 0) then refuses it too. */
double rk_parse_finite(const char *text);

/* Copies src into dst of cap bytes (cap > 0), always terminated: as
 * snprintf(dst, cap, "%s", src) without the format's cost (the relay's
 * per-message paths), except that a cut never splits a UTF-8 character
 * (it ends before the character that does not fit; src is taken to be
 * UTF-8: stray continuation bytes at the cut go with the byte before). */
void rk_str_copy(char *dst, size_t cap, const char *src);

/* Decodes one UTF-8 character at s (n > 0 bytes available). Returns its
 * length (1 to 4) and sets *cp, or 0 when the bytes there are not valid
 * UTF-8: a cut character, a stray byte, an overlong form, a surrogate or
 * a code point past U+10FFFF. */
size_t rk_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* True when s[0 .. n) is valid UTF-8 (as rk_utf8_next sees it). */
bool rk_utf8_valid(const char *s, size_t n);

/* Replaces, in place, every byte of s that is not part of a valid UTF-8
 * character (a cut character, a stray byte, an overlong form, a surrogate)
 * with '?'. Returns how many were replaced. For text bound for JSON, which
 * refuses invalid UTF-8 (jansson's json_string returns NULL): a message
 * cut with "%.200s" would otherwise vanish from a report. */
size_t rk_utf8_scrub(char *s);

/* Why getopt_long refused the argument it just read, for a one-line
 * usage error: "unknown option --bogus", "ambiguous option --d",
 * "--data needs a value", "--json takes no value" (a long option named in
 * full, also when abbreviated), "unknown option -x" (a letter of a
 * cluster: argv[optind - 1] is then not always its argument), "unknown
 * option in ARG" (a byte beyond ASCII). For the programs' option loops:
 * optstring ":" first, long options only. missing: getopt returned ':'.
 * Reads optind and optopt. */
void rk_opt_refused(char *out, size_t len, char *const *argv,
                    const struct option *opts, int missing);

/* For the long-running servers (relay, renrakud), called once at the
 * start: glibc keeps up to 32 MiB of freed memory at the top of each
 * arena instead of giving it back after every batch (its default trims
 * above 128 KiB), and serves blocks up to 4 MiB from the heap rather than
 * a fresh mmap each. A batch's decoded frames are freed together, so with
 * the default every batch was faulted in again: on the bench's virtual
 * machine a page fault costs microseconds, and this halved the relay's
 * faults and took about 9% off its CPU per message (bench/BENCHMARKS.md).
 * Peak memory is unchanged; what was freed is kept for reuse. */
void rk_malloc_keep(void);

/* Reads a whole file of at most max bytes. *data is malloc'd (plus a NUL
 * after the end, not counted in *len) and owned by the caller. Returns 0,
 * RK_ERR_NOT_FOUND, RK_ERR_TOO_LARGE, RK_ERR_NOMEM or RK_ERR_IO. */
int rk_read_file(const char *path, size_t max, uint8_t **data,
                 size_t *len) RK_WUR;

/* The temporary name of path: "<path>.tmp.<pid>" (what a crash leaves
 * under it is removed by whoever owns the folder at its next start).
 * Returns 0, or RK_ERR_INVALID when it does not fit in cap. */
int rk_tmp_name(char *out, size_t cap, const char *path) RK_WUR;

/* Writes all len bytes of data to fd (again after EINTR or a short
 * write). Returns 0 or RK_ERR_IO (errno tells why). */
int rk_write_all(int fd, const void *data, size_t len) RK_WUR;

/* Writes data to path durably: a temporary file beside it, fsync, rename,
 * fsync of the folder. mode is the new file's permission bits. With
 * exclusive set, an existing path gives RK_ERR_EXISTS. Returns 0,
 * RK_ERR_EXISTS or RK_ERR_IO (errno tells why). */
int rk_write_file(const char *path, const void *data, size_t len, unsigned mode,
                  int exclusive) RK_WUR;

/* What a folder given to one program belongs to, when it is another's: a
 * relay's data folder (renraku-relay --data: log/ holds a segment, *.seg)
 * or a node's state folder (renrakud --state: it holds its journal, made
 * at each start). Empty folders left by a refused start are no sign.
 * Returns RK_FOLDER_RELAY, RK_FOLDER_NODE, or RK_FOLDER_OTHER (neither,
 * both, missing, or it cannot be looked at: the program's own checks
 * then say why). */
enum { RK_FOLDER_OTHER = 0, RK_FOLDER_RELAY = 1, RK_FOLDER_NODE = 2 };
int rk_folder_kind(const char *dir);

#endif
