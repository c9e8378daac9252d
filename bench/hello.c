/* The start-up benchmark's guest, built for wasm32-wasi and natively. */
#include <stdio.h>

int main(void) {
    puts("Hello, world!");
    return 0;
}
