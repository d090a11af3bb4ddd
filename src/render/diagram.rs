//! RFC 9293's TCP state diagram, drawn in a terminal's cells (78 x 22,
//! so it fits an 80 x 24 screen): the eleven states, the arrows between
//! them with the events on them, each socket of the run as a short label
//! at its state, and the arrows the last step took drawn heavy (a shape,
//! not a colour; the full-screen view makes them bold too).

use crate::sock::Rfc;

pub const WIDTH: usize = 78;
pub const HEIGHT: usize = 22;

/// The diagram's cells: each a character, and whether it is on an arrow
/// the last step took.
pub struct Diagram {
    pub cells: Vec<Vec<(char, bool)>>,
    /// Hops the last step took that the figure has no arrow for (a
    /// listener closed, a reset): said in words beside it.
    pub undrawn: Vec<(Rfc, Rfc)>,
}

impl Diagram {
    /// The hops the figure has no arrow for, in a line (empty if none).
    pub fn undrawn_text(&self) -> String {
        if self.undrawn.is_empty() {
            return String::new();
        }
        let hops: Vec<String> = self
            .undrawn
            .iter()
            .map(|(a, b)| format!("{} → {}", name(*a), name(*b)))
            .collect();
        format!(
            "also this step, with no arrow in RFC 9293's figure: {}",
            hops.join(", ")
        )
    }

    /// The diagram as plain text, a line per row.
    pub fn text(&self) -> String {
        self.cells
            .iter()
            .map(|row| {
                let line: String = row.iter().map(|(c, _)| *c).collect();
                format!("{}\n", line.trim_end())
            })
            .collect()
    }
}

/// Where a state's box is: its row and column, and where the labels of
/// the sockets in it go (row, column, width).
struct Place {
    state: Rfc,
    row: usize,
    col: usize,
    label: (usize, usize, usize),
}

/// The boxes. CLOSED is drawn twice, as the RFC draws it: where sockets
/// start (top) and where connections end (bottom right); sockets in it
/// are labelled at the top.
const PLACES: &[Place] = &[
    place(Rfc::Closed, 1, 33, (0, 43, 34)),
    place(Rfc::Listen, 5, 8, (4, 1, 9)),
    place(Rfc::SynSent, 5, 60, (4, 66, 12)),
    place(Rfc::SynReceived, 9, 6, (10, 1, 12)),
    place(Rfc::Established, 12, 32, (10, 30, 34)),
    place(Rfc::FinWait1, 15, 1, (15, 14, 18)),
    place(Rfc::Closing, 16, 33, (15, 34, 18)),
    place(Rfc::CloseWait, 15, 63, (16, 70, 8)),
    place(Rfc::FinWait2, 19, 1, (21, 1, 34)),
    place(Rfc::TimeWait, 19, 32, (19, 44, 19)),
    place(Rfc::LastAck, 19, 64, (18, 70, 8)),
];

const fn place(state: Rfc, row: usize, col: usize, label: (usize, usize, usize)) -> Place {
    Place {
        state,
        row,
        col,
        label,
    }
}

