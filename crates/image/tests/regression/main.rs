//! One test per attack on the image store that once worked, named after
//! the attack it stops: crafted layers and registries that lie.

mod credentials;
mod registry;
mod unpack;
