//! Any bytes, as one input file.
fn main() {
    afl::fuzz!(|data: &[u8]| multigres_fuzz::check(data, false));
}
