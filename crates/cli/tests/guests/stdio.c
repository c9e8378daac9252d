/* Copies stdin to stdout upper-cased, each line as it ends (so a caller
 * can tell it reads), reports the byte count on stderr, and exits with the
 * code given as argv[1] (default 0). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long count = 0;
    int c;
    while ((c = getchar()) != EOF) {
        putchar(toupper(c));
        if (c == '\n') fflush(stdout);
        count++;
    }
    fprintf(stderr, "read %ld bytes\n", count);
    return argc > 1 ? atoi(argv[1]) : 0;
}
