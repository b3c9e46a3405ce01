/* rk_error: the error codes every renraku module returns, and their text.
 * Functions that can fail return 0 or one of these negative codes; nothing
 * here allocates or logs. */
#ifndef RK_ERROR_H
#define RK_ERROR_H

#define RK_WUR __attribute__((warn_unused_result))

typedef enum {
    RK_OK = 0,
    RK_ERR_NOMEM = -1,          /* out of memory */
    RK_ERR_MALFORMED = -2,      /* input does not decode */
    RK_ERR_IO = -3,             /* a read, write or sync failed (see errno) */
    RK_ERR_TOO_LARGE = -4,      /* input exceeds a documented limit */
    RK_ERR_INVALID = -5,        /* a caller passed a bad argument */
    RK_ERR_BAD_SIGNATURE = -6,  /* a signature does not verify */
    RK_ERR_STALE = -7,          /* created time older than the window */
    RK_ERR_FUTURE = -8,         /* created time beyond the allowed skew */
    RK_ERR_REPLAY = -9,         /* (sender, msg id) already seen */
    RK_ERR_NOT_RECIPIENT = -10, /* this node is not among the recipients */
    RK_ERR_DECRYPT = -11,       /* a sealed key or the ciphertext fails */
    RK_ERR_UNKNOWN_KEY = -12,   /* no such node or key in the roster */
    RK_ERR_REVOKED = -13,       /* node or key revoked */
    RK_ERR_SUSPENDED = -14,     /* node or key suspended */
    RK_ERR_EXPIRED = -15,       /* key outside its validity period */
    RK_ERR_SERIAL = -16,        /* roster serial not newer than the held one */
    RK_ERR_PASSPHRASE = -17,    /* wrong passphrase or corrupt key file */
    RK_ERR_EXISTS = -18,        /* refusing to overwrite */
    RK_ERR_NOT_FOUND = -19,     /* file or item does not exist */
    RK_ERR_FULL = -20,          /* a bounded table is full */
    RK_ERR_MISMATCH = -21,      /* parts of a message disagree */
    RK_ERR_VERSION = -22,       /* unsupported format or protocol version */
    RK_ERR_PERMISSION = -23,    /* unsafe file mode or owner, or a link */
    RK_ERR_EXPIRED_MSG = -24,   /* message past its expiry time */
} rk_err_t;

/* Returns a static, human-readable sentence for an error code. Never NULL. */
const char *rk_strerror(int err);

#endif
