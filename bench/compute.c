/* A CPU-bound workload for the benchmark: a sieve of primes and an FNV
 * hash over a pseudo-random buffer, repeated. Prints a checksum so the
 * work cannot be optimized away. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 5000000

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    unsigned char *composite = malloc(N + 1);
    uint32_t *buf = malloc(N * sizeof(uint32_t));
    uint64_t sum = 0;
    uint32_t seed = 12345;
    for (int r = 0; r < rounds; r++) {
        memset(composite, 0, N + 1);
        int64_t primes = 0;
        for (int64_t i = 2; i <= N; i++) {
            if (composite[i]) continue;
            primes++;
            for (int64_t j = i * i; j <= N; j += i) composite[j] = 1;
        }
        for (int i = 0; i < N; i++) {
            seed = seed * 1664525u + 1013904223u;
            buf[i] = seed;
        }
        uint64_t h = 1469598103934665603ull;
        for (int i = 0; i < N; i++) {
            h ^= buf[i];
            h *= 1099511628211ull;
        }
        sum += h + primes;
    }
    printf("checksum %llu\n", (unsigned long long)sum);
    return 0;
}
