/* replay_main: without libFuzzer, feeds every file of the corpus folders
 * named on the command line to LLVMFuzzerTestOneInput once, so the committed
 * corpus runs as an ordinary CTest case (as libzmq's fuzz tests do).
 * A crash or sanitizer report fails the test; an empty corpus fails too. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
s_run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int
main(int argc, char **argv) {
    size_t files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        struct dirent *de;
        if (!d) {
            fprintf(stderr, "fuzz replay: cannot open corpus %s\n", argv[i]);
            return 1;
        }
        while ((de = readdir(d))) {
            char path[4096];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            if (s_run_file(path) != 0) {
                fprintf(stderr, "fuzz replay: cannot read %s\n", path);
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "fuzz replay: no corpus files found\n");
        return 1;
    }
    printf("fuzz replay: %zu inputs ran without a crash\n", files);
    return 0;
}
