//! Containment of implementations under test: however arrears stops talking
//! to one, nothing of it outlives the conversation.
//!
//! An implementation is a command run by `sh -c`; the shell may start the
//! real program, which may start helpers of its own. Killing the direct
//! child is therefore not enough. Every implementation runs in a process
//! group of its own (`spawn`), and arrears kills the whole group
//! (`kill_group`) on every way out: the end of the conversation, a
//! protocol error, a panic unwinding through the owner, and SIGINT, SIGTERM
//! or SIGHUP sent to arrears itself ([`install_signal_cleanup`]). For the
//! one exit no code of arrears sees — arrears being SIGKILLed — the direct
//! child is asked (Linux `PR_SET_PDEATHSIG`) to be killed with its parent;
//! that reaches the direct child only, not the rest of its group.
//!
//! The live groups are kept in a fixed array of atomics rather than a
//! mutex-guarded collection, because the signal handler reads them, and a
//! signal handler may neither lock nor allocate.

use std::io;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, Once, OnceLock};

/// How many implementations may be alive at once and still be killed by the
/// signal handler. Far more than arrears runs (one per worker thread); an
/// implementation that finds no free slot is still killed on every other
/// way out.
const SLOTS: usize = 256;

/// The process-group ids of the live implementations; 0 is a free slot.
static LIVE: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Marks a process group as live, so that a signal to arrears kills it.
fn register(pgid: i32) {
    for slot in &LIVE {
        if slot
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn unregister(pgid: i32) {
    for slot in &LIVE {
        if slot
            .compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// Kills every process of the group `pgid` and forgets the group.
///
/// Call it before reaping the group's leader: while the leader is an
/// unreaped zombie its pid, and so the group id, cannot be reused, so the
/// signal cannot reach an unrelated group that happens to get the number.
pub(crate) fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: kill has no memory-safety preconditions; a negative pid
        // addresses the process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    unregister(pgid);
}

/// Starts `sh -c command` in a process group of its own (its pid is the
/// group id) and registers the group, with standard input, output and error
/// as `configure` sets them.
///
/// The fork happens on one long-lived thread: Linux delivers the
/// parent-death signal when the *thread* that forked the child exits, so
/// forking from a worker thread that later ends would kill a healthy
/// implementation in the middle of a run.
pub(crate) fn spawn(command: &str, configure: fn(&mut Command)) -> io::Result<Child> {
    type Job = (String, fn(&mut Command), Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = channel::<Job>();
        // If the thread cannot be started, `queue` is dropped with the
        // closure, sending fails, and callers fork on their own thread.
        let _ = std::thread::Builder::new()
            .name("arrears-spawner".into())
            .spawn(move || {
                for (command, configure, reply) in queue {
                    let _ = reply.send(spawn_here(&command, configure));
                }
            });
        Mutex::new(jobs)
    });
    let (reply, answer) = channel();
    let sent = spawner.lock().unwrap_or_else(|e| e.into_inner()).send((
        command.to_string(),
        configure,
        reply,
    ));
    match sent {
        Ok(()) => answer.recv().unwrap_or_else(|_| {
            // The spawner thread could not be started: fork right here.
            spawn_here(command, configure)
        }),
        Err(_) => spawn_here(command, configure),
    }
}

fn spawn_here(command: &str, configure: fn(&mut Command)) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).process_group(0);
    configure(&mut cmd);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only makes
        // async-signal-safe system calls, without allocating.
        unsafe {
            cmd.pre_exec(move || {
                // Best effort: killed with arrears even if arrears is
                // SIGKILLed. Only this process; its own children are not.
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                // arrears died between fork and prctl: the signal was
                // missed, so do not start at all.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn()?;
    register(child.id() as i32);
    Ok(child)
}

/// Makes SIGINT, SIGTERM and SIGHUP kill every live implementation's process
/// group before arrears dies of the signal as it would have without the
/// handler (so its exit status still says which signal: 130, 143, 129 in a
/// shell). Signals that were ignored when arrears started (`nohup`, a
/// background job) stay ignored. Idempotent.
pub fn install_signal_cleanup() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: plain sigaction calls with zero-initialized,
            // fully set structures; the handler is async-signal-safe.
            unsafe {
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut previous) != 0
                    || previous.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                action.sa_flags = libc::SA_RESTART;
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// The signal handler: only atomics loads and async-signal-safe calls.
extern "C" fn on_signal(signal: libc::c_int) {
    for slot in &LIVE {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
    // SAFETY: sigaction and raise are async-signal-safe. The signal is
    // blocked while its handler runs, so the raised one is delivered, with
    // the default action (termination), as soon as the handler returns.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut default.sa_mask);
        libc::sigaction(signal, &default, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// How the group's leader ended, without reaping it (so that its pid, the
/// group id, stays reserved until the group has been killed); `None` while
/// it runs.
#[cfg(target_os = "linux")]
pub(crate) fn peek_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: waitid writes into the zeroed siginfo_t we own; WNOWAIT leaves
    // the child waitable, so std's later wait still reaps it.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let done = libc::waitid(
            libc::P_PID,
            child.id() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if done != 0 || info.si_pid() == 0 {
            // Still running — or already reaped by std, which then knows.
            return if done != 0 {
                child.try_wait().ok().flatten()
            } else {
                None
            };
        }
        let status = info.si_status();
        // Rebuild the wait(2) status word that ExitStatus decodes.
        let raw = match info.si_code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_DUMPED => (status & 0x7f) | 0x80,
            _ => status & 0x7f,
        };
        Some(std::process::ExitStatus::from_raw(raw))
    }
}

/// Elsewhere, reaping is the only portable way to learn the status; the
/// group is then killed right after, which leaves a narrow window for reuse.
#[cfg(not(target_os = "linux"))]
pub(crate) fn peek_exit(child: &mut Child) -> Option<std::process::ExitStatus> {
    child.try_wait().ok().flatten()
}
