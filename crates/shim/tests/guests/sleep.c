/* Sleeps forever (in the host, through poll_oneoff), printing nothing:
 * a long-running container for the kill and delete tests. */
#include <unistd.h>

int main(void) {
    for (;;) sleep(3600);
}
