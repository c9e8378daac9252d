/* A guest whose Wasm sandbox is broken on purpose: the test-only host
 * functions of `wharf:test-escape` (feature `test-escape`) act on the host
 * for it. What it reaches shows what the kernel's layers hold.
 *   escape read PATH | write PATH | socket | exec
 * Exit 0 and "escaped" when the host did it, 3 and "denied: errno N" when
 * the kernel refused. */
#include <stdio.h>
#include <string.h>

#define ESCAPE(name) __attribute__((import_module("wharf:test-escape"), import_name(name)))
ESCAPE("open") int escape_open(const char *path, size_t len, int write);
ESCAPE("socket") int escape_socket(void);
ESCAPE("exec") int escape_exec(void);

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: escape read PATH | write PATH | socket | exec\n");
        return 2;
    }
    int err;
    if (!strcmp(argv[1], "read") && argc == 3)
        err = escape_open(argv[2], strlen(argv[2]), 0);
    else if (!strcmp(argv[1], "write") && argc == 3)
        err = escape_open(argv[2], strlen(argv[2]), 1);
    else if (!strcmp(argv[1], "socket"))
        err = escape_socket();
    else if (!strcmp(argv[1], "exec"))
        err = escape_exec();
    else {
        fprintf(stderr, "unknown attempt %s\n", argv[1]);
        return 2;
    }
    if (err == 0) {
        printf("escaped\n");
        return 0;
    }
    printf("denied: errno %d\n", err);
    return 3;
}
