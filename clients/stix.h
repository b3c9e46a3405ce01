/* stix: a notice as a STIX 2.1 bundle for a CSIRT's threat-intel tooling
 * (renraku export), and a STIX 2.1 bundle, ours or another tool's, as a
 * notice draft (renraku import). No network, no signing, no sealing. */
#ifndef STIX_H
#define STIX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "payload.h"
#include "rk_error.h"

/* Limits on what stix_load and stix_import accept from outside. */
#define STIX_MAX_BUNDLE_BYTES (16u * 1024u * 1024u) /* a bundle file */
#define STIX_MAX_OBJECTS 10000 /* entries of bundle.objects */

/* Where the exported notice came from: the envelope and the roster. */
typedef struct {
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* seeds every STIX id */
    const char *sender;                  /* required, sender node id */
    const char *organisation; /* optional (NULL, ""): sender is the name */
    const char *country;      /* optional ISO 3166-1 alpha-2, e.g. "JP" */
    uint64_t created_ms;      /* required, envelope created time (Unix ms) */
    const char *const *recipients; /* optional, n_recipients node ids */
    size_t n_recipients;
} stix_meta_t;

/* What stix_import_ex did beyond the notice itself. */
typedef struct {
    size_t n_indicators;  /* indicators imported */
    size_t n_skipped;     /* indicator objects not imported (see err) */
    bool tlp_defaulted;   /* no TLP marking found: the notice is AMBER */
    bool clipped;         /* title or description cut to the notice limits */
    char source_type[32]; /* "incident", "report" or "note" */
} stix_import_info_t;

/* Builds a STIX 2.1 bundle from notice n (borrowed) and meta (borrowed):
 * the TLP 2.0 marking-definition, an identity for the sender organisation,
 * an incident with renraku's fields as x_renraku_* custom properties, a
 * note about it, one indicator per notice indicator and a related-to
 * relationship from each to the incident. Every other object carries
 * object_marking_refs to the marking. Ids are derived from meta->msg_id,
 * so the same notice and meta give the same bundle. On success *bundle is
 * a new reference owned by the caller (json_decref). On failure *bundle is
 * NULL and err (errlen bytes, may be NULL) says why. Returns 0,
 * RK_ERR_INVALID (n does not validate, or meta lacks sender or a time
 * within the notice limits) or RK_ERR_NOMEM. */
int stix_export(const payload_notice_t *n, const stix_meta_t *meta,
                json_t **bundle, char *err, size_t errlen) RK_WUR;

/* Turns a STIX 2.1 bundle (borrowed, untrusted) into a notice draft. The
 * title and description come from the first incident, else the first
 * report, else the first note; renraku's x_renraku_* properties of that
 * object come back as notice fields; indicators come from indicator
 * objects whose pattern_type is "stix" and whose pattern is one simple
 * comparison ([ipv4-addr:value = '...'], file:hashes.'SHA-256', ...;
 * anything else is skipped and counted, never refused); the TLP is the
 * most restrictive TLP 2.0 or TLP 1.0 marking referenced by any object
 * (TLP 1.0 WHITE is CLEAR), AMBER when there is none. On success *notice is
 * the caller's (payload_destroy), a notice payload that validates; info
 * (may be NULL) tells what was skipped or defaulted, and err gets a
 * sentence saying so, or "" when nothing was. On failure *notice is NULL
 * and err names the field, e.g. "objects[2].type: expected a string".
 * Returns 0, RK_ERR_MALFORMED (not a bundle, a field of the wrong type,
 * nothing to import, or a notice that does not validate), RK_ERR_TOO_LARGE
 * (over STIX_MAX_OBJECTS objects) or RK_ERR_NOMEM. */
int stix_import_ex(const json_t *bundle, payload_t **notice,
                   stix_import_info_t *info, char *err, size_t errlen) RK_WUR;

/* stix_import_ex without info. */
int stix_import(const json_t *bundle, payload_t **notice, char *err,
                size_t errlen) RK_WUR;

/* Reads a bundle file of at most STIX_MAX_BUNDLE_BYTES and parses it with
 * duplicate keys refused. On success *bundle is the caller's (json_decref).
 * Returns 0, RK_ERR_NOT_FOUND, RK_ERR_TOO_LARGE, RK_ERR_IO, RK_ERR_NOMEM or
 * RK_ERR_MALFORMED (not JSON; err gives the line and the reason). */
int stix_load(const char *path, json_t **bundle, char *err,
              size_t errlen) RK_WUR;

/* The official STIX id of a TLP 2.0 marking-definition
 * ("marking-definition--94868c89-..." for CLEAR): a static string, or NULL
 * when tlp is not a TLP 2.0 level. */
const char *stix_tlp_marking_id(payload_tlp_t tlp);

#endif
