// Chatty: writes N numbered lines of 60 bytes to stdout (argv[1], default
// 20000), then exits 0.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int lines = argc > 1 ? atoi(argv[1]) : 20000;
    for (int i = 0; i < lines; i++) {
        printf("line %08d .............................................\n", i);
    }
    return 0;
}
