/* checkpoint: the c2sp.org/tlog-checkpoint body (origin, tree size, root
 * hash, optional extension lines) to format and parse. Signing and
 * verifying the note around it is note.h's job. No I/O. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H
#endif
