//! The kernel's view of every socket of a run, and what changed between two
//! views: the rows of `/proc/net` joined to the actors' fds by inode, plus
//! the sockets only an fd knows of (a new or bound TCP socket is not listed
//! in `/proc/net/tcp`; its TCP_INFO state comes from the actor).

use crate::call::Addr;
use crate::event::{Socket, Transition};
use crate::kernel::{Row, tcp_state_name};
use crate::wire::FdState;
use std::collections::BTreeMap;

/// Joins kernel rows with the actors' fd tables. `keep` says which
/// unowned rows belong to the run (all of them in a private namespace).
/// Sockets no fd refers to, keyed by kind and address pair, in the order
/// they were first seen: ports differ from run to run, this order does not.
pub type Seen = Vec<(String, Option<Addr>, Option<Addr>)>;

pub fn snapshot(
    rows: &[Row],
    fds: &[BTreeMap<i32, FdState>],
    keep: &dyn Fn(&Row) -> bool,
    seen: &mut Seen,
    rank: &dyn Fn(&Addr) -> usize,
) -> Vec<Socket> {
    let mut out = Vec::new();
    let mut used = vec![false; rows.len()];
    for (actor, table) in fds.iter().enumerate() {
        for st in table.values() {
            let Some(kind) = st.kind.clone() else {
                continue;
            };
            let row = rows
                .iter()
                .position(|r| st.inode != 0 && r.inode == st.inode);
            match row {
                Some(i) => {
                    used[i] = true;
                    let r = &rows[i];
                    // /proc/net/unix names no peer: the fd's view does.
                    let unix = kind.starts_with("UNIX");
                    out.push(Socket {
                        owner: Some((actor, st.fd)),
                        inode: r.inode,
                        kind,
                        local: if unix {
                            st.local.clone()
                        } else {
                            Some(r.local.clone()).filter(|a| a.port() != Some(0))
                        },
                        peer: if unix {
                            st.peer.clone()
                        } else {
                            r.peer.clone()
                        },
                        state: r.state.clone(),
                        recv_q: r.recv_q,
                        send_q: r.send_q,
                        timewait_left: None,
                    });
                }
                None => {
                    // The kernel's tables list every TCP socket but the
                    // CLOSED ones: one missing there is CLOSED now, whatever
                    // it was at its owner's last call (a reset, or a
                    // connection handed to a TIME-WAIT socket), and has no
                    // peer. A listener is the exception: it is looked up
                    // apart, and may share its address (SO_REUSEPORT).
                    let tcp = kind.starts_with("TCP");
                    let listening = st.tcp_state == Some(10);
                    let (state, peer) = match (&st.tcp_state, tcp) {
                        (Some(_), true) if listening => ("LISTEN".to_string(), None),
                        (_, true) => ("CLOSE".to_string(), None),
                        (Some(s), false) => (tcp_state_name(*s).to_string(), st.peer.clone()),
                        (None, false) if st.peer.is_some() => {
                            ("ESTABLISHED".to_string(), st.peer.clone())
                        }
                        (None, false) => ("UNCONN".to_string(), None),
                    };
                    out.push(Socket {
                        owner: Some((actor, st.fd)),
                        inode: st.inode,
                        local: st.local.clone(),
                        peer,
                        state,
                        kind,
                        recv_q: 0,
                        send_q: 0,
                        timewait_left: None,
                    })
                }
            }
        }
    }
    let mut orphans: Vec<Socket> = rows
        .iter()
        .zip(&used)
        .filter(|(r, used)| !**used && keep(r))
        .map(|(r, _)| Socket {
            owner: None,
            inode: r.inode,
            kind: r.kind.clone(),
            local: Some(r.local.clone()),
            peer: r.peer.clone(),
            state: r.state.clone(),
            recv_q: r.recv_q,
            send_q: r.send_q,
            timewait_left: r.timewait_left,
        })
        .collect();
    // New ones, in an order that does not depend on port numbers: by kind,
    // state, and whose address the local end is (`rank`).
    let key = |s: &Socket| (s.kind.clone(), s.local.clone(), s.peer.clone());
    let mut new: Vec<&Socket> = orphans.iter().filter(|s| !seen.contains(&key(s))).collect();
    new.sort_by_key(|s| {
        (
            s.kind.clone(),
            s.state.clone(),
            s.local.as_ref().map(rank),
            s.peer.as_ref().map(rank),
        )
    });
    for s in new {
        seen.push(key(s));
    }
    orphans.sort_by_key(|s| seen.iter().position(|k| *k == key(s)));
    out.extend(orphans);
    out
}

