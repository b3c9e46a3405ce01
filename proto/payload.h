/* payload: the plaintext inside an envelope (notice, ack, comm check, drill
 * inject and reply) as plain C structs, their protobuf encoding and their
 * JSON form. No I/O, no crypto: envelope seals what payload_encode makes. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "rk_error.h"

/* Limits, in bytes of UTF-8 (without the NUL) or in entries. Plain decimal
 * literals on purpose: the error sentences quote them. Every encoded
 * payload is also at most ENVELOPE_MAX_PAYLOAD bytes. */
#define PAYLOAD_ID_MAX 128     /* incident, check and inject ids */
#define PAYLOAD_TITLE_MAX 256  /* notice and inject titles */
#define PAYLOAD_TEXT_MAX 65536 /* description and free text */
#define PAYLOAD_NOTE_MAX 4096  /* requested action, contact, comment */
#define PAYLOAD_NAME_MAX 64    /* category, rsit type, sector, ind. type */
#define PAYLOAD_VALUE_MAX 2048 /* indicator value, reference (URL) */
#define PAYLOAD_MAX_SECTORS 64
#define PAYLOAD_MAX_INDICATORS 1000
#define PAYLOAD_MAX_REFERENCES 100
/* Latest time a payload may carry: 9999-12-31T23:59:59.999Z, so every time
 * has a four-digit-year RFC 3339 form. 0 means "not given". */
#define PAYLOAD_TIME_MAX_MS 253402300799999ull

/* Which body a payload carries. Values are the protobuf oneof numbers. */
typedef enum {
    PAYLOAD_NOTICE = 1,
    PAYLOAD_ACK = 2,
    PAYLOAD_COMM_CHECK = 3,
    PAYLOAD_DRILL_INJECT = 4,
    PAYLOAD_DRILL_REPLY = 5,
} payload_kind_t;

/* TLP 2.0. Required in a notice, so 0 is never valid. */
typedef enum {
    PAYLOAD_TLP_CLEAR = 1,
    PAYLOAD_TLP_GREEN = 2,
    PAYLOAD_TLP_AMBER = 3,
    PAYLOAD_TLP_AMBER_STRICT = 4,
    PAYLOAD_TLP_RED = 5,
} payload_tlp_t;

/* For the optional enums below, 0 means "not given". */
typedef enum {
    PAYLOAD_SEVERITY_NONE = 0,
    PAYLOAD_SEVERITY_INFO = 1,
    PAYLOAD_SEVERITY_LOW = 2,
    PAYLOAD_SEVERITY_MEDIUM = 3,
    PAYLOAD_SEVERITY_HIGH = 4,
    PAYLOAD_SEVERITY_CRITICAL = 5,
} payload_severity_t;

/* IODEF (RFC 7970) Incident@purpose. */
typedef enum {
    PAYLOAD_PURPOSE_NONE = 0,
    PAYLOAD_PURPOSE_TRACEBACK = 1,
    PAYLOAD_PURPOSE_MITIGATION = 2,
    PAYLOAD_PURPOSE_REPORTING = 3,
    PAYLOAD_PURPOSE_WATCH = 4,
    PAYLOAD_PURPOSE_OTHER = 5,
} payload_purpose_t;

typedef enum {
    PAYLOAD_STATUS_NONE = 0,
    PAYLOAD_STATUS_NEW = 1,
    PAYLOAD_STATUS_IN_PROGRESS = 2,
    PAYLOAD_STATUS_RESOLVED = 3,
} payload_status_t;

/* Required in an ack and a drill reply; optional (0) as an inject's
 * expected response. */
typedef enum {
    PAYLOAD_ACK_NONE = 0,
    PAYLOAD_ACK_RECEIVED = 1,
    PAYLOAD_ACK_ACKNOWLEDGED = 2,
    PAYLOAD_ACK_IN_PROGRESS = 3,
    PAYLOAD_ACK_RESOLVED = 4,
    PAYLOAD_ACK_DENIED = 5,
} payload_ack_status_t;

