// A service: a line on stdout every second (numbered from 0), and every
// third one a line on stderr too; runs until stopped.
#include <stdio.h>
#include <unistd.h>

int main(void) {
    for (int i = 0;; i++) {
        printf("tick %d\n", i);
        fflush(stdout);
        if (i % 3 == 0) {
            fprintf(stderr, "err %d\n", i);
        }
        sleep(1);
    }
}
