//! An implementation under test as a child process: the [`Transport`] that
//! [`Client`](super::Client) speaks the protocol over.
//!
//! Whatever the child does, arrears must neither hang nor grow without
//! bound, so no call here blocks on the child:
//!
//! - Its standard input and output are non-blocking on arrears' side, and
//!   every write and read waits in `poll(2)` for at most what is left of the
//!   request's timeout: a child that stops reading its standard input, or
//!   never answers, is reported instead of blocking arrears.
//! - Replies are read only when one is awaited, into a buffer cut off at
//!   the reply cap: a child that floods its output is held back by the pipe
//!   instead of filling arrears' memory.
//! - Standard error is drained, as bytes, by a thread of its own for as
//!   long as the child writes it (a child must never block, or die of
//!   SIGPIPE, because arrears stopped reading), and only its tail is kept
//!   ([`StderrTail`]).
//! - The child runs in a process group of its own, killed on every way out
//!   ([`super::containment`]).
//!
//! Why no writer and reader threads: a verify run makes tens of thousands
//! of round trips, and handing each request and reply between threads cost
//! four wake-ups per round trip, more than the child's own work.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::{MAX_REPLY_BYTES, Received, SendError, Transport};
use super::{ProtocolError, containment};

/// How much of the child's output one read takes at most.
const READ_CHUNK: usize = 64 * 1024;

/// The last lines of standard error kept for error messages.
pub const STDERR_LINES: usize = 20;

/// The bytes kept of each of those lines; the rest is counted, not kept.
pub const STDERR_LINE_BYTES: usize = 500;

/// How long a child that was told to stop (standard input closed after
/// **bye**) may take to exit by itself before its group is killed anyway.
const GRACE: Duration = Duration::from_millis(300);

/// A child process speaking the protocol on its standard input and output.
pub struct ChildProcess {
    command: String,
    child: Child,
    /// Non-blocking; `None` once closed (to tell the child to stop).
    stdin: Option<ChildStdin>,
    /// A request was only partly written before its timeout: the child
    /// stopped reading, and the stream is broken.
    stdin_stuck: bool,
    /// Non-blocking.
    stdout: ChildStdout,
    /// Bytes read from standard output and not yet handed out as lines.
    pending: Vec<u8>,
    /// What one read fills, kept for the child's life: reading straight
    /// into `pending` would zero a chunk of it before every read, and
    /// handing `pending` out as the line would give each line a chunk.
    chunk: Box<[u8]>,
    /// How far `pending` is known to hold no newline.
    scanned: usize,
    /// Standard output ended (or failed, or a line was too long): no more
    /// lines after those in `pending`.
    stdout_done: bool,
    max_reply_bytes: usize,
    stderr: Arc<Mutex<StderrTail>>,
    stderr_closed: Arc<AtomicBool>,
    /// The group was killed and the leader reaped.
    stopped: bool,
}

impl ChildProcess {
    /// Starts `command` (run by `sh -c`, so it may carry arguments and
    /// quotes) in a process group of its own.
    pub fn spawn(command: &str) -> Result<ChildProcess, ProtocolError> {
        ChildProcess::spawn_limited(command, MAX_REPLY_BYTES)
    }

    /// [`ChildProcess::spawn`], refusing reply lines longer than
    /// `max_reply_bytes` (tests use a small cap to exercise it cheaply).
    pub fn spawn_limited(
        command: &str,
        max_reply_bytes: usize,
    ) -> Result<ChildProcess, ProtocolError> {
        let spawn_error = |error: String| ProtocolError::Spawn {
            command: command.to_string(),
            error,
        };
        let mut child = containment::spawn(command, |c| {
            c.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        })
        .map_err(|e| spawn_error(e.to_string()))?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) = pipes else {
            containment::kill_group(child.id() as i32);
            let _ = child.wait();
            return Err(spawn_error(
                "its standard streams could not be piped".into(),
            ));
        };
        if let Err(e) =
            set_nonblocking(stdin.as_raw_fd()).and_then(|()| set_nonblocking(stdout.as_raw_fd()))
        {
            containment::kill_group(child.id() as i32);
            let _ = child.wait();
            return Err(spawn_error(format!(
                "its standard streams could not be made non-blocking: {e}"
            )));
        }

