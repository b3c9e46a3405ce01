/* fuzz_envelope: the envelope decoder and verifier on arbitrary bytes.
 * Decoding must never crash; verification with a fixed key must refuse
 * whatever is not signed by it. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "envelope.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t pk[32];
    envelope_t *env = NULL;
    const char *why = NULL;

    if (sodium_init() < 0)
        abort();
    if (envelope_decode(data, size, &env, &why) == 0) {
        const envelope_header_t *h = envelope_header(env);
        /* A random key never verifies a fuzzed signature. */
        if (envelope_verify(env, pk) == 0 && h->n_recipients > 0)
            abort();
        envelope_destroy(&env);
    }
    return 0;
}
