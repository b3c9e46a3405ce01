/* fuzz_checkpoint: the checkpoint body parser on arbitrary bytes, and
 * checkpoint_open with a fixed real key. Parsing must never crash, and
 * since it accepts one spelling only, formatting what it accepted must give
 * back the input byte for byte. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

/* sum.golang.org's published verifier key. */
#define SUMDB_VKEY                                                             \
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static note_verifier_t sumdb;
    static int ready;
    checkpoint_t cp;
    const char *why = NULL;
    char *text = NULL;
    size_t len = 0;

    if (!ready) {
        if (sodium_init() < 0 || note_vkey_parse(SUMDB_VKEY, &sumdb) != 0)
            abort();
        ready = 1;
    }
    if (checkpoint_parse(data, size, &cp, &why) == 0) {
        if (why || checkpoint_format(&cp, &text, &len) != 0 || len != size ||
            memcmp(text, data, size) != 0)
            abort();
        free(text);
    } else if (!why) {
        abort(); /* every refusal names its reason */
    }
    if (checkpoint_open(data, size, &sumdb, NULL, &cp, &why) != 0 && !why)
        abort();
    return 0;
}
