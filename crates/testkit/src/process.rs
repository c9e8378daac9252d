//! What a test reads of the host: a process's start time, and bytes that
//! do not compress.

/// When process `pid` started, in clock ticks after boot (field 22 of
/// `/proc/PID/stat`), read here rather than through wharf's own reader so
/// that a test of wharf's pid checks does not share their bugs.
pub fn process_start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let (_, rest) = stat.rsplit_once(')').expect("stat");
    rest.split_whitespace()
        .nth(19)
        .expect("field 22")
        .parse()
        .expect("a number")
}

/// Deterministic, incompressible-looking bytes (xorshift).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
