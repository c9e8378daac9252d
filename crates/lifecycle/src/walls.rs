//! The node's settings for the kernel's walls around guests, read the same
//! way by every face.

/// The environment variable that makes a kernel without Landlock refuse to
/// run guests, rather than run them behind seccomp alone.
pub const REQUIRE_LANDLOCK: &str = "WHARF_REQUIRE_LANDLOCK";

/// Whether [`REQUIRE_LANDLOCK`] is set (to anything but ``, `0`, `false`
/// or `no`).
pub fn require_landlock() -> bool {
    is_set(std::env::var(REQUIRE_LANDLOCK).ok().as_deref())
}

fn is_set(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_any_value_but_empty_0_false_or_no() {
        for (value, set) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("no"), false),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(is_set(value), set, "{value:?}");
        }
    }
}
