//! The container IDs whose Create is under way: a second Create of one
//! of them fails at once, before it mounts anything.

use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Creating {
    ids: Mutex<HashSet<String>>,
}

/// An ID held for one Create, until dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    creating: &'a Creating,
    id: String,
}

impl Creating {
    /// Holds `id` for a Create; `None` when `exists` or another Create
    /// holds it. The caller decides `exists` under the lock that guards
    /// its containers and keeps that lock while it calls this, so a
    /// container is never both missing there and unreserved here.
    pub fn reserve(&self, id: &str, exists: bool) -> Option<Reservation<'_>> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if exists || !ids.insert(id.to_owned()) {
            return None;
        }
        Some(Reservation {
            creating: self,
            id: id.to_owned(),
        })
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut ids = self.creating.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_create_at_a_time_per_id() {
        let creating = Creating::default();
        let first = creating.reserve("a", false).expect("free");
        assert!(creating.reserve("a", false).is_none(), "being created");
        assert!(creating.reserve("b", false).is_some(), "another id");
        assert!(creating.reserve("c", true).is_none(), "exists");
        drop(first);
        assert!(creating.reserve("a", false).is_some(), "free again");
    }
}