/* Strings are UTF-8 and NUL-terminated. Optional strings are NULL when
 * absent and never empty when present. Single-line fields (ids, titles,
 * names, indicators, references) admit no control character; free-text
 * fields (description, text, comment, requested action, contact) admit
 * tab, CR and LF only. In a payload you build, every pointer is yours and
 * is only read; in one from payload_decode or payload_from_json, every
 * pointer lives as long as that payload. */

typedef struct {
    const char *type;        /* required: "ipv4-addr", "url", ... */
    const char *value;       /* required */
    const char *description; /* optional */
} payload_indicator_t;

typedef struct {
    const char *incident_id;     /* required, sender's incident reference */
    const char *title;           /* required */
    const char *description;     /* optional free text */
    payload_purpose_t purpose;   /* optional */
    payload_status_t status;     /* optional */
    payload_tlp_t tlp;           /* required */
    payload_severity_t severity; /* optional */
    const char *category;        /* optional RSIT class, see below */
    const char *rsit_type;       /* optional, needs category: "ransomware" */
    const char *const *sectors;  /* n_sectors affected sectors */
    size_t n_sectors;
    const payload_indicator_t *indicators; /* n_indicators entries */
    size_t n_indicators;
    const char *requested_action;  /* optional free text */
    const char *contact;           /* optional free text */
    const char *const *references; /* n_references URLs or ids */
    size_t n_references;
    uint64_t detected_ms; /* Unix ms, 0: not given */
} payload_notice_t;

/* An ack or a status update about one message. */
typedef struct {
    uint8_t ref_msg_id[ENVELOPE_MSG_ID_LEN]; /* the message answered */
    payload_ack_status_t status;             /* required */
    const char *comment; /* optional, required when status is DENIED */
} payload_ack_t;

typedef struct {
    const char *check_id;   /* required */
    const char *text;       /* optional free text */
    uint64_t respond_by_ms; /* Unix ms, 0: no deadline */
} payload_comm_check_t;

typedef struct {
    const char *drill_id;           /* required, node-id syntax as header's */
    const char *inject_id;          /* required */
    const char *title;              /* required */
    const char *text;               /* required, must contain "EXERCISE" */
    payload_ack_status_t expected;  /* expected response, 0: none */
    uint64_t respond_by_ms;         /* Unix ms, 0: no deadline */
    const payload_notice_t *notice; /* optional, category must be "test" */
} payload_drill_inject_t;

typedef struct {
    const char *drill_id;                    /* required, as the inject's */
    const char *inject_id;                   /* required, as the inject's */
    uint8_t ref_msg_id[ENVELOPE_MSG_ID_LEN]; /* the inject's msg id */
    payload_ack_status_t status;             /* required */
    const char *text;                        /* optional free text */
} payload_drill_reply_t;

/* One payload: kind says which member of the union is meaningful. */
typedef struct {
    payload_kind_t kind;
    union {
        payload_notice_t notice;
        payload_ack_t ack;
        payload_comm_check_t comm_check;
        payload_drill_inject_t drill_inject;
        payload_drill_reply_t drill_reply;
    };
} payload_t;

/* Checks every field against the rules above and the limits. Returns 0, or
 * RK_ERR_INVALID with *why (if not NULL) a static sentence naming the
 * field, e.g. "notice.title is empty". Does not check the encoded size
 * (payload_encode does). */
int payload_validate(const payload_t *p, const char **why) RK_WUR;

/* Validates p, then serializes it as a renraku.Payload. *out is malloc'd
 * and owned by the caller; p stays the caller's. Returns 0, RK_ERR_INVALID
 * (see payload_validate, *why names the field), RK_ERR_TOO_LARGE (over
 * ENVELOPE_MAX_PAYLOAD bytes) or RK_ERR_NOMEM. */
