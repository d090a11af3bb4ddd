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
        }
    }

    /// Whether `port` is one the kernel picked rather than the lesson.
    pub fn is_ephemeral(&self, port: u16) -> bool {
        port != 0 && !self.lesson.contains_key(&port)
    }

    /// Whether `port` is shown here for the first time.
    pub fn is_new_ephemeral(&self, port: u16) -> bool {
        self.is_ephemeral(port) && !self.ephemeral.borrow().contains(&port)
    }

    pub fn port(&self, port: u16) -> String {
        if let Some(l) = self.lesson.get(&port) {
            return l.to_string();
        }
        if port == 0 {
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
            Addr::Unix(_) => addr.to_string(),
        }
    }
}
