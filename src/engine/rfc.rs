//! RFC 9293's state machine, run over the packets a step captured, to
//! trace the path a TCP socket took between two views of the kernel. The
//! kernel's states are the facts; this model only annotates them, and
//! only when the packets seen lead from the state before to the state
//! after.

use crate::call::Addr;
use crate::capture::{ACK, FIN, Packet, RST, SYN};
use crate::explain::{By, Hop, RstCause};
use crate::sock::Rfc;

/// Runs the state machine from `from` over the packets of the connection
/// `local` ⇄ `peer`, in order: the hops it takes. `cause` says why each RST
/// seen was sent.
pub fn trace(
    from: Rfc,
    local: &Addr,
    peer: &Addr,
    packets: &[Packet],
    cause: &dyn Fn(&Packet) -> RstCause,
) -> Vec<Hop> {
    let mut state = from;
    let mut hops = Vec::new();
    // The sequence number our SYN or FIN takes, to know when it is acked.
    let mut ours: Option<u32> = None;
    for p in packets {
        let (Some(flags), crate::capture::Payload::Tcp { seq, ack, .. }) =
            (p.tcp_flags(), &p.payload)
        else {
            continue;
        };
        // A socket connected to itself sends and receives each segment.
        let sent = p.src.same(local) && p.dst.same(peer);
        let received = p.src.same(peer) && p.dst.same(local);
        for out in [true, false] {
            if (out && !sent) || (!out && !received) {
                continue;
            }
            let has = |f: u8| flags & f == f;
            let acks_ours = flags & ACK != 0 && ours.is_some_and(|s| after(*ack, s));
            let step = |to: Rfc, by: By| Some(Hop { to, by });
            let hop = if has(RST) {
                match state {
                    Rfc::Closed | Rfc::Listen => None,
                    _ if out => step(Rfc::Closed, By::SentRst(cause(p))),
                    _ => step(Rfc::Closed, By::GotRst(cause(p))),
                }
            } else {
                match (state, out) {
                    (Rfc::Closed, true) if has(SYN) && !has(ACK) => {
                        ours = Some(*seq);
                        step(Rfc::SynSent, By::SentSyn)
                    }
                    // The SYN sent again, when its retransmission timer fired.
                    (Rfc::SynSent, true) if has(SYN) && !has(ACK) => {
                        ours = Some(*seq);
                        None
                    }
                    (Rfc::Listen, false) if has(SYN) && !has(ACK) => {
                        step(Rfc::SynReceived, By::GotSyn)
                    }
                    // The SYN-ACK a new connection sends carries its SYN.
                    (Rfc::SynReceived, true) if has(SYN) => {
                        ours = Some(*seq);
                        None
                    }
                    (Rfc::SynSent, false) if has(SYN) && acks_ours => {
                        step(Rfc::Established, By::GotSynAck)
                    }
                    // A SYN in SYN-SENT: both ends opened at once.
                    (Rfc::SynSent, false) if has(SYN) => step(Rfc::SynReceived, By::GotSyn),
                    (Rfc::SynReceived, false) if acks_ours => step(Rfc::Established, By::GotAck),
                    (Rfc::Established | Rfc::SynReceived, true) if has(FIN) => {
                        ours = Some(seq.wrapping_add(p.data().len() as u32));
                        step(Rfc::FinWait1, By::SentFin)
                    }
                    (Rfc::CloseWait, true) if has(FIN) => {
                        ours = Some(seq.wrapping_add(p.data().len() as u32));
                        step(Rfc::LastAck, By::SentFin)
                    }
                    // A FIN that leaves after the state changed: close()
                    // with data still to send moves to FIN-WAIT-1 (or
                    // LAST-ACK) at once, and the FIN follows the data.
                    (Rfc::FinWait1 | Rfc::LastAck | Rfc::Closing, true) if has(FIN) => {
                        ours = Some(seq.wrapping_add(p.data().len() as u32));
                        None
                    }
                    (Rfc::Established, false) if has(FIN) => step(Rfc::CloseWait, By::GotFin),
                    (Rfc::FinWait1, false) if has(FIN) && acks_ours => {
                        step(Rfc::TimeWait, By::GotFinAckingOurs)
                    }
                    (Rfc::FinWait1, false) if has(FIN) => step(Rfc::Closing, By::GotFin),
                    (Rfc::FinWait1, false) if acks_ours => step(Rfc::FinWait2, By::GotAckOfFin),
                    (Rfc::FinWait2, false) if has(FIN) => step(Rfc::TimeWait, By::GotFin),
                    (Rfc::Closing, false) if acks_ours => step(Rfc::TimeWait, By::GotAckOfFin),
                    (Rfc::LastAck, false) if acks_ours => step(Rfc::Closed, By::GotAckOfFin),
                    _ => None,
                }
            };
            if let Some(h) = hop {
                state = h.to;
                hops.push(h);
            }
        }
    }
    hops
}

