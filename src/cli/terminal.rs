//! The terminal side of a run: colour, the progress bar and `--verbose`'s
//! log lines.
//!
//! Standard output carries the report and nothing else, so that it can be
//! piped and compared; everything that only tells a person how the run is
//! going goes to standard error. The progress bar is drawn only when
//! standard error is a terminal and `--quiet` was not given; `--verbose`
//! writes its lines wherever standard error goes. Colour follows
//! `--color` and, under `auto`, the conventions anstream implements:
//! `NO_COLOR` turns it off, `CLICOLOR_FORCE` on, and otherwise only a
//! terminal gets it. Styled text is written through anstream, which strips
//! the styles where colour is off.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use arrears::progress::{SharedWatcher, Watcher};

/// When to colour the output (`--color`).
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (or always with CLICOLOR_FORCE).
    #[default]
    Auto,
    Always,
    Never,
}

/// What the command line was told about its terminal.
#[derive(Clone, Copy, Debug)]
pub struct Terminal {
    quiet: bool,
    verbose: bool,
}

impl Terminal {
    /// Settles colour for the whole process (anstream's global choice) and
    /// remembers `--quiet` and `--verbose`.
    pub fn new(color: ColorWhen, quiet: bool, verbose: bool) -> Terminal {
        anstream::ColorChoice::write_global(match color {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        });
        Terminal { quiet, verbose }
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether a progress bar is drawn.
    pub fn shows_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// A progress display for one run: a bar, log lines, both or neither.
    pub fn progress(&self) -> Progress {
        let visible = self.shows_progress();
        // Hidden until a phase has styled it, so that no default bar flashes.
        let bar = indicatif::ProgressBar::hidden();
        Progress(Arc::new(Bar {
            bar,
            visible,
            verbose: self.verbose,
        }))
    }
}

/// A run's progress display; clear it with [`Progress::finish`] before
/// writing anything else to standard error.
pub struct Progress(Arc<Bar>);

impl Progress {
    /// The watcher to hand the run; `None` when nothing would be shown, so
    /// the run does not even count.
    pub fn watcher(&self) -> Option<SharedWatcher> {
        (self.0.visible || self.0.verbose).then(|| self.0.clone() as SharedWatcher)
    }

    /// A bar for a count the caller updates itself (the fleet's accounts).
    pub fn counted(&self, name: &str, total: u64, what: &str) -> &indicatif::ProgressBar {
        self.0.phase(name, total, what);
        &self.0.bar
    }

    /// Takes the bar off the screen.
    pub fn finish(&self) {
        self.0.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

struct Bar {
    bar: indicatif::ProgressBar,
    visible: bool,
    verbose: bool,
}

impl Bar {
    fn log(&self, line: &str) {
        let write = || {
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "{line}");
        };
        if self.visible {
            self.bar.suspend(write);
        } else {
            write();
        }
    }
}

impl Watcher for Bar {
    fn phase(&self, name: &str, total: u64, what: &str) {
        if self.visible {
            let template = if total > 0 {
                "{spinner:.cyan} {msg} [{bar:30.cyan/blue}] {human_pos}/{human_len} {prefix}, {rate}, ETA {eta}"
            } else {
                "{spinner:.cyan} {msg} {human_pos} {prefix}, {elapsed}"
            };
            let style = indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
                .progress_chars("=> ");
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
            self.bar.set_style(style);
            self.bar.set_prefix(what.to_string());
            self.bar.set_message(name.to_string());
            self.bar.set_length(total);
            self.bar.reset();
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
        if self.verbose && !name.is_empty() {
            self.log(&if total > 0 {
                format!("arrears: {name} ({total} {what})")
            } else {
                format!("arrears: {name}")
            });
        }
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn event(&self, text: &dyn Fn() -> String) {
        if self.verbose {
            self.log(&format!("arrears: {}", text()));
        }
    }
}
