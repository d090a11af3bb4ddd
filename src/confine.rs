//! Keeping a lesson to its run: an actor reaches no file, unix socket or
//! process of the host. Lessons are files people pass around; running one
//! must be as safe as opening it.
//!
//! In the run's own namespaces an actor chroots into the run's directory
//! (so every path a lesson names is inside it, `/` and `..` included, and a
//! unix socket by path can only be one of the run's), and drops every
//! capability. Abstract unix sockets live in the network namespace, which is
//! the run's own. On the host's network, where no namespace can be made, an
//! actor restricts itself with Landlock where the kernel has it: files only
//! beneath the run's directory, and (Landlock ABI 6 on) abstract unix
//! sockets and signals only within the run. What that leaves open is said
//! on the command line.

use crate::wire::SetupError;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Whether this actor runs on the host's network.
static HOST: AtomicBool = AtomicBool::new(false);

/// How a run's actors are confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// chroot into the run's directory; `scoped`: abstract unix sockets
    /// and signals reach only the run's (in the run's own namespaces they
    /// are; on the host's network, Landlock ABI 6 scopes them).
    Chroot { scoped: bool },
    /// Landlock: files beneath the run's directory; `scoped`: abstract
    /// unix sockets and signals within the run too.
    Landlock { scoped: bool },
    /// Nothing confines the actors (no namespaces, no Landlock).
    None,
}

/// How actors will be confined: in the run's namespaces, or on the host
/// (by chroot where this process may, as root may; else by Landlock).
pub fn expected(private: bool) -> Confinement {
    if private {
        return Confinement::Chroot { scoped: true };
    }
    if may_chroot() {
        return Confinement::Chroot {
            scoped: landlock_abi() >= 6,
        };
    }
    match landlock_abi() {
        0 => Confinement::None,
        abi => Confinement::Landlock { scoped: abi >= 6 },
    }
}

/// Whether this process has CAP_SYS_CHROOT (bit 18 of CapEff).
fn may_chroot() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << 18) != 0)
}

/// Confines an actor just started by the hub, whose working directory is
/// the run's.
pub fn actor(host: bool) -> Result<(), SetupError> {
    HOST.store(host, Relaxed);
    if host {
        // With no PID namespace to end with the run, an actor dies with
        // the hub.
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        // A privileged user's actors keep their privileges, as the user's
        // own programs would, and are chrooted; others are kept to the run's
        // directory by Landlock.
        if may_chroot() {
            chroot()?;
            landlock(false);
            return Ok(());
        }
        landlock(true);
        return Ok(());
    }
    chroot()?;
    crate::netns::drop_privileges()
}

/// chroot into the working directory, the run's.
fn chroot() -> Result<(), SetupError> {
    nix::unistd::chroot(".").map_err(|e| SetupError::Join(e as i32))?;
    nix::unistd::chdir("/").map_err(|e| SetupError::Join(e as i32))
}

/// In a process an actor forked: on the host's network, it dies with its
/// parent (in the run's PID namespace it ends with the run anyway).
pub fn forked() {
    if HOST.load(Relaxed) {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    }
}

/// The Landlock ABI the kernel has (0: none).
fn landlock_abi() -> i64 {
    // LANDLOCK_CREATE_RULESET_VERSION.
    // SAFETY: a query with a null attribute and a flag.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    v.max(0)
}

/// Restricts this process with Landlock, as far as the kernel allows:
/// with `files`, every file access beneath the working directory, reads of
/// /proc (through the actor's handle), nothing else; abstract unix sockets
/// and signals scoped to the run where the ABI has scopes. Best effort:
/// without Landlock the actor runs unconfined, and the command line says
/// so.
fn landlock(files: bool) {
    let abi = landlock_abi();
    if abi == 0 || (!files && abi < 6) {
        return;
    }
    // Every LANDLOCK_ACCESS_FS_* right of this ABI.
    let fs: u64 = match abi {
        1 => (1 << 13) - 1,
        2 => (1 << 14) - 1,
        3 | 4 => (1 << 15) - 1,
        _ => (1 << 16) - 1,
    };
    // struct landlock_ruleset_attr: handled_access_fs, handled_access_net
    // (ABI 4), scoped (ABI 6).
    let attr: [u64; 3] = [
        if files { fs } else { 0 },
        0,
        if abi >= 6 { 0b11 } else { 0 },
    ];
    let size = match abi {
        1..=3 => 8,
        4 | 5 => 16,
        _ => 24,
    };
    // SAFETY: the attribute is valid for `size` bytes.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            attr.as_ptr(),
            size as usize,
            0u32,
        )
    };
    if ruleset < 0 {
        return;
    }
    let allow = |fd: i32, access: u64| {
        // struct landlock_path_beneath_attr { u64 allowed_access; s32
        // parent_fd; } __attribute__((packed)).
        let mut rule = [0u8; 12];
        rule[..8].copy_from_slice(&access.to_ne_bytes());
        rule[8..].copy_from_slice(&fd.to_ne_bytes());
        // SAFETY: LANDLOCK_RULE_PATH_BENEATH with a 12-byte attribute.
        unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset as i32,
                1u32,
                rule.as_ptr(),
                0u32,
            )
        }
    };
    let here = nix::fcntl::open(
        ".",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    );
    if let (Ok(here), true) = (&here, files) {
        use std::os::fd::AsRawFd;
        allow(here.as_raw_fd(), fs);
    }
    // Reading /proc: the actor's own fds, a sysctl. READ_FILE | READ_DIR.
    let proc = crate::actor::proc_fd();
    if proc >= 0 && files {
        allow(proc, (1 << 2) | (1 << 3));
    }
    // SAFETY: prctl and landlock_restrict_self with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::syscall(libc::SYS_landlock_restrict_self, ruleset as i32, 0u32);
        libc::close(ruleset as i32);
    }
}
