//! Test only (feature `test-escape`, which release builds never have):
//! host functions under `wharf:test-escape` that do on a guest's behalf
//! what the Wasm sandbox never would, on the guest's own thread. With them
//! tests show what the kernel's layers still stop. Each returns 0 on
//! success, else the errno.

use std::io;

use wasmtime::{Caller, Extern, Linker};

use crate::run::CoreState;

/// Adds `open(path, len, write)`, `socket()` and `exec()`.
pub(crate) fn add_to_linker(linker: &mut Linker<CoreState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "wharf:test-escape",
        "open",
        |mut caller: Caller<'_, CoreState>, path: u32, len: u32, write: u32| -> i32 {
            let Some(path) = guest_string(&mut caller, path, len) else {
                return libc::EFAULT;
            };
            let opened = if write != 0 {
                std::fs::write(&path, b"escaped\n")
            } else {
                std::fs::read(&path).map(drop)
            };
            errno(opened)
        },
    )?;
    linker.func_wrap("wharf:test-escape", "socket", || -> i32 {
        errno(std::net::UdpSocket::bind("127.0.0.1:0").map(drop))
    })?;
    linker.func_wrap("wharf:test-escape", "exec", || -> i32 {
        errno(std::process::Command::new("/bin/true").status().map(drop))
    })?;
    Ok(())
}

fn guest_string(caller: &mut Caller<'_, CoreState>, at: u32, len: u32) -> Option<String> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return None;
    };
    let bytes = memory
        .data(&caller)
        .get(at as usize..)?
        .get(..len as usize)?;
    String::from_utf8(bytes.to_vec()).ok()
}

fn errno(result: io::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(error) => error.raw_os_error().unwrap_or(libc::EIO),
    }
}
