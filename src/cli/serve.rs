//! `arrears serve`: the reference model behind the adapter protocol, on
//! standard input and output.

use std::path::Path;

use arrears::exit;

use super::{Done, Failure, load_catalog};

pub(crate) fn run(specs: Option<&Path>) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let mut model = arrears::protocol::ModelImplementation::new(&catalog);
    let stdin = std::io::stdin();
    match arrears::protocol::serve(&mut model, stdin.lock(), std::io::stdout().lock()) {
        Ok(()) => Ok(Done::new(exit::OK, "")),
        // The client hung up: the conversation is over.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Done::new(exit::OK, "")),
        Err(e) => Err(usage!(
            "failed to serve the adapter protocol: {}",
            arrears::files::plain_io(&e)
        )),
    }
}
