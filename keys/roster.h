/* roster: the contact directory of the framework: nodes with country,
 * organisation, role, points of contact, key sets with validity, groups and
 * status. People edit it as JSON; it travels as a c2sp signed note signed
 * by the coordinator, whose key every node pins, with a serial that only
 * grows. No sockets; file I/O only in roster_load_*(). */
#ifndef ROSTER_H
#define ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "identity.h"
#include "note.h"
#include "rk_error.h"

#define ROSTER_VERSION 1
#define ROSTER_MAX_BYTES (4u * 1024u * 1024u) /* roster JSON text */
/* A signed roster is a signed note: note.h's cap is its cap, for the
 * reader (roster_open_signed) and the signer (roster_sign) alike. */
#define ROSTER_SIGNED_MAX_BYTES NOTE_MAX_BYTES
#define ROSTER_MAX_NODES 10000
#define ROSTER_MAX_KEYS 8 /* key sets per node */
#define ROSTER_MAX_CONTACTS 16
#define ROSTER_MAX_GROUPS 64                     /* groups per node */
#define ROSTER_MAX_TEXT 512                      /* bytes of a text field */
#define ROSTER_NOTE_HEADER "renraku roster v1\n" /* first line signed */
#define ROSTER_GROUP_ALL "all"                   /* every active partner node */
#define ROSTER_FOREVER UINT64_MAX

typedef enum {
    ROSTER_ACTIVE = 1,
    ROSTER_SUSPENDED = 2,
    ROSTER_REVOKED = 3,
} roster_status_t;

typedef struct {
    char *name;
    char *email;      /* may be NULL */
    char *phone;      /* may be NULL */
    char *hours;      /* e.g. "24/7" or "09:00-18:00"; may be NULL */
    char *timezone;   /* IANA name, e.g. "Asia/Tokyo"; may be NULL */
    char **languages; /* e.g. "ja", "en" */
    size_t n_languages;
} roster_contact_t;

/* One generation of a node's keys: they rotate together. */
typedef struct {
    uint8_t sign_pk[32];
    uint8_t enc_pk[32];
    uint8_t transport_pk[32];
    uint8_t sign_key_id[8]; /* derived: envelope_key_id(sign_pk) */
    uint64_t not_before_ms;
    uint64_t not_after_ms; /* ROSTER_FOREVER when open-ended */
    roster_status_t status;
} roster_keyset_t;

typedef struct {
    char *id;        /* node id, e.g. "jp.nisc" */
    char country[3]; /* ISO 3166-1 alpha-2, e.g. "JP" */
    char *organisation;
    identity_role_t role; /* partner, controller, auditor or relay */
    roster_status_t status;
    char *status_reason; /* why suspended or revoked; may be NULL */
    char **groups;
    size_t n_groups;
    roster_contact_t *contacts;
    size_t n_contacts;
    roster_keyset_t *keys;
    size_t n_keys;
} roster_node_t;

typedef struct roster roster_t;

/* An empty roster, serial 0, named after the framework (e.g.
 * "asean-cert-framework"). NULL when out of memory or name is empty. */
roster_t *roster_new(const char *framework);

/* Frees; accepts NULL and sets *self_p to NULL. */
void roster_destroy(roster_t **self_p);

/* Parses and validates roster JSON (untrusted). err (errlen bytes) names
 * the field path of the first problem ("nodes[2].keys[0].sign: not 32 bytes
 * of base64"). *out is the caller's. Returns 0, RK_ERR_TOO_LARGE,
 * RK_ERR_MALFORMED, RK_ERR_VERSION or RK_ERR_NOMEM. */
int roster_from_json(const char *text, size_t len, roster_t **out, char *err,
                     size_t errlen) RK_WUR;

/* The roster as indented JSON ending in a newline; malloc'd, the caller's,
 * NULL when out of memory. Stable: the same roster gives the same text. */
char *roster_to_json(const roster_t *self);

/* Reads a JSON roster file (roster_from_json rules). */
int roster_load_json(const char *path, roster_t **out, char *err,
                     size_t errlen) RK_WUR;

uint64_t roster_serial(const roster_t *self);
uint64_t roster_issued_ms(const roster_t *self); /* 0: never signed */
const char *roster_framework(const roster_t *self);
size_t roster_count(const roster_t *self);
/* The i-th node (borrowed, i < roster_count) or NULL. */
const roster_node_t *roster_node_at(const roster_t *self, size_t i);
/* The node with this id (borrowed) or NULL. */
const roster_node_t *roster_find(const roster_t *self, const char *id);

/* Adds a node (deep copy of *node, which stays the caller's) after
 * validating it. err names the problem. Returns 0, RK_ERR_EXISTS (id or a
 * key already in the roster), RK_ERR_INVALID or RK_ERR_NOMEM. */
int roster_add(roster_t *self, const roster_node_t *node, char *err,
               size_t errlen) RK_WUR;

/* Replaces the node with the same id (deep copy, validated). Returns 0,
 * RK_ERR_NOT_FOUND, RK_ERR_EXISTS (a key of another node), RK_ERR_INVALID,
 * RK_ERR_NOMEM. */
int roster_update(roster_t *self, const roster_node_t *node, char *err,
                  size_t errlen) RK_WUR;

/* Sets a node's status (and reason, may be NULL). Returns 0,
 * RK_ERR_NOT_FOUND or RK_ERR_NOMEM. */
int roster_set_status(roster_t *self, const char *id, roster_status_t status,
                      const char *reason) RK_WUR;

/* Removes a node. Returns 0 or RK_ERR_NOT_FOUND. */
int roster_remove(roster_t *self, const char *id) RK_WUR;

