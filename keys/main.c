/* renraku-keys: make identities, build and sign the roster (the contact
 * directory), verify and show it. Thin: parse arguments, call identity.h
 * and roster.h, print. Exit codes: 0 done, 1 the operation failed (bad
 * file, bad signature, ...), 2 usage error. */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "identity.h"
#include "note.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char *s_usage =
    "usage: renraku-keys COMMAND [options]\n"
    "\n"
    "Identities\n"
    "  gen --id ID --role ROLE --out DIR [--encrypt] [--passphrase-file F]\n"
    "      make three key pairs (signing, encryption, transport); writes\n"
    "      DIR/ID.key (secret, 0600) and DIR/ID.pub (public, for the roster)\n"
    "      ROLE: partner, controller, auditor, relay or coordinator\n"
    "  show FILE [--passphrase-file F]\n"
    "                            print ids, key ids and public keys of a\n"
    "                            .key or .pub file\n"
    "  vkey FILE [--passphrase-file F]\n"
    "                            print the signed-note verifier key of a\n"
    "                            .key or .pub file (what nodes pin)\n"
    "\n"
    "The roster (contact directory)\n"
    "  roster init FILE --framework NAME\n"
    "  roster add FILE --pub ID.pub --country CC --org ORG [--group G]...\n"
    "             [--contact SPEC]... [--not-before T] [--not-after T]\n"
    "  roster update FILE --id ID [--country CC] [--org ORG] [--group G]...\n"
    "             [--remove-group G]... [--contact SPEC]... "
    "[--clear-contacts]\n"
    "             [--rotate ID.pub [--not-before T] [--not-after T]]\n"
    "  roster suspend|revoke|activate FILE --id ID [--reason TEXT]\n"
    "  roster remove FILE --id ID\n"
    "  roster sign FILE --key COORDINATOR.key --out SIGNED [--passphrase-file "
    "F]\n"
    "             serial + 1, written back to FILE, signed note to SIGNED\n"
    "             (an existing SIGNED must be a signed roster)\n"
    "  roster verify SIGNED --coordinator VKEY|FILE [--held-serial N]\n"
    "  roster show FILE|SIGNED [--coordinator VKEY|FILE] [--json]\n"
    "             a SIGNED roster is shown only verified, with --coordinator;\n"
    "             a --coordinator key file that is encrypted takes\n"
    "             --passphrase-file F\n"
    "\n"
    "SPEC: \"name=Duty desk;email=soc@example.org;phone=+81-3-0000;"
    "hours=24/7;tz=Asia/Tokyo;lang=ja,en\"\n"
    "T: RFC 3339 UTC time, e.g. 2027-01-01T00:00:00Z\n"
    "Run 'renraku-keys COMMAND --help' for one command.\n";

