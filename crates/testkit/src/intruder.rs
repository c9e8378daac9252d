//! An intruder: system calls made as a thread of another process, as code
//! that broke out of the Wasm sandbox and took that thread over would make
//! them. The kernel's walls (seccomp, Landlock, no_new_privs) judge each
//! call as the thread's own, so a test shows what they hold in the real,
//! shipped binaries — no test-only host function is ever linked into them.
//!
//! How (x86-64, as a debugger's `call` does): `PTRACE_SEIZE` and
//! `PTRACE_INTERRUPT` stop the thread; its registers are saved; arguments
//! that are strings are written below its stack's red zone; the
//! instruction pointer is set to a `syscall` instruction of the process's
//! vDSO with the call's number and arguments in the registers, and one
//! `PTRACE_SINGLESTEP` makes the call. The saved registers go back before
//! the thread is let go (a system call it was blocked in is restarted by
//! the kernel as after any signal). Needs `CAP_SYS_PTRACE` (root).

use std::fs::File;
use std::io::{self, BufRead as _};
use std::os::unix::fs::FileExt as _;

/// An argument of an injected call.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A number, as it is.
    Int(u64),
    /// A string, copied into the thread's memory with its NUL; the call
    /// gets its address.
    Str(&'a str),
}

/// The raw result of a system call: a value, or `-errno`.
pub type Raw = i64;

/// Makes system call `number` with `args` as thread `tid` (a thread ID as
/// the host sees it) and returns its raw result. An error when the thread
/// cannot be taken over (gone, or no right to trace it).
pub fn syscall(tid: u32, number: i64, args: &[Arg<'_>]) -> io::Result<Raw> {
    assert!(args.len() <= 6, "six arguments at most");
    let tid = tid as libc::pid_t;
    let _attached = Attached::seize(tid)?;
    let saved = registers(tid)?;
    let entry = syscall_instruction(tid)?;
    let memory = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/{tid}/mem"))?;
    // Below the red zone (128 bytes) and well clear of anything in use.
    let mut free = (saved.rsp - 4096) & !15;
    let mut values = [0u64; 6];
    for (value, arg) in values.iter_mut().zip(args) {
        *value = match arg {
            Arg::Int(n) => *n,
            Arg::Str(text) => {
                let mut bytes = text.as_bytes().to_vec();
                bytes.push(0);
                free -= (bytes.len() as u64 + 15) & !15;
                memory.write_all_at(&bytes, free)?;
                free
            }
        };
    }
    let mut call = saved;
    call.rip = entry;
    call.rax = number as u64;
    call.rdi = values[0];
    call.rsi = values[1];
    call.rdx = values[2];
    call.r10 = values[3];
    call.r8 = values[4];
    call.r9 = values[5];
    // Not a system call the kernel should restart on the way back.
    call.orig_rax = u64::MAX;
    call.rsp = free - 256;
    set_registers(tid, &call)?;
    ptrace(libc::PTRACE_SINGLESTEP, tid, 0, 0)?;
    wait_stopped(tid)?;
    let result = registers(tid)?.rax as i64;
    set_registers(tid, &saved)?;
    Ok(result)
}

/// `openat(AT_FDCWD, path, flags, 0600)` as thread `tid`.
pub fn open(tid: u32, path: &str, flags: i32) -> io::Result<Raw> {
    syscall(
        tid,
        libc::SYS_openat,
        &[
            Arg::Int(libc::AT_FDCWD as u64),
            Arg::Str(path),
            Arg::Int(flags as u64),
            Arg::Int(0o600),
        ],
    )
}

/// `close(fd)` as thread `tid`.
pub fn close(tid: u32, fd: Raw) -> io::Result<Raw> {
    syscall(tid, libc::SYS_close, &[Arg::Int(fd as u64)])
}

/// `socket(AF_INET, SOCK_DGRAM, 0)` as thread `tid`.
pub fn socket(tid: u32) -> io::Result<Raw> {
    let args = [
        Arg::Int(libc::AF_INET as u64),
        Arg::Int(libc::SOCK_DGRAM as u64),
        Arg::Int(0),
    ];
    syscall(tid, libc::SYS_socket, &args)
}

/// `execve(path, NULL, NULL)` as thread `tid`: give a path that does not
/// exist, so that a call the walls let through fails with `ENOENT` instead
/// of replacing the process.
pub fn execve(tid: u32, path: &str) -> io::Result<Raw> {
    syscall(
        tid,
        libc::SYS_execve,
        &[Arg::Str(path), Arg::Int(0), Arg::Int(0)],
    )
}

/// The thread IDs of process `pid`, and each thread's name.
pub fn threads(pid: u32) -> io::Result<Vec<(u32, String)>> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?;
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        threads.push((tid, name.trim_end().to_owned()));
    }
    Ok(threads)
}

