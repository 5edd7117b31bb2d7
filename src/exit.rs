//! The process exit codes, the same for every command.
//!
//! A CI job branches on them, so each means exactly one thing; anything
//! else (101, a panic) is a bug in arrears itself.

/// Success: the system conforms, the specs are valid, the command did
/// what it was asked.
pub const OK: u8 = 0;
/// A conformance failure: an invariant was violated, the system diverged
/// from the model, refused a valid history, or a worked example failed.
pub const FAILURE: u8 = 1;
/// Bad usage or bad input: arguments, specs, a history, an example, a
/// replay, regressions or mix file, or an output that cannot be written.
pub const USAGE: u8 = 2;
/// The implementation under test broke the adapter protocol: it crashed,
/// hung past the timeout, wrote something that is not a reply, answered
/// out of order, or spoke another version.
pub const PROTOCOL: u8 = 3;
/// Nothing was verified: no history was run to the end against the system
/// (everything skipped as unsupported, or no case asked for), or no
/// invariant was exercised. A run that checked nothing does not pass.
pub const NOTHING_VERIFIED: u8 = 4;
/// The coverage gate failed: an enforced rule or a transition the readings
/// in force allow was never exercised, or an invariant was exercised in
/// fewer cases than `--min-exercised`. The run checked too little to vouch
/// for the system.
pub const COVERAGE: u8 = 5;
