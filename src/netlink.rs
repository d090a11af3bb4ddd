//! Netlink messages built by hand, for the few requests sockstep makes to
//! the kernel (routes, addresses and links for a run's hosts; netfilter's
//! log): a header, a fixed part, then attributes, nested ones opened with
//! [`Msg::begin`] and closed with [`Msg::end`].

const NLA_F_NESTED: u16 = 0x8000;

/// A netlink message being built.
pub struct Msg {
    buf: Vec<u8>,
    /// Where each open nested attribute starts.
    nests: Vec<usize>,
}

impl Msg {
    /// A message of type `kind` with `flags` and sequence number `seq`, its
    /// fixed part (rtmsg, ifinfomsg, nfgenmsg...) `fixed`.
    pub fn new(kind: u16, flags: u16, seq: u32, fixed: &[u8]) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        let mut m = Msg {
            buf,
            nests: Vec::new(),
        };
        m.raw(fixed);
        m
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    pub fn attr(mut self, kind: u16, data: &[u8]) -> Msg {
        self.buf
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.raw(data);
        self
    }

    /// A NUL-terminated string attribute.
    pub fn str(self, kind: u16, s: &str) -> Msg {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v)
    }

    /// Opens a nested attribute.
    pub fn begin(self, kind: u16) -> Msg {
        self.begin_with(kind, &[])
    }

    /// Opens a nested attribute whose payload starts with a fixed part
    /// (veth's peer: an ifinfomsg, then attributes).
    pub fn begin_with(mut self, kind: u16, fixed: &[u8]) -> Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self.raw(fixed);
        self
    }

    /// Closes the nested attribute opened last.
    pub fn end(mut self) -> Msg {
        if let Some(at) = self.nests.pop() {
            let len = (self.buf.len() - at) as u16;
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// The message's bytes, its length written in.
    pub fn done(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}
