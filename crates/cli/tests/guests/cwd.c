/* Reads `relative.txt` from the working directory. */
#include <stdio.h>

int main(void) {
    FILE *f = fopen("relative.txt", "r");
    if (!f) {
        perror("relative.txt");
        return 1;
    }
    char line[128];
    if (fgets(line, sizeof line, f)) printf("relative: %s", line);
    fclose(f);
    return 0;
}
