/* replay_main.c - a main() for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each file named on the command line. Used
 * by tests/integration/fuzz_regress.sh to replay the corpus (seeds and the
 * inputs that once crashed) in every CI run with the ordinary ASan build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        size_t cap = 4096, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
            len += n;
            if (len == cap) {
                uint8_t *bigger = realloc(buf, cap * 2);
                if (bigger == NULL) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = bigger;
                cap *= 2;
            }
        }
        fclose(f);
        if (buf == NULL)
            return 2;
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
