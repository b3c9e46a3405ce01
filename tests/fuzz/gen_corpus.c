/* gen_corpus: writes the seed inputs of the committed fuzz corpora with
 * clearly marked throw-away test keys (seeds of repeated bytes). Run by hand
 * after a format change: build/tests/fuzz/gen_corpus tests/fuzz/corpus */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "rk_util.h"

static void
s_write(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void
s_envelopes(const char *root)
{
    char dir[1024];
    uint8_t seed[32], sign_pk[32], sign_sk[64], kid[8];
    uint8_t enc_pk[3][32], enc_sk[32];
    envelope_recipient_t r[3] = {{"us.cisa", enc_pk[0]},
                                 {"sg.csa", enc_pk[1]},
                                 {"jp.nisc", enc_pk[2]}};
    envelope_params_t p = {.sender = "ctl.test", .sign_sk = sign_sk,
                           .sign_key_id = kid,
                           .kind = ENVELOPE_KIND_DRILL_INJECT,
                           .created_ms = 1795331880000ull,
                           .expires_ms = 1795335480000ull, .exercise = true,
                           .drill_id = "test-drill"};
    uint8_t *buf = NULL, id[16];
    size_t len = 0;

    snprintf(dir, sizeof dir, "%s/envelope", root);
    memset(seed, 0x11, sizeof seed); /* TEST KEY, not a secret */
    crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
    envelope_key_id(kid, sign_pk);
    for (int i = 0; i < 3; i++) {
        memset(seed, 0x21 + i, sizeof seed);
        crypto_box_seed_keypair(enc_pk[i], enc_sk, seed);
    }
    if (envelope_seal(&p, r, 3, (const uint8_t *)"EXERCISE inject", 15, &buf,
                      &len, id) != 0)
        exit(1);
    s_write(dir, "drill-3-recipients", buf, len);
    s_write(dir, "truncated", buf, len / 2);
    free(buf);
    p.kind = ENVELOPE_KIND_NOTICE;
    p.exercise = false;
    p.drill_id = NULL;
    p.in_reply_to = id;
    if (envelope_seal(&p, r, 1, (const uint8_t *)"notice", 6, &buf, &len,
                      NULL) != 0)
        exit(1);
    s_write(dir, "notice-1-recipient", buf, len);
    free(buf);
    s_write(dir, "empty-protobuf", (const uint8_t *)"\x0a\x00", 2);
}

int
main(int argc, char **argv)
{
    if (argc != 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    s_envelopes(argv[1]);
    return 0;
}
