/* rk_error: text for the project's error codes. */
#include "rk_error.h"

const char *
rk_strerror(int err) {
    switch (err) {
    case RK_OK:
        return "success";
    case RK_ERR_NOMEM:
        return "out of memory";
    case RK_ERR_MALFORMED:
        return "malformed input";
    case RK_ERR_IO:
        return "input/output error";
    case RK_ERR_TOO_LARGE:
        return "input exceeds the size limit";
    case RK_ERR_INVALID:
        return "invalid argument";
    case RK_ERR_BAD_SIGNATURE:
        return "signature does not verify";
    case RK_ERR_STALE:
        return "created time is older than the replay window";
    case RK_ERR_FUTURE:
        return "created time is beyond the allowed clock skew";
    case RK_ERR_REPLAY:
        return "message id already seen from this sender";
    case RK_ERR_NOT_RECIPIENT:
        return "this node is not a recipient";
    case RK_ERR_DECRYPT:
        return "decryption failed";
    case RK_ERR_UNKNOWN_KEY:
        return "unknown node or key";
    case RK_ERR_REVOKED:
        return "node or key is revoked";
    case RK_ERR_SUSPENDED:
        return "node or key is suspended";
    case RK_ERR_EXPIRED:
        return "key is outside its validity period";
    case RK_ERR_SERIAL:
        return "roster serial is not newer than the one held";
    case RK_ERR_PASSPHRASE:
        return "wrong passphrase or corrupt key file";
    case RK_ERR_EXISTS:
        return "file already exists";
    case RK_ERR_NOT_FOUND:
        return "not found";
    case RK_ERR_FULL:
        return "table is full";
    case RK_ERR_MISMATCH:
        return "parts of the message disagree";
    case RK_ERR_VERSION:
        return "unsupported version";
    case RK_ERR_PERMISSION:
        return "unsafe file permissions, owner or link";
    case RK_ERR_EXPIRED_MSG:
        return "message has expired";
    }
    return "unknown error";
}
