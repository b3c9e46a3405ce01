/* nosync: an LD_PRELOAD shim for one diagnostic run of the bench (row 4h
 * of bench/BENCHMARKS.md), never for use: fsync, fdatasync and syncfs
 * return at once without syncing. Preloaded into the relay for one more
 * node run, it takes the relay's syncs off the disk the node syncs too,
 * as a relay on a machine of its own would be; the relay then guarantees
 * nothing, so that run is never a figure. */
#define _GNU_SOURCE
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);
int syncfs(int fd);

int
fsync(int fd) {
    (void)fd;
    return 0;
}

int
fdatasync(int fd) {
    (void)fd;
    return 0;
}

int
syncfs(int fd) {
    (void)fd;
    return 0;
}
