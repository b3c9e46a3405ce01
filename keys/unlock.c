/* unlock: passphrases, key files and pinned verifier keys for the CLIs. */
#include "unlock.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>

#include "rk_util.h"

char *
unlock_passphrase_file(const char *path, char *err, size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    char *pass;
    int rc = rk_read_file(path, 4096, &data, &len);
    if (rc != RK_OK) {
        snprintf(err, errlen, "passphrase file %s: %s", path, rk_strerror(rc));
        return NULL;
    }
    len = strcspn((char *)data, "\r\n");
    pass = sodium_malloc(len + 1);
    if (pass) {
        memcpy(pass, data, len);
        pass[len] = 0;
    }
    sodium_memzero(data, len);
    free(data);
    if (pass && len == 0) {
        snprintf(err, errlen, "passphrase file %s: first line is empty", path);
        sodium_free(pass);
        return NULL;
    }
    if (!pass)
        snprintf(err, errlen, "out of memory");
    return pass;
}

char *
unlock_passphrase_prompt(const char *prompt, int confirm, char *err,
                         size_t errlen) {
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    char *a = NULL, *b = NULL;

    if (!tty) {
        snprintf(err, errlen,
                 "a passphrase is needed and there is no "
                 "terminal: use --passphrase-file");
        return NULL;
    }
    a = sodium_malloc(1024);
    b = sodium_malloc(1024);
    if (!a || !b) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    tcgetattr(fileno(tty), &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    fprintf(tty, "%s: ", prompt);
    fflush(tty);
    if (!fgets(a, 1024, tty))
        a[0] = 0;
    fprintf(tty, "\n");
    if (confirm) {
        fprintf(tty, "again: ");
        fflush(tty);
        if (!fgets(b, 1024, tty))
            b[0] = 0;
        fprintf(tty, "\n");
    }
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    a[strcspn(a, "\r\n")] = 0;
    b[strcspn(b, "\r\n")] = 0;
    if (!a[0] || (confirm && strcmp(a, b) != 0)) {
        snprintf(err, errlen, "%s",
                 a[0] ? "the passphrases differ" : "empty passphrase");
        goto fail;
    }
    sodium_free(b);
    fclose(tty);
    return a;
fail:
    sodium_free(a);
    sodium_free(b);
    fclose(tty);
    return NULL;
}

int
unlock_identity(const char *path, const char *pass_file, identity_t **out,
                char *warn, size_t warnlen, char *err, size_t errlen) {
    char *pass = NULL;
    int enc = identity_file_encrypted(path), rc;

    assert(warn || !pass_file);
    if (warn && warnlen)
        warn[0] = 0;
    if ((enc == RK_ERR_PERMISSION || enc == RK_ERR_MALFORMED) &&
        identity_file_kind(path) == IDENTITY_FILE_PUBLIC) {
        /* A .pub is 0644 by design: the problem is the file, not its
         * mode. */
        identity_public_t pub;
        char who[sizeof pub.id + 40] = "", why[300];
        if (identity_public_load(path, &pub, why, sizeof why) == RK_OK)
            snprintf(who, sizeof who, " of '%s', role %s", pub.id,
                     identity_role_name(pub.role));
        snprintf(err, errlen,
                 "key file %s: a public key file (.pub%s), not a secret key "
                 "file: give the .key file that renraku-keys gen wrote "
                 "beside it",
                 path, who);
        return RK_ERR_MALFORMED;
    }
    if (enc < 0) {
        snprintf(err, errlen, "key file %s: %s%s", path, rk_strerror(enc),
                 enc == RK_ERR_PERMISSION
                     ? " (must be a regular file of yours, mode 0600, not a "
                       "link)"
                 : enc == RK_ERR_MALFORMED ? " (not a renraku secret key file)"
                                           : "");
        return enc;
    }
    if (enc) {
        pass = pass_file
                   ? unlock_passphrase_file(pass_file, err, errlen)
                   : unlock_passphrase_prompt("passphrase", 0, err, errlen);
        if (!pass) {
            char why[512];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "key file %s is encrypted: %s", path, why);
            return RK_ERR_PASSPHRASE;
        }
    }
    rc = identity_load(path, pass, out);
    sodium_free(pass);
    if (rc != RK_OK)
        snprintf(err, errlen, "key file %s: %s", path, rk_strerror(rc));
    else if (!enc && pass_file)
        /* Believing a plain key file protected is the risk: a passphrase
         * given was meant to protect it, so say it went unused. */
        snprintf(warn, warnlen,
                 "key file %s is not encrypted, so the passphrase in %s was "
                 "not used: its secret keys are protected only by the file's "
                 "permissions",
                 path, pass_file);
    return rc;
}

int
unlock_coordinator_role(const char *path, const identity_public_t *pub,
                        char *err, size_t errlen) {
    assert(path && pub);
    if (pub->role == IDENTITY_ROLE_COORDINATOR)
        return RK_OK;
    snprintf(err, errlen,
             "%s: the key of '%s', role %s; --coordinator needs the "
             "coordinator's key (role coordinator), which signs the roster",
             path, pub->id, identity_role_name(pub->role));
    return RK_ERR_INVALID;
}

int
unlock_verifier(const char *arg, note_verifier_t *out, char *err,
                size_t errlen) {
    identity_public_t pub;
    char perr[256], *vkey = NULL;
    struct stat st;
    int rc;

    if (stat(arg, &st) != 0) {
        int e = errno;
        if (note_vkey_parse(arg, out) == RK_OK)
            return RK_OK;
        /* The file's problem first: a path mistyped is the likely case. */
        if (e == ENOENT || e == ENOTDIR) {
            snprintf(err, errlen,
                     "%s: no such file, and not a verifier key "
                     "(name+hash+key) either",
                     arg);
            return RK_ERR_NOT_FOUND;
        }
        snprintf(err, errlen,
                 "%s: %s, and not a verifier key (name+hash+key) either", arg,
                 strerror(e));
        return RK_ERR_IO;
    }
    rc = identity_public_load(arg, &pub, perr, sizeof perr);
    if (rc != RK_OK) {
        snprintf(err, errlen, "%s", perr); /* it names arg */
        return rc;
    }
    rc = unlock_coordinator_role(arg, &pub, err, errlen);
    if (rc != RK_OK)
        return rc;
    rc = note_vkey_format(pub.id, pub.sign_pk, &vkey);
    if (rc == RK_OK)
        rc = note_vkey_parse(vkey, out);
    free(vkey);
    if (rc != RK_OK)
        snprintf(err, errlen, "%s: %s", arg, rk_strerror(rc));
    return rc;
}
