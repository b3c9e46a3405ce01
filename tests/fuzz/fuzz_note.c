/* fuzz_note: the signed-note verifier and the vkey parser on arbitrary
 * bytes. Neither may crash; what they accept must hold together (the text
 * lies inside the note and ends in '\n'; a parsed vkey formats and parses
 * back to the same verifier). */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"

/* Published test key of golang.org/x/mod sumdb/note (note_test.go). */
#define PETER_VKEY                                                             \
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"

static void
s_check_vkey(const uint8_t *data, size_t size) {
    note_verifier_t v, again;
    char *str, *vkey = NULL;

    str = malloc(size + 1);
    if (!str)
        abort();
    memcpy(str, data, size);
    str[size] = '\0';
    if (note_vkey_parse(str, &v) == 0) {
        if (!note_name_valid(v.name) || v.key_id != note_key_id(v.name, v.pk))
            abort();
        if (note_vkey_format(v.name, v.pk, &vkey) != 0 ||
            note_vkey_parse(vkey, &again) != 0 ||
            memcmp(&v, &again, sizeof v) != 0)
            abort();
        free(vkey);
    }
    free(str);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static note_verifier_t peter;
    static int ready;
    const uint8_t *text = NULL;
    size_t text_len = 0;

    if (!ready) {
        if (sodium_init() < 0 || note_vkey_parse(PETER_VKEY, &peter) != 0)
            abort();
        ready = 1;
    }
    if (note_verify(data, size, &peter, &text, &text_len) == 0) {
        if (text != data || text_len == 0 || text_len + 2 > size ||
            text[text_len - 1] != '\n' || data[text_len] != '\n')
            abort();
    }
    s_check_vkey(data, size);
    return 0;
}
