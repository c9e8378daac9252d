/* Crashes in a named function, two calls deep. */
#include <stdio.h>

__attribute__((noinline)) void crash_here(int depth) {
    if (depth > 0) __builtin_trap();
    puts("not reached");
}

__attribute__((noinline)) void call_crash(int depth) {
    crash_here(depth);
    puts("after");
}

int main(int argc, char **argv) {
    (void)argv;
    call_crash(argc);
    return 0;
}
