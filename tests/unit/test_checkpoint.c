/* Unit tests for proto/checkpoint (being written). */
#include <stdio.h>
int
main(void)
{
    fprintf(stderr, "test_checkpoint: not written yet\n");
    return 1;
}
