//! Fuzz targets of the compiler (see docs/performance.md#fuzzing):
//! `raw_bytes` feeds the fuzzer's bytes to the compiler as one input file;
//! `structured` edits example clusters as the bytes direct.

mod check;
pub mod edge_strings;
pub mod structured;

pub use check::check;