/// A socket's identity across views: its inode while an fd holds it, else
/// its address pair.
fn same_addrs(a: &Socket, b: &Socket) -> bool {
    a.kind == b.kind && a.local == b.local && a.peer == b.peer && a.peer.is_some()
}

/// What changed from `old` to `new`: state changes, sockets that lost or
/// gained an fd, queues that filled or drained, sockets that appeared with
/// a state of their own (an accepted-to-be connection) or vanished.
pub fn diff(old: &[Socket], new: &[Socket], rst: bool) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut matched_new = vec![false; new.len()];
    for o in old {
        let by_inode = new
            .iter()
            .position(|n| o.inode != 0 && n.inode == o.inode && n.owner == o.owner);
        let found = by_inode.or_else(|| {
            new.iter().enumerate().position(|(i, n)| {
                !matched_new[i] && (n.inode == 0 || o.inode == 0) && same_addrs(o, n)
            })
        });
        match found {
            Some(i) => {
                matched_new[i] = true;
                let n = &new[i];
                let bound = n.state == "CLOSE" && o.local.is_none() && n.local.is_some();
                if n.state != o.state
                    || n.owner != o.owner
                    || n.recv_q != o.recv_q
                    || n.send_q != o.send_q
                    || bound
                {
                    out.push(Transition {
                        before: Some(o.clone()),
                        after: Some(n.clone()),
                        rfc: rfc_note(Some(o), Some(n), rst),
                    });
                }
            }
            None => {
                // Another fd (a forked copy) may still hold the socket: then
                // only this fd is gone, and the socket goes on.
                let still = new
                    .iter()
                    .find(|n| o.inode != 0 && n.inode == o.inode && n.owner.is_some());
                out.push(Transition {
                    before: Some(o.clone()),
                    after: None,
                    rfc: match still {
                        Some(_) => Some(
                            "a socket closes with the last fd that refers to it, and another still does".into(),
                        ),
                        None => rfc_note(Some(o), None, rst),
                    },
                });
            }
        }
    }
    for (i, n) in new.iter().enumerate() {
        if !matched_new[i] && (n.owner.is_none() || n.state != "CLOSE") {
            // An fd that refers to a socket another fd held before (a fork's
            // copy) is no new connection.
            let copy = n.inode != 0 && old.iter().any(|o| o.inode == n.inode && o.owner != n.owner);
            out.push(Transition {
                before: None,
                after: Some(n.clone()),
                rfc: if copy {
                    Some(COPY.into())
                } else {
                    rfc_note(None, Some(n), rst)
                },
            });
        }
    }
    out
}

/// The note on an fd that is a copy of another's (after fork).
pub const COPY: &str =
    "a copy of the parent's fd: one socket, two fds; nothing changed in the kernel";

/// The RFC 9293 state name for a kernel state name.
pub fn rfc_name(kernel: &str) -> &str {
    match kernel {
        "CLOSE" => "CLOSED",
        "SYN_SENT" => "SYN-SENT",
        "SYN_RECV" | "NEW_SYN_RECV" => "SYN-RECEIVED",
        "FIN_WAIT1" => "FIN-WAIT-1",
        "FIN_WAIT2" => "FIN-WAIT-2",
        "TIME_WAIT" => "TIME-WAIT",
        "CLOSE_WAIT" => "CLOSE-WAIT",
        "LAST_ACK" => "LAST-ACK",
        other => other,
    }
}

