/* fuzz_frame: the frame decoder on arbitrary bytes (what any authenticated
 * peer may send the relay, or a relay a node). Decoding must never crash;
 * whatever decodes must re-encode to as many bytes as were given (decode
 * refuses fields sent twice and padded varints; fields out of order are
 * the only difference left), decode again, and encode the same again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    frame_t *f = NULL, *g = NULL;
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    const char *why = NULL;
    int rc;

    rc = frame_decode(data, size, &f, &why);
    if (rc != 0) {
        if (!why || f)
            abort(); /* every refusal names its reason */
        return 0;
    }
    if (why)
        abort();
    if (frame_encode(f, &buf, &len) != 0)
        abort(); /* decode accepted what encode refuses */
    if (len != size)
        abort();
    if (frame_decode(buf, len, &g, &why) != 0 || g->type != f->type)
        abort();
    if (frame_encode(g, &again, &len2) != 0 || len2 != len ||
        memcmp(again, buf, len) != 0)
        abort();
    frame_destroy(&g);
    frame_destroy(&f);
    if (f || g)
        abort();
    free(again);
    free(buf);
    return 0;
}
