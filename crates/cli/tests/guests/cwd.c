/* Reads `relative.txt` from the working directory. With a number N, it
 * says "ready" first and waits N ms before it reads (so a test can change
 * the host meanwhile). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        puts("ready");
        fflush(stdout);
        usleep((useconds_t)atoi(argv[1]) * 1000);
    }
    FILE *f = fopen("relative.txt", "r");
    if (!f) {
        perror("relative.txt");
        return 1;
    }
    char line[128];
    if (fgets(line, sizeof line, f)) printf("relative: %s", line);
    fclose(f);
    return 0;
}
