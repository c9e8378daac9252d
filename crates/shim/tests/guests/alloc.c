/* Allocates 1 MiB blocks, touching each, until malloc fails; prints how
 * many MiB it got. A cap turns into a NULL from malloc, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 8192

static char *volatile blocks[MAX_BLOCKS];

int main(void) {
    long mib = 0;
    unsigned sum = 0;
    while (mib < MAX_BLOCKS) {
        char *block = malloc(1 << 20);
        if (!block) break;
        memset(block, (int)mib, 1 << 20);
        blocks[mib++] = block;
    }
    for (long i = 0; i < mib; i++) sum += (unsigned char)blocks[i][i % (1 << 20)];
    printf("allocated %ld MiB (checksum %u)\n", mib, sum);
    return 0;
}
