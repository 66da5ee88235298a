//! The `popbench` command: parse the command line, call the library, map errors to exit codes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`popbench scenarios | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            cli::printer::print_error(&err);
            ExitCode::from(2)
        }
    }
}