/// The thread of process `pid` named `name`, once it exists (for up to
/// ten seconds).
pub fn thread_named(pid: u32, name: &str) -> Option<u32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(threads) = threads(pid)
            && let Some((tid, _)) = threads.iter().find(|(_, n)| n == name)
        {
            return Some(*tid);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// A thread being traced; let go when dropped.
struct Attached(libc::pid_t);

impl Attached {
    fn seize(tid: libc::pid_t) -> io::Result<Attached> {
        ptrace(libc::PTRACE_SEIZE, tid, 0, 0)?;
        let attached = Attached(tid);
        ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)?;
        wait_stopped(tid)?;
        Ok(attached)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = ptrace(libc::PTRACE_DETACH, self.0, 0, 0);
    }
}

fn ptrace(request: libc::c_uint, tid: libc::pid_t, addr: usize, data: usize) -> io::Result<()> {
    // SAFETY: the requests used here read or write only the tracee and the
    // register block `data` points to when it is one.
    let result = unsafe { libc::ptrace(request, tid, addr, data) };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn wait_stopped(tid: libc::pid_t) -> io::Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: waits for the traced thread; writes only `status`.
        let waited = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if waited < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if libc::WIFSTOPPED(status) {
            return Ok(());
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Err(io::Error::other(format!("thread {tid} ended")));
        }
    }
}

fn registers(tid: libc::pid_t) -> io::Result<libc::user_regs_struct> {
    // SAFETY: plain data, all zeroes is a valid value.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    ptrace(
        libc::PTRACE_GETREGS,
        tid,
        0,
        &mut regs as *mut libc::user_regs_struct as usize,
    )?;
    Ok(regs)
}

fn set_registers(tid: libc::pid_t, regs: &libc::user_regs_struct) -> io::Result<()> {
    ptrace(
        libc::PTRACE_SETREGS,
        tid,
        0,
        regs as *const libc::user_regs_struct as usize,
    )
}

/// The address of a `syscall` instruction (`0f 05`) in the process's vDSO.
fn syscall_instruction(tid: libc::pid_t) -> io::Result<u64> {
    let maps = File::open(format!("/proc/{tid}/maps"))?;
    let vdso = io::BufReader::new(maps)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.ends_with("[vdso]"))
        .ok_or_else(|| io::Error::other("the process has no vDSO"))?;
    let range = vdso.split_whitespace().next().unwrap_or_default();
    let (start, end) = range
        .split_once('-')
        .and_then(|(s, e)| {
            Some((
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
            ))
        })
        .ok_or_else(|| io::Error::other(format!("bad maps line {vdso}")))?;
    let mut bytes = vec![0; (end - start) as usize];
    File::open(format!("/proc/{tid}/mem"))?.read_exact_at(&mut bytes, start)?;
    let at = bytes
        .windows(2)
        .position(|pair| pair == [0x0f, 0x05])
        .ok_or_else(|| io::Error::other("no syscall instruction in the vDSO"))?;
    Ok(start + at as u64)
}