static void s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_fail(const char *fmt, ...) {
    va_list ap;
    fputs("renraku-keys: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A line on stderr about something done that may not be what was meant;
 * the command goes on. */
static void s_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_warn(const char *fmt, ...) {
    va_list ap;
    fputs("renraku-keys: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Reports a getopt failure in our own words (rk_opt_refused): with
 * opterr on, getopt would print it under the subcommand's name
 * ("gen: ..."). opts: the loop's options. */
static void
s_bad_option(int c, char **argv, const struct option *opts) {
    char why[300];
    rk_opt_refused(why, sizeof why, argv, opts, c == ':');
    s_fail("%s (see --help)", why);
}

/* ---- passphrases ---- */

/* Passphrases and key files go through keys/unlock.h, as in every other
 * program; these wrappers only print its one-line errors. */
static char *
s_passphrase_file(const char *path) {
    char err[512];
    char *pass = unlock_passphrase_file(path, err, sizeof err);
    if (!pass)
        s_fail("%s", err);
    return pass;
}

static char *
s_passphrase_prompt(const char *prompt, int confirm) {
    char err[512];
    char *pass = unlock_passphrase_prompt(prompt, confirm, err, sizeof err);
    if (!pass)
        s_fail("%s", err);
    return pass;
}

static identity_t *
s_load_identity(const char *path, const char *pass_file) {
    identity_t *id = NULL;
    char err[600], warn[600];
    if (unlock_identity(path, pass_file, &id, warn, sizeof warn, err,
                        sizeof err) != RK_OK) {
        s_fail("%s", err);
        return NULL;
    }
    if (warn[0])
        s_warn("%s", warn);
    return id;
}

/* Reads a .key or .pub file's public half, by what the file holds (not
 * its name): a secret key file is opened with the passphrase in pass_file
 * when it is encrypted (may be NULL: then the terminal is asked). */
static int
s_load_public(const char *path, const char *pass_file, identity_public_t *pub) {
    char err[512];
    int kind = identity_file_kind(path);

    if (kind < 0) {
        s_fail("%s: %s", path,
               strerror(kind == RK_ERR_NOT_FOUND ? ENOENT : errno));
        return -1;
    }
    if (kind == IDENTITY_FILE_EMPTY || kind == IDENTITY_FILE_OTHER) {
        /* Not handed to the secret key loader: it would refuse the file
         * for its mode (a .pub is 0644), not for what is wrong with it. */
        s_fail("%s: %sneither a public key file (.pub, JSON) nor a "
               "renraku secret key file (.key)",
               path, kind == IDENTITY_FILE_EMPTY ? "empty: " : "");
        return -1;
    }
    if (kind == IDENTITY_FILE_PUBLIC) {
        if (identity_public_load(path, pub, err, sizeof err) != RK_OK) {
            s_fail("public key file %s", err); /* err names path */
            return -1;
        }
        if (pass_file)
            s_warn("%s is a public key file, never encrypted, so the "
                   "passphrase in %s was not used",
                   path, pass_file);
        return 0;
    }
    identity_t *id = s_load_identity(path, pass_file);
    if (!id)
        return -1;
    *pub = *identity_public(id);
    identity_destroy(&id);
    return 0;
}

/* The pinned coordinator key: a vkey string, or a .pub/.key file of role
 * coordinator. */
static int
s_coordinator(const char *arg, const char *pass_file, note_verifier_t *v) {
    identity_public_t pub;
    char *vkey = NULL, err[512];
    struct stat st;
    int rc;

    if (stat(arg, &st) != 0) {
        int e = errno;
        if (note_vkey_parse(arg, v) == RK_OK) {
            if (pass_file)
                s_warn("--coordinator is a verifier key, not a key file, so "
                       "the passphrase in %s was not used",
                       pass_file);
            return 0;
        }
        s_fail("--coordinator %s: %s, and not a verifier key "
               "(name+hash+key) either",
               arg, e == ENOENT || e == ENOTDIR ? "no such file" : strerror(e));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        s_fail("--coordinator %s: is a directory, not a key file (.pub)", arg);
        return -1;
    }
    if (s_load_public(arg, pass_file, &pub) != 0)
        return -1;
    if (unlock_coordinator_role(arg, &pub, err, sizeof err) != RK_OK) {
        s_fail("--coordinator %s", err);
        return -1;
    }
    rc = note_vkey_format(pub.id, pub.sign_pk, &vkey);
    if (rc == RK_OK)
        rc = note_vkey_parse(vkey, v);
    free(vkey);
    if (rc != RK_OK) {
        s_fail("--coordinator %s: %s", arg, rk_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- gen / show / vkey ---- */

static int
cmd_gen(int argc, char **argv) {
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},
        {"role", required_argument, 0, 'r'},
        {"out", required_argument, 0, 'o'},
        {"encrypt", no_argument, 0, 'e'},
        {"passphrase-file", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *id = NULL, *role = NULL, *out = NULL, *pfile = NULL;
    int encrypt = 0, c, rc;
    identity_t *ident;
    identity_role_t r;
    char *pass = NULL, kid[17];
    uint8_t kid_bin[8];

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            id = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'e':
            encrypt = 1;
            break;
        case 'p':
            pfile = optarg;
            encrypt = 1;
            break;
        case 'h':
            printf("usage: renraku-keys gen --id ID --role ROLE --out DIR "
                   "[--encrypt] [--passphrase-file F]\n"
                   "Writes DIR/ID.key (secret, 0600; with --encrypt under an "
                   "argon2id passphrase) and DIR/ID.pub.\n");
            return 0;
        default:
            s_bad_option(c, argv, opts);
            return EXIT_USAGE;
        }
    }
    if (!id || !role || !out || optind != argc) {
        s_fail("gen needs --id, --role and --out (see --help)");
        return EXIT_USAGE;
    }
    if (!envelope_node_id_valid(id)) {
        s_fail("--id %s: not a node id (lower-case a-z 0-9 . _ -, 1-63 "
               "bytes, e.g. jp.nisc)",
               id);
        return EXIT_USAGE;
    }
    r = identity_role_from_name(role);
    if (!r) {
        s_fail("--role %s: must be partner, controller, auditor, relay or "
               "coordinator",
               role);
        return EXIT_USAGE;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        s_fail("--out %s: %s", out, strerror(errno));
        return EXIT_FAIL;
    }
    if (encrypt) {
        pass = pfile ? s_passphrase_file(pfile)
                     : s_passphrase_prompt("new passphrase", 1);
        if (!pass)
            return EXIT_FAIL;
    }
    ident = identity_generate(id, r);
    if (!ident) {
        sodium_free(pass);
        s_fail("cannot make keys: out of memory");
        return EXIT_FAIL;
    }
    rc = identity_save(ident, out, pass);
    sodium_free(pass);
    if (rc != RK_OK) {
        s_fail("writing %s/%s.key: %s%s", out, id, rk_strerror(rc),
               rc == RK_ERR_EXISTS ? " (refusing to overwrite keys)" : "");
        identity_destroy(&ident);
        return EXIT_FAIL;
    }
    envelope_key_id(kid_bin, identity_public(ident)->sign_pk);
    rk_hex(kid, kid_bin, 8);
    printf("%s/%s.key  secret keys of %s (%s)%s\n%s/%s.pub  public keys, "
           "signing key id %s\n",
           out, id, id, role, encrypt ? ", encrypted" : "", out, id, kid);
    identity_destroy(&ident);
    return 0;
}

/* Parses "FILE [--passphrase-file F]" for show and vkey. Returns 0 with
 * *file and *pass_file (NULL when not given) set, 1 when --help was
 * printed, or EXIT_USAGE after saying what is wrong. */
static int
s_parse_file_opts(const char *cmd, const char *help, int argc, char **argv,
                  const char **file, const char **pass_file) {
    static const struct option opts[] = {
        {"passphrase-file", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;

    *pass_file = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            *pass_file = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 1;
        default:
            s_bad_option(c, argv, opts);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        s_fail("%s needs exactly one FILE (see --help)", cmd);
        return EXIT_USAGE;
    }
    *file = argv[optind];
    return 0;
}

static int
cmd_show(int argc, char **argv) {
    identity_public_t pub;
    uint8_t kid[8];
    char hex[17], z85[41], *b, *vkey = NULL;
    const char *file, *pfile;
    int rc = s_parse_file_opts(
        "show",
        "usage: renraku-keys show FILE [--passphrase-file F]\n"
        "Prints the id, role, key ids and public keys of a .key or .pub "
        "file.\nAn encrypted .key file is opened with the passphrase in F "
        "(without it,\nasked on the terminal).\n",
        argc, argv, &file, &pfile);

    if (rc)
        return rc == 1 ? 0 : rc;
    if (s_load_public(file, pfile, &pub) != 0)
        return EXIT_FAIL;
    printf("id          %s\nrole        %s\n", pub.id,
           identity_role_name(pub.role));
    const struct {
        const char *label;
        const uint8_t *pk;
    } rows[] = {{"sign", pub.sign_pk},
                {"enc", pub.enc_pk},
                {"transport", pub.transport_pk}};
    for (size_t i = 0; i < 3; i++) {
        envelope_key_id(kid, rows[i].pk);
        rk_hex(hex, kid, 8);
        b = rk_b64(rows[i].pk, 32);
        printf("%-11s %s  (key id %s)\n", rows[i].label, b ? b : "?", hex);
        free(b);
    }
    if (zmq_z85_encode(z85, pub.transport_pk, 32))
        printf("transport   z85 %s  (CurveZMQ)\n", z85);
    if (note_vkey_format(pub.id, pub.sign_pk, &vkey) == RK_OK)
        printf("vkey        %s\n", vkey);
    free(vkey);
    return 0;
}

static int
cmd_vkey(int argc, char **argv) {
    identity_public_t pub;
    char *vkey = NULL;
    const char *file, *pfile;
    int rc = s_parse_file_opts(
        "vkey",
        "usage: renraku-keys vkey FILE [--passphrase-file F]\n"
        "Prints the signed-note verifier key (name+hash+key) of a .key or "
        ".pub file:\nwhat nodes pin for the coordinator, and what auditors "
        "use for a relay.\nAn encrypted .key file is opened with the "
        "passphrase in F (without it,\nasked on the terminal).\n",
        argc, argv, &file, &pfile);

    if (rc)
        return rc == 1 ? 0 : rc;
    if (s_load_public(file, pfile, &pub) != 0)
        return EXIT_FAIL;
    if (note_vkey_format(pub.id, pub.sign_pk, &vkey) != RK_OK) {
        s_fail("%s: cannot format a verifier key", file);
        return EXIT_FAIL;
    }
    printf("%s\n", vkey);
    free(vkey);
    return 0;
}

/* ---- roster ---- */

/* Options shared by the roster subcommands; each uses what it needs. */
typedef struct {
    const char *pub, *country, *org, *id, *reason, *key, *out, *coordinator;
    const char *pass_file, *framework, *rotate;
    const char *groups[ROSTER_MAX_GROUPS], *ungroups[ROSTER_MAX_GROUPS];
    const char *contacts[ROSTER_MAX_CONTACTS];
    size_t n_groups, n_ungroups, n_contacts;
    uint64_t not_before, not_after, held_serial;
    int clear_contacts, json, help;
    char given[32]; /* the options given, as their getopt values */
} ropts_t;

static const struct option s_ropts[] = {
    {"pub", required_argument, 0, 'P'},
    {"country", required_argument, 0, 'C'},
    {"org", required_argument, 0, 'O'},
    {"id", required_argument, 0, 'i'},
    {"reason", required_argument, 0, 'R'},
    {"key", required_argument, 0, 'k'},
    {"out", required_argument, 0, 'o'},
    {"coordinator", required_argument, 0, 'c'},
    {"passphrase-file", required_argument, 0, 'p'},
    {"framework", required_argument, 0, 'f'},
    {"group", required_argument, 0, 'g'},
    {"remove-group", required_argument, 0, 'G'},
    {"contact", required_argument, 0, 'n'},
    {"clear-contacts", no_argument, 0, 'x'},
    {"rotate", required_argument, 0, 'r'},
    {"not-before", required_argument, 0, 'b'},
    {"not-after", required_argument, 0, 'a'},
    {"held-serial", required_argument, 0, 's'},
    {"json", no_argument, 0, 'j'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* The options each roster subcommand takes (getopt values of s_ropts);
 * any other is refused rather than silently ignored. */
static const struct {
    const char *sub, *takes;
} s_roster_takes[] = {
    {"init", "f"},     {"add", "PCOgnba"}, {"update", "iCOgGnxrba"},
    {"suspend", "iR"}, {"revoke", "iR"},   {"activate", "iR"},
    {"remove", "i"},   {"sign", "kop"},    {"verify", "csp"},
    {"show", "csjp"}};

static const char *
s_ropt_name(int c) {
    for (size_t i = 0; s_ropts[i].name; i++)
        if (s_ropts[i].val == c)
            return s_ropts[i].name;
    return "?";
}

/* Refuses an option that sub does not take, naming it; 0 or -1. An
 * unknown sub passes: the caller names it. */
static int
s_check_ropts(const char *sub, const ropts_t *o) {
    for (size_t i = 0; i < sizeof s_roster_takes / sizeof *s_roster_takes;
         i++) {
        if (strcmp(sub, s_roster_takes[i].sub) != 0)
            continue;
        for (const char *g = o->given; *g; g++)
            if (!strchr(s_roster_takes[i].takes, *g)) {
                s_fail("roster %s does not take --%s (see roster --help)", sub,
                       s_ropt_name(*g));
                return -1;
            }
        if (!strcmp(sub, "update") && !o->rotate &&
            (strchr(o->given, 'b') || strchr(o->given, 'a'))) {
            s_fail("roster update: --%s applies to the new key set of "
                   "--rotate ID.pub; without --rotate no key set changes",
                   strchr(o->given, 'b') ? "not-before" : "not-after");
            return -1;
        }
    }
    return 0;
}

static int
s_parse_ropts(int argc, char **argv, ropts_t *o) {
    int c;
    char *end;

    memset(o, 0, sizeof *o);
    o->not_after = ROSTER_FOREVER;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", s_ropts, NULL)) != -1) {
        if (c != 'h' && c != ':' && c != '?' && !strchr(o->given, c) &&
            strlen(o->given) < sizeof o->given - 1)
            o->given[strlen(o->given)] = (char)c;
        switch (c) {
        case 'P':
            o->pub = optarg;
            break;
        case 'C':
            o->country = optarg;
            break;
        case 'O':
            o->org = optarg;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 'R':
            o->reason = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'c':
            o->coordinator = optarg;
            break;
        case 'p':
            o->pass_file = optarg;
            break;
        case 'f':
            o->framework = optarg;
            break;
        case 'r':
            o->rotate = optarg;
            break;
        case 'x':
            o->clear_contacts = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            o->help = 1;
            break;
        case 'g':
        case 'G':
        case 'n': {
            const char **v = c == 'g'   ? o->groups
                             : c == 'G' ? o->ungroups
                                        : o->contacts;
            size_t *n = c == 'g'   ? &o->n_groups
                        : c == 'G' ? &o->n_ungroups
                                   : &o->n_contacts;
            size_t max = c == 'n' ? ROSTER_MAX_CONTACTS : ROSTER_MAX_GROUPS;
            if (*n >= max) {
                s_fail("too many --%s options (at most %zu)",
                       c == 'n' ? "contact" : "group", max);
                return -1;
            }
            v[(*n)++] = optarg;
            break;
        }
        case 'b':
        case 'a':
            if (rk_time_parse(optarg, c == 'b' ? &o->not_before
                                               : &o->not_after) != RK_OK) {
                s_fail("--%s %s: not an RFC 3339 UTC time like "
                       "2027-01-01T00:00:00Z",
                       c == 'b' ? "not-before" : "not-after", optarg);
                return -1;
            }
            break;
        case 's':
            errno = 0;
            o->held_serial = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg) {
                s_fail("--held-serial %s: not a number", optarg);
                return -1;
            }
            break;
        default:
            s_bad_option(c, argv, s_ropts);
            return -1;
        }
    }
    return 0;
}

/* Parses a contact SPEC "name=..;email=..;phone=..;hours=..;tz=..;lang=a,b"
 * into c (strings point into buf, which the caller keeps). */
static int
s_parse_contact(char *buf, roster_contact_t *c, char **langs, size_t max) {
    char *save = NULL, *field;
    memset(c, 0, sizeof *c);
    for (field = strtok_r(buf, ";", &save); field;
         field = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(field, '=');
        if (!eq) {
            s_fail("--contact: \"%s\" is not key=value", field);
            return -1;
        }
        *eq++ = 0;
        if (!strcmp(field, "name"))
            c->name = eq;
        else if (!strcmp(field, "email"))
            c->email = eq;
        else if (!strcmp(field, "phone"))
            c->phone = eq;
        else if (!strcmp(field, "hours"))
            c->hours = eq;
        else if (!strcmp(field, "tz"))
            c->timezone = eq;
        else if (!strcmp(field, "lang")) {
            char *s2 = NULL;
            for (char *l = strtok_r(eq, ",", &s2); l && c->n_languages < max;
                 l = strtok_r(NULL, ",", &s2))
                langs[c->n_languages++] = l;
            c->languages = langs;
        } else {
            s_fail("--contact: unknown key \"%s\" (name, email, phone, hours, "
                   "tz, lang)",
                   field);
            return -1;
        }
    }
    if (!c->name) {
        s_fail("--contact: name= is required");
        return -1;
    }
    return 0;
}

static int
s_save_roster(const char *path, const roster_t *r) {
    char *json = roster_to_json(r);
    int rc =
        json ? rk_write_file(path, json, strlen(json), 0644, 0) : RK_ERR_NOMEM;
    free(json);
    if (rc != RK_OK)
        s_fail("writing %s: %s", path, rk_strerror(rc));
    return rc;
}

/* *len: the most the roster r can be once signed, whoever signs it and
 * when (roster_signed_len, computed as roster sign does); 0 when its
 * serial can no longer grow, which roster sign reports. Returns 0, or -1
 * after saying what failed. */
static int
s_signed_bound(const char *path, const roster_t *r, size_t *len) {
    int rc = roster_signed_len(r, NULL, rk_now_ms(), len);
    if (rc == RK_ERR_INVALID) {
        *len = 0;
        return 0;
    }
    if (rc != RK_OK) {
        s_fail("roster %s: %s", path, rk_strerror(rc));
        return -1;
    }
    return 0;
}

/* Writes the edited roster r to path, unless the edit made it too large
 * to sign: roster sign would refuse it, and the coordinator would find
 * out only then. before is the bound of the roster as read (0 for a new
 * one). An edit that leaves a roster over the cap no larger (remove,
 * a shorter field) is written, with a warning, so that it can be cut
 * down. Returns what s_save_roster does, or RK_ERR_TOO_LARGE. */
static int
s_save_edit(const char *path, const roster_t *r, size_t before) {
    size_t after;
    int rc;

    if (s_signed_bound(path, r, &after) != 0)
        return RK_ERR_NOMEM;
    if (after > ROSTER_SIGNED_MAX_BYTES && after > before) {
        s_fail("roster %s: not changed: with this edit, signed it would be up "
               "to %zu bytes, more than the %u bytes a signed roster may "
               "have (relays and nodes refuse a larger one, and roster sign "
               "would too); remove nodes or shorten fields (contacts, key "
               "sets, groups, reasons) first",
               path, after, ROSTER_SIGNED_MAX_BYTES);
        return RK_ERR_TOO_LARGE;
    }
    rc = s_save_roster(path, r);
    if (rc == RK_OK && after > ROSTER_SIGNED_MAX_BYTES)
        s_warn("roster %s: signed it would still be up to %zu bytes, more "
               "than the %u bytes a signed roster may have: remove nodes or "
               "shorten fields before roster sign",
               path, after, ROSTER_SIGNED_MAX_BYTES);
    return rc;
}

/* What path holds, by its first line: S_SIGNED a signed roster (not
 * verified), S_SIGNED_CRLF one whose line ends were changed to CRLF (it
 * cannot verify), S_EMPTY nothing, S_MISSING no such file, S_OTHER
 * anything else or unreadable. */
enum { S_SIGNED, S_SIGNED_CRLF, S_EMPTY, S_MISSING, S_OTHER };
static int
s_file_kind(const char *path) {
    uint8_t head[sizeof ROSTER_NOTE_HEADER + 1];
    FILE *f = fopen(path, "rb");
    size_t n;
    int crlf = 0;

    if (!f)
        return errno == ENOENT ? S_MISSING : S_OTHER;
    n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 0)
        return S_EMPTY;
    if (!roster_text_is_signed(head, n, &crlf))
        return S_OTHER;
    return crlf ? S_SIGNED_CRLF : S_SIGNED;
}

/* roster sign replaces --out: only a signed roster from an earlier sign
 * (or an empty file) may be there, never roster.json, a key or anything
 * else a slip of the hand names. 0 when path may be written. */
static int
s_out_replaceable(const char *path) {
    return s_file_kind(path) == S_OTHER ? -1 : 0;
}

static roster_t *
s_open_roster(const char *path) {
    roster_t *r = NULL;
    char err[512];
    int rc = roster_load_json(path, &r, err, sizeof err);
    if (rc != RK_OK)
        s_fail("roster %s: %s", path, err);
    return r;
}

/* Applies --group/--remove-group/--contact/--clear-contacts to a node
 * copy; the new arrays are allocated here and released by s_edit_free. */
typedef struct {
    char **groups;
    roster_contact_t *contacts;
    char *bufs[ROSTER_MAX_CONTACTS];
    char *langs[ROSTER_MAX_CONTACTS][16];
} edit_t;

static void
s_edit_free(edit_t *e) {
    free(e->groups);
    free(e->contacts);
    for (size_t i = 0; i < ROSTER_MAX_CONTACTS; i++)
        free(e->bufs[i]);
}

static int
s_edit_node(roster_node_t *n, const ropts_t *o, edit_t *e) {
    size_t ng = 0, nc = 0;
    memset(e, 0, sizeof *e);
    e->groups = calloc(n->n_groups + o->n_groups + 1, sizeof *e->groups);
    e->contacts = calloc(ROSTER_MAX_CONTACTS + 1, sizeof *e->contacts);
    if (!e->groups || !e->contacts)
        return -1;
    for (size_t i = 0; i < n->n_groups; i++) {
        int drop = 0;
        for (size_t j = 0; j < o->n_ungroups; j++)
            drop |= strcmp(n->groups[i], o->ungroups[j]) == 0;
        if (!drop)
            e->groups[ng++] = n->groups[i];
    }
    for (size_t i = 0; i < o->n_groups; i++) {
        int have = 0;
        for (size_t j = 0; j < ng; j++)
            have |= strcmp(e->groups[j], o->groups[i]) == 0;
        if (!have)
            e->groups[ng++] = (char *)o->groups[i];
    }
    if (!o->clear_contacts)
        for (size_t i = 0; i < n->n_contacts && nc < ROSTER_MAX_CONTACTS; i++)
            e->contacts[nc++] = n->contacts[i];
    for (size_t i = 0; i < o->n_contacts; i++) {
        if (nc >= ROSTER_MAX_CONTACTS) {
            s_fail("--contact: a node has at most %d contacts",
                   ROSTER_MAX_CONTACTS);
            return -1;
        }
        e->bufs[i] = strdup(o->contacts[i]);
        if (!e->bufs[i] ||
            s_parse_contact(e->bufs[i], &e->contacts[nc], e->langs[i], 16) != 0)
            return -1;
        nc++;
    }
    n->groups = e->groups;
    n->n_groups = ng;
    n->contacts = e->contacts;
    n->n_contacts = nc;
    return 0;
}

static const char *s_roster_help =
    "usage: renraku-keys roster SUBCOMMAND FILE [options]\n"
    "  init FILE --framework NAME        a new, empty roster (serial 0)\n"
    "  add FILE --pub ID.pub --country CC --org ORG [--group G]...\n"
    "           [--contact SPEC]... [--not-before T] [--not-after T]\n"
    "  update FILE --id ID [--country CC] [--org ORG] [--group G]...\n"
    "           [--remove-group G]... [--contact SPEC]... [--clear-contacts]\n"
    "           [--rotate ID.pub [--not-before T] [--not-after T]]\n"
    "  suspend|revoke|activate FILE --id ID [--reason TEXT]\n"
    "  remove FILE --id ID\n"
    "  sign FILE --key COORDINATOR.key --out SIGNED [--passphrase-file F]\n"
    "  verify SIGNED --coordinator VKEY|FILE [--held-serial N]\n"
    "  show FILE|SIGNED [--coordinator VKEY|FILE] [--json]\n"
    "           a SIGNED roster is shown only verified, with --coordinator;\n"
    "           a --coordinator key file that is encrypted takes\n"
    "           --passphrase-file F\n"
    "SPEC: \"name=Duty desk;email=soc@example.org;phone=+81-3-0000;"
    "hours=24/7;tz=Asia/Tokyo;lang=ja,en\"\n";

static int
cmd_roster(int argc, char **argv) {
    const char *sub, *file;
    roster_t *r = NULL;
    ropts_t o;
    char err[512];
    size_t before = 0; /* bound of the roster as read (s_signed_bound) */
    int rc, status = EXIT_FAIL;

    if (argc < 2) {
        s_fail("roster needs a subcommand (see roster --help)");
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(s_roster_help, stdout);
        return 0;
    }
    sub = argv[1];
    if (s_parse_ropts(argc - 1, argv + 1, &o) != 0)
        return EXIT_USAGE;
    if (o.help) {
        fputs(s_roster_help, stdout);
        return 0;
    }
    if (argc - 1 - optind != 1) {
        s_fail("roster %s needs exactly one FILE (see roster --help)", sub);
        return EXIT_USAGE;
    }
    if (s_check_ropts(sub, &o) != 0)
        return EXIT_USAGE;
    file = argv[1 + optind];

    if (!strcmp(sub, "init")) {
        struct stat st;
        if (!o.framework) {
            s_fail("roster init needs --framework NAME");
            return EXIT_USAGE;
        }
        if (stat(file, &st) == 0) {
            s_fail("%s exists: refusing to overwrite a roster", file);
            return EXIT_FAIL;
        }
        r = roster_new(o.framework);
        if (!r) {
            s_fail("--framework: empty or has control characters");
            return EXIT_USAGE;
        }
        status = s_save_edit(file, r, 0) == RK_OK ? 0 : EXIT_FAIL;
        if (!status)
            printf("%s: new roster of %s, serial 0\n", file, o.framework);
    } else if (!strcmp(sub, "add")) {
        identity_public_t pub;
        roster_keyset_t ks;
        roster_node_t n;
        edit_t e;
        if (!o.pub || !o.country || !o.org) {
            s_fail("roster add needs --pub, --country and --org");
            return EXIT_USAGE;
        }
        if (identity_public_load(o.pub, &pub, err, sizeof err) != RK_OK) {
            s_fail("--pub %s", err);
            return EXIT_FAIL;
        }
        if (pub.role == IDENTITY_ROLE_COORDINATOR) {
            s_fail("--pub %s: the coordinator signs the roster and is not a "
                   "node in it",
                   o.pub);
            return EXIT_FAIL;
        }
        if (!(r = s_open_roster(file)))
            return EXIT_FAIL;
        if (s_signed_bound(file, r, &before) != 0)
            goto done;
        memset(&n, 0, sizeof n);
        memset(&ks, 0, sizeof ks);
        memcpy(ks.sign_pk, pub.sign_pk, 32);
        memcpy(ks.enc_pk, pub.enc_pk, 32);
        memcpy(ks.transport_pk, pub.transport_pk, 32);
        ks.not_before_ms = o.not_before ? o.not_before : rk_now_ms();
        ks.not_after_ms = o.not_after;
        ks.status = ROSTER_ACTIVE;
        n.id = pub.id;
        snprintf(n.country, sizeof n.country, "%.2s", o.country);
        if (strlen(o.country) != 2)
            n.country[0] = 0; /* refused by validation with its reason */
        n.organisation = (char *)o.org;
        n.role = pub.role;
        n.status = ROSTER_ACTIVE;
        n.keys = &ks;
        n.n_keys = 1;
        if (s_edit_node(&n, &o, &e) == 0) {
            rc = roster_add(r, &n, err, sizeof err);
            if (rc != RK_OK)
                s_fail("roster add %s: %s", pub.id, err);
            else if (s_save_edit(file, r, before) == RK_OK) {
                printf("%s: added %s (%s, %s)\n", file, pub.id,
                       identity_role_name(pub.role), n.country);
                status = 0;
            }
        }
        s_edit_free(&e);
    } else if (!strcmp(sub, "update")) {
        const roster_node_t *cur;
        roster_node_t n;
        roster_keyset_t *keys = NULL;
        edit_t e;
        if (!o.id) {
            s_fail("roster update needs --id");
            return EXIT_USAGE;
        }
        if (!(r = s_open_roster(file)))
            return EXIT_FAIL;
        if (s_signed_bound(file, r, &before) != 0)
            goto done;
        if (!(cur = roster_find(r, o.id))) {
            s_fail("roster update: %s is not in %s", o.id, file);
            goto done;
        }
        n = *cur;
        if (o.country) {
            snprintf(n.country, sizeof n.country, "%.2s", o.country);
            if (strlen(o.country) != 2)
                n.country[0] = 0;
        }
        if (o.org)
            n.organisation = (char *)o.org;
        if (o.rotate) {
            identity_public_t pub;
            if (identity_public_load(o.rotate, &pub, err, sizeof err) !=
                RK_OK) {
                s_fail("--rotate %s", err);
                goto done;
            }
            if (strcmp(pub.id, o.id) != 0) {
                s_fail("--rotate %s: keys of %s, not of %s", o.rotate, pub.id,
                       o.id);
                goto done;
            }
            /* A rotation brings new keys: the old .pub again would add a
             * copy of a set, and the old keys would stay in force. */
            for (size_t i = 0; i < n.n_keys; i++)
                if (!memcmp(n.keys[i].sign_pk, pub.sign_pk, 32) ||
                    !memcmp(n.keys[i].enc_pk, pub.enc_pk, 32) ||
                    !memcmp(n.keys[i].transport_pk, pub.transport_pk, 32)) {
                    s_fail("--rotate %s: key set %zu of %s already holds these "
                           "keys; make new ones with gen --id %s",
                           o.rotate, i, o.id, o.id);
                    goto done;
                }
            if (n.n_keys >= ROSTER_MAX_KEYS) {
                s_fail("--rotate: %s has %d key sets already; remove one", o.id,
                       ROSTER_MAX_KEYS);
                goto done;
            }
            keys = calloc(n.n_keys + 1, sizeof *keys);
            if (!keys)
                goto done;
            memcpy(keys, n.keys, n.n_keys * sizeof *keys);
            memcpy(keys[n.n_keys].sign_pk, pub.sign_pk, 32);
            memcpy(keys[n.n_keys].enc_pk, pub.enc_pk, 32);
            memcpy(keys[n.n_keys].transport_pk, pub.transport_pk, 32);
            keys[n.n_keys].not_before_ms =
                o.not_before ? o.not_before : rk_now_ms();
            keys[n.n_keys].not_after_ms = o.not_after;
            keys[n.n_keys].status = ROSTER_ACTIVE;
            n.keys = keys;
            n.n_keys++;
        }
        if (s_edit_node(&n, &o, &e) == 0) {
            rc = roster_update(r, &n, err, sizeof err);
            if (rc != RK_OK)
                s_fail("roster update %s: %s", o.id, err);
            else if (s_save_edit(file, r, before) == RK_OK) {
                printf("%s: updated %s\n", file, o.id);
                status = 0;
            }
        }
        s_edit_free(&e);
        free(keys);
    } else if (!strcmp(sub, "suspend") || !strcmp(sub, "revoke") ||
               !strcmp(sub, "activate") || !strcmp(sub, "remove")) {
        roster_status_t st = !strcmp(sub, "suspend")  ? ROSTER_SUSPENDED
                             : !strcmp(sub, "revoke") ? ROSTER_REVOKED
                                                      : ROSTER_ACTIVE;
        if (!o.id) {
            s_fail("roster %s needs --id", sub);
            return EXIT_USAGE;
        }
        if (!(r = s_open_roster(file)))
            return EXIT_FAIL;
        if (s_signed_bound(file, r, &before) != 0)
            goto done;
        rc = !strcmp(sub, "remove") ? roster_remove(r, o.id)
                                    : roster_set_status(r, o.id, st, o.reason);
        if (rc != RK_OK)
            s_fail("roster %s %s: %s", sub, o.id,
                   rc == RK_ERR_NOT_FOUND ? "not in the roster"
                                          : rk_strerror(rc));
        else if (s_save_edit(file, r, before) == RK_OK) {
            printf("%s: %s %s\n", file, o.id,
                   !strcmp(sub, "remove") ? "removed" : roster_status_name(st));
            status = 0;
        }
    } else if (!strcmp(sub, "sign")) {
        identity_t *coord;
        char *note = NULL;
        size_t len = 0;
        if (!o.key || !o.out) {
            s_fail("roster sign needs --key and --out");
            return EXIT_USAGE;
        }
        if (s_out_replaceable(o.out) != 0) {
            s_fail("--out %s: exists and is not a signed roster: refusing to "
                   "overwrite it",
                   o.out);
            return EXIT_FAIL;
        }
        if (!(r = s_open_roster(file)))
            return EXIT_FAIL;
        if (!(coord = s_load_identity(o.key, o.pass_file)))
            goto done;
        if (identity_role(coord) != IDENTITY_ROLE_COORDINATOR) {
            s_fail("--key %s: a %s key; the roster is signed by the "
                   "coordinator's key",
                   o.key, identity_role_name(identity_role(coord)));
            identity_destroy(&coord);
            goto done;
        }
        rc = roster_sign(r, identity_id(coord), identity_sign_sk(coord),
                         rk_now_ms(), &note, &len);
        identity_destroy(&coord);
        if (rc == RK_ERR_TOO_LARGE) {
            s_fail("roster %s: signed it would be %zu bytes, more than the %u "
                   "bytes a signed roster may have (relays and nodes would "
                   "refuse it); nothing written: take nodes, contacts or key "
                   "sets out",
                   file, len, ROSTER_SIGNED_MAX_BYTES);
            goto done;
        }
        if (rc != RK_OK) {
            s_fail("signing: %s", rk_strerror(rc));
            goto done;
        }
        /* The signed file first: a roster.json whose serial grew without a
         * signed file would skip a serial. */
        rc = rk_write_file(o.out, note, len, 0644, 0);
        free(note);
        if (rc != RK_OK) {
            s_fail("writing %s: %s", o.out, rk_strerror(rc));
            goto done;
        }
        if (s_save_roster(file, r) != RK_OK)
            goto done;
        printf("%s: signed roster serial %llu (%zu nodes), %s updated\n", o.out,
               (unsigned long long)roster_serial(r), roster_count(r), file);
        status = 0;
    } else if (!strcmp(sub, "verify") || !strcmp(sub, "show")) {
        note_verifier_t v;
        int is_verify = !strcmp(sub, "verify");
        if (is_verify && !o.coordinator) {
            s_fail("roster verify needs --coordinator VKEY|FILE (the pinned "
                   "coordinator key)");
            return EXIT_USAGE;
        }
        if (o.pass_file && !o.coordinator) {
            s_fail("roster show: --passphrase-file is for an encrypted "
                   "--coordinator key file, and there is none");
            return EXIT_USAGE;
        }
        if (o.coordinator) {
            if (s_coordinator(o.coordinator, o.pass_file, &v) != 0)
                return EXIT_USAGE;
            rc = roster_load_signed(file, &v, o.held_serial, &r, err,
                                    sizeof err);
        } else if (s_file_kind(file) == S_SIGNED) {
            /* Shown only once verified: unverified, its contacts and
             * keys could be anyone's. */
            s_fail("roster %s: a signed roster: show it with --coordinator "
                   "VKEY|FILE (the pinned coordinator key), which verifies it",
                   file);
            return EXIT_USAGE;
        } else if (s_file_kind(file) == S_SIGNED_CRLF) {
            s_fail("roster %s: a signed roster whose line ends were changed "
                   "to CRLF (copied as text, by mail or an editor?): it "
                   "cannot verify, so it is not shown; use the signed roster "
                   "exactly as it was signed",
                   file);
            return EXIT_FAIL;
        } else {
            rc = roster_load_json(file, &r, err, sizeof err);
        }
        if (rc != RK_OK) {
            s_fail("roster %s: refused: %s", file, err);
            goto done;
        }
        if (is_verify) {
            printf("%s: valid roster of %s, serial %llu, %zu nodes, signed by "
                   "%s\n",
                   file, roster_framework(r),
                   (unsigned long long)roster_serial(r), roster_count(r),
                   v.name);
        } else if (o.json) {
            char *json = roster_to_json(r);
            if (json)
                fputs(json, stdout);
            free(json);
        } else {
            roster_print(r, stdout, rk_now_ms());
        }
        status = 0;
    } else {
        s_fail("unknown roster subcommand \"%s\" (see roster --help)", sub);
        return EXIT_USAGE;
    }
done:
    roster_destroy(&r);
    return status;
}

int
main(int argc, char **argv) {
    if (sodium_init() < 0) {
        s_fail("libsodium failed to initialise");
        return EXIT_FAIL;
    }
    if (argc < 2) {
        s_fail("no command given (see renraku-keys --help)");
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "gen"))
        return cmd_gen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return cmd_show(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vkey"))
        return cmd_vkey(argc - 1, argv + 1);
    if (!strcmp(argv[1], "roster"))
        return cmd_roster(argc - 1, argv + 1);
    s_fail("unknown command \"%s\" (see renraku-keys --help)", argv[1]);
    return EXIT_USAGE;
}
