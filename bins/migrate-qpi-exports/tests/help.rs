//! The binary starts and documents itself (its scenarios run in migrate-buckets' CLI tests,
//! which this test's build makes sure find the binary built).

#[test]
fn help_names_the_tool_and_its_exit_codes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_migrate-qpi-exports"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("migrate-qpi-exports") && text.contains("Exit codes"), "{text}");
}