/// An arrow: from, to, the points it goes through, and its event.
struct Arrow {
    from: Rfc,
    to: Rfc,
    points: &'static [(usize, usize)],
    label: (usize, usize, &'static str),
}

const ARROWS: &[Arrow] = &[
    arrow(
        Rfc::Closed,
        Rfc::Listen,
        &[(2, 35), (3, 35), (3, 11), (4, 11)],
        (2, 14, "passive OPEN"),
    ),
    arrow(
        Rfc::Closed,
        Rfc::SynSent,
        &[(1, 42), (1, 64), (4, 64)],
        (2, 45, "active OPEN, snd SYN"),
    ),
    arrow(
        Rfc::Listen,
        Rfc::SynSent,
        &[(5, 17), (5, 59)],
        (6, 30, "SEND, snd SYN"),
    ),
    arrow(
        Rfc::Listen,
        Rfc::SynReceived,
        &[(6, 11), (8, 11)],
        (7, 13, "rcv SYN, snd SYN,ACK"),
    ),
    arrow(
        Rfc::SynSent,
        Rfc::SynReceived,
        &[(6, 62), (9, 62), (9, 21)],
        (8, 36, "rcv SYN, snd ACK"),
    ),
    arrow(
        Rfc::SynSent,
        Rfc::Established,
        &[(6, 68), (12, 68), (12, 46)],
        (11, 47, "rcv SYN,ACK, snd ACK"),
    ),
    arrow(
        Rfc::SynReceived,
        Rfc::Established,
        &[(10, 14), (12, 14), (12, 31)],
        (11, 16, "rcv ACK of SYN"),
    ),
    arrow(
        Rfc::Established,
        Rfc::FinWait1,
        &[(12, 36), (13, 36), (13, 6), (14, 6)],
        (14, 9, "CLOSE, snd FIN"),
    ),
    arrow(
        Rfc::Established,
        Rfc::CloseWait,
        &[(12, 40), (13, 40), (13, 68), (14, 68)],
        (14, 47, "rcv FIN, snd ACK"),
    ),
    arrow(
        Rfc::FinWait1,
        Rfc::FinWait2,
        &[(16, 3), (18, 3)],
        (17, 5, "rcv ACK of FIN"),
    ),
    arrow(
        Rfc::FinWait1,
        Rfc::Closing,
        &[(15, 10), (16, 10), (16, 32)],
        (17, 21, "rcv FIN, snd ACK"),
    ),
    arrow(
        Rfc::FinWait2,
        Rfc::TimeWait,
        &[(19, 14), (19, 31)],
        (20, 14, "rcv FIN, snd ACK"),
    ),
    arrow(
        Rfc::Closing,
        Rfc::TimeWait,
        &[(17, 37), (18, 37)],
        (18, 39, "rcv ACK of FIN"),
    ),
    arrow(
        Rfc::CloseWait,
        Rfc::LastAck,
        &[(16, 68), (18, 68)],
        (17, 53, "CLOSE, snd FIN"),
    ),
    arrow(
        Rfc::TimeWait,
        Rfc::Closed,
        &[(20, 37), (21, 37), (21, 63)],
        (20, 39, "timeout 2MSL"),
    ),
    arrow(
        Rfc::LastAck,
        Rfc::Closed,
        &[(20, 68)],
        (20, 53, "rcv ACK of FIN"),
    ),
];

const fn arrow(
    from: Rfc,
    to: Rfc,
    points: &'static [(usize, usize)],
    label: (usize, usize, &'static str),
) -> Arrow {
    Arrow {
        from,
        to,
        points,
        label,
    }
}

/// RFC 9293's name for a state, as the words write it.
fn name(s: Rfc) -> &'static str {
    super::words::rfc(s)
}

struct Canvas {
    cells: Vec<Vec<(char, bool)>>,
}

impl Canvas {
    fn put(&mut self, r: usize, c: usize, ch: char, strong: bool) {
        if let Some(cell) = self.cells.get_mut(r).and_then(|row| row.get_mut(c)) {
            *cell = (ch, strong || cell.1);
        }
    }

    fn text(&mut self, r: usize, c: usize, s: &str) {
        for (i, ch) in s.chars().enumerate() {
            self.put(r, c + i, ch, false);
        }
    }

