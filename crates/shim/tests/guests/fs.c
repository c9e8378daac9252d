/* One file-system or network operation per run: `fs OP PATH [PATH2]`.
 * Prints "ok" and exits 0 when it succeeds, prints "denied: <reason>" and
 * exits 1 when it fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int result(int failed, const char *what) {
    if (failed) {
        printf("denied: %s: %s\n", what, strerror(errno));
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return result(1, path);
    char line[256];
    if (fgets(line, sizeof line, f)) printf("content: %s", line);
    fclose(f);
    return result(0, path);
}

static int write_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return result(1, path);
    int failed = write(fd, "written by guest\n", 17) != 17;
    close(fd);
    return result(failed, path);
}

static int append_file(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0) return result(1, path);
    int failed = write(fd, "appended\n", 9) != 9;
    close(fd);
    return result(failed, path);
}

static int truncate_file(const char *path) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        /* Also try through a read-only descriptor. */
        fd = open(path, O_RDONLY);
        if (fd < 0) return result(1, path);
    }
    int failed = ftruncate(fd, 0) != 0;
    close(fd);
    return result(failed, path);
}

static int list_dir(const char *path) {
    struct stat st;
    return result(stat(path, &st) != 0, path);
}

/* Scans the first descriptors for anything socket-like and tries to
 * accept on it: a guest without network finds none. */
static int socket_probe(void) {
    for (int fd = 0; fd < 64; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
            printf("found socket fd %d\n", fd);
            return result(0, "socket");
        }
    }
    errno = ENOTSOCK;
    return result(1, "no socket descriptor");
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *op = argv[1], *a = argc > 2 ? argv[2] : "", *b = argc > 3 ? argv[3] : "";
    if (!strcmp(op, "read")) return read_file(a);
    if (!strcmp(op, "write")) return write_file(a);
    if (!strcmp(op, "append")) return append_file(a);
    if (!strcmp(op, "truncate")) return truncate_file(a);
    if (!strcmp(op, "rename")) return result(rename(a, b) != 0, a);
    if (!strcmp(op, "unlink")) return result(unlink(a) != 0, a);
    if (!strcmp(op, "mkdir")) return result(mkdir(a, 0755) != 0, a);
    if (!strcmp(op, "rmdir")) return result(rmdir(a) != 0, a);
    if (!strcmp(op, "symlink")) return result(symlink(a, b) != 0, b);
    if (!strcmp(op, "stat")) return list_dir(a);
    if (!strcmp(op, "socket")) return socket_probe();
    return 2;
}
