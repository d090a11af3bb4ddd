//! Renderers: they turn engine events into text. They never run anything.

pub mod diagram;
mod kernel;
mod names;
pub mod player;
pub mod svg;
mod transcript;
pub mod words;

pub use names::Names;
pub use transcript::{Transcript, TranscriptOptions, wrap};

use crate::call::{Call, OptValue, names as cnames};

/// The names of poll events, in the table's order.
pub fn poll_names(ev: i16) -> Vec<String> {
    cnames::POLL_EVENTS
        .iter()
        .filter(|(_, bit)| ev & bit != 0)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// SOCK_NONBLOCK|SOCK_CLOEXEC.
fn type_flags(flags: &[crate::call::TypeFlag]) -> String {
    flags
        .iter()
        .map(|f| cnames::name_of(cnames::TYPE_FLAGS, *f))
        .collect::<Vec<_>>()
        .join("|")
}

/// Bytes as a C string literal, cut after `max` characters.
pub fn quote_bytes(data: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for (shown, &b) in data.iter().enumerate() {
        if shown >= max {
            s.push_str("…\"");
            s.push_str(&format!(" ({} bytes)", data.len()));
            return s;
        }
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// A call as a lesson writes it (the data whole, long uniform data as
/// `"x" * N`); `None` for a call a lesson has no plain form of.
pub fn lesson_call(call: &Call<i32>) -> Option<String> {
    let data = |d: &[u8]| {
        if d.len() > 64 && d.iter().all(|b| *b == d[0]) {
            format!("{} * {}", quote_bytes(&d[..1], 1), d.len())
        } else {
            quote_bytes(d, usize::MAX)
        }
    };
    let flags = |f: &[crate::call::MsgFlag]| {
        if f.is_empty() {
            return String::new();
        }
        let f: Vec<&str> = f
            .iter()
            .map(|x| cnames::name_of(cnames::FLAGS, *x))
            .collect();
        format!(", {}", f.join(" | "))
    };
    let names = Names::default();
    Some(match call {
        Call::Select { .. }
        | Call::Fork { .. }
        | Call::Thread { .. }
        | Call::Socketpair { .. }
        | Call::Poll { ms: Some(_), .. } => return None,
        Call::Send {
            fd,
            data: d,
            flags: f,
            ..
        } => format!("{}({fd}, {}{})", call.name(), data(d), flags(f)),
        Call::Sendto {
            fd,
            data: d,
            flags: f,
            addr,
        } => format!(
            "sendto({fd}, {}{}, {})",
            data(d),
            flags(f),
            names.addr(addr)
        ),
        _ => format_call(call, &names),
    })
}

/// A call as C would write it, with fds and addresses resolved.
pub fn format_call(call: &Call<i32>, names: &Names) -> String {
    let flags = |flags: &[crate::call::MsgFlag]| {
        if flags.is_empty() {
            String::new()
        } else {
            let f: Vec<&str> = flags
                .iter()
                .map(|f| cnames::name_of(cnames::FLAGS, *f))
                .collect();
            format!(", {}", f.join("|"))
        }
    };
    let name = call.name();
    match call {
        Call::Socket {
            domain,
            ty,
            protocol,
            flags,
        } => format!(
            "socket({}, {}{}, {})",
            cnames::name_of(cnames::DOMAINS, *domain),
            cnames::name_of(cnames::TYPES, *ty),
            if flags.is_empty() {
                String::new()
            } else {
                format!("|{}", type_flags(flags))
            },
            cnames::name_of(cnames::PROTOCOLS, *protocol)
        ),
        Call::Setsockopt { fd, opt, value } => {
            let (level, opt) = cnames::opt(*opt);
            let value = match value {
                OptValue::Int(v) => v.to_string(),
                OptValue::Linger { on, secs } => format!("{{{on}, {secs}}}"),
                OptValue::Time { secs, usecs } => format!("{{{secs}, {usecs}}}"),
            };
            format!("setsockopt({fd}, {level}, {opt}, {value})")
        }
        Call::Bind {
            fd,
            addr,
            raw: true,
        } => format!("bind({fd}, {}, NO_HTONS)", names.addr(addr)),
        Call::Bind { fd, addr, .. } | Call::Connect { fd, addr } => {
            format!("{name}({fd}, {})", names.addr(addr))
        }
        Call::Listen { fd, backlog } => format!("listen({fd}, {backlog})"),
        Call::Send {
            fd, data, flags: f, ..
        } => format!("{name}({fd}, {}{})", quote_bytes(data, 40), flags(f)),
        Call::Recv {
            fd, len, flags: f, ..
        }
        | Call::Recvfrom { fd, len, flags: f } => format!("{name}({fd}, {len}{})", flags(f)),
        Call::Sendto {
            fd,
            data,
            flags: f,
            addr,
        } => format!(
            "sendto({fd}, {}{}, {})",
            quote_bytes(data, 40),
            flags(f),
            names.addr(addr)
        ),
        Call::Shutdown { fd, how } => {
            format!("shutdown({fd}, {})", cnames::name_of(cnames::HOWS, *how))
        }
        Call::Accept { fd, flags } if !flags.is_empty() => {
            format!("accept4({fd}, {})", type_flags(flags))
        }
        Call::Accept { fd, .. }
        | Call::Close { fd }
        | Call::Getsockname { fd }
        | Call::Getpeername { fd } => format!("{name}({fd})"),
        Call::Fcntl { fd, nonblock } => match nonblock {
            None => format!("fcntl({fd}, F_GETFL)"),
            Some(true) => format!("fcntl({fd}, F_SETFL, O_NONBLOCK)"),
            Some(false) => format!("fcntl({fd}, F_SETFL, 0)"),
        },
        Call::Unlink { path } => format!("unlink(\"{path}\")"),
        Call::SoError { fd } => format!("getsockopt({fd}, SOL_SOCKET, SO_ERROR)"),
        Call::Getsockopt { fd, opt } => {
            let (level, opt) = cnames::opt(*opt);
            format!("getsockopt({fd}, {level}, {opt})")
        }
        Call::Fork { .. } => "fork()".to_string(),
        Call::Thread { .. } => "clone(CLONE_THREAD)".to_string(),
        Call::Socketpair { ty } => format!(
            "socketpair(AF_UNIX, {}, 0)",
            cnames::name_of(cnames::TYPES, *ty)
        ),
        Call::Select {
            nfds,
            read,
            write,
            wait,
            ms,
        } => {
            let set = |fds: &[i32]| {
                if fds.is_empty() {
                    "NULL".to_string()
                } else {
                    let fds: Vec<String> = fds.iter().map(i32::to_string).collect();
                    format!("{{{}}}", fds.join(", "))
                }
            };
            let timeout = match (wait, ms) {
                (_, Some(ms)) => format!("{{{}, {}}}", ms / 1000, (ms % 1000) * 1000),
                (true, None) => "NULL".into(),
                (false, None) => "{0, 0}".into(),
            };
            format!(
                "select({nfds}, {}, {}, NULL, {timeout})",
                set(read),
                set(write)
            )
        }
        Call::Poll {
            fds,
            events,
            wait,
            ms,
        } => {
            // poll(3, 4, -1) when each asks for POLLIN alone, else with
            // each fd's events: poll({3, POLLOUT}, {4, POLLIN}, -1).
            let plain = events.iter().all(|e| *e == libc::POLLIN);
            let fds: Vec<String> = fds
                .iter()
                .zip(events)
                .map(|(f, e)| {
                    if plain {
                        f.to_string()
                    } else {
                        format!("{{{f}, {}}}", poll_names(*e).join("|"))
                    }
                })
                .collect();
            let timeout = ms.unwrap_or(if *wait { -1 } else { 0 });
            format!("poll({}, {timeout})", fds.join(", "))
        }
    }
}
