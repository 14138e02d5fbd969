//! The `replisim` binary: everything, the command line included, lives in
//! the library ([`replisim::cli`]), so tests reach it as they reach the rest.

fn main() -> std::process::ExitCode {
    replisim::cli::main()
}
