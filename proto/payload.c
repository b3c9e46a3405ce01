/* payload: implementation (being written). */
#include "payload.h"
typedef int payload_unused_t;
