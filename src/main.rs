fn main() {
    for c in multigres::api::crd::all() {
        println!("---\n{}", serde_saphyr::to_string(&c).unwrap());
    }
}