int payload_encode(const payload_t *p, uint8_t **out, size_t *len,
                   const char **why) RK_WUR;

/* Decodes untrusted bytes (borrowed). Refuses unknown fields, non-canonical
 * encodings (a field repeated, a NUL inside a string) and anything
 * payload_validate refuses. On success *out is the caller's, to free with
 * payload_destroy. On failure *out is untouched and *why (if not NULL)
 * gets a static sentence. Returns 0, RK_ERR_TOO_LARGE (over
 * ENVELOPE_MAX_PAYLOAD), RK_ERR_MALFORMED (does not decode or does not
 * validate), RK_ERR_VERSION (fields unknown to this version) or
 * RK_ERR_NOMEM. */
int payload_decode(const uint8_t *buf, size_t len, payload_t **out,
                   const char **why) RK_WUR;

/* Frees a payload that payload_decode or payload_from_json returned (never
 * one you built yourself); accepts NULL and sets *self_p to NULL. */
void payload_destroy(payload_t **self_p);

/* True when the payload's body is the one envelope kind k carries: notice
 * and alert carry a notice, ack and status update an ack, the others
 * their own body. */
bool payload_kind_matches(const payload_t *p, envelope_kind_t k);

/* The JSON form: an object with one key naming the body ("notice", "ack",
 * "comm_check", "drill_inject", "drill_reply") whose value has the fields
 * above by their C names, except that enums are their names, msg ids 32
 * lower-case hex digits, and times RFC 3339 strings under "detected" and
 * "respond_by". Absent optional fields and empty lists are left out.
 * Returns a new reference owned by the caller, or NULL when p does not
 * validate or memory runs out. */
json_t *payload_to_json(const payload_t *p);

/* Builds a payload from JSON (borrowed; load it with
 * JSON_REJECT_DUPLICATES). Refuses unknown keys, wrong types, missing
 * required fields, bad values and anything payload_encode would refuse, so
 * a payload from here always encodes. On success *out is the caller's
 * (payload_destroy). On failure err (errlen bytes, may be NULL) gets a
 * sentence starting with the field path, e.g. "notice.tlp: unknown value
 * 'AMBR' (expected CLEAR, GREEN, AMBER, AMBER+STRICT or RED)". Returns 0,
 * RK_ERR_MALFORMED, RK_ERR_TOO_LARGE or RK_ERR_NOMEM. */
int payload_from_json(const json_t *json, payload_t **out, char *err,
                      size_t errlen) RK_WUR;

/* Names of enum values: static strings, "unknown" for a value out of range
 * or 0. The reverse functions ignore case and return 0 for an unknown
 * name. TLP names are upper case ("AMBER+STRICT"); the others lower case
 * with hyphens ("in-progress"). */
const char *payload_kind_name(payload_kind_t k); /* "notice", "comm_check" */
const char *payload_tlp_name(payload_tlp_t v);
payload_tlp_t payload_tlp_from_name(const char *name);
const char *payload_severity_name(payload_severity_t v);
payload_severity_t payload_severity_from_name(const char *name);
const char *payload_purpose_name(payload_purpose_t v);
payload_purpose_t payload_purpose_from_name(const char *name);
const char *payload_status_name(payload_status_t v);
payload_status_t payload_status_from_name(const char *name);
const char *payload_ack_status_name(payload_ack_status_t v);
payload_ack_status_t payload_ack_status_from_name(const char *name);

/* The Reference Security Incident Taxonomy classes, lower case:
 * abusive-content, malicious-code, information-gathering,
 * intrusion-attempts, intrusions, availability,
 * information-content-security, fraud, vulnerable, other, test.
 * payload_rsit_class(i) is the i-th (static) or NULL past the end;
 * payload_rsit_class_from_name returns the static canonical spelling of
 * name, ignoring case, or NULL when it is not a class. A notice's category
 * must be spelled canonically. */
const char *payload_rsit_class(size_t i);
const char *payload_rsit_class_from_name(const char *name);

#endif
