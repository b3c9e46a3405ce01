/* mklog: builds a large relay log for the recovery benchmark, fast, by
 * appending records through relay_log and record (the relay's own code)
 * instead of running the relay under load for minutes. The log is what a
 * relay would have written: a roster record, then accepted records of
 * genuine signed, sealed envelopes (1 KiB payload, fresh msg ids, created
 * now) from --sender to --to, each but the last --pending followed by a
 * delivered record of an earlier one. So the relay, restarted on it, has
 * --pending deliveries to rebuild and every msg id in its replay set. It
 * ends with a checkpoint signed with the relay key, as a relay's stop
 * does, so that renraku-audit verify finds the log vouched for.
 *
 *   mklog --data DIR --relay-key RELAY.key --keys DIR --roster R.signed
 *         --coordinator C.pub --records N --pending P
 *         [--sender ID] [--to ID] [--payload BYTES]
 * Prints one JSON line (records, accepted, delivered, seconds, bytes).
 */
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "identity.h"
#include "note.h"
#include "record.h"
#include "relay_log.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

#define CHUNK 4096

static const char *s_sender = "snd.00", *s_to = "rcv.offline";
static identity_t *s_me;
static const roster_keyset_t *s_mine, *s_theirs;
static long s_payload = 1024;
static uint8_t *s_plain;
static uint8_t *s_env[CHUNK];
static size_t s_env_len[CHUNK];
static uint8_t s_ids[CHUNK][16];

typedef struct {
    long from, to;
} job_t;

static void *
s_seal(void *arg) {
    job_t *j = arg;
    envelope_recipient_t r = {s_to, s_theirs->enc_pk};
    for (long i = j->from; i < j->to; i++) {
        envelope_params_t p;
        memset(&p, 0, sizeof p);
        p.sender = s_sender;
        p.sign_sk = identity_sign_sk(s_me);
        p.sign_key_id = s_mine->sign_key_id;
        p.kind = ENVELOPE_KIND_NOTICE;
        p.created_ms = rk_now_ms();
        if (envelope_seal(&p, &r, 1, s_plain, (size_t)s_payload, &s_env[i],
                          &s_env_len[i], s_ids[i]) != RK_OK) {
            fprintf(stderr, "mklog: cannot seal\n");
            exit(1);
        }
    }
    return NULL;
}

