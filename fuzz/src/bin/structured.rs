//! Example clusters with edits (src/structured.rs), compiled with the
//! runtime preview so that pool Pods and PVCs are built too.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(stream) = multigres_fuzz::structured::build(data) {
            multigres_fuzz::check(stream.as_bytes(), true);
        }
    });
}
