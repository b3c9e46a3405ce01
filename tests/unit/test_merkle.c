/* Unit tests for proto/merkle (being written). */
#include <stdio.h>
int
main(void)
{
    fprintf(stderr, "test_merkle: not written yet\n");
    return 1;
}
