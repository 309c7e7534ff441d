//! The mock-bridge binary; see `mock_bridge::cli`.

fn main() -> std::process::ExitCode {
    mock_bridge::cli::main()
}
