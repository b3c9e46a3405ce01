/* fuzz_tlog_proof: the c2sp.org/tlog-proof parser of clients/audit on
 * arbitrary bytes, and the proof check with a fixed real key. Parsing must
 * never crash; it accepts one spelling only, so formatting what it
 * accepted must give back the input byte for byte. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

/* sum.golang.org's published verifier key. */
#define SUMDB_VKEY                                                             \
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static note_verifier_t sumdb;
    static int ready;
    audit_proof_t p;
    const char *why = NULL;
    char *text = NULL;
    size_t len = 0;

    if (!ready) {
        if (sodium_init() < 0 || note_vkey_parse(SUMDB_VKEY, &sumdb) != 0)
            abort();
        ready = 1;
    }
    if (audit_proof_parse(data, size, &p, &why) != 0) {
        if (!why)
            abort(); /* every refusal names its reason */
        return 0;
    }
    if (audit_proof_format(&p, &text, &len) != 0 || len != size ||
        memcmp(text, data, size) != 0)
        abort();
    free(text);
    why = NULL;
    if (audit_proof_check(&p, &sumdb, NULL, &why) == 0 || !why)
        abort(); /* nothing here is signed by sum.golang.org's key */
    audit_proof_clear(&p);
    return 0;
}
