/* stix: STIX 2.1 export and import of notices (being written). */
#include <stddef.h>
typedef int stix_unused_t;
