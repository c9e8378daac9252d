/* A fixed amount of CPU work (about a second on one core), then exit 0:
 * what a CPU quota stretches. */
#include <stdio.h>

int main(void) {
    volatile unsigned long sum = 0;
    for (unsigned long i = 0; i < 3000000000UL; i++)
        sum += i;
    printf("%lu\n", sum);
    return 0;
}
