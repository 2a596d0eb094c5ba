//! Compile-fail tests: every mistake in an `mlp!` invocation is a spanned compile error.
//! Refresh the expected output with `TRYBUILD=overwrite cargo test --test compiletest`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
