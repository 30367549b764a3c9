//! clerk-sync (under construction).
fn main() {}
