//! kubeward-bench: the pieces of the side-by-side benchmark harness that `bench/run` drives.
//!
//! Every binary prints its figures as one JSON object per line on stdout; `bench-report`
//! turns the collected lines (plus criterion's estimates) into BENCHMARKS.md.

pub mod admission_time;
pub mod bare;
pub mod callgrind;
pub mod cli;
pub mod client;
pub mod criterion;
pub mod custom;
pub mod error;
pub mod etcd;
pub mod failover;
pub mod fanout;
pub mod load;
pub mod overhead;
pub mod procfs;
pub mod report;
pub mod stats;
pub mod tls;
pub mod webhook;
pub mod writes;

pub use error::BenchError;
