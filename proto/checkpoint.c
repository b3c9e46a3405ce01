/* checkpoint: implementation (being written). */
#include "checkpoint.h"
typedef int checkpoint_unused_t;
