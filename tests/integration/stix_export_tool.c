/* stix_export_tool: reads a notice in its JSON form ({"notice": {...}}),
 * exports it with stix_export under fixed test metadata and prints the
 * bundle, for stix_schema.sh to validate. A test helper, not a CLI.
 * Usage: stix_export_tool NOTICE.json [MSG_ID_HEX] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "rk_util.h"
#include "stix.h"

int
main(int argc, char **argv) {
    static const char *const rcpts[] = {"de-cert", "fr-cert"};
    json_error_t jerr;
    json_t *in, *bundle = NULL;
    payload_t *p = NULL;
    stix_meta_t meta = {
        .sender = "jp-csirt",
        .organisation = "Example CSIRT Japan",
        .country = "JP",
        .created_ms = 1795331880123ull, /* 2026-11-22T07:18:00.123Z */
        .recipients = rcpts,
        .n_recipients = 2,
    };
    const char *hex = argc > 2 ? argv[2] : "00112233445566778899aabbccddeeff";
    char err[400];
    char *text;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s NOTICE.json [MSG_ID_HEX]\n", argv[0]);
        return 2;
    }
    if (rk_unhex(meta.msg_id, sizeof meta.msg_id, hex) != RK_OK) {
        fprintf(stderr, "%s: not 32 hex digits\n", hex);
        return 2;
    }
    in = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
    if (!in) {
        fprintf(stderr, "%s: line %d: %s\n", argv[1], jerr.line, jerr.text);
        return 1;
    }
    if (payload_from_json(in, &p, err, sizeof err) != RK_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        json_decref(in);
        return 1;
    }
    json_decref(in);
    if (p->kind != PAYLOAD_NOTICE) {
        fprintf(stderr, "%s: not a notice\n", argv[1]);
        payload_destroy(&p);
        return 1;
    }
    if (stix_export(&p->notice, &meta, &bundle, err, sizeof err) != RK_OK) {
        fprintf(stderr, "%s: stix_export: %s\n", argv[1], err);
        payload_destroy(&p);
        return 1;
    }
    payload_destroy(&p);
    text = json_dumps(bundle, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(bundle);
    if (!text) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}
