//! Test support for wharf (being written).