/// What the RFC 9293 state machine says of a transition the kernel made,
/// and where the two part ways.
/// `rst`: a RST crossed loopback during the step.
fn rfc_note(old: Option<&Socket>, new: Option<&Socket>, rst: bool) -> Option<String> {
    let tcp = |s: &Socket| s.kind.starts_with("TCP");
    fn state(s: Option<&Socket>) -> Option<&str> {
        s.map(|s| s.state.as_str())
    }
    match (old, new) {
        (Some(o), _) | (_, Some(o)) if !tcp(o) => None,
        (Some(o), Some(n)) if o.state == n.state => {
            if n.state == "CLOSE" && o.local.is_none() && n.local.is_some() {
                Some(
                    "RFC 9293 has no state for a bound socket: to the kernel it is still CLOSED, and ss does not list it"
                        .into(),
                )
            } else if o.owner.is_some() && n.owner.is_none() {
                Some(format!(
                    "the fd is closed, but the connection lives on in the kernel, in {}",
                    rfc_name(&n.state)
                ))
            } else if o.owner.is_none() && n.owner.is_some() {
                Some("accept() took the connection from the accept queue: its state does not change".into())
            } else {
                None
            }
        }
        (Some(o), n) if rst && o.state != "LISTEN" && n.is_none_or(|n| n.state == "CLOSE") => Some(match n {
            Some(_) => "a RST ended the connection at once (RFC 9293: → CLOSED); the fd still holds a socket with no connection".into(),
            None if o.owner.is_some() => "closed with unread data: the kernel sent RST, not FIN, and forgot the connection at once (RFC 9293: → CLOSED, no TIME-WAIT)".into(),
            None => "a RST ended the connection at once (RFC 9293: → CLOSED)".into(),
        }),
        (Some(o), Some(n))
            if n.state == "CLOSE" && matches!(o.state.as_str(), "FIN_WAIT1" | "FIN_WAIT2" | "CLOSING") =>
        {
            Some("the peer's FIN came: the connection goes on in a TIME-WAIT socket of its own, with no fd; the fd keeps a CLOSED socket".into())
        }
        _ => match (state(old), state(new)) {
            (Some("CLOSE"), Some("LISTEN")) => Some("RFC 9293: CLOSED → LISTEN on a passive OPEN".into()),
            (Some("CLOSE"), Some("ESTABLISHED")) => Some(
                "RFC 9293: CLOSED → SYN-SENT (SYN sent) → ESTABLISHED (SYN-ACK received): on loopback the whole handshake happens inside connect()".into(),
            ),
            (Some("CLOSE"), Some("SYN_SENT")) => Some("RFC 9293: CLOSED → SYN-SENT, the SYN is out".into()),
            (Some("SYN_SENT"), Some("ESTABLISHED")) => Some("RFC 9293: SYN-SENT → ESTABLISHED on the SYN-ACK".into()),
            (Some("ESTABLISHED"), Some("FIN_WAIT2")) => Some(
                "RFC 9293: ESTABLISHED → FIN-WAIT-1 (FIN sent) → FIN-WAIT-2 (its ACK came back at once)".into(),
            ),
            (Some("ESTABLISHED"), Some("FIN_WAIT1")) => Some("RFC 9293: ESTABLISHED → FIN-WAIT-1, the FIN is out".into()),
            (Some("ESTABLISHED"), Some("CLOSE_WAIT")) => Some("RFC 9293: ESTABLISHED → CLOSE-WAIT on receiving a FIN".into()),
            (Some("FIN_WAIT2"), Some("TIME_WAIT")) => Some("RFC 9293: FIN-WAIT-2 → TIME-WAIT on receiving the peer's FIN".into()),
            (Some("FIN_WAIT1"), Some("TIME_WAIT")) => Some(
                "RFC 9293: FIN-WAIT-1 → CLOSING (FIN received) → TIME-WAIT (ACK of our FIN)".into(),
            ),
            (Some("FIN_WAIT1"), Some("FIN_WAIT2")) => Some("RFC 9293: FIN-WAIT-1 → FIN-WAIT-2 when our FIN is acknowledged".into()),
            (Some("CLOSE_WAIT"), Some("LAST_ACK")) => Some("RFC 9293: CLOSE-WAIT → LAST-ACK, our FIN is out".into()),
            (Some("CLOSE_WAIT"), None) => Some(
                "RFC 9293: CLOSE-WAIT → LAST-ACK (FIN sent) → CLOSED (its ACK came back at once): the side that closes second keeps nothing".into(),
            ),
            (Some("LAST_ACK"), None) => Some("RFC 9293: LAST-ACK → CLOSED when our FIN is acknowledged".into()),
            (Some("TIME_WAIT"), None) => Some("RFC 9293: TIME-WAIT → CLOSED after 2 MSL (Linux: 60 s)".into()),
            (Some(_), Some("CLOSE")) => Some("RFC 9293: → CLOSED; the fd still holds the socket, with no connection".into()),
            (Some("ESTABLISHED"), None) => Some("RFC 9293: → CLOSED; a reset drops the connection at once".into()),
            (Some("LISTEN"), None) => Some("RFC 9293: LISTEN → CLOSED on close".into()),
            (None, Some("ESTABLISHED")) if new.is_some_and(|n| n.owner.is_none()) => Some(
                "RFC 9293: LISTEN → SYN-RECEIVED → ESTABLISHED for a new connection: it waits in the accept queue with no fd".into(),
            ),
            (None, Some("ESTABLISHED")) => Some(
                "RFC 9293: LISTEN → SYN-RECEIVED → ESTABLISHED: the kernel made the connection during connect(), and accept() took it".into(),
            ),
            (None, Some("TIME_WAIT")) => Some("the kernel keeps the connection in TIME-WAIT, a socket of its own that no fd refers to".into()),
            _ => None,
        },
    }
}

/// An address of the run's: the lesson ports, or an address an actor's fd had.
pub fn known_port(addr: &Addr, ports: &[u16]) -> bool {
    addr.port().is_some_and(|p| ports.contains(&p))
}
