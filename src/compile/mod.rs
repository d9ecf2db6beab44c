//! The pure compiler: inputs in, objects or diagnostics out.

pub mod diagnostics;
pub mod load;
pub mod path;
pub mod schema;
pub mod yaml;
