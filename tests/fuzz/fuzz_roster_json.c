/* fuzz_roster_json: the roster JSON decoder on arbitrary bytes. It must
 * never crash; whatever it accepts must print as JSON that it accepts
 * again and that prints the same (the codec is stable), and the look-ups
 * must work on it. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    roster_t *r = NULL, *again = NULL;
    char err[512] = "", *t1, *t2;
    const char **ids = NULL;
    const char *all = ROSTER_GROUP_ALL;
    size_t n_ids = 0;
    int rc;

    if (sodium_init() < 0)
        abort();
    rc = roster_from_json((const char *)data, size, &r, err, sizeof err);
    if (rc != 0) {
        /* A refusal always says why. */
        if (rc != RK_ERR_NOMEM && err[0] == 0)
            abort();
        return 0;
    }
    t1 = roster_to_json(r);
    if (!t1 || roster_from_json(t1, strlen(t1), &again, err, sizeof err) != 0)
        abort();
    t2 = roster_to_json(again);
    if (!t2 || strcmp(t1, t2) != 0)
        abort();
    for (size_t i = 0; i < roster_count(r); i++) {
        const roster_node_t *n = roster_node_at(r, i);
        const roster_keyset_t *k = NULL;
        if (roster_find(r, n->id) != n)
            abort();
        if (roster_usable_keys(r, n->id, NULL, 1780000000000ull, &k) == 0 &&
            roster_by_transport_key(r, k->transport_pk, 1780000000000ull) != n)
            abort();
    }
    if (roster_expand(r, &all, 1, &ids, &n_ids, err, sizeof err) == 0)
        free(ids);
    free(t1);
    free(t2);
    roster_destroy(&again);
    roster_destroy(&r);
    return 0;
}
