//! The kernel's view of every socket of a run, and what changed between two
//! views: the kernel's rows joined to the actors' fds by inode, plus the
//! sockets only an fd knows of (a new or bound TCP socket is not listed by
//! sock_diag; its TCP_INFO state comes from the actor).

use super::rfc;
use crate::call::Addr;
use crate::capture::Packet;
use crate::event::Transition;
use crate::explain::{By, Hop, Note, Path, RstCause, TwEnd};
use crate::kernel::Row;
use crate::sock::{FdOf, Holder, Kind, Rfc, Socket, State};
use crate::wire::FdState;
use std::collections::BTreeMap;

/// Sockets no fd refers to, keyed by kind and address pair, in the order
/// they were first seen: ports differ from run to run, this order does not.
pub type Seen = Vec<(Kind, Option<Addr>, Option<Addr>)>;

/// Joins kernel rows with the actors' fd tables. `keep` says which
/// unowned rows belong to the run (all of them in a private namespace);
/// `prev` is the view before, which says whose fd a socket that lost it
/// had, and which listener a queued connection waits on.
pub fn snapshot(
    rows: &[Row],
    fds: &[&BTreeMap<i32, FdState>],
    keep: &dyn Fn(&Row) -> bool,
    prev: &[Socket],
    seen: &mut Seen,
    rank: &dyn Fn(&Addr) -> usize,
) -> Vec<Socket> {
    let mut out = Vec::new();
    let mut used = vec![false; rows.len()];
    for (actor, table) in fds.iter().enumerate() {
        for st in table.values() {
            let Some(kind) = st.kind else {
                continue;
            };
            let holder = Holder::Fd(FdOf { actor, fd: st.fd });
            let row = rows
                .iter()
                .position(|r| st.inode != 0 && r.inode == st.inode);
            match row {
                Some(i) => {
                    used[i] = true;
                    let r = &rows[i];
                    // unix_diag names a peer by inode only: the fd's view
                    // has its address.
                    let unix = kind.is_unix();
                    out.push(Socket {
                        holder,
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
                        state: r.state,
                        recv_q: r.recv_q,
                        send_q: r.send_q,
                        timer: r.timer,
                        peer_inode: r.peer_inode,
                    });
                }
                None => {
                    // The kernel's tables list every TCP socket but the
                    // CLOSED ones: one missing there is CLOSED now, whatever
                    // it was at its owner's last call (a reset, or a
                    // connection handed to a TIME-WAIT socket), and has no
                    // peer.
                    let (state, peer) = if kind.is_tcp() {
                        (State::Close, None)
                    } else {
                        match st.tcp_state {
                            Some(s) => (s, st.peer.clone()),
                            None if st.peer.is_some() => (State::Established, st.peer.clone()),
                            None => (State::Unconn, None),
                        }
                    };
                    out.push(Socket {
                        holder,
                        inode: st.inode,
                        local: st.local.clone(),
                        peer,
                        state,
                        kind,
                        recv_q: 0,
                        send_q: 0,
                        timer: None,
                        peer_inode: None,
                    })
                }
            }
        }
    }
    let held = out.clone();
    let mut orphans: Vec<Socket> = rows
        .iter()
        .zip(&used)
        .filter(|(r, used)| !**used && keep(r))
        .map(|(r, _)| {
            let mut s = Socket {
                holder: Holder::Nobody,
                inode: r.inode,
                kind: r.kind,
                local: Some(r.local.clone()),
                peer: r.peer.clone(),
                state: r.state,
                recv_q: r.recv_q,
                send_q: r.send_q,
                timer: r.timer,
                peer_inode: r.peer_inode,
            };
            s.holder = orphan_holder(&s, prev, &held);
            s
        })
        .collect();
    // New ones, in an order that does not depend on port numbers: by kind,
    // state, and whose address the local end is (`rank`).
    let key = |s: &Socket| (s.kind, s.local.clone(), s.peer.clone());
    let mut new: Vec<&Socket> = orphans.iter().filter(|s| !seen.contains(&key(s))).collect();
    new.sort_by_key(|s| {
        (
            s.kind,
            s.state,
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

/// Whose a socket that no fd refers to is: the fd that held it before, or
/// the listener it waits on. `held`: the sockets fds refer to now.
fn orphan_holder(s: &Socket, prev: &[Socket], held: &[Socket]) -> Holder {
    if let Some(p) = prev.iter().find(|p| p.same_pair(s) && continues(p, s)) {
        return match p.holder {
            // The fd still refers to its socket: the connection left it.
            Holder::Fd(f) if held.iter().any(|h| h.fd() == Some(f) && h.inode == p.inode) => {
                Holder::Left(f)
            }
            Holder::Fd(f) => Holder::Closed(f),
            h => h,
        };
    }
    let listeners: Vec<Socket> = held
        .iter()
        .filter(|s| s.state == State::Listen)
        .cloned()
        .collect();
    let queued = matches!(
        s.state,
        State::Established | State::SynRecv | State::NewSynRecv | State::CloseWait
    );
    if !queued {
        return Holder::Nobody;
    }
    // The listener on that port; of two (SO_REUSEPORT), the one whose
    // accept queue grew.
    let on_port: Vec<&Socket> = listeners
        .iter()
        .filter(|l| {
            l.kind.domain == s.kind.domain
                && match (&l.local, &s.local) {
                    (Some(a), Some(b)) => a.port() == b.port() && (a == b || is_wildcard(a)),
                    _ => false,
                }
        })
        .collect();
    let grew = |l: &&&Socket| {
        let before = prev
            .iter()
            .find(|p| p.holder == l.holder)
            .map(|p| p.recv_q)
            .unwrap_or(0);
        l.recv_q > before
    };
    on_port
        .iter()
        .find(grew)
        .or(on_port.first())
        .and_then(|l| l.fd())
        .map(|listener| Holder::Queued { listener })
        .unwrap_or(Holder::Nobody)
}

/// Whether `new`, with `old`'s address pair, can be the same socket: a
/// TIME-WAIT is never anything else again (a new connection with its
/// address pair takes it over, as a new socket).
fn continues(old: &Socket, new: &Socket) -> bool {
    old.state != State::TimeWait || new.state == State::TimeWait
}

fn is_wildcard(a: &Addr) -> bool {
    match a {
        Addr::V4(a) => a.ip().is_unspecified(),
        Addr::V6(a) => a.ip().is_unspecified(),
        Addr::Unix(_) => false,
    }
}

/// What a step did, as the diff needs it to say what each change was.
pub struct StepFacts<'a> {
    /// The packets captured during the step; `None` when none are captured.
    pub packets: Option<&'a [Packet]>,
    /// The calls made on each fd during the step, by C name ("exit" for
    /// the fds the kernel closed as a process ended).
    pub calls: &'a [(FdOf, &'static str)],
    /// Why each RST of the step was sent.
    pub rst_cause: &'a dyn Fn(&Packet) -> RstCause,
    /// Milliseconds since the view before.
    pub elapsed_ms: u64,
}

/// What changed from `old` to `new`: state changes, sockets that lost or
/// gained an fd, queues that filled or drained, sockets that appeared with
/// a state of their own (an accepted-to-be connection) or vanished.
pub fn diff(old: &[Socket], new: &[Socket], step: &StepFacts) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut matched = vec![false; new.len()];
    let unmatched_pair = |matched: &[bool], o: &Socket| {
        new.iter().enumerate().position(|(i, n)| {
            !matched[i] && (n.inode == 0 || o.inode == 0) && o.same_pair(n) && continues(o, n)
        })
    };
    for o in old {
        // The same socket by inode: with the same holder, or with another
        // if the old holder no longer has it (its fd was closed, and the
        // socket lives on).
        let kept = new
            .iter()
            .any(|n| o.inode != 0 && n.inode == o.inode && n.holder == o.holder);
        // Another holder only if no old entry was that holder already (two
        // fds of one socket, after a fork, are each themselves).
        let by_inode = new.iter().enumerate().position(|(i, n)| {
            !matched[i]
                && o.inode != 0
                && n.inode == o.inode
                && (n.holder == o.holder
                    || (!kept
                        && !old
                            .iter()
                            .any(|x| x.inode == n.inode && x.holder == n.holder)))
        });
        let Some(i) = by_inode.or_else(|| unmatched_pair(&matched, o)) else {
            // Another fd (a forked copy) may still hold the socket: then
            // only this fd is gone, and the socket goes on.
            let still = new
                .iter()
                .find(|n| o.inode != 0 && n.inode == o.inode && n.fd().is_some());
            let mut notes = match still.and_then(Socket::fd) {
                Some(by) => vec![Note::StillHeld { by }],
                None => notes(Some(o), None, new, step),
            };
            // A connection in the accept queue that the kernel no longer
            // lists, while the listener counts as many waiting as before:
            // it is in the queue still (reset there), and accept() takes it.
            if let Holder::Queued { listener } = o.holder {
                let waiting = |view: &[Socket]| {
                    view.iter()
                        .find(|s| s.fd() == Some(listener) && s.state == State::Listen)
                        .map(|s| s.recv_q)
                };
                if let (Some(was), Some(now)) = (waiting(old), waiting(new))
                    && now >= was
                {
                    notes.push(Note::StillQueued);
                }
            }
            out.push(Transition {
                before: Some(o.clone()),
                after: None,
                notes,
            });
            continue;
        };
        matched[i] = true;
        let n = &new[i];
        // The peer's FIN came to a socket in FIN-WAIT: the kernel moves
        // the connection into a TIME-WAIT socket of its own, and the fd
        // keeps a CLOSED socket. One change, as RFC 9293 sees it.
        if o.kind.is_tcp()
            && o.fd().is_some()
            && n.state == State::Close
            && let Some(j) = unmatched_pair(&matched, o)
        {
            matched[j] = true;
            let tw = &new[j];
            let mut notes = notes(Some(o), Some(tw), new, step);
            notes.push(Note::TimeWaitSocket);
            out.push(Transition {
                before: Some(o.clone()),
                after: Some(tw.clone()),
                notes,
            });
            continue;
        }
        let bound = n.state == State::Close && o.local.is_none() && n.local.is_some();
        if n.state != o.state
            || n.holder != o.holder
            || n.recv_q != o.recv_q
            || n.send_q != o.send_q
            || bound
        {
            out.push(Transition {
                before: Some(o.clone()),
                after: Some(n.clone()),
                notes: notes(Some(o), Some(n), new, step),
            });
        }
    }
    for (i, n) in new.iter().enumerate() {
        let closed_fd = n.fd().is_some() && matches!(n.state, State::Unconn | State::Close);
        // A new fd with a closed socket: a fresh one, or (with bytes to
        // read) a connection accept() took after it was reset in the queue.
        let fresh_fd = closed_fd && n.recv_q == 0 && n.send_q == 0;
        if matched[i] || fresh_fd {
            continue;
        }
        // An fd that refers to a socket another fd held before (a fork's
        // copy) is no new connection.
        let copy = n.inode != 0
            && old
                .iter()
                .any(|o| o.inode == n.inode && o.holder != n.holder);
        out.push(Transition {
            before: None,
            after: Some(n.clone()),
            notes: if copy {
                vec![Note::ForkCopy]
            } else if closed_fd {
                vec![Note::Accepted]
            } else {
                notes(None, Some(n), new, step)
            },
        });
    }
    out
}

