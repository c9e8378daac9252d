/* The density benchmark's idle guest: blocks without using CPU. wasi-libc's
 * sleep() is one poll_oneoff on a relative clock, which blocks the thread
 * that runs the guest. */
#include <unistd.h>

int main(void) {
    for (;;)
        sleep(100000);
}
