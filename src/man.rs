//! `arrears man`: the whole command tree as one manual page (roff).
//!
//! Part of the `arrears` binary (declared in main.rs), not of the library.
//! clap_mangen renders one page per command; a user reading `man arrears`
//! wants every subcommand in one place, so the top command's sections are
//! followed by a COMMANDS section holding each subcommand, at any depth, as
//! a subsection with its synopsis, description and options, and by the exit
//! codes. The options are rendered by clap_mangen itself (its section
//! headings dropped), so they read like any clap-generated page.

use std::io;

use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

/// The page of `root`, whose help is otherwise what `--help` prints; `exit`
/// lists each exit code with what it means.
pub fn render(mut root: clap::Command, exit: &[(u8, &str)]) -> io::Result<String> {
    // Building fills in what parsing would: the help and version flags, the
    // global options copied into the subcommands, the subcommands' full
    // names (`arrears fleet merge`).
    root.build();
    let man = Man::new(root.clone()).title(root.get_name().to_uppercase());
    // The preamble once, at the top; then each section without it.
    let mut page = Roff::new().render();
    page.push_str(&rendered(|w| man.render_title(w))?);
    page.push_str(&rendered(|w| man.render_name_section(w))?);
    page.push_str(&rendered(|w| man.render_synopsis_section(w))?);
    page.push_str(&rendered(|w| man.render_description_section(w))?);
    page.push_str(&rendered(|w| man.render_options_section(w))?);

    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    page.push_str(&without_preamble(commands.render()));
    for sub in subcommands(&root) {
        page.push_str(&subsection(sub)?);
    }

    let mut codes = Roff::new();
    codes.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in exit {
        codes.control("TP", []);
        codes.text([bold(code.to_string())]);
        codes.text([roman(*meaning)]);
    }
    page.push_str(&without_preamble(codes.render()));

    page.push_str(&rendered(|w| man.render_version_section(w))?);
    Ok(page)
}

/// `cmd`'s subcommands, each followed by its own, depth first; clap's
/// `help` subcommand is left out (`--help` is on every command).
fn subcommands(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = Vec::new();
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        all.push(sub);
        all.extend(subcommands(sub));
    }
    all
}

/// One subcommand as a subsection: its full name as the heading, then its
/// synopsis, description and options. The global options and `--help`,
/// described once at the top, are not repeated.
fn subsection(sub: &clap::Command) -> io::Result<String> {
    let name = sub.get_bin_name().unwrap_or(sub.get_name()).to_string();
    let sub = sub.clone().mut_args(|arg| {
        let repeated = arg.is_global_set() || arg.get_id() == "help";
        arg.hide(repeated)
    });
    let man = Man::new(sub);
    let mut heading = Roff::new();
    heading.control("SS", [name.as_str()]);
    let mut text = without_preamble(heading.render());
    text.push_str(&without_headings(rendered(|w| {
        man.render_synopsis_section(w)
    })?));
    text.push_str(".PP\n");
    text.push_str(&without_headings(rendered(|w| {
        man.render_description_section(w)
    })?));
    text.push_str(&without_headings(rendered(|w| {
        man.render_options_section(w)
    })?));
    Ok(text)
}

/// What one of clap_mangen's section renderers writes, without the
/// preamble it starts with.
fn rendered(render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut out = Vec::new();
    render(&mut out)?;
    String::from_utf8(out)
        .map(without_preamble)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A section without its `.SH` headings (clap_mangen starts each with one).
fn without_headings(section: String) -> String {
    section
        .lines()
        .filter(|line| !line.starts_with(".SH "))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Every rendering starts with the same few lines defining how an
/// apostrophe prints; the page needs them once, at its top.
fn without_preamble(text: String) -> String {
    let preamble = Roff::new().render();
    match text.strip_prefix(&preamble) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}
