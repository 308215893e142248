//! Finding, watching and killing a cluster's postmaster process.

use std::fs;
use std::path::Path;
use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a postmaster gets to exit after each signal.
const GRACE: Duration = Duration::from_secs(5);
/// How often to check on a process.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The postmaster's pid, from the first line of `<data_dir>/postmaster.pid`.
pub(crate) fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines()
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|pid| *pid > 0)
}

/// Whether process `pid` exists and is not a zombie.
pub(crate) fn is_running(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => !is_zombie(pid),
        Err(_) => false,
    }
}

/// Whether `pid` is a live postmaster serving `data_dir` (judged from
/// `/proc/<pid>/cmdline` where there is a `/proc`), guarding against reused pids.
pub(crate) fn serves(pid: i32, data_dir: &Path) -> bool {
    if !is_running(pid) {
        return false;
    }
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let needle = data_dir.as_os_str().as_encoded_bytes();
            cmdline.split(|byte| *byte == 0).any(|arg| arg == needle)
        }
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// Waits up to `timeout` for `pid` to end; returns whether it did.
pub(crate) fn wait_gone(pid: i32, timeout: Duration) -> bool {
    poll_until(timeout, || !is_running(pid))
}

/// Ends a postmaster that is not our child (found through `postmaster.pid`):
/// SIGQUIT (immediate shutdown), then SIGKILL. Returns whether it is gone.
pub(crate) fn kill_postmaster(pid: i32) -> bool {
    escalate(pid, |grace| wait_gone(pid, grace))
}

/// Ends our postmaster child like [`kill_postmaster`], reaping it.
pub(crate) fn stop_child(child: &mut Child) -> bool {
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    escalate(pid, |grace| {
        // An error means the child was already reaped.
        poll_until(grace, || !matches!(child.try_wait(), Ok(None)))
    })
}

/// Stops our postmaster child with a fast shutdown (SIGINT: sessions are terminated, the
/// data is flushed), then as [`stop_child`] if it lingers. Returns whether it is gone.
pub(crate) fn stop_child_fast(child: &mut Child) -> bool {
    stop_child_with(child, Signal::SIGINT)
}

/// Sends `signal` to our child and waits for it to exit, then as [`stop_child`] if it
/// lingers. Returns whether it is gone.
pub(crate) fn stop_child_with(child: &mut Child, signal: Signal) -> bool {
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let _ = kill(Pid::from_raw(pid), signal);
    poll_until(GRACE, || !matches!(child.try_wait(), Ok(None))) || stop_child(child)
}

/// Sends SIGQUIT, then SIGKILL, each followed by `gone(grace period)`.
fn escalate(pid: i32, mut gone: impl FnMut(Duration) -> bool) -> bool {
    for (signal, grace) in [(Signal::SIGQUIT, GRACE), (Signal::SIGKILL, GRACE)] {
        if gone(Duration::ZERO) {
            return true;
        }
        let _ = kill(Pid::from_raw(pid), signal);
        if gone(grace) {
            return true;
        }
    }
    false
}

/// Waits up to `timeout` for `ready()` while `child` runs: `Ok` once ready, else what
/// happened (how the child exited, or `not <state> after N s`).
pub(crate) fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    state: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let mut exited = None;
    let done = poll_until(timeout, || match child.try_wait() {
        Ok(None) => ready(),
        Ok(Some(status)) => {
            exited = Some(crate::account::describe_status(status));
            true
        }
        Err(err) => {
            exited = Some(format!("could not be watched: {err}"));
            true
        }
    });
    match (done, exited) {
        (true, None) => Ok(()),
        (_, Some(status)) => Err(status),
        (false, None) => Err(format!("not {state} after {} s", timeout.as_secs())),
    }
}

/// Calls `done` every few milliseconds until it returns true (→ true) or
/// `timeout` passes (→ false).
pub(crate) fn poll_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(POLL_INTERVAL);
    }
}

/// Whether `/proc/<pid>/stat` says the process is a zombie (exited, not yet
/// reaped by whoever inherited it). `false` where there is no `/proc`.
fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.trim_start().chars().next()
        })
        .is_some_and(|state| state == 'Z' || state == 'X')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_runs() {
        assert!(is_running(std::process::id() as i32));
        assert!(!is_running(i32::MAX));
    }

    #[test]
    fn reads_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(postmaster_pid(dir.path()), None);
        fs::write(dir.path().join("postmaster.pid"), "4242\n/data\n").unwrap();
        assert_eq!(postmaster_pid(dir.path()), Some(4242));
    }
}
