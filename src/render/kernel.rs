//! Drawing the kernel's view: packets as arrows between the actors'
//! columns, socket state transitions, and the table of every socket.

use super::transcript::{GUTTER, Transcript};
use crate::call::Addr;
use crate::capture::{ACK, FIN, PSH, Packet, Payload, RST, SYN};
use crate::engine::rfc_name;
use crate::event::{Socket, Transition};
use owo_colors::Style;
use std::collections::HashMap;

/// What the renderer remembers to draw packets and sockets: which actor
/// each address belongs to, and each TCP flow's initial sequence number.
#[derive(Debug, Default)]
pub struct KernelView {
    owners: HashMap<Addr, usize>,
    isn: HashMap<(Addr, Addr), u32>,
}

impl KernelView {
    /// Records that `actor` has a socket at `addr`.
    pub fn own(&mut self, addr: &Addr, actor: usize) {
        self.owners.entry(addr.clone()).or_insert(actor);
    }

    /// The actor at `addr`: an exact match, or a socket bound to the
    /// wildcard address on that port.
    pub fn owner(&self, addr: &Addr) -> Option<usize> {
        if let Some(a) = self.owners.get(addr) {
            return Some(*a);
        }
        let port = addr.port()?;
        self.owners
            .iter()
            .filter(|(a, _)| a.port() == Some(port))
            .map(|(_, o)| *o)
            .min()
    }

    /// A packet's label: `SYN-ACK seq 0 ack 1`, with relative numbers.
    pub fn label(&mut self, p: &Packet, t: &Transcript) -> String {
        match &p.payload {
            Payload::Tcp {
                flags,
                seq,
                ack,
                data,
            } => {
                let key = (p.src.clone(), p.dst.clone());
                if flags & SYN != 0 {
                    self.isn.insert(key.clone(), *seq);
                }
                let base = *self.isn.entry(key).or_insert(*seq);
                let mut names: Vec<&str> = Vec::new();
                for (bit, name) in [(SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH")] {
                    if flags & bit != 0 {
                        names.push(name);
                    }
                }
                if flags & ACK != 0 {
                    names.push("ACK");
                }
                let mut label = format!("{} seq {}", names.join("-"), seq.wrapping_sub(base));
                if flags & ACK != 0
                    && let Some(peer) = self.isn.get(&(p.dst.clone(), p.src.clone()))
                {
                    label.push_str(&format!(" ack {}", ack.wrapping_sub(*peer)));
                }
                if !data.is_empty() {
                    label.push_str(&format!(
                        " len {} {}",
                        data.len(),
                        super::quote_bytes(data, 12)
                    ));
                }
                label
            }
            Payload::Udp { data } => {
                format!("UDP len {} {}", data.len(), super::quote_bytes(data, 12))
            }
            Payload::Unreachable { about, .. } => match about {
                Some(a) => format!("ICMP port unreachable: {}", t.names().addr(a)),
                None => "ICMP unreachable".into(),
            },
            Payload::Other => "ICMP".into(),
        }
    }
}

/// How many packets of one step are drawn before the rest are summed up.
const MAX_PACKETS: usize = 12;

/// Payload bytes in one step above which packets are a bulk transfer.
const BULK: usize = 16 * 1024;

impl Transcript {
    pub(super) fn packets(&mut self, out: &mut String, packets: &[Packet]) {
        if !self.opts.packets {
            return;
        }
        // A bulk transfer is cut short. How the kernel splits it into
        // segments and when it sends window updates depends on timing, so
        // stable output shows only that it happened.
        let payload: usize = packets
            .iter()
            .map(|p| match &p.payload {
                Payload::Tcp { data, .. } | Payload::Udp { data } => data.len(),
                _ => 0,
            })
            .sum();
        if self.opts.stable && payload > BULK {
            let text = "… a bulk transfer: segments of data and their ACKs …";
            self.put(out, "", GUTTER + 2, text, Style::new().dimmed());
            // Still learn the flows' initial sequence numbers.
            let mut view = std::mem::take(&mut self.kernel);
            for p in packets {
                view.label(p, self);
            }
            self.kernel = view;
            return;
        }
        let many = packets.len() > MAX_PACKETS;
        let shown: Vec<usize> = if many {
            (0..MAX_PACKETS / 2)
                .chain(packets.len() - MAX_PACKETS / 2..packets.len())
                .collect()
        } else {
            (0..packets.len()).collect()
        };
        for (k, &i) in shown.iter().enumerate() {
            if many && k == MAX_PACKETS / 2 {
                let skipped = packets.len() - MAX_PACKETS;
                let text = format!("… {skipped} more packets …");
                self.put(out, "", GUTTER + 2, &text, Style::new().dimmed());
            }
            let p = &packets[i];
            let mut view = std::mem::take(&mut self.kernel);
            let label = view.label(p, self);
            let (from, to) = match &p.payload {
                // The kernel answers for a port nobody listens on.
                Payload::Unreachable {
                    sender: Some(s), ..
                } => (None, view.owner(s)),
                _ => (view.owner(&p.src), view.owner(&p.dst)),
            };
            self.kernel = view;
            let label = match (from, to, &p.payload) {
                (None, Some(_), Payload::Unreachable { .. }) => {
                    format!("{label} (from the kernel)")
                }
                (Some(_), None, _) => format!(
                    "{label} to {}, where no socket is",
                    self.names().addr(&p.dst)
                ),
                _ => label,
            };
            self.arrow(out, from, to, &label);
        }
    }

