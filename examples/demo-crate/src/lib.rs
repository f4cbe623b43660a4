//! A small crate with the lock bugs from LockLens's field reports.
//! Run `npx locklens check examples/demo-crate` from the repository root.

pub mod catalog;
pub mod midas;
pub mod cache;
pub mod heartbeat;
pub mod replication;