        let stderr = Arc::new(Mutex::new(StderrTail::default()));
        let stderr_closed = Arc::new(AtomicBool::new(false));
        let (tail, closed) = (Arc::clone(&stderr), Arc::clone(&stderr_closed));
        std::thread::spawn(move || drain_stderr(stderr_pipe, &tail, &closed));

        Ok(ChildProcess {
            command: command.to_string(),
            child,
            stdin: Some(stdin),
            stdin_stuck: false,
            stdout,
            pending: Vec::new(),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            scanned: 0,
            stdout_done: false,
            max_reply_bytes,
            stderr,
            stderr_closed,
            stopped: false,
        })
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// The child's process id, which is also its process-group id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Closes standard input, waits up to `grace` for the child to exit by
    /// itself, then kills its whole group (helpers it started that still
    /// hold the pipes included) and reaps it.
    fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.stdin = None;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && containment::peek_exit(&mut self.child).is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        containment::kill_group(self.child.id() as i32);
        let _ = self.child.wait();
    }

    /// The next complete line in `pending`, taken out of it, or `None`.
    /// A line (with its newline) longer than the cap is `TooLong`.
    fn take_line(&mut self) -> Option<Received> {
        match self.pending[self.scanned..]
            .iter()
            .position(|b| *b == b'\n')
        {
            Some(at) => {
                let end = self.scanned + at;
                self.scanned = 0;
                if end + 1 > self.max_reply_bytes {
                    self.stdout_done = true;
                    self.pending = Vec::new();
                    return Some(Received::TooLong);
                }
                let line = self.pending[..=end].to_vec();
                self.pending.drain(..=end);
                Some(Received::Line(line_text(line)))
            }
            None => {
                self.scanned = self.pending.len();
                if self.pending.len() > self.max_reply_bytes {
                    self.stdout_done = true;
                    self.pending = Vec::new();
                    self.scanned = 0;
                    return Some(Received::TooLong);
                }
                None
            }
        }
    }

    /// Reads what standard output has, at most up to one byte past the cap
    /// for the line being read. `false`: nothing to read yet.
    fn fill(&mut self) -> bool {
        let room = (self.max_reply_bytes + 1)
            .saturating_sub(self.pending.len())
            .clamp(1, READ_CHUNK);
        match self.stdout.read(&mut self.chunk[..room]) {
            Ok(0) => {
                self.stdout_done = true;
                true
            }
            Ok(n) => {
                self.pending.extend_from_slice(&self.chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => true,
            Err(_) => {
                self.stdout_done = true;
                true
            }
        }
    }
}

/// A reply line as text: the newline (and a carriage return before it)
/// dropped, invalid UTF-8 replaced.
fn line_text(mut line: Vec<u8>) -> String {
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns, with integer flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` is ready for `events` (or in error, or hung up, which
/// the next read or write reports), at most until `deadline`. `false`: the
/// deadline passed.
fn wait_for(fd: RawFd, events: libc::c_short, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        // Rounded up, so that a wait is never a busy loop of zero-ms polls.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready > 0 {
            return true;
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != ErrorKind::Interrupted {
            // poll itself failed (never on a valid descriptor): let the
            // read or write say what is wrong.
            return true;
        }
    }
}

/// The stderr thread: reads bytes, whatever they are, until the end.
fn drain_stderr(
    mut pipe: std::process::ChildStderr,
    tail: &Mutex<StderrTail>,
    closed: &AtomicBool,
) {
    let mut chunk = vec![0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => tail
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    closed.store(true, Ordering::SeqCst);
}

/// The end of a child's standard error in bounded memory: the last
/// [`STDERR_LINES`] lines, [`STDERR_LINE_BYTES`] of each, and the line being
/// written (cut off the same way, so a gigabyte without a newline costs
/// nothing). Bytes are kept as they came and decoded only to be shown.
#[derive(Debug, Default)]
pub struct StderrTail {
    /// Complete lines: the bytes kept and the line's whole length.
    lines: VecDeque<(Vec<u8>, usize)>,
    partial: Vec<u8>,
    partial_len: usize,
}

impl StderrTail {
    pub fn push(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
            self.extend(&bytes[..end]);
            let mut line = std::mem::take(&mut self.partial);
            let mut len = std::mem::take(&mut self.partial_len);
            if line.last() == Some(&b'\r') && line.len() == len {
                line.pop();
                len -= 1;
            }
            if self.lines.len() == STDERR_LINES {
                self.lines.pop_front();
            }
            self.lines.push_back((line, len));
            bytes = &bytes[end + 1..];
        }
        self.extend(bytes);
    }

    fn extend(&mut self, bytes: &[u8]) {
        let room = STDERR_LINE_BYTES.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.partial_len = self.partial_len.saturating_add(bytes.len());
    }

    /// The kept lines as text (invalid UTF-8 replaced), the unfinished one
    /// last, each cut-off line with its whole length.
    pub fn lines(&self) -> Vec<String> {
        let unfinished = (self.partial_len > 0).then_some((&self.partial, self.partial_len));
        let all: Vec<(&Vec<u8>, usize)> = self
            .lines
            .iter()
            .map(|(b, n)| (b, *n))
            .chain(unfinished)
            .collect();
        all[all.len().saturating_sub(STDERR_LINES)..]
            .iter()
            .map(|(kept, len)| {
                let text = String::from_utf8_lossy(kept).into_owned();
                if *len > kept.len() {
                    format!("{text}… ({len} bytes)")
                } else {
                    text
                }
            })
            .collect()
    }
}

impl Transport for ChildProcess {
    fn send(&mut self, line: &str, timeout: Duration) -> Result<(), SendError> {
        if self.stdin_stuck {
            return Err(SendError::NotRead);
        }
        let Some(stdin) = &mut self.stdin else {
            return Err(SendError::Failed(std::io::Error::new(
                ErrorKind::BrokenPipe,
                "standard input closed",
            )));
        };
        let deadline = Instant::now() + timeout;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let mut written = 0;
        while written < bytes.len() {
            match stdin.write(&bytes[written..]) {
                Ok(0) => {
                    return Err(SendError::Failed(ErrorKind::WriteZero.into()));
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !wait_for(stdin.as_raw_fd(), libc::POLLOUT, deadline) {
                        self.stdin_stuck = true;
                        return Err(SendError::NotRead);
                    }
                }
                Err(e) => return Err(SendError::Failed(e)),
            }
        }
        Ok(())
    }

    fn receive(&mut self, timeout: Duration) -> Received {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(received) = self.take_line() {
                return received;
            }
            if self.stdout_done {
                // What came before the end without a newline is a line too.
                return if self.pending.is_empty() {
                    Received::Closed
                } else {
                    self.scanned = 0;
                    Received::Line(line_text(std::mem::take(&mut self.pending)))
                };
            }
            if !self.fill() && !wait_for(self.stdout.as_raw_fd(), libc::POLLIN, deadline) {
                return Received::Timeout;
            }
        }
    }

    fn exit_report(&mut self) -> String {
        // Give a dying child a moment to be gone, so its status is known.
        let mut status = None;
        for _ in 0..20 {
            status = containment::peek_exit(&mut self.child);
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut out = match status {
            Some(s) => format!("; it exited with {s}"),
            None => "; it is still running".to_string(),
        };
        if status.is_some() {
            // Let the stderr thread read what the child wrote last (bounded:
            // a helper it started may hold the pipe open).
            for _ in 0..10 {
                if self.stderr_closed.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let lines = self
            .stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines();
        if !lines.is_empty() {
            out.push_str("; its last lines of standard error:\n");
            for line in lines {
                out.push_str("  | ");
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    fn kill(&mut self) {
        self.stop(Duration::ZERO);
    }

    fn max_reply_bytes(&self) -> usize {
        self.max_reply_bytes
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop(GRACE);
    }
}
