/* fuzz_payload: the payload decoder on arbitrary bytes (the plaintext a
 * peer sealed). Decoding must never crash; whatever decodes must re-encode,
 * decode again to the same JSON, and have a JSON form. */
#include <stdint.h>
#include <stdlib.h>

#include "payload.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    payload_t *p = NULL, *q = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    json_t *j1, *j2;

    if (payload_decode(data, size, &p, &why) != 0)
        return 0;
    if (payload_encode(p, &buf, &len, &why) != 0)
        abort(); /* decode accepted what encode refuses */
    if (payload_decode(buf, len, &q, &why) != 0)
        abort();
    j1 = payload_to_json(p);
    j2 = payload_to_json(q);
    if (!j1 || !j2 || !json_equal(j1, j2))
        abort();
    json_decref(j1);
    json_decref(j2);
    payload_destroy(&q);
    payload_destroy(&p);
    free(buf);
    return 0;
}