    /// An arrow from one actor's column to another's, labelled.
    fn arrow(&self, out: &mut String, from: Option<usize>, to: Option<usize>, label: &str) {
        let style = Style::new().blue();
        let (a, b) = match (from, to) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => {
                self.put(out, "", self.col(a), &format!("{label} ──▶ ✗"), style);
                return;
            }
            (None, Some(b)) => {
                self.put(out, "", self.col(b), &format!("◀── {label}"), style);
                return;
            }
            (None, None) => {
                self.put(out, "", GUTTER + 2, &format!("· {label}"), style);
                return;
            }
        };
        if a == b {
            self.put(out, "", self.col(a), &format!("↺ {label}"), style);
            return;
        }
        let (left, right) = (self.col(a.min(b)), self.col(a.max(b)));
        let label_cols = super::transcript::cols(label);
        let end = (right.saturating_sub(2))
            .max(left + label_cols + 8)
            .min(self.opts.width.max(left + label_cols + 8));
        let inner = end - left;
        let dashes = inner.saturating_sub(label_cols + 2);
        let (l, r) = (2.min(dashes), dashes.saturating_sub(2));
        let line = if a < b {
            format!(
                "{} {label} {}▶",
                "─".repeat(l),
                "─".repeat(r.saturating_sub(1))
            )
        } else {
            format!(
                "◀{} {label} {}",
                "─".repeat(l.saturating_sub(1)),
                "─".repeat(r)
            )
        };
        out.push_str(&" ".repeat(left));
        out.push_str(&self.paint(&line, style));
        out.push('\n');
    }

    /// A socket's name in a transition: `server fd 4`, or `server, no fd`.
    fn socket_label(&self, s: &Socket) -> String {
        match s.owner {
            Some((actor, fd)) => format!("{} fd {fd}", self.actors[actor]),
            None => {
                let who = s.local.as_ref().and_then(|l| self.kernel.owner(l));
                let pair = match (&s.local, &s.peer) {
                    (Some(l), Some(p)) => {
                        format!(" {} ⇄ {}", self.names().addr(l), self.names().addr(p))
                    }
                    (Some(l), None) => format!(" {}", self.names().addr(l)),
                    _ => String::new(),
                };
                match who {
                    Some(a) => format!("{}, no fd,{pair}", self.actors[a]),
                    None => format!("no fd,{pair}"),
                }
            }
        }
    }

