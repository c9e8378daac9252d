/* Runs a program as on a kernel without Landlock: a seccomp filter answers
 * landlock_create_ruleset, landlock_add_rule and landlock_restrict_self
 * with ENOSYS, as a kernel built without it does; everything else passes.
 *   no_landlock PROGRAM ARGS... */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#define FIRST_LANDLOCK 444 /* landlock_create_ruleset */
#define LAST_LANDLOCK 446  /* landlock_restrict_self */

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: no_landlock PROGRAM ARGS...\n");
        return 2;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, FIRST_LANDLOCK, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, LAST_LANDLOCK, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("seccomp");
        return 2;
    }
    execv(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