/* Signs the roster: serial + 1, issued = now_ms, then the note text
 * ROSTER_NOTE_HEADER + JSON, signed as key name `name` with the 64-byte
 * Ed25519 key sk. *note is malloc'd and the caller's. The roster keeps the
 * new serial (save it back). Returns 0, RK_ERR_INVALID, RK_ERR_TOO_LARGE
 * (the signed note would be over ROSTER_SIGNED_MAX_BYTES, which every
 * reader refuses; *note_len is then the size it would have had) or
 * RK_ERR_NOMEM; on an error the serial and issued time stay as they were.
 */
int roster_sign(roster_t *self, const char *name, const uint8_t sk[64],
                uint64_t now_ms, char **note, size_t *note_len) RK_WUR;

/* The size in bytes of the note roster_sign(self, name, now_ms, ...) would
 * make of the roster as it is: the figure roster_sign holds against
 * ROSTER_SIGNED_MAX_BYTES, computed the same way. With name NULL, signer
 * and time are not known (an edit, before any signing): *len is then the
 * most it can be, for a key name of ENVELOPE_NODE_ID_MAX bytes (a
 * coordinator's id) and an issued time with milliseconds; a roster whose
 * bound fits can be signed next (serial + 1) by any coordinator at any
 * time before the year 10000; a later signing of the same roster, one
 * serial on, can be a byte longer when the serial gains a digit. The
 * roster is not changed. Returns 0, RK_ERR_INVALID (the serial cannot grow) or
 * RK_ERR_NOMEM. */
int roster_signed_len(const roster_t *self, const char *name, uint64_t now_ms,
                      size_t *len) RK_WUR;

/* Verifies a signed roster (untrusted) with the pinned coordinator key and
 * parses it. It must be newer than the roster the node holds: serial >
 * held_serial (pass 0 when holding none). err names the problem. Returns 0,
 * RK_ERR_TOO_LARGE, RK_ERR_MALFORMED (note or JSON), RK_ERR_UNKNOWN_KEY (not
 * signed by the pinned key), RK_ERR_BAD_SIGNATURE, RK_ERR_SERIAL,
 * RK_ERR_VERSION or RK_ERR_NOMEM. */
int roster_open_signed(const uint8_t *note, size_t len,
                       const note_verifier_t *coordinator, uint64_t held_serial,
                       roster_t **out, char *err, size_t errlen) RK_WUR;

/* True (1) when text (len bytes, untrusted) starts as a signed roster
 * does: its first line ROSTER_NOTE_HEADER, ending in "\n" or in "\r\n"
 * (a copy as text, by mail or an editor, that changed every line end:
 * then *crlf is 1, and the note no longer verifies). It says what the
 * text was meant to be, not that it verifies. crlf may be NULL. */
int roster_text_is_signed(const uint8_t *text, size_t len, int *crlf);

/* Reads a signed roster file and opens it (roster_open_signed rules). */
int roster_load_signed(const char *path, const note_verifier_t *coordinator,
                       uint64_t held_serial, roster_t **out, char *err,
                       size_t errlen) RK_WUR;

/* The key set a node may use at time at_ms: the node active and the key
 * set active and within its validity. With key_id (8 bytes, may be NULL)
 * only the set whose signing key has that id counts. When several sets
 * count (a rotation's overlap) it is the newest: the latest not_before,
 * and of two with the same, the one listed later (roster update --rotate
 * appends): the set others seal to and connect to. *out is borrowed.
 * Returns 0, RK_ERR_UNKNOWN_KEY (no such node or key), RK_ERR_REVOKED,
 * RK_ERR_SUSPENDED or RK_ERR_EXPIRED (outside validity). */
int roster_usable_keys(const roster_t *self, const char *id,
                       const uint8_t *key_id, uint64_t at_ms,
                       const roster_keyset_t **out) RK_WUR;

/* Every key set of node id usable at at_ms (as roster_usable_keys), newest
 * first (the order roster_usable_keys picks by), at most max of them into
 * out (borrowed pointers). Returns how many were written: 0 when the node
 * is unknown, not active or has no usable set. */
size_t roster_usable_keysets(const roster_t *self, const char *id,
                             uint64_t at_ms, const roster_keyset_t **out,
                             size_t max);

/* The key set of node id holding exactly these three public keys (a key
 * file's), whatever its status and validity, or NULL (borrowed). */
const roster_keyset_t *roster_keyset_holding(const roster_t *self,
                                             const char *id,
                                             const uint8_t sign_pk[32],
                                             const uint8_t enc_pk[32],
                                             const uint8_t transport_pk[32]);

/* The node owning this transport key with a usable key set at at_ms, for
 * the relay's ZAP handler. Returns the node (borrowed) or NULL. */
const roster_node_t *roster_by_transport_key(const roster_t *self,
                                             const uint8_t pk[32],
                                             uint64_t at_ms);

/* Expands node ids and group names (n targets) into distinct active node
 * ids, in roster order. *ids is a malloc'd array of borrowed strings
 * (free only the array). err names the target that is unknown or not
 * active. Returns 0, RK_ERR_UNKNOWN_KEY (no such node or group),
 * RK_ERR_REVOKED, RK_ERR_SUSPENDED, RK_ERR_INVALID (an empty group) or
 * RK_ERR_NOMEM. */
int roster_expand(const roster_t *self, const char *const *targets, size_t n,
                  const char ***ids, size_t *n_ids, char *err,
                  size_t errlen) RK_WUR;

/* Prints the roster as a readable table (nodes, groups, contacts, keys). */
void roster_print(const roster_t *self, FILE *out, uint64_t now_ms);

const char *roster_status_name(roster_status_t status);
roster_status_t roster_status_from_name(const char *name);

#endif
