//! The bridge, built as part of this crate so that the end-to-end tests can
//! start it as a real process (`CARGO_BIN_EXE_e2e-bridge`) and kill it.

fn main() -> std::process::ExitCode {
    mock_bridge::cli::main()
}
