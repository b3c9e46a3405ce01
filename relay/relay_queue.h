/* relay_queue: what the relay still owes: accepted messages with their
 * recipients not yet confirmed, each recipient's delivery queue in log
 * order with a credit window, and each sender's receipts. Pure in-memory
 * state, rebuilt from the log at start; no sockets, no files. */
#ifndef RELAY_QUEUE_H
#define RELAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rk_buf.h"
#include "rk_error.h"

typedef struct relay_queue relay_queue_t;

/* A delivery to hand to a recipient (borrowed: valid until the message is
 * confirmed by every recipient or expires). */
typedef struct {
    uint64_t index; /* log index of the accepted record */
    const uint8_t *envelope;
    size_t envelope_len;
} relay_delivery_t;

/* What a receipt says became of a recipient's copy. */
typedef enum {
    RELAY_RECEIPT_DELIVERED = 0,
    RELAY_RECEIPT_EXPIRED = 1,
    RELAY_RECEIPT_REVOKED = 2, /* undeliverable: revoked in the roster */
    RELAY_RECEIPT_REMOVED = 3, /* undeliverable: removed from the roster */
} relay_receipt_status_t;
#define RELAY_RECEIPT_STATUS_MAX RELAY_RECEIPT_REMOVED

/* A receipt owed to a sender. */
typedef struct {
    uint64_t index; /* log index of the delivery/expiry/undeliverable record */
    uint8_t msg_id[16];
    char recipient[64];
    relay_receipt_status_t status;
    uint64_t time_ms;
} relay_receipt_t;

/* An expiry found by relay_queue_expire: the message and the recipients
 * that never confirmed it (borrowed until the next call). From
 * relay_queue_drop_gone: the recipients given up for one reason. */
typedef struct {
    uint64_t index;
    uint8_t msg_id[16];
    const char *sender;
    const char *const *recipients;
    size_t n_recipients;
    int reason; /* relay_queue_drop_gone: what gone() answered for them */
} relay_expiry_t;

relay_queue_t *relay_queue_new(void);
void relay_queue_destroy(relay_queue_t **self_p);

/* Records an accepted message: a copy of the envelope is kept until every
 * recipient confirmed or it expired. Returns 0, RK_ERR_EXISTS (index
 * already known) or RK_ERR_NOMEM. */
int relay_queue_accept(relay_queue_t *self, uint64_t index,
                       const uint8_t msg_id[16], const char *sender,
                       const char *const *recipients, size_t n,
                       uint64_t expires_ms, const uint8_t *envelope,
                       size_t envelope_len) RK_WUR;

/* A recipient confirmed message `index`. Returns 0 (first confirmation:
 * log it and tell the sender), RK_ERR_NOT_FOUND (no such pending
 * delivery: a duplicate or a stale confirm, nothing to do) or
 * RK_ERR_MISMATCH (msg_id is not that message's). *sender (borrowed) is
 * the message's sender, valid until the next relay_queue_confirm,
 * relay_queue_expire or relay_queue_forget. */
int relay_queue_confirm(relay_queue_t *self, uint64_t index,
                        const uint8_t msg_id[16], const char *recipient,
                        const char **sender) RK_WUR;

/* What relay_queue_confirm would answer, changing nothing: the relay
 * checks a confirm, logs it, and applies it once the record is durable.
 * *sender (borrowed) is valid until the queue changes. */
int relay_queue_check_confirm(const relay_queue_t *self, uint64_t index,
                              const uint8_t msg_id[16], const char *recipient,
                              const char **sender) RK_WUR;

/* Up to max deliveries for node that are neither confirmed nor in flight,
 * in log order, limited by its credit window; they are marked in flight,
 * sent at now_ms (a monotonic clock, for relay_queue_resend_due). Returns
 * how many were written to out. */
size_t relay_queue_next(relay_queue_t *self, const char *node, size_t max,
                        uint64_t now_ms, relay_delivery_t *out);

/* The delivery of message index to node, handed out by relay_queue_next
 * but not sent after all (its queue was full), is pending again, first in
 * line; what else is in flight stays so. Returns 0 or RK_ERR_NOT_FOUND
 * (not in flight to node). */
int relay_queue_unsend(relay_queue_t *self, const char *node, uint64_t index);
/* Sets the credit window of a node (deliveries in flight at once). */
void relay_queue_set_credit(relay_queue_t *self, const char *node,
                            size_t credit);

/* Everything in flight to node becomes pending again (it reconnected, or
 * a send failed): it will be delivered again, in order. */
void relay_queue_requeue(relay_queue_t *self, const char *node);

/* Deliveries in flight, handed out by relay_queue_next at least after_ms
 * before now_ms and still not confirmed (the node could not store them, or
 * a delivery or its confirm was lost while the connection stayed up),
 * become pending again, to be sent again: those the node skipped (it
 * confirmed one handed out after them), and all of them once it has
 * confirmed nothing for after_ms (as seen by these calls, made about once
 * a second). For each node with any, calls fn with their number. Returns
 * how many in all. now_ms: a monotonic clock, as relay_queue_next's. */
