//! How addresses are shown: the lesson's own ports as written, ephemeral
//! ports by number or, in stable output, by a name that is the same every run.

use crate::call::Addr;
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Names {
    /// Real port to the port the lesson wrote (the same, in a namespace).
    lesson: HashMap<u16, u16>,
    stable: bool,
    /// Ephemeral ports in order of first appearance.
    ephemeral: RefCell<Vec<u16>>,
    /// Autobound unix addresses in order of first appearance.
    autobind: RefCell<Vec<String>>,
    /// For traced programs: the kernel's ephemeral range. Ports outside it
    /// are the programs' own, shown as they are.
    range: Option<(u16, u16)>,
}

fn is_autobind(path: &str) -> bool {
    path.strip_prefix('@')
        .is_some_and(|h| h.len() == 5 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Names {
    /// `ports`: those the lesson writes; `remapped`: (lesson, real) pairs.
    pub fn new(ports: &[u16], remapped: &[(u16, u16)], stable: bool) -> Names {
        let mut lesson: HashMap<u16, u16> = ports.iter().map(|p| (*p, *p)).collect();
        for (l, real) in remapped {
            lesson.remove(l);
            lesson.insert(*real, *l);
        }
        Names {
            lesson,
            stable,
            ephemeral: RefCell::default(),
            autobind: RefCell::default(),
            range: None,
        }
    }

    /// For traced programs: ephemeral ports are those in `range`.
    pub fn with_range(mut self, range: Option<(u16, u16)>) -> Names {
        self.range = range;
        self
    }

    /// Whether `port` is one the kernel picked rather than the lesson.
    pub fn is_ephemeral(&self, port: u16) -> bool {
        port != 0
            && !self.lesson.contains_key(&port)
            && self.range.is_none_or(|(lo, hi)| (lo..=hi).contains(&port))
    }

    /// Whether `port` is shown here for the first time.
    pub fn is_new_ephemeral(&self, port: u16) -> bool {
        self.is_ephemeral(port) && !self.ephemeral.borrow().contains(&port)
    }

    /// The port the lesson wrote for the real `port` (the same, but on the
    /// host's loopback, where lesson ports are remapped).
    pub fn lesson_port(&self, port: u16) -> u16 {
        self.lesson.get(&port).copied().unwrap_or(port)
    }

    pub fn port(&self, port: u16) -> String {
        if let Some(l) = self.lesson.get(&port) {
            return l.to_string();
        }
        if !self.is_ephemeral(port) {
            return port.to_string();
        }
        let mut eph = self.ephemeral.borrow_mut();
        let n = match eph.iter().position(|p| *p == port) {
            Some(n) => n,
            None => {
                eph.push(port);
                eph.len() - 1
            }
        } + 1;
        if self.stable {
            format!("eph{n}")
        } else {
            port.to_string()
        }
    }

    pub fn addr(&self, addr: &Addr) -> String {
        match addr {
            Addr::V4(a) => format!("{}:{}", a.ip(), self.port(a.port())),
            Addr::V6(a) => format!("[{}]:{}", a.ip(), self.port(a.port())),
            // The kernel's autobind names (`@` and five hex digits) change
            // every run: stable output numbers them instead.
            Addr::Unix(p) if self.stable && is_autobind(p) => {
                let mut auto = self.autobind.borrow_mut();
                let n = match auto.iter().position(|a| a == p) {
                    Some(n) => n,
                    None => {
                        auto.push(p.clone());
                        auto.len() - 1
                    }
                } + 1;
                format!("@auto{n}")
            }
            Addr::Unix(_) => addr.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    #[test]
    fn stable_names_follow_first_appearance() {
        let n = Names::new(&[8080], &[], true);
        assert_eq!(n.port(8080), "8080");
        assert!(n.is_new_ephemeral(54012));
        assert_eq!(n.port(54012), "eph1");
        assert_eq!(n.port(40000), "eph2");
        assert_eq!(n.port(54012), "eph1");
        assert!(!n.is_new_ephemeral(54012));
    }

    #[test]
    fn remapped_ports_show_as_the_lesson_writes_them() {
        let n = Names::new(&[8080], &[(8080, 41234)], false);
        let a = Addr::V4(SocketAddrV4::new([127, 0, 0, 1].into(), 41234));
        assert_eq!(n.addr(&a), "127.0.0.1:8080");
        assert_eq!(n.port(50000), "50000");
    }
}
