//! File descriptors a run needs, checked before it starts: one UDP socket per connection (and a qlog
//! file each when qlog is on), an epoll instance per worker, and the ones already open. Where the soft
//! `RLIMIT_NOFILE` is too low the run raises it, up to the hard limit, which only a privileged process
//! can change; past that the run is refused, naming `connections`, before anything is measured.

use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// Descriptors kept spare for what a run opens besides its sockets (the route probe, a waker per poll).
const SPARE: u64 = 32;

/// Makes room for what a run of `scenario` opens (with a qlog file per connection when `qlog`), raising
/// the soft `RLIMIT_NOFILE` where needed. `run` checks it first; a caller may check it earlier, before it
/// prints or starts anything.
///
/// Errors: `INVALID_ARGUMENT` (field `connections`) when even the hard limit is too low.
pub fn ensure_descriptors(scenario: &Scenario, qlog: bool) -> Result<()> {
    let connections = scenario.connections;
    let workers = scenario.settings.threads.min(connections).max(1);
    let per_connection = if qlog { 2 } else { 1 };
    let needed = open_now() + u64::from(connections) * per_connection + u64::from(workers) + SPARE;
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for the kernel to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Ok(()); // unknowable: the sockets will say
    }
    if needed <= limit.rlim_cur {
        return Ok(());
    }
    // The hard limit is the most an unprivileged process may set; the kernel caps it at fs.nr_open.
    let most = limit.rlim_max.min(nr_open());
    if needed <= most {
        let raised = libc::rlimit { rlim_cur: most, rlim_max: limit.rlim_max };
        // SAFETY: `raised` is a valid rlimit within the hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(());
        }
    }
    let files = if qlog { "a UDP socket and a qlog file each" } else { "a UDP socket each" };
    Err(Error::invalid_field(
        "connections",
        format!(
            "{connections} connections need about {needed} file descriptors ({files}), and this process may open \
             at most {most} (RLIMIT_NOFILE): use fewer connections, or raise the limit (ulimit -Hn, LimitNOFILE=)"
        ),
    ))
}

/// Descriptors open in this process now.
fn open_now() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// The kernel's ceiling on any process's descriptors.
fn nr_open() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(u64::MAX)
}
