/* verify_rate: single-core Ed25519 verification rate over the signed-message
 * shape of a 1 KiB renraku envelope (context string, exact header bytes,
 * two 32-byte hashes), and of envelope_verify as a whole (which also hashes
 * the ciphertext and the wrapped keys). One thread, a few seconds each.
 *
 *   verify_rate [SECONDS]     (default 3; prints one JSON line)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "rk_util.h"

static double
s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: on a shared machine the rate per CPU second is
 * the stable figure; the wall-clock rate is what a core gave us. */
static double
s_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    uint8_t pk[32], sk[64], epk[32], esk[32], kid[8], sig[64];
    uint8_t payload[1024], *env = NULL, *m;
    size_t env_len = 0, hlen = 0, m_len, ctx_len = sizeof ENVELOPE_SIG_CONTEXT;
    envelope_params_t p;
    envelope_recipient_t r = {"rcv.000", epk};
    envelope_t *e = NULL;
    const uint8_t *hdr;
    double t0, t, c0, raw_rate, raw_cpu_rate, env_rate;
    unsigned long n;
    volatile int sink = 0;

    if (sodium_init() < 0 || secs <= 0 || secs > 60)
        return 2;
    crypto_sign_keypair(pk, sk);
    crypto_box_keypair(epk, esk);
    envelope_key_id(kid, pk);
    randombytes_buf(payload, sizeof payload);
    memset(&p, 0, sizeof p);
    p.sender = "snd.00";
    p.sign_sk = sk;
    p.sign_key_id = kid;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = rk_now_ms();
    if (envelope_seal(&p, &r, 1, payload, sizeof payload, &env, &env_len,
                      NULL) != RK_OK ||
        envelope_decode(env, env_len, &e, NULL) != RK_OK) {
        fprintf(stderr, "verify_rate: cannot build an envelope\n");
        return 1;
    }
    /* The signed message: context (with its NUL) || header || 2 hashes. */
    hdr = envelope_header_bytes(e, &hlen);
    m_len = ctx_len + hlen + 64;
    m = malloc(m_len);
    if (!m)
        return 1;
    memcpy(m, ENVELOPE_SIG_CONTEXT, ctx_len);
    memcpy(m + ctx_len, hdr, hlen);
    randombytes_buf(m + ctx_len + hlen, 64);
    crypto_sign_detached(sig, NULL, m, m_len, sk);

    n = 0;
    t0 = s_now();
    c0 = s_cpu();
    do {
        for (int i = 0; i < 64; i++)
            sink += crypto_sign_verify_detached(sig, m, m_len, pk);
        n += 64;
        t = s_now();
    } while (t - t0 < secs);
    raw_rate = (double)n / (t - t0);
    raw_cpu_rate = (double)n / (s_cpu() - c0);

    n = 0;
    t0 = s_now();
    do {
        for (int i = 0; i < 64; i++)
            sink += envelope_verify(e, pk);
        n += 64;
        t = s_now();
    } while (t - t0 < secs / 2);
    env_rate = (double)n / (t - t0);

    if (sink != 0) {
        fprintf(stderr, "verify_rate: a signature failed to verify\n");
        return 1;
    }
    printf("{\"verify_per_s\":%.0f,\"verify_per_cpu_s\":%.0f,"
           "\"envelope_verify_per_s\":%.0f,\"signed_bytes\":%zu,"
           "\"envelope_bytes\":%zu,\"seconds\":%.1f}\n",
           raw_rate, raw_cpu_rate, env_rate, m_len, env_len, secs);
    envelope_destroy(&e);
    free(env);
    free(m);
    return 0;
}