    fn state_text(&self, s: &Socket) -> String {
        let name = rfc_name(&s.state).to_string();
        match s.timewait_left {
            Some(left) if !self.opts.stable => format!("{name} ({left} s left)"),
            _ => name,
        }
    }

    fn queues(s: &Socket, stable: bool) -> Vec<String> {
        let plural =
            |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut q = Vec::new();
        if s.state == "LISTEN" {
            if s.recv_q > 0 {
                q.push(format!(
                    "{} in the accept queue",
                    plural(s.recv_q, "connection", "connections")
                ));
            }
            return q;
        }
        if s.kind.starts_with("UDP") {
            // For UDP the kernel counts buffer memory, not payload bytes,
            // and how much a datagram takes differs between kernels.
            if s.recv_q > 0 {
                q.push(if stable {
                    "datagrams waiting to be read".to_string()
                } else {
                    format!("datagrams waiting ({} bytes of receive buffer)", s.recv_q)
                });
            }
            return q;
        }
        // A SYN and a FIN each take one sequence number: the kernel counts
        // them in its queues, but they are not bytes of data.
        let fin_in = matches!(s.state.as_str(), "CLOSE_WAIT" | "LAST_ACK" | "CLOSING");
        let syn_or_fin_out = matches!(
            s.state.as_str(),
            "SYN_SENT" | "SYN_RECV" | "FIN_WAIT1" | "CLOSING" | "LAST_ACK"
        );
        let to_read = if fin_in {
            s.recv_q.saturating_sub(1)
        } else {
            s.recv_q
        };
        let unacked = if syn_or_fin_out {
            s.send_q.saturating_sub(1)
        } else {
            s.send_q
        };
        // How much a bulk transfer has queued depends on the machine's
        // buffer sizes: stable output does not say.
        let bytes = |n: u32| {
            if stable && n as usize > BULK {
                format!("over {} KiB", BULK / 1024)
            } else {
                plural(n, "byte", "bytes")
            }
        };
        if to_read > 0 {
            q.push(format!("{} to read", bytes(to_read)));
        }
        if unacked > 0 {
            q.push(format!("{} not yet acknowledged", bytes(unacked)));
        }
        q
    }

    pub(super) fn transitions(&self, out: &mut String, transitions: &[Transition]) {
        let style = Style::new().green();
        for t in transitions {
            let text = match (&t.before, &t.after) {
                // A change no one could see (the FIN's sequence number read).
                (Some(b), Some(a))
                    if a.state == b.state
                        && a.owner == b.owner
                        && a.local == b.local
                        && Self::queues(a, self.opts.stable)
                            == Self::queues(b, self.opts.stable) =>
                {
                    continue;
                }
                (Some(b), Some(a)) if a.state == "CLOSE" && b.local.is_none() => {
                    let local = a
                        .local
                        .as_ref()
                        .map(|l| self.names().addr(l))
                        .unwrap_or_default();
                    format!(
                        "{}: {}, bound to {local}",
                        self.socket_label(a),
                        self.state_text(a)
                    )
                }
                (Some(b), Some(a)) => {
                    let mut text = if b.owner.is_some() && a.owner.is_none() {
                        format!(
                            "{} is closed; the kernel keeps the connection",
                            self.socket_label(b)
                        )
                    } else if b.owner.is_none() && a.owner.is_some() {
                        format!(
                            "{} takes the connection from the accept queue",
                            self.socket_label(a)
                        )
                    } else {
                        self.socket_label(a)
                    };
                    if a.state != b.state {
                        text.push_str(&format!(
                            ": {} → {}",
                            self.state_text(b),
                            self.state_text(a)
                        ));
                    } else {
                        text.push_str(&format!(": {}", self.state_text(a)));
                    }
                    let (qa, qb) = (
                        Self::queues(a, self.opts.stable),
                        Self::queues(b, self.opts.stable),
                    );
                    if qa != qb {
                        if qa.is_empty() {
                            text.push_str(", queues empty");
                        } else {
                            text.push_str(&format!(", {}", qa.join(", ")));
                        }
                    }
                    text
                }
                (None, Some(a))
                    if a.owner.is_some() && matches!(a.state.as_str(), "UNCONN" | "CLOSE") =>
                {
                    continue;
                }
                (None, Some(a)) if t.rfc.as_deref() == Some(crate::engine::COPY) => {
                    format!(
                        "{}: {}, the same socket as its parent's",
                        self.socket_label(a),
                        self.state_text(a)
                    )
                }
                (None, Some(a)) => {
                    let new = if a.owner.is_some() && a.state == "ESTABLISHED" {
                        "new connection, "
                    } else {
                        ""
                    };
                    let mut text = format!("{}: {new}{}", self.socket_label(a), self.state_text(a));
                    if a.owner.is_none() && a.state == "ESTABLISHED" {
                        text.push_str(", waiting in the accept queue");
                    }
                    for q in Self::queues(a, self.opts.stable) {
                        text.push_str(&format!(", {q}"));
                    }
                    text
                }
                (Some(b), None) => {
                    if b.state == "CLOSE" || b.state == "UNCONN" {
                        continue;
                    }
                    if t.rfc
                        .as_deref()
                        .is_some_and(|r| r.contains("another still does"))
                    {
                        format!(
                            "{} is closed; the socket is not: {}",
                            self.socket_label(b),
                            self.state_text(b)
                        )
                    } else {
                        format!("{}: {} → gone", self.socket_label(b), self.state_text(b))
                    }
                }
                (None, None) => continue,
            };
            self.put(out, "", GUTTER + 2, &format!("◆ {text}"), style);
            if let Some(rfc) = &t.rfc {
                self.put(out, "", GUTTER + 4, rfc, Style::new().dimmed());
            }
        }
    }