static void
s_append(relay_log_t *log, record_t *r) {
    uint8_t *buf = NULL;
    size_t len = 0;
    r->version = RECORD_VERSION;
    r->index = relay_log_size(log);
    r->time_ms = rk_now_ms();
    if (record_encode(r, &buf, &len) != RK_OK ||
        relay_log_append(log, buf, len, NULL) != RK_OK) {
        fprintf(stderr, "mklog: cannot append record %llu\n",
                (unsigned long long)r->index);
        exit(1);
    }
    free(buf);
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {{"data", 1, 0, 'd'},
                                       {"relay-key", 1, 0, 'K'},
                                       {"keys", 1, 0, 'k'},
                                       {"roster", 1, 0, 'r'},
                                       {"coordinator", 1, 0, 'c'},
                                       {"records", 1, 0, 'n'},
                                       {"pending", 1, 0, 'p'},
                                       {"sender", 1, 0, 's'},
                                       {"to", 1, 0, 't'},
                                       {"payload", 1, 0, 'b'},
                                       {0, 0, 0, 0}};
    const char *data = NULL, *relay_key = NULL, *keys = NULL, *roster = NULL,
               *coord = NULL;
    long records = 0, pending = 0, accepted, nt;
    identity_t *relay = NULL;
    roster_t *ros = NULL;
    note_verifier_t v;
    relay_log_config_t lc;
    relay_log_t *log = NULL;
    uint8_t *note = NULL, (*ids)[16] = NULL;
    uint64_t *idx = NULL;
    size_t note_len = 0;
    char err[512], path[4096], origin[300];
    struct timespec t0, t1;
    record_t r;
    int c;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'K':
            relay_key = optarg;
            break;
        case 'k':
            keys = optarg;
            break;
        case 'r':
            roster = optarg;
            break;
        case 'c':
            coord = optarg;
            break;
        case 'n':
            records = atol(optarg);
            break;
        case 'p':
            pending = atol(optarg);
            break;
        case 's':
            s_sender = optarg;
            break;
        case 't':
            s_to = optarg;
            break;
        case 'b':
            s_payload = atol(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!data || !relay_key || !keys || !roster || !coord || records < 3 ||
        pending < 0 || pending >= records || s_payload < 1 ||
        s_payload > 256 * 1024) {
        fprintf(stderr, "usage: see the comment at the top of mklog.c\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    rk_log_level = RK_LOG_WARN;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(path, sizeof path, "%s/%s.key", keys, s_sender);
    if (unlock_identity(relay_key, NULL, &relay, NULL, 0, err, sizeof err) !=
            RK_OK ||
        unlock_identity(path, NULL, &s_me, NULL, 0, err, sizeof err) != RK_OK ||
        unlock_verifier(coord, &v, err, sizeof err) != RK_OK ||
        roster_load_signed(roster, &v, 0, &ros, err, sizeof err) != RK_OK) {
        fprintf(stderr, "mklog: %s\n", err);
        return 1;
    }
    if (roster_usable_keys(ros, s_sender, NULL, rk_now_ms(), &s_mine) !=
            RK_OK ||
        roster_usable_keys(ros, s_to, NULL, rk_now_ms(), &s_theirs) != RK_OK ||
        rk_read_file(roster, ROSTER_SIGNED_MAX_BYTES, &note, &note_len) !=
            RK_OK) {
        fprintf(stderr, "mklog: sender or recipient not usable\n");
        return 1;
    }
    snprintf(origin, sizeof origin, "renraku/%s", identity_id(relay));
    memset(&lc, 0, sizeof lc);
    lc.dir = data;
    lc.origin = origin;
    lc.secret_key = identity_sign_sk(relay);
    if (relay_log_open(&lc, &log, NULL, err, sizeof err) != RK_OK) {
        fprintf(stderr, "mklog: %s\n", err);
        return 1;
    }
    if (relay_log_size(log) != 0) {
        fprintf(stderr, "mklog: %s already holds a log\n", data);
        return 1;
    }
    s_plain = malloc((size_t)s_payload);
    /* 1 roster + accepted + (accepted - pending) delivered = records. */
    accepted = (records - 1 + pending) / 2;
    ids = malloc((size_t)accepted * sizeof *ids);
    idx = malloc((size_t)accepted * sizeof *idx);
    if (!s_plain || !ids || !idx)
        return 1;
    randombytes_buf(s_plain, (size_t)s_payload);
    memset(&r, 0, sizeof r);
    r.type = RECORD_ROSTER;
    r.roster.serial = roster_serial(ros);
    r.roster.signed_roster = note;
    r.roster.signed_roster_len = note_len;
    s_append(log, &r);
    if ((records - 1 + pending) % 2) { /* make the count exact */
        memset(&r, 0, sizeof r);
        r.type = RECORD_RELAY;
        r.relay.event = "started";
        s_append(log, &r);
    }
    nt = sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1)
        nt = 1;
    if (nt > 8)
        nt = 8;
    for (long base = 0; base < accepted; base += CHUNK) {
        long n = accepted - base < CHUNK ? accepted - base : CHUNK;
        pthread_t th[8];
        job_t jb[8];
        for (long k = 0; k < nt; k++) {
            jb[k].from = n * k / nt;
            jb[k].to = n * (k + 1) / nt;
            pthread_create(&th[k], NULL, s_seal, &jb[k]);
        }
        for (long k = 0; k < nt; k++)
            pthread_join(th[k], NULL);
        for (long i = 0; i < n; i++) {
            long a = base + i;
            memset(&r, 0, sizeof r);
            r.type = RECORD_ACCEPTED;
            r.accepted.sender = s_sender;
            r.accepted.envelope = s_env[i];
            r.accepted.envelope_len = s_env_len[i];
            idx[a] = relay_log_size(log);
            memcpy(ids[a], s_ids[i], 16);
            s_append(log, &r);
            free(s_env[i]);
            if (a >= pending) {
                long d = a - pending;
                memset(&r, 0, sizeof r);
                r.type = RECORD_DELIVERED;
                r.delivered.accepted_index = idx[d];
                memcpy(r.delivered.msg_id, ids[d], 16);
                r.delivered.recipient = s_to;
                s_append(log, &r);
            }
        }
        if (relay_log_sync(log) != RK_OK) {
            fprintf(stderr, "mklog: sync failed\n");
            return 1;
        }
    }
    {
        char *cp = NULL;
        size_t cp_len = 0;
        if (relay_log_checkpoint(log, rk_now_ms(), &cp, &cp_len) != RK_OK) {
            fprintf(stderr, "mklog: cannot sign a checkpoint\n");
            return 1;
        }
        free(cp);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("{\"records\":%llu,\"accepted\":%ld,\"delivered\":%ld,"
           "\"pending\":%ld,\"seconds\":%.1f}\n",
           (unsigned long long)relay_log_size(log), accepted,
           accepted - pending, pending,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    relay_log_close(&log);
    identity_destroy(&relay);
    identity_destroy(&s_me);
    roster_destroy(&ros);
    free(note);
    free(ids);
    free(idx);
    free(s_plain);
    return 0;
}
