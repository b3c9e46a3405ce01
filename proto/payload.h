/* payload: the plaintext inside an envelope (notice, ack, comm check, drill
 * inject and reply) as plain C structs, and their encoding. No I/O. */
#ifndef PAYLOAD_H
#define PAYLOAD_H
#endif
