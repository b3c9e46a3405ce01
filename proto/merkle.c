/* merkle: implementation (being written). */
#include "merkle.h"
typedef int merkle_unused_t;