    /// A socket as a row of the table: socket, type, local, peer, state,
    /// recv-q, send-q, with addresses named as in the transcript.
    pub fn socket_row(&self, s: &Socket) -> [String; 7] {
        let addr = |a: &Option<Addr>| {
            a.as_ref()
                .map(|a| self.names().addr(a))
                .unwrap_or_else(|| "-".into())
        };
        [
            match s.owner {
                Some((a, fd)) => format!("{} fd {fd}", self.actors[a]),
                None => "no fd".into(),
            },
            s.kind.clone(),
            addr(&s.local),
            addr(&s.peer),
            self.state_text(s),
            s.recv_q.to_string(),
            s.send_q.to_string(),
        ]
    }

    pub(super) fn table(&self, out: &mut String, sockets: &[Socket]) {
        let head = [
            "socket", "type", "local", "peer", "state", "recv-q", "send-q",
        ];
        let rows: Vec<[String; 7]> = sockets.iter().map(|s| self.socket_row(s)).collect();
        self.put(
            out,
            "",
            GUTTER,
            "sockets, as the kernel reports them:",
            Style::new().bold(),
        );
        if rows.is_empty() {
            self.put(
                out,
                "",
                GUTTER + 2,
                "none: every socket of the run is gone",
                Style::new(),
            );
            return;
        }
        let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(super::transcript::cols(c));
            }
        }
        let line = |cells: &[String]| {
            let mut s = " ".repeat(GUTTER + 2);
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(w - super::transcript::cols(c) + 2));
                }
            }
            s.trim_end().to_string()
        };
        let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
        out.push_str(&self.paint(&line(&head), Style::new().dimmed()));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        // Where ss (iproute2) writes a state differently from RFC 9293.
        let mut legend = Vec::new();
        for (state, ss) in [
            ("ESTABLISHED", "ESTAB"),
            ("CLOSE", "UNCONN"),
            ("SYN_RECV", "SYN-RECV"),
        ] {
            if sockets.iter().any(|s| s.state == state) {
                legend.push(format!("{} as {ss}", rfc_name(state)));
            }
        }
        if !legend.is_empty() {
            let text = format!("(ss writes {})", legend.join(", "));
            self.put(out, "", GUTTER + 2, &text, Style::new().dimmed());
        }
    }
}
