//! The syscalls a guest's threads may make: what Wasmtime, WASI's host
//! calls and the run's event loop need, found with `strace -f -c` on real
//! guests (`scripts/strace-guests`). Everything else fails with `EPERM`:
//! among it `execve`, `fork`, `ptrace`, `process_vm_*`, `bpf`, `mount`,
//! `unshare`, `setns`, `keyctl` and `perf_event_open`.

/// One group of syscalls and why a run needs it.
pub(super) struct Group {
    pub(super) why: &'static str,
    pub(super) calls: &'static [libc::c_long],
}

use libc::*;

/// Needed by every run.
pub(super) const ALWAYS: &[Group] = &[
    Group {
        why: "memory: Wasmtime's linear memories (memfd images), code and stacks; the allocator",
        calls: &[
            SYS_memfd_create,
            SYS_mmap,
            SYS_munmap,
            SYS_mprotect,
            SYS_madvise,
            SYS_mremap,
            SYS_brk,
        ],
    },
    Group {
        why: "threads: the blocking pool and a service's workers (clone only with CLONE_THREAD, below)",
        calls: &[
            SYS_futex,
            SYS_set_robust_list,
            SYS_rseq,
            SYS_sched_yield,
            SYS_sched_getaffinity,
            SYS_gettid,
            SYS_getpid,
            SYS_exit,
            SYS_exit_group,
            SYS_membarrier,
        ],
    },
    Group {
        why: "signals: Wasmtime's trap handlers and its per-thread signal stack",
        calls: &[
            SYS_rt_sigaction,
            SYS_rt_sigprocmask,
            SYS_rt_sigreturn,
            SYS_sigaltstack,
            SYS_tgkill,
            SYS_restart_syscall,
        ],
    },
    Group {
        why: "the event loop: epoll, its wakers and timers",
        calls: &[
            SYS_epoll_create1,
            SYS_epoll_ctl,
            SYS_epoll_pwait,
            SYS_epoll_pwait2,
            SYS_eventfd2,
            SYS_ppoll,
            SYS_pipe2,
        ],
    },
    Group {
        why: "time and randomness: WASI's clocks and random",
        calls: &[
            SYS_clock_gettime,
            SYS_clock_getres,
            SYS_clock_nanosleep,
            SYS_nanosleep,
            SYS_getrandom,
            SYS_gettimeofday,
        ],
    },
    Group {
        why: "stdio and open descriptors",
        calls: &[
            SYS_read,
            SYS_write,
            SYS_readv,
            SYS_writev,
            SYS_pread64,
            SYS_pwrite64,
            SYS_preadv,
            SYS_pwritev,
            SYS_preadv2,
            SYS_pwritev2,
            SYS_lseek,
            SYS_close,
            SYS_fcntl,
            SYS_dup,
            SYS_dup3,
            SYS_fstat,
            SYS_statx,
            SYS_newfstatat,
            SYS_sendfile,
            SYS_copy_file_range,
            SYS_splice,
        ],
    },
    Group {
        why: "files beneath the preopens (Landlock confines where)",
        calls: &[
            SYS_openat,
            SYS_openat2,
            SYS_getdents64,
            SYS_mkdirat,
            SYS_unlinkat,
            SYS_renameat,
            SYS_renameat2,
            SYS_linkat,
            SYS_symlinkat,
            SYS_readlinkat,
            SYS_utimensat,
            SYS_fsync,
            SYS_fdatasync,
            SYS_ftruncate,
            SYS_fallocate,
            SYS_fadvise64,
            SYS_fchmod,
            SYS_fchmodat,
            SYS_faccessat,
            SYS_faccessat2,
            SYS_fstatfs,
            SYS_flock,
            SYS_getcwd,
        ],
    },
    Group {
        why: "process facts Rust's runtime and glibc read",
        calls: &[
            SYS_uname,
            SYS_prctl,
            SYS_getrlimit,
            SYS_prlimit64,
            SYS_getrusage,
            SYS_sysinfo,
            SYS_getuid,
            SYS_geteuid,
            SYS_getgid,
            SYS_getegid,
        ],
    },
];

/// x86-64's older spellings, which glibc and Rust's std still call there.
#[cfg(target_arch = "x86_64")]
pub(super) const LEGACY: Group = Group {
    why: "x86-64 spellings of the calls above",
    calls: &[
        SYS_poll,
        SYS_epoll_wait,
        SYS_stat,
        SYS_lstat,
        SYS_open,
        SYS_access,
        SYS_readlink,
        SYS_arch_prctl,
        SYS_time,
        SYS_pipe,
        SYS_dup2,
    ],
};

/// Needed only when the network policy allows something: sockets of the
/// Internet families (seccomp checks the family) and their calls.
pub(super) const NETWORK: Group = Group {
    why: "sockets the network policy governs",
    calls: &[
        SYS_connect,
        SYS_bind,
        SYS_listen,
        SYS_accept4,
        SYS_getsockname,
        SYS_getpeername,
        SYS_setsockopt,
        SYS_getsockopt,
        SYS_sendto,
        SYS_recvfrom,
        SYS_sendmsg,
        SYS_recvmsg,
        SYS_sendmmsg,
        SYS_recvmmsg,
        SYS_shutdown,
    ],
};

/// Allowed whatever the policy: a listener the host made before the wall
/// (a served component's) accepts on it.
pub(super) const ACCEPT: &[libc::c_long] = &[
    SYS_accept4,
    SYS_accept,
    SYS_getsockname,
    SYS_getpeername,
    SYS_setsockopt,
    SYS_getsockopt,
    SYS_shutdown,
    SYS_recvfrom,
    SYS_sendto,
];
