//! What a run asks of the kernel's layers, and what the kernel enforces.

use std::fmt;

/// Whether the kernel's layers wrap the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layers {
    /// no_new_privs, Landlock and seccomp (the default).
    #[default]
    On,
    /// None of them: the guest's thread keeps every right of its user
    /// (`--security-opt no-layers`).
    Off,
}

/// What the kernel enforces around a guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enforced {
    /// `PR_SET_NO_NEW_PRIVS` is set.
    pub no_new_privs: bool,
    /// The kernel's Landlock ABI (0: none).
    pub landlock_abi: u8,
    /// File access is limited to the preopens and the code cache.
    pub landlock_files: bool,
    /// TCP bind and connect are limited to the network policy's ports.
    pub landlock_tcp: bool,
    /// Signals and abstract unix sockets stay within the domain.
    pub landlock_scopes: bool,
    /// The seccomp allowlist is installed.
    pub seccomp: bool,
}

impl Enforced {
    /// Nothing: the layers were turned off.
    pub fn none() -> Self {
        Enforced::default()
    }

    /// What this kernel offers, asked without enforcing anything: Landlock's
    /// ABI (and what it can limit at that ABI) and seccomp filters.
    pub fn available() -> Self {
        // SAFETY: with a null attribute, size 0 and the VERSION flag, the
        // call only returns the ABI (or fails); it makes no ruleset.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32,
            )
        };
        let abi = u8::try_from(abi.max(0)).unwrap_or(u8::MAX);
        // SAFETY: PR_GET_SECCOMP only reads this thread's seccomp mode.
        let seccomp = unsafe { libc::prctl(libc::PR_GET_SECCOMP) } >= 0;
        Enforced {
            no_new_privs: true,
            landlock_abi: abi,
            landlock_files: abi >= 1,
            landlock_tcp: abi >= 4,
            landlock_scopes: abi >= 6,
            seccomp,
        }
    }
}

impl fmt::Display for Enforced {
    /// `no_new_privs landlock(abi 7: files tcp scopes) seccomp`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.no_new_privs {
            parts.push("no_new_privs".to_owned());
        }
        if self.landlock_abi > 0 {
            let what: Vec<&str> = [
                (self.landlock_files, "files"),
                (self.landlock_tcp, "tcp"),
                (self.landlock_scopes, "scopes"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            parts.push(format!(
                "landlock(abi {}: {})",
                self.landlock_abi,
                what.join(" ")
            ));
        }
        if self.seccomp {
            parts.push("seccomp".to_owned());
        }
        if parts.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&parts.join(" "))
    }
}
