/* fuzz_payload_json: payload_from_json on arbitrary JSON text (drill
 * scenarios, the CLI). Never crash; whatever it accepts must encode,
 * decode, and come back as the same JSON. */
#include <stdint.h>
#include <stdlib.h>

#include "payload.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t jerr;
    json_t *in, *j1 = NULL, *j2 = NULL;
    payload_t *p = NULL, *q = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];

    in = json_loadb((const char *)data, size,
                    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!in)
        return 0;
    if (payload_from_json(in, &p, err, sizeof err) == 0) {
        if (payload_encode(p, &buf, &len, NULL) != 0)
            abort(); /* from_json promises an encodable payload */
        if (payload_decode(buf, len, &q, NULL) != 0)
            abort();
        j1 = payload_to_json(p);
        j2 = payload_to_json(q);
        if (!j1 || !j2 || !json_equal(j1, j2))
            abort();
        payload_destroy(&p);
        /* JSON -> payload -> JSON is stable. */
        if (payload_from_json(j1, &p, err, sizeof err) != 0)
            abort();
        json_decref(j2);
        j2 = payload_to_json(p);
        if (!j2 || !json_equal(j1, j2))
            abort();
    }
    json_decref(j1);
    json_decref(j2);
    payload_destroy(&p);
    payload_destroy(&q);
    free(buf);
    json_decref(in);
    return 0;
}
