//! An implementation under test as a child process: the [`Transport`] that
//! [`Client`](super::Client) speaks the protocol over.
//!
//! Whatever the child does, arrears must neither hang nor grow without
//! bound, so no call here blocks on the child:
//!
//! - Requests are written by a writer thread; [`ChildProcess`] waits for
//!   the write at most the request's timeout, so a child that stops reading
//!   its standard input is reported instead of blocking arrears in `write`.
//! - Replies are read by a reader thread that hands complete lines over a
//!   channel of [`LINES_IN_FLIGHT`] lines: a child that floods its output
//!   is held back by the pipe instead of filling arrears' memory; a line is
//!   cut off at the reply cap.
//! - Standard error is drained, as bytes, for as long as the child writes
//!   it (a child must never block, or die of SIGPIPE, because arrears
//!   stopped reading), and only its tail is kept ([`StderrTail`]).
//! - The child runs in a process group of its own, killed on every way out
//!   ([`super::containment`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TrySendError, channel, sync_channel,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::{MAX_REPLY_BYTES, Received, SendError, Transport};
use super::{ProtocolError, containment};

/// Reply lines read ahead of the client. One is enough to overlap reading
/// with parsing; more would only let a flooding child use more memory.
pub const LINES_IN_FLIGHT: usize = 1;

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
    /// To the writer thread; `None` once standard input is to be closed.
    requests: Option<SyncSender<Vec<u8>>>,
    /// The writer thread's result for each request it was given.
    written: Receiver<std::io::Result<()>>,
    /// A write did not finish in time: the writer thread is stuck in it.
    writer_stuck: bool,
    lines: Receiver<Received>,
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

        let (requests, to_write) = sync_channel::<Vec<u8>>(1);
        let (done, written) = channel();
        std::thread::spawn(move || write_requests(stdin, to_write, done));

        let (lines_tx, lines) = sync_channel(LINES_IN_FLIGHT);
        std::thread::spawn(move || read_replies(stdout, max_reply_bytes, lines_tx));

        let stderr = Arc::new(Mutex::new(StderrTail::default()));
        let stderr_closed = Arc::new(AtomicBool::new(false));
        let (tail, closed) = (Arc::clone(&stderr), Arc::clone(&stderr_closed));
        std::thread::spawn(move || drain_stderr(stderr_pipe, &tail, &closed));

        Ok(ChildProcess {
            command: command.to_string(),
            child,
            requests: Some(requests),
            written,
            writer_stuck: false,
            lines,
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
        // Dropping the sender ends the writer thread, which closes standard
        // input, unless it is stuck in a write (then the kill unblocks it).
        self.requests = None;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && containment::peek_exit(&mut self.child).is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        containment::kill_group(self.child.id() as i32);
        let _ = self.child.wait();
    }
}

/// The writer thread: writes each request and says how it went.
fn write_requests(
    mut stdin: std::process::ChildStdin,
    requests: Receiver<Vec<u8>>,
    done: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    for bytes in requests {
        let result = stdin.write_all(&bytes).and_then(|()| stdin.flush());
        let failed = result.is_err();
        if done.send(result).is_err() || failed {
            break;
        }
    }
}

/// The stdout reader thread: complete lines, at most `max` bytes each.
fn read_replies(stdout: std::process::ChildStdout, max: usize, lines: SyncSender<Received>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let read = (&mut reader)
            .take(max as u64 + 1)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) if buf.len() > max => {
                let _ = lines.send(Received::TooLong);
                break;
            }
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                // Blocks while the client has not taken the previous lines:
                // this is what holds a flooding child back.
                if lines.send(Received::Line(line)).is_err() {
                    break;
                }
            }
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
        let closed = || {
            SendError::Failed(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "standard input closed",
            ))
        };
        if self.writer_stuck {
            return Err(SendError::NotRead);
        }
        let Some(requests) = &self.requests else {
            return Err(closed());
        };
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match requests.try_send(bytes) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.writer_stuck = true;
                return Err(SendError::NotRead);
            }
            // The writer thread ended after a failed write.
            Err(TrySendError::Disconnected(_)) => return Err(closed()),
        }
        match self.written.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SendError::Failed(e)),
            Err(RecvTimeoutError::Timeout) => {
                self.writer_stuck = true;
                Err(SendError::NotRead)
            }
            Err(RecvTimeoutError::Disconnected) => Err(closed()),
        }
    }

    fn receive(&mut self, timeout: Duration) -> Received {
        match self.lines.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Received::Timeout,
            Err(RecvTimeoutError::Disconnected) => Received::Closed,
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
