//! The syscalls a guest's threads may make: what Wasmtime, WASI's host
//! calls and the run's event loop need, checked by running real guests
//! under `strace -f -Z` with the layers on (no call they make may fail with
//! `EPERM`). Everything else fails with `EPERM`: among it `execve`, `fork`,
//! `ptrace`, `process_vm_*`, `bpf`, `mount`, `unshare`, `setns`, `keyctl`,
//! `perf_event_open`, and the chmod and chown families (WASI changes no
//! file's mode or owner). One group per line of reason; calls allowed only
//! with some arguments (`clone`, `tgkill`, `prlimit64`, `socket`, `ioctl`)
//! are in `seccomp.rs`.

use libc::*;

/// Memory: Wasmtime's linear memories (memfd images), code and stacks; the allocator.
const MEMORY: &[c_long] = &[
    SYS_memfd_create,
    SYS_mmap,
    SYS_munmap,
    SYS_mprotect,
    SYS_madvise,
    SYS_mremap,
    SYS_brk,
];

/// Threads: the blocking pool and a service's workers (clone only with CLONE_THREAD, below).
const THREADS: &[c_long] = &[
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
];

/// Signals: Wasmtime's trap handlers and its per-thread signal stack.
const SIGNALS: &[c_long] = &[
    SYS_rt_sigaction,
    SYS_rt_sigprocmask,
    SYS_rt_sigreturn,
    SYS_sigaltstack,
    SYS_restart_syscall,
];

/// The event loop: epoll, its wakers and timers.
const EVENT_LOOP: &[c_long] = &[
    SYS_epoll_create1,
    SYS_epoll_ctl,
    SYS_epoll_pwait,
    SYS_epoll_pwait2,
    SYS_eventfd2,
    SYS_ppoll,
    SYS_pipe2,
];

/// Time and randomness: WASI's clocks and random.
const TIME: &[c_long] = &[
    SYS_clock_gettime,
    SYS_clock_getres,
    SYS_clock_nanosleep,
    SYS_nanosleep,
    SYS_getrandom,
    SYS_gettimeofday,
];

/// Stdio and open descriptors.
const DESCRIPTORS: &[c_long] = &[
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
];

/// Files beneath the preopens (Landlock confines where).
const FILES: &[c_long] = &[
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
    SYS_faccessat,
    SYS_faccessat2,
    SYS_fstatfs,
    SYS_flock,
    SYS_getcwd,
];

/// Process facts Rust's runtime and glibc read.
const PROCESS: &[c_long] = &[
    SYS_uname,
    SYS_prctl,
    SYS_getrlimit,
    SYS_getrusage,
    SYS_sysinfo,
    SYS_getuid,
    SYS_geteuid,
    SYS_getgid,
    SYS_getegid,
];

#[cfg(target_arch = "x86_64")]
/// x86-64's older spellings of the calls above, which glibc and Rust's std still call there.
const LEGACY: &[c_long] = &[
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
    SYS_rename,
    SYS_unlink,
    SYS_mkdir,
    SYS_rmdir,
];

/// Every run: the groups above.
pub(super) const ALWAYS: &[&[c_long]] = &[
    MEMORY,
    THREADS,
    SIGNALS,
    EVENT_LOOP,
    TIME,
    DESCRIPTORS,
    FILES,
    PROCESS,
    #[cfg(target_arch = "x86_64")]
    LEGACY,
];

/// Only when the network policy allows something: sockets the policy governs (`socket` itself is allowed below for the Internet families only).
pub(super) const NETWORK: &[c_long] = &[
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
];

/// Whatever the policy: a listener the host made before the wall (a served component's) accepts and answers on it.
pub(super) const ACCEPT: &[c_long] = &[
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