    /// An orthogonal line through `points`, with a head at the last.
    fn line(&mut self, points: &[(usize, usize)], strong: bool) {
        let (h, v) = if strong {
            ('━', '┃')
        } else {
            ('─', '│')
        };
        let dir = |a: (usize, usize), b: (usize, usize)| -> (i32, i32) {
            (
                (b.0 as i32 - a.0 as i32).signum(),
                (b.1 as i32 - a.1 as i32).signum(),
            )
        };
        for w in points.windows(2) {
            let (a, b) = (w[0], w[1]);
            let d = dir(a, b);
            let (mut r, mut c) = (a.0 as i32, a.1 as i32);
            while (r, c) != (b.0 as i32, b.1 as i32) {
                self.put(r as usize, c as usize, if d.0 == 0 { h } else { v }, strong);
                r += d.0;
                c += d.1;
            }
        }
        // Corners where the line turns.
        for w in points.windows(3) {
            let (din, dout) = (dir(w[0], w[1]), dir(w[1], w[2]));
            let corner = match (din, dout, strong) {
                ((0, 1), (1, 0), false) | ((-1, 0), (0, -1), false) => '┐',
                ((0, 1), (-1, 0), false) | ((1, 0), (0, -1), false) => '┘',
                ((0, -1), (1, 0), false) | ((-1, 0), (0, 1), false) => '┌',
                ((0, -1), (-1, 0), false) | ((1, 0), (0, 1), false) => '└',
                ((0, 1), (1, 0), true) | ((-1, 0), (0, -1), true) => '┓',
                ((0, 1), (-1, 0), true) | ((1, 0), (0, -1), true) => '┛',
                ((0, -1), (1, 0), true) | ((-1, 0), (0, 1), true) => '┏',
                _ => '┗',
            };
            self.put(w[1].0, w[1].1, corner, strong);
        }
        if let [only] = points {
            self.put(only.0, only.1, '▼', strong);
        }
        if let [.., a, b] = points {
            let head = match dir(*a, *b) {
                (0, 1) => '▶',
                (0, -1) => '◀',
                (1, 0) => '▼',
                _ => '▲',
            };
            self.put(b.0, b.1, head, strong);
        }
    }
}

/// The diagram, with `sockets` (each state and its label, such as
/// `server:3`) and the hops the last step took (`taken`) drawn heavy.
pub fn draw(sockets: &[(Rfc, String)], taken: &[(Rfc, Rfc)]) -> Diagram {
    let mut c = Canvas {
        cells: vec![vec![(' ', false); WIDTH]; HEIGHT],
    };
    for a in ARROWS {
        c.line(a.points, taken.contains(&(a.from, a.to)));
    }
    for a in ARROWS {
        c.text(a.label.0, a.label.1, a.label.2);
    }
    for p in PLACES {
        c.text(p.row, p.col, &format!("[{}]", name(p.state)));
        let labels: Vec<&str> = sockets
            .iter()
            .filter(|(s, _)| *s == p.state)
            .map(|(_, l)| l.as_str())
            .collect();
        if !labels.is_empty() {
            let (r, col, w) = p.label;
            c.text(r, col, &fit(&labels, w));
        }
    }
    // Where connections end: CLOSED again, bottom right.
    c.text(21, 64, "[CLOSED]");
    let mut undrawn: Vec<(Rfc, Rfc)> = taken
        .iter()
        .filter(|h| !ARROWS.iter().any(|a| (a.from, a.to) == **h))
        .copied()
        .collect();
    undrawn.dedup();
    Diagram {
        cells: c.cells,
        undrawn,
    }
}

/// Labels joined, cut to `w` columns with a count of those left out.
fn fit(labels: &[&str], w: usize) -> String {
    let mut out = String::new();
    for (i, l) in labels.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { " " };
        let rest = labels.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest}")
        } else {
            String::new()
        };
        if out.chars().count() + sep.len() + l.chars().count() + more.len() > w {
            out.push_str(&format!(" +{}", labels.len() - i));
            break;
        }
        out.push_str(sep);
        out.push_str(l);
    }
    out
}

/// The diagram of a run's TCP sockets after a step: each labelled at its
/// state, and the hops the step's changes took drawn heavy.
pub fn of_run(
    sockets: &[crate::sock::Socket],
    transitions: &[crate::event::Transition],
    actors: &[String],
) -> Diagram {
    draw(&labels(sockets, actors), &taken(transitions))
}

/// Each TCP socket's state and label: `server:3`, or `client:-` for a
/// socket no fd holds.
pub fn labels(sockets: &[crate::sock::Socket], actors: &[String]) -> Vec<(Rfc, String)> {
    use crate::sock::Holder;
    let name = |a: usize| actors.get(a).map(String::as_str).unwrap_or("?");
    sockets
        .iter()
        .filter(|s| s.kind.is_tcp())
        .map(|s| {
            let label = match s.holder {
                Holder::Fd(f) => format!("{}:{}", name(f.actor), f.fd),
                h => match h.actor() {
                    Some(a) => format!("{}:-", name(a)),
                    None => "-".to_string(),
                },
            };
            (s.state.rfc(), label)
        })
        .collect()
}

/// Every socket change among a step's events.
pub fn transitions_of(events: &[crate::event::Event]) -> Vec<crate::event::Transition> {
    events
        .iter()
        .filter_map(|e| match e {
            crate::event::Event::States { transitions } => Some(transitions.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The hops through RFC 9293's states that changes took, as their notes
/// trace them from the packets seen.
pub fn taken(transitions: &[crate::event::Transition]) -> Vec<(Rfc, Rfc)> {
    let mut taken = Vec::new();
    for t in transitions {
        for n in &t.notes {
            if let crate::explain::Note::Path(p) = n {
                let mut from = p.from;
                for hop in &p.hops {
                    taken.push((from, hop.to));
                    from = hop.to;
                }
            }
        }
    }
    taken
}
