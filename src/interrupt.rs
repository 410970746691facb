//! Ctrl-C, SIGTERM and SIGHUP. The first Ctrl-C stops scheduling new tasks: running ones
//! finish, connections close, the recap prints and the run exits 99 (ansible-playbook's code
//! for "User interrupted execution"). A second Ctrl-C, SIGTERM or SIGHUP ends at once, after
//! closing this run's SSH masters (which would otherwise outlive it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::error::exit;
use crate::report::Reporter;

static STOPPING: AtomicBool = AtomicBool::new(false);
/// The signal task is ending the process: its exit code wins over the run's.
static ENDING: AtomicBool = AtomicBool::new(false);

/// A first Ctrl-C came: start no new task.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Called when the run is over: if the signal task is ending the process, let it (it is
/// closing the masters and sets the exit code); bounded, in case it never does.
pub fn let_signal_end() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ENDING.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Listen for the signals on `runtime` for the rest of the process. `control_dir` holds this
/// run's SSH control sockets.
pub fn watch(runtime: &tokio::runtime::Runtime, reporter: Arc<Reporter>, control_dir: PathBuf) {
    runtime.spawn(async move {
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
        else {
            return;
        };
        let code = tokio::select! {
            _ = int.recv() => {
                STOPPING.store(true, Ordering::SeqCst);
                reporter.error("[ERROR]: User interrupted execution (the running tasks finish; Ctrl-C again to stop now)\n");
                tokio::select! {
                    _ = int.recv() => exit::INTERRUPTED,
                    _ = term.recv() => 128 + 15,
                    _ = hup.recv() => 128 + 1,
                }
            }
            _ = term.recv() => 128 + 15,
            _ = hup.recv() => 128 + 1,
        };
        ENDING.store(true, Ordering::SeqCst);
        // Blocking here is fine: nothing else is wanted from this process.
        close_masters(&control_dir);
        std::process::exit(code);
    });
}

/// Ask every SSH master under `dir` to exit (`ssh -O exit`), then remove `dir`. The remote
/// shells end with their sessions. Bounded: a master that does not answer is left to its
/// ControlPersist timeout.
pub fn close_masters(dir: &Path) {
    let sockets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path().join("master")).filter(|p| p.exists()).collect())
        .unwrap_or_default();
    let children: Vec<_> = sockets
        .iter()
        .filter_map(|s| {
            std::process::Command::new("ssh")
                .arg("-S")
                .arg(s)
                .args(["-O", "exit", "troupe-master"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for mut c in children {
        while matches!(c.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
    let _ = std::fs::remove_dir_all(dir);
}
