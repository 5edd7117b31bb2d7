//! How a long run tells whoever watches it how far it has got.
//!
//! The engines (verify's cases and shrinking, the worked examples, a
//! replay) call a [`Watcher`] as they go; the command line turns those calls
//! into a progress bar on a terminal and, with `--verbose`, into log lines.
//! A library user who wants nothing passes no watcher.
//!
//! Architecture invariant: watching never changes a verdict. A watcher is
//! told what happened after it happened and cannot answer back, and the
//! calls come from any of the run's threads in any order, so nothing the
//! report holds may depend on them.

use std::sync::Arc;

/// Receives a run's progress. Called from the run's worker threads.
pub trait Watcher: Send + Sync {
    /// A phase of the run begins, of `total` steps (0 when its length is
    /// not known in advance). `what` names a step in the plural ("cases").
    fn phase(&self, name: &str, total: u64, what: &str);
    /// `n` more steps of the current phase are done.
    fn advance(&self, n: u64);
    /// Something happened that a verbose log shows as one line. The text is
    /// built only if the watcher wants it.
    fn event(&self, text: &dyn Fn() -> String);
}

/// A watcher shared with the run's threads.
pub type SharedWatcher = Arc<dyn Watcher>;

/// Calls an optional watcher; a missing one is silence.
#[derive(Clone, Default)]
pub struct Watch(Option<SharedWatcher>);

impl Watch {
    pub fn new(watcher: Option<SharedWatcher>) -> Watch {
        Watch(watcher)
    }

    pub fn phase(&self, name: &str, total: u64, what: &str) {
        if let Some(w) = &self.0 {
            w.phase(name, total, what);
        }
    }

    pub fn advance(&self, n: u64) {
        if let Some(w) = &self.0 {
            w.advance(n);
        }
    }

    pub fn event(&self, text: impl Fn() -> String) {
        if let Some(w) = &self.0 {
            w.event(&text);
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Watch(watched)"
        } else {
            "Watch(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Watcher for Log {
        fn phase(&self, name: &str, total: u64, what: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{name} {total} {what}"));
        }
        fn advance(&self, n: u64) {
            self.0.lock().unwrap().push(format!("+{n}"));
        }
        fn event(&self, text: &dyn Fn() -> String) {
            self.0.lock().unwrap().push(text());
        }
    }

    #[test]
    fn a_watch_forwards_to_its_watcher_and_a_missing_one_is_silent() {
        let log = Arc::new(Log::default());
        let watch = Watch::new(Some(log.clone()));
        watch.phase("cases", 3, "cases");
        watch.advance(2);
        watch.event(|| "found".to_string());
        assert_eq!(*log.0.lock().unwrap(), ["cases 3 cases", "+2", "found"]);

        let silent = Watch::default();
        silent.phase("cases", 3, "cases");
        silent.event(|| panic!("a missing watcher builds no text"));
    }
}
