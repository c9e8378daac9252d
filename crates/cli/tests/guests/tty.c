/* Says whether its stdout and stderr are terminals, as a guest's libc
 * finds out (WASI's fdstat filetype). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("stdout terminal: %s\n", isatty(1) ? "yes" : "no");
    fprintf(stderr, "stderr terminal: %s\n", isatty(2) ? "yes" : "no");
    return 0;
}
