/* Unit tests for proto/note (being written). */
#include <stdio.h>
int
main(void)
{
    fprintf(stderr, "test_note: not written yet\n");
    return 1;
}