size_t relay_queue_resend_due(relay_queue_t *self, uint64_t now_ms,
                              uint64_t after_ms,
                              void (*fn)(const char *node, size_t n, void *arg),
                              void *arg);
/* Deliveries owed to node (pending + in flight). */
size_t relay_queue_pending(const relay_queue_t *self, const char *node);

/* Whether node has deliveries waiting that its credit window holds back
 * (every slot in flight): a confirm from it would let the next ones go. */
int relay_queue_credit_full(const relay_queue_t *self, const char *node);

/* Bytes of the envelopes the queue holds (until every recipient confirmed
 * or they expired) that sender sent; NULL: of every sender. */
uint64_t relay_queue_held(const relay_queue_t *self, const char *sender);

/* Messages not yet confirmed by all recipients. */
size_t relay_queue_live(const relay_queue_t *self);

/* Finds messages whose expiry is <= now_ms; for each, calls fn with the
 * recipients that never confirmed, then forgets the message. Returns the
 * number expired. */
size_t relay_queue_expire(relay_queue_t *self, uint64_t now_ms,
                          void (*fn)(const relay_expiry_t *e, void *arg),
                          void *arg);

/* Gives up, in every live message, the pending deliveries (in flight or
 * not) to recipients for which gone(node, arg) answers a reason > 0 (the
 * relay: revoked or removed from the roster): for each message with any,
 * calls fn once per reason with those recipients, then drops them; a
 * message no recipient is left for is forgotten. Returns the number of
 * recipients dropped. */
size_t relay_queue_drop_gone(relay_queue_t *self,
                             int (*gone)(const char *node, void *arg),
                             void (*fn)(const relay_expiry_t *e, void *arg),
                             void *arg);

/* Drops the pending delivery of message index to recipient (its
 * undeliverable record was already logged, e.g. while rebuilding from the
 * log); a message no recipient is left for is forgotten. sender (may be
 * NULL, 64 bytes) gets the message's sender. Returns 0 or
 * RK_ERR_NOT_FOUND (no such pending delivery). */
int relay_queue_drop(relay_queue_t *self, uint64_t index, const char *recipient,
                     char sender[64]) RK_WUR;

/* Forgets a live message entirely (its expiry was already logged, e.g.
 * while rebuilding from the log). sender (may be NULL, 64 bytes) gets the
 * message's sender. Returns 0 or RK_ERR_NOT_FOUND. */
int relay_queue_forget(relay_queue_t *self, uint64_t index,
                       char sender[64]) RK_WUR;

/* Keeps a receipt for its sender, to send now and again after a
 * reconnect. Receipts must be added in increasing index order per sender.
 * Returns 0 or RK_ERR_NOMEM. */
int relay_queue_add_receipt(relay_queue_t *self, const char *sender,
                            const relay_receipt_t *r) RK_WUR;

/* The receipts of sender with index >= after (borrowed array, *n items,
 * valid until the next change). Receipts with index < after are dropped:
 * the sender has them. Those at after itself are kept and given again:
 * the recipients of one expiry share its record's index, and the sender
 * may have had only some of them (after is the highest index it has
 * seen); it takes a copy twice without harm. after UINT64_MAX: the sender
 * did not say; nothing is dropped or given. */
const relay_receipt_t *relay_queue_receipts(relay_queue_t *self,
                                            const char *sender, uint64_t after,
                                            size_t *n);

/* The receipts of sender with index >= from (borrowed array, *n items,
 * valid until the next change), dropping none: to send again, in order,
 * those that could not be sent on the connection. */
const relay_receipt_t *relay_queue_receipts_from(const relay_queue_t *self,
                                                 const char *sender,
                                                 uint64_t from, size_t *n);
/* The accepted index of a msg id, for proofs and retried submits; kept
 * after the message is confirmed or expired. When two accepted messages
 * share a msg id, the first one's. Returns 0 or RK_ERR_NOT_FOUND. */
int relay_queue_find(const relay_queue_t *self, const uint8_t msg_id[16],
                     uint64_t *index) RK_WUR;

/* The state snapshot (the relay's DIR/state): appends to b every msg id
 * with its index, every live message with the recipients that have not
 * confirmed it (without its envelope: the log has it), and every receipt
 * still owed. Deliveries in flight and credits are not kept: a restart
 * sends again what was in flight. */
void relay_queue_save(relay_queue_t *self, rk_wbuf_t *b);

/* Gives the envelope of the accepted record at index (malloc'd, the
 * caller frees it); msg_id and sender are what the snapshot says, to be
 * checked against the record. Returns 0 or an rk_err_t. */
typedef int (*relay_queue_fetch_fn)(void *arg, uint64_t index,
                                    const uint8_t msg_id[16],
                                    const char *sender, uint8_t **env,
                                    size_t *env_len);

/* Rebuilds an empty queue from relay_queue_save's bytes, fetching each
 * live message's envelope. Returns 0, RK_ERR_MALFORMED (b is not what
 * relay_queue_save wrote), RK_ERR_NOMEM or what fetch returned. */
int relay_queue_restore(relay_queue_t *self, rk_rbuf_t *b,
                        relay_queue_fetch_fn fetch, void *arg) RK_WUR;

#endif
