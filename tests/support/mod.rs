//! Running `arrears` against misbehaving adapters, and looking at what is
//! left afterwards: its exit status, how long it took, its peak memory, and
//! whether any process of the adapters' process groups survived.
//!
//! Linux only (it reads `/proc`), like the containment it checks.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

/// A hello reply implementing pay-as-you-go ECS only (small histories).
pub const HELLO_OK: &str = r#"{"id":1,"type":"hello","protocol":"arrears-adapter/1","implementation":"fake","implements":[{"product":"ecs","billing":["pay-as-you-go"]}]}"#;

/// How a run of arrears ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
    pub ended: Instant,
    /// Peak resident memory in KiB, of arrears and of the children it
    /// waited for (`wait4`'s rusage), so it cannot miss a short peak.
    pub max_rss_kib: u64,
    /// The run outlived its guard and was killed by the test.
    pub guard_fired: bool,
}

impl Outcome {
    pub fn text(&self) -> String {
        format!(
            "exit code {:?}, signal {:?}, {:?}, peak {} KiB{}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.signal,
            self.took,
            self.max_rss_kib,
            if self.guard_fired {
                " (KILLED BY THE TEST'S GUARD: it hung)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }
}

/// Runs arrears with `args`, calls `during` with its pid once started, and
/// waits for it to end; after `guard` it is killed with its whole process
/// group, so a hanging arrears fails the test instead of hanging it.
///
/// arrears runs in a process group of its own with SIGINT and SIGTERM at
/// their default dispositions, as in a terminal, whatever the test runner
/// inherited (a background job ignores SIGINT).
pub fn run_arrears(args: &[&str], guard: Duration, during: impl FnOnce(i32)) -> Outcome {
    let mut command = Command::new(ARREARS);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let started = Instant::now();
    // Reaped below with wait4, for its rusage, not with Child::wait.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("arrears starts");
    let pid = child.id() as i32;
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("piped")));
    let stderr = collect(Box::new(child.stderr.take().expect("piped")));
    during(pid);
    let mut guard_fired = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: wait4 writes into the locals we pass.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert!(
            reaped == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        if started.elapsed() > guard && !guard_fired {
            guard_fired = true;
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ended = Instant::now();
    Outcome {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        took: ended - started,
        ended,
        max_rss_kib: usage.ru_maxrss as u64,
        guard_fired,
    }
}

/// A scratch directory for one test's adapters, which record their process
/// groups in `pgids` (one line each). Dropping it kills any group that
/// still has a live process, then removes the directory, so a failing test
/// leaves nothing behind.
pub struct Scratch {
    pub dir: PathBuf,
    // Removes the directory when the scratch is dropped, after `drop` has
    // killed what the adapters left running.
    _temp: tempfile::TempDir,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let temp = tempfile::Builder::new()
            .prefix(&format!("arrears-containment-{name}-"))
            .tempdir()
            .expect("scratch directory");
        Scratch {
            dir: temp.path().to_path_buf(),
            _temp: temp,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a shell script whose first line records its process group,
    /// and returns the command that runs it.
    pub fn adapter(&self, name: &str, body: &str) -> String {
        let path = self.path(name);
        let text = format!(
            "read -r _ _ _ _ pgid _ < /proc/$$/stat\necho \"$pgid\" >> '{}'\n{body}\n",
            self.path("pgids").display()
        );
        std::fs::write(&path, text).expect("adapter script");
        format!("sh '{}'", path.display())
    }

    /// The process groups the adapters recorded.
    pub fn groups(&self) -> Vec<i32> {
        std::fs::read_to_string(self.path("pgids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Waits (up to `within`: a SIGKILLed process needs a moment to die)
    /// until no live process is left in any recorded group; the survivors
    /// otherwise.
    pub fn survivors(&self, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let left: Vec<String> = self.groups().into_iter().flat_map(members).collect();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for pgid in self.groups() {
            // Only a group that still has members: its id cannot have been
            // reused by another group.
            if pgid > 1 && !members(pgid).is_empty() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        }
    }
}

/// The live (not zombie) processes of group `pgid`, as `pid command`.
pub fn members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (command) state ppid pgrp ...`; the command may hold spaces.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        let (Some(state), Some(group)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if group.parse::<i32>().ok() == Some(pgid) && *state != "Z" && *state != "X" {
            let cmdline = std::fs::read(entry.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            found.push(format!("{pid} ({state}) {cmdline}"));
        }
    }
    found
}

/// Polls until `path` exists (an adapter saying it got somewhere).
pub fn wait_for(path: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
