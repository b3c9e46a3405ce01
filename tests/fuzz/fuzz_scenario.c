/* fuzz_scenario: drill_scenario_parse on arbitrary text. Never crash;
 * whatever it accepts must come back equal through its canonical JSON,
 * every inject's payload must encode, and a report over it must render. */
#include <stdint.h>
#include <stdlib.h>

#include "drill.h"
#include "drill_report.h"

static void
s_check(const drill_scenario_t *sc) {
    drill_scenario_t *back = NULL;
    drill_report_t *r = NULL;
    json_t *j1 = drill_scenario_to_json(sc), *j2 = NULL, *obs;
    char err[512];

    if (!j1 || drill_scenario_from_json(j1, NULL, &back, err, sizeof err))
        abort(); /* the canonical form must read back */
    j2 = drill_scenario_to_json(back);
    if (!j2 || !json_equal(j1, j2))
        abort();
    for (size_t i = 0; i < drill_scenario_n_injects(sc); i++) {
        drill_message_t m;
        uint8_t *buf = NULL;
        size_t len;
        if (drill_inject_message(sc, i, 0, &m) ||
            payload_encode(&m.payload, &buf, &len, NULL))
            abort(); /* from_json promises encodable injects */
        free(buf);
        (void)drill_inject_due_ms(sc, i);
        (void)drill_inject_deadline_ms(sc, i);
    }
    obs = json_pack("{s:s}", "started", "2026-11-22T07:00:00Z");
    if (obs && drill_report_new(sc, obs, &r, err, sizeof err) == 0) {
        free(drill_report_text(r));
        free(drill_report_json(r));
        free(drill_report_csv(r));
        free(drill_report_html(r));
    }
    drill_report_destroy(&r);
    json_decref(obs);
    json_decref(j1);
    json_decref(j2);
    drill_scenario_destroy(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    drill_scenario_t *sc = NULL;
    char err[512];
    if (drill_scenario_parse((const char *)data, size, "fuzz.json", &sc, err,
                             sizeof err) == 0)
        s_check(sc);
    drill_scenario_destroy(&sc);
    return 0;
}
