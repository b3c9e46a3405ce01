/* fuzz_roster_signed: opening a signed roster on arbitrary bytes with a
 * fixed pinned coordinator key (the TEST key of gen_corpus.c, seed 0x51,
 * name "coord.test"). It must never crash; what it accepts must carry a
 * good signature by that key, a serial above the held one, and survive
 * the JSON round trip. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "roster.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static note_verifier_t v;
    static int ready;
    roster_t *r = NULL, *again = NULL;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    char err[512] = "", *json;
    int rc;

    if (!ready) {
        uint8_t seed[32], sk[64];
        if (sodium_init() < 0)
            abort();
        memset(seed, 0x51, sizeof seed); /* TEST KEY, not a secret */
        crypto_sign_seed_keypair(v.pk, sk, seed);
        strcpy(v.name, "coord.test");
        v.key_id = note_key_id(v.name, v.pk);
        ready = 1;
    }
    rc = roster_open_signed(data, size, &v, 0, &r, err, sizeof err);
    if (rc != 0) {
        if (rc != RK_ERR_NOMEM && err[0] == 0)
            abort();
        return 0;
    }
    if (note_verify(data, size, &v, &text, &text_len) != 0 ||
        roster_serial(r) == 0)
        abort();
    /* The same note is refused once its serial is held. */
    if (roster_open_signed(data, size, &v, roster_serial(r), &again, err,
                           sizeof err) != RK_ERR_SERIAL)
        abort();
    json = roster_to_json(r);
    if (!json ||
        roster_from_json(json, strlen(json), &again, err, sizeof err) != 0)
        abort();
    free(json);
    roster_destroy(&again);
    roster_destroy(&r);
    return 0;
}
