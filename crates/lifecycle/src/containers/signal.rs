//! Signalling a container's supervisor: only the process its state names,
//! and only while it is that supervisor (see [`Container::supervisor`]).

use std::time::{Duration, Instant};

use super::{Container, ContainerError, Supervisor};

/// How long a SIGKILLed supervisor is waited for.
const KILL_WAIT: Duration = Duration::from_secs(30);

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

    /// Kills `supervisor`, this container's, with SIGKILL and waits until
    /// it is gone; [`ContainerError::Unkillable`] past 30 s.
    pub fn kill(&self, supervisor: &Supervisor) -> Result<(), ContainerError> {
        self.send(supervisor, libc::SIGKILL)?;
        if self.supervisor_ended_within(KILL_WAIT) {
            Ok(())
        } else {
            Err(ContainerError::Unkillable {
                container: self.label().to_owned(),
                pid: supervisor.pid(),
            })
        }
    }

    /// Kills the supervisor, if one lives (see [`Container::kill`]).
    pub fn kill_supervisor(&self) -> Result<(), ContainerError> {
        match self.supervisor()? {
            Some(supervisor) => self.kill(&supervisor),
            None => Ok(()),
        }
    }
}
