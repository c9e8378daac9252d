/* A Wasm container's program for the runtime tests, one job per run:
 *   hello ARGS...   prints "hello from wasm", each argument and $GREETING
 *   exit N          exits with code N
 *   write PATH      writes "written" to PATH ("ok", or "denied: ..." and 1)
 *   read PATH       prints PATH's first line ("denied: ..." and 1)
 *   alloc           allocates and touches 1 MiB blocks until malloc fails,
 *                   prints "allocated N MiB"
 *   spin            computes forever without calling the host
 *   tty             prints "tty 1" when stdout is a terminal, else "tty 0"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int denied(const char *what) {
    printf("denied: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    const char *job = argc > 1 ? argv[1] : "hello";
    if (!strcmp(job, "hello")) {
        printf("hello from wasm\n");
        for (int i = 0; i < argc; i++) printf("arg %d=%s\n", i, argv[i]);
        const char *greeting = getenv("GREETING");
        printf("GREETING=%s\n", greeting ? greeting : "(unset)");
        return 0;
    }
    if (!strcmp(job, "exit") && argc > 2) return atoi(argv[2]);
    if (!strcmp(job, "write") && argc > 2) {
        FILE *f = fopen(argv[2], "w");
        if (!f) return denied(argv[2]);
        fputs("written\n", f);
        if (fclose(f)) return denied(argv[2]);
        printf("ok\n");
        return 0;
    }
    if (!strcmp(job, "read") && argc > 2) {
        FILE *f = fopen(argv[2], "r");
        if (!f) return denied(argv[2]);
        char line[256];
        if (fgets(line, sizeof line, f)) printf("content: %s", line);
        fclose(f);
        return 0;
    }
    if (!strcmp(job, "alloc")) {
        /* Kept where the compiler must assume they are read, so that
         * neither malloc nor memset is optimized away. */
        static char *volatile blocks[4096];
        long mib = 0;
        while (mib < 4096) {
            char *block = malloc(1 << 20);
            if (!block) break;
            memset(block, 1, 1 << 20);
            blocks[mib++] = block;
        }
        printf("allocated %ld MiB\n", mib);
        return 0;
    }
    if (!strcmp(job, "spin")) {
        printf("spinning\n");
        fflush(stdout);
        volatile unsigned long n = 0;
        for (;;) n++;
    }
    if (!strcmp(job, "tty")) {
        printf("tty %d\n", isatty(1));
        return 0;
    }
    fprintf(stderr, "unknown job %s\n", job);
    return 2;
}
