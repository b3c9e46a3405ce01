/* fuzz_msel: drill_msel_import on arbitrary bytes (a spreadsheet export
 * is untrusted input). Never crash; whatever it accepts must be a
 * scenario whose canonical JSON reads back and whose injects encode. */
#include <stdint.h>
#include <stdlib.h>

#include "drill.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    drill_scenario_t *sc = NULL, *back = NULL;
    char err[4096];
    json_t *j;

    if (drill_msel_import((const char *)data, size, "fuzz.csv", &sc, err,
                          sizeof err) != 0)
        return 0;
    j = drill_scenario_to_json(sc);
    if (!j || drill_scenario_from_json(j, NULL, &back, err, sizeof err))
        abort();
    for (size_t i = 0; i < drill_scenario_n_injects(sc); i++) {
        drill_message_t m;
        uint8_t *buf = NULL;
        size_t len;
        if (drill_inject_message(sc, i, 0, &m) ||
            payload_encode(&m.payload, &buf, &len, NULL))
            abort();
        free(buf);
    }
    json_decref(j);
    drill_scenario_destroy(&back);
    drill_scenario_destroy(&sc);
    return 0;
}
