//! The parts of the command line that are not a command: how it talks to a
//! terminal.

pub mod terminal;
