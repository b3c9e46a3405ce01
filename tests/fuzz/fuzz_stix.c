/* fuzz_stix: STIX 2.1 bundle import (untrusted JSON from other tools).
 * Import must never crash; whatever it accepts must validate as a notice
 * and export again. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stix.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *bundle =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    payload_t *p = NULL;
    char err[512];
    if (!bundle)
        return 0;
    if (stix_import(bundle, &p, err, sizeof err) == 0) {
        json_t *again = NULL;
        stix_meta_t meta;
        const char *why = NULL;
        memset(&meta, 0, sizeof meta);
        meta.sender = "fuzz.node";
        meta.created_ms = 1795331880000ull;
        if (payload_validate(p, &why) != 0 ||
            stix_export(&p->notice, &meta, &again, err, sizeof err) != 0)
            abort();
        json_decref(again);
        payload_destroy(&p);
    }
    json_decref(bundle);
    return 0;
}
