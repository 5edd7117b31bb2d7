//! `arrears completions` and `arrears man`: the shell completion scripts
//! and the manual page, generated from the command line's own definition.

use arrears::exit;

use super::{Done, Failure};

#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

pub(crate) fn completions(args: CompletionsArgs) -> Result<Done, Failure> {
    let shell = args.shell;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::cli_command(), "arrears", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| usage!("failed to write the {shell} completions: {e}"))?;
    Ok(Done::new(exit::OK, script))
}

pub(crate) fn manual_page() -> Result<Done, Failure> {
    let page = crate::man::render(crate::cli_command(), &crate::EXIT_CODES)
        .map_err(|e| usage!("failed to write the manual page: {e}"))?;
    Ok(Done::new(exit::OK, page))
}
