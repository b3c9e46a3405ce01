/* Unit tests for proto/payload (being written). */
#include <stdio.h>
int
main(void)
{
    fprintf(stderr, "test_payload: not written yet\n");
    return 1;
}