/// What a change was: for TCP, its path through RFC 9293's states where
/// the packets seen trace it.
fn notes(
    old: Option<&Socket>,
    new: Option<&Socket>,
    view: &[Socket],
    step: &StepFacts,
) -> Vec<Note> {
    let Some(s) = old.or(new) else {
        return Vec::new();
    };
    // unix_diag marks a datagram socket ESTABLISHED when another connects
    // to it, though it has no peer of its own.
    if let Some(n) = new
        && n.kind.is_unix()
        && !n.kind.is_stream()
        && n.state == State::Established
        && n.peer.is_none()
        && n.fd().is_some()
    {
        return vec![Note::ConnectedTo];
    }
    if !s.kind.is_tcp() {
        return Vec::new();
    }
    let from = old.map(|o| o.state.rfc()).unwrap_or(Rfc::Listen);
    let to = new.map(|n| n.state.rfc()).unwrap_or(Rfc::Closed);
    if let (Some(o), Some(n)) = (old, new)
        && from == to
    {
        return match (o.fd(), n.fd()) {
            _ if n.state == State::Close && o.local.is_none() && n.local.is_some() => {
                vec![Note::Bound]
            }
            (Some(_), None) => vec![Note::KeptAfterClose],
            (None, Some(_)) => vec![Note::Accepted],
            _ => Vec::new(),
        };
    }
    let mut notes = Vec::new();
    if old.and_then(Socket::fd).is_some() && new.is_some_and(|n| n.fd().is_none()) {
        notes.push(Note::KeptAfterClose);
    }
    let within = old
        .or(new)
        .and_then(|s| {
            s.fd().or(match s.holder {
                Holder::Closed(f) => Some(f),
                _ => None,
            })
        })
        .and_then(|f| {
            step.calls
                .iter()
                .find(|(c, _)| *c == f)
                .map(|(_, name)| *name)
        });
    if (from, to) == (Rfc::Closed, Rfc::Listen) {
        notes.push(path(from, vec![hop(Rfc::Listen, By::PassiveOpen)], within));
        return notes;
    }
    let pair = old
        .filter(|o| o.peer.is_some())
        .or(new)
        .and_then(|s| Some((s.local.clone()?, s.peer.clone()?)));
    let Some(packets) = step.packets else {
        notes.push(Note::Uncaptured);
        return notes;
    };
    let hops = match &pair {
        Some((local, peer)) => rfc::trace(from, local, peer, packets, step.rst_cause),
        None => Vec::new(),
    };
    let reached = hops.last().map(|h| h.to).unwrap_or(from);
    if reached == to && !hops.is_empty() {
        notes.push(path(from, hops, within));
    } else if hops.is_empty()
        && to == Rfc::Closed
        && matches!(from, Rfc::Listen | Rfc::SynSent)
        && within.is_some_and(|c| matches!(c, "close" | "exit" | "shutdown"))
    {
        // A listener, or a connect that had no answer yet, closes with no
        // packet of its own.
        notes.push(path(from, vec![hop(Rfc::Closed, By::Close)], within));
    } else if hops.is_empty()
        && matches!(
            (from, to),
            (Rfc::Established, Rfc::FinWait1) | (Rfc::CloseWait, Rfc::LastAck)
        )
        && old.is_some_and(|o| o.send_q > 0)
        && within.is_some_and(|c| matches!(c, "close" | "exit" | "shutdown"))
    {
        // The FIN is queued behind data the peer's shut window holds back.
        notes.push(path(from, vec![hop(to, By::FinQueued)], within));
    } else if from == Rfc::TimeWait && to == Rfc::Closed {
        let o = old.expect("a TIME-WAIT before");
        let taken = view
            .iter()
            .any(|n| n.state != State::TimeWait && n.same_pair(o) || reversed(n, o))
            || packets.iter().any(|p| {
                p.has(crate::capture::SYN)
                    && o.peer.as_ref().is_some_and(|a| a.same(&p.src))
                    && o.local.as_ref().is_some_and(|a| a.same(&p.dst))
            });
        let expired = o
            .timer
            .is_some_and(|t| u64::from(t.expires_ms) <= step.elapsed_ms);
        notes.push(Note::TimeWaitEnded(if taken {
            TwEnd::TakenOver
        } else if expired {
            TwEnd::Expired
        } else {
            TwEnd::Dropped
        }));
    } else {
        notes.push(Note::Unexplained);
    }
    notes
}

/// Whether `n` is the other end of `o`'s connection, in a new socket.
fn reversed(n: &Socket, o: &Socket) -> bool {
    n.kind == o.kind && n.local == o.peer && n.peer == o.local && n.local.is_some()
}

fn hop(to: Rfc, by: By) -> Hop {
    Hop { to, by }
}

fn path(from: Rfc, hops: Vec<Hop>, within: Option<&'static str>) -> Note {
    Note::Path(Path { from, hops, within })
}

/// An address of the run's: the lesson ports, or an address an actor's fd had.
pub fn known_port(addr: &Addr, ports: &[u16]) -> bool {
    addr.port().is_some_and(|p| ports.contains(&p))
}
