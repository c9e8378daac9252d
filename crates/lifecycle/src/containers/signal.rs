//! Signalling a container's supervisor: only the process its state names,
//! and only while it is that supervisor (see [`Container::supervisor`]).

use std::time::{Duration, Instant};

use super::{Container, ContainerError, Supervisor};

impl Container {
    /// Sends `number` to `supervisor`, this container's.
    pub fn send(&self, supervisor: &Supervisor, number: i32) -> Result<(), ContainerError> {
        supervisor
            .signal(number)
            .map_err(|source| ContainerError::Signal {
                container: self.label().to_owned(),
                pid: supervisor.pid(),
                source,
            })
    }

    /// Waits up to `limit` until no supervisor runs; whether none does.
    pub fn supervisor_ended_within(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.supervisor_alive() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Kills the supervisor, if one lives, with SIGKILL and waits (up to
    /// 30 s) until it is gone.
    pub fn kill_supervisor(&self) -> Result<(), ContainerError> {
        if let Some(supervisor) = self.supervisor()? {
            self.send(&supervisor, libc::SIGKILL)?;
        }
        self.supervisor_ended_within(Duration::from_secs(30));
        Ok(())
    }
}
