/* A main() for fuzz_repl.c without libFuzzer: runs each file (or each file in each directory)
 * given on the command line through LLVMFuzzerTestOneInput, so the regression corpus is replayed
 * in the normal test run. A crash or sanitizer report fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tj-repl-replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            if (!bigger) {
                free(data);
                data = NULL;
            }
            data = bigger;
        }
    }
    fclose(f);
    if (!data) {
        fprintf(stderr, "tj-repl-replay: out of memory reading %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    printf("ran %s (%zu bytes)\n", path, n);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "tj-repl-replay: cannot open %s\n", dir);
        return 1;
    }
    char **paths = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **more = realloc(paths, (n + 1) * sizeof *paths);
        if (!more)
            break;
        paths = more;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(paths[n] = malloc(len)))
            break;
        snprintf(paths[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(paths, n, sizeof *paths, compare_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc |= run_file(paths[i]);
        free(paths[i]);
    }
    free(paths);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= run_dir(argv[i]);
        else
            rc |= run_file(argv[i]);
        files++;
    }
    if (!files) {
        fprintf(stderr, "usage: tj-repl-replay FILE_OR_DIR...\n");
        return 2;
    }
    return rc;
}
