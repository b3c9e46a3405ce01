/* fuzz_record: the log record decoder on arbitrary bytes (a log an auditor
 * was handed may be anything). Decoding must never crash; whatever
 * decodes must re-encode to exactly the bytes given, since records are
 * hashed as stored, and decode again to the same record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    record_t *r = NULL, *s = NULL;
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    const char *why = NULL;

    if (record_decode(data, size, &r, &why) != 0) {
        if (!why || r)
            abort(); /* every refusal names its reason */
        return 0;
    }
    if (record_encode(r, &buf, &len) != 0)
        abort(); /* decode accepted what encode refuses */
    if (len != size || memcmp(buf, data, size) != 0)
        abort(); /* the leaf would hash differently */
    if (record_decode(buf, len, &s, &why) != 0 || s->type != r->type ||
        s->index != r->index || s->time_ms != r->time_ms)
        abort();
    if (record_encode(s, &again, &len2) != 0 || len2 != len ||
        memcmp(again, buf, len) != 0)
        abort();
    record_destroy(&s);
    record_destroy(&r);
    if (r || s)
        abort();
    free(again);
    free(buf);
    return 0;
}
