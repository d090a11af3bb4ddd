//! Drawing the kernel's view: packets as arrows between the actors'
//! columns, socket state transitions, and the table of every socket.

use super::transcript::{GUTTER, Transcript};
use super::words;
use crate::call::Addr;
use crate::capture::{ACK, FIN, PSH, Packet, Payload, RST, SYN};
use crate::event::Transition;
use crate::sock::Socket;
use owo_colors::Style;
use std::collections::HashMap;

/// What the renderer remembers to draw packets: each TCP flow's initial
/// sequence number.
#[derive(Debug, Default)]
pub struct KernelView {
    isn: HashMap<(Addr, Addr), u32>,
}

impl KernelView {
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
                // Past a bulk transfer's worth, how far the numbers got
                // depends on the kernel's timing: stable output says so much.
                let number = |n: u32| {
                    if t.opts.stable && n as usize > BULK {
                        ">16K".to_string()
                    } else {
                        n.to_string()
                    }
                };
                let mut label =
                    format!("{} seq {}", names.join("-"), number(seq.wrapping_sub(base)));
                if flags & ACK != 0
                    && let Some(peer) = self.isn.get(&(p.dst.clone(), p.src.clone()))
                {
                    label.push_str(&format!(" ack {}", number(ack.wrapping_sub(*peer))));
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
            Payload::Unreachable { about, code, .. } => {
                let v6 = matches!(p.src, crate::call::Addr::V6(_));
                t.words().icmp(*code, v6, about.as_ref())
            }
            Payload::Other => "ICMP".into(),
        }
    }
}

/// How many packets of one step are drawn before the rest are summed up.
const MAX_PACKETS: usize = 12;

/// Payload bytes in one step above which packets are a bulk transfer.
pub(super) const BULK: usize = 16 * 1024;

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
            self.put(out, "", GUTTER + 2, words::BULK, Style::new().dimmed());
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
                let text = self.words().more_packets(packets.len() - MAX_PACKETS);
                self.put(out, "", GUTTER + 2, &text, Style::new().dimmed());
            }
            let p = &packets[i];
            let mut view = std::mem::take(&mut self.kernel);
            let label = view.label(p, self);
            let (from, to) = (p.from, p.to);
            self.kernel = view;
            let unreachable = matches!(p.payload, Payload::Unreachable { .. });
            let label = match (from, to) {
                (None, Some(_)) if unreachable => self.words().lone_packet(&label, &p.dst, true),
                (Some(_), None) => self.words().lone_packet(&label, &p.dst, false),
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

    pub(super) fn transitions(&self, out: &mut String, transitions: &[Transition]) {
        let style = Style::new().green();
        let words = self.words();
        for t in transitions {
            let Some(text) = words.change(t.before.as_ref(), t.after.as_ref(), &t.notes) else {
                continue;
            };
            self.put(out, "", GUTTER + 2, &format!("◆ {text}"), style);
            for note in words.notes(&t.notes, t.before.as_ref()) {
                self.put(out, "", GUTTER + 4, &note, Style::new().dimmed());
            }
        }
    }

    /// A socket as a row of the table, with addresses named as in the
    /// transcript.
    pub fn socket_row(&self, s: &Socket) -> [String; 7] {
        self.words().row(s)
    }

    pub(super) fn table(&self, out: &mut String, sockets: &[Socket]) {
        let rows: Vec<[String; 7]> = sockets.iter().map(|s| self.socket_row(s)).collect();
        self.put(out, "", GUTTER, words::TABLE_TITLE, Style::new().bold());
        if rows.is_empty() {
            self.put(out, "", GUTTER + 2, words::TABLE_EMPTY, Style::new());
            return;
        }
        let mut widths: Vec<usize> = words::TABLE_HEAD.iter().map(|h| h.len()).collect();
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
        let head: Vec<String> = words::TABLE_HEAD.iter().map(|h| h.to_string()).collect();
        out.push_str(&self.paint(&line(&head), Style::new().dimmed()));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        if let Some(legend) = words::ss_names(sockets) {
            self.put(out, "", GUTTER + 2, &legend, Style::new().dimmed());
        }
    }
}
