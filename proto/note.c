/* note: implementation (being written). */
#include "note.h"
typedef int note_unused_t;