/// Whether sequence number `a` is after `b`, in wrapping arithmetic.
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Payload;
    use std::net::SocketAddrV4;

    fn a(port: u16) -> Addr {
        Addr::V4(SocketAddrV4::new([127, 0, 0, 1].into(), port))
    }

    fn seg(src: u16, dst: u16, flags: u8, seq: u32, ack: u32) -> Packet {
        Packet {
            src: a(src),
            dst: a(dst),
            from: None,
            to: None,
            host: None,
            payload: Payload::Tcp {
                flags,
                seq,
                ack,
                data: Vec::new(),
            },
        }
    }

    fn path(hops: &[Hop]) -> Vec<Rfc> {
        hops.iter().map(|h| h.to).collect()
    }

    const NONE: &dyn Fn(&Packet) -> RstCause = &|_| RstCause::Unknown;

    #[test]
    fn an_active_open_goes_through_syn_sent() {
        let p = [
            seg(5000, 8080, SYN, 100, 0),
            seg(8080, 5000, SYN | ACK, 900, 101),
            seg(5000, 8080, ACK, 101, 901),
        ];
        let hops = trace(Rfc::Closed, &a(5000), &a(8080), &p, NONE);
        assert_eq!(path(&hops), [Rfc::SynSent, Rfc::Established]);
        let child = trace(Rfc::Listen, &a(8080), &a(5000), &p, NONE);
        assert_eq!(path(&child), [Rfc::SynReceived, Rfc::Established]);
    }

    #[test]
    fn a_self_connect_is_a_simultaneous_open_and_close() {
        // One socket, local = peer: each segment is both sent and received.
        let me = a(5000);
        let p = [
            seg(5000, 5000, SYN, 100, 0),
            seg(5000, 5000, SYN | ACK, 100, 101),
        ];
        let hops = trace(Rfc::Closed, &me, &me, &p, NONE);
        assert_eq!(
            path(&hops),
            [Rfc::SynSent, Rfc::SynReceived, Rfc::Established]
        );
        // Its FIN comes back to it before the FIN is acknowledged.
        let p = [
            seg(5000, 5000, FIN | ACK, 101, 101),
            seg(5000, 5000, ACK, 102, 102),
        ];
        let hops = trace(Rfc::Established, &me, &me, &p, NONE);
        assert_eq!(path(&hops), [Rfc::FinWait1, Rfc::Closing, Rfc::TimeWait]);
    }

    #[test]
    fn the_passive_close_ends_in_closed_and_the_active_in_time_wait() {
        let p = [
            seg(8080, 5000, FIN | ACK, 1, 1),
            seg(5000, 8080, ACK, 1, 2),
            seg(5000, 8080, FIN | ACK, 1, 2),
            seg(8080, 5000, ACK, 2, 2),
        ];
        let active = trace(Rfc::Established, &a(8080), &a(5000), &p, NONE);
        assert_eq!(path(&active), [Rfc::FinWait1, Rfc::FinWait2, Rfc::TimeWait]);
        let passive = trace(Rfc::Established, &a(5000), &a(8080), &p, NONE);
        assert_eq!(path(&passive), [Rfc::CloseWait, Rfc::LastAck, Rfc::Closed]);
    }

    #[test]
    fn a_fin_sent_behind_data_is_known_when_acknowledged() {
        // close() with data still queued: FIN-WAIT-1 at once, the FIN
        // leaves with the last of the data in a later step.
        let mut fin = seg(5000, 8080, FIN | PSH_ACK, 16385, 1);
        if let Payload::Tcp { data, .. } = &mut fin.payload {
            *data = vec![b'x'; 3616];
        }
        let p = [fin, seg(8080, 5000, ACK, 1, 20002)];
        let hops = trace(Rfc::FinWait1, &a(5000), &a(8080), &p, NONE);
        assert_eq!(path(&hops), [Rfc::FinWait2]);
        assert_eq!(hops[0].by, By::GotAckOfFin);
    }

    const PSH_ACK: u8 = crate::capture::PSH | ACK;

    #[test]
    fn a_reset_closes_at_once() {
        let p = [seg(8080, 5000, RST | ACK, 1, 33)];
        let hops = trace(Rfc::Established, &a(5000), &a(8080), &p, &|_| {
            RstCause::UnreadData { bytes: 32 }
        });
        assert_eq!(path(&hops), [Rfc::Closed]);
        assert_eq!(hops[0].by, By::GotRst(RstCause::UnreadData { bytes: 32 }));
    }
}
