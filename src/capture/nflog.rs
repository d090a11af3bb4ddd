//! Capture through netfilter's log (NFLOG), in the run's own namespace: a
//! rule on the output hook logs every packet sent on the namespace's
//! loopback to a netlink socket. Unlike a packet socket, whose close waits
//! for an RCU grace period (some 16 ms), a netlink socket closes at once.
//! The rule lives in the run's namespace and goes with it.

use crate::netlink::Msg;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_ULOG: u16 = 4;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_UNSPEC: u8 = 0;
const NFPROTO_INET: u8 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
/// The netfilter log group the run's rule logs to.
const GROUP: u16 = 1;

/// nfnetlink_log's message and attribute numbers.
const NFULNL_MSG_PACKET: u16 = 0;
const NFULNL_MSG_CONFIG: u16 = 1;
const NFULA_CFG_CMD: u16 = 1;
const NFULA_CFG_MODE: u16 = 2;
const NFULA_CFG_QTHRESH: u16 = 5;
const NFULNL_CFG_CMD_BIND: u8 = 1;
const NFULNL_COPY_PACKET: u8 = 2;
const NFULA_PAYLOAD: u16 = 9;

/// A netfilter message: the netlink header, then nfgenmsg (family,
/// version 0, resource id).
fn msg(ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Msg {
    let id = res_id.to_be_bytes();
    Msg::new(ty, flags, seq, &[family, 0, id[0], id[1]])
}

fn netlink_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket creation; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(fd: &OwnedFd, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: bytes is valid for its length.
    let n = unsafe { libc::send(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The netlink messages in `m`: (type, whole message).
fn messages(mut m: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if m.len() < 16 {
            return None;
        }
        let len = u32::from_ne_bytes(m[..4].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes([m[4], m[5]]);
        if len < 16 || len > m.len() {
            return None;
        }
        let msg = &m[..len];
        m = &m[len.next_multiple_of(4).min(m.len())..];
        Some((ty, msg))
    })
}

/// Reads the kernel's answers until `acks` messages were acknowledged; the
/// first error it reports.
fn acked(fd: &OwnedFd, mut acks: usize) -> io::Result<()> {
    let mut buf = vec![0u8; 8192];
    while acks > 0 {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for (ty, msg) in messages(&buf[..n as usize]) {
            if ty == libc::NLMSG_ERROR as u16 && msg.len() >= 20 {
                let errno = i32::from_ne_bytes(msg[16..20].try_into().unwrap_or_default());
                if errno != 0 {
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                acks = acks.saturating_sub(1);
            }
        }
    }
    Ok(())
}

/// Which packets of a network namespace its capture logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sees {
    /// Every packet it sends: the run's only namespace.
    Out,
    /// Every packet it sends, and those that come in over the link: the
    /// first of two hosts, whose log then holds every packet that crosses
    /// the link, in the order they crossed.
    OutAndLinkIn,
    /// The packets it sends on its loopback: the second host.
    LoopbackOut,
}

impl Sees {
    /// What the capture of host `first` (or another) of a run sees,
    /// `linked` if the run has two hosts.
    pub fn of(first: bool, linked: bool) -> Sees {
        match (linked, first) {
            (false, _) => Sees::Out,
            (true, true) => Sees::OutAndLinkIn,
            (true, false) => Sees::LoopbackOut,
        }
    }
}

/// NF_INET_PRE_ROUTING, and the nf_tables expressions and keys used.
const NF_INET_PRE_ROUTING: u32 = 0;
const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_REG_1: u32 = 1;

/// Appends a rule's expressions: if `ifname` names an interface, a
/// comparison of the packet's (input or output) interface with it, then
/// the log to GROUP.
fn rule_exprs(mut m: Msg, ifname: Option<(u32, &str)>) -> Msg {
    m = m.begin(4);
    if let Some((key, name)) = ifname {
        let mut padded = [0u8; 16];
        padded[..name.len()].copy_from_slice(name.as_bytes());
        m = m
            .begin(1)
            .str(1, "meta")
            .begin(2)
            .attr(1, &NFT_REG_1.to_be_bytes())
            .attr(2, &key.to_be_bytes())
            .end()
            .end()
            .begin(1)
            .str(1, "cmp")
            .begin(2)
            .attr(1, &NFT_REG_1.to_be_bytes())
            .attr(2, &0u32.to_be_bytes()) // NFT_CMP_EQ
            .begin(3)
            .attr(1, &padded)
            .end()
            .end()
            .end();
    }
    m.begin(1)
        .str(1, "log")
        .begin(2)
        .attr(1, &GROUP.to_be_bytes())
        .end()
        .end()
        .end()
}

/// Adds the run's rules: in a table of its own, the packets `sees` says
/// are logged to GROUP. For this namespace only.
fn add_rule(sees: Sees) -> io::Result<()> {
    let fd = netlink_socket()?;
    let req = libc::NLM_F_REQUEST as u16;
    let new = req | libc::NLM_F_CREATE as u16 | libc::NLM_F_ACK as u16;
    let nft = |msg: u16| (NFNL_SUBSYS_NFTABLES << 8) | msg;
    let batch = |ty: u16, seq: u32| msg(ty, req, seq, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES).done();
    let mut all = batch(NFNL_MSG_BATCH_BEGIN, 1);
    let mut seq = 2;
    let mut acks = 0;
    let mut push = |all: &mut Vec<u8>, m: Msg| {
        all.extend(m.done());
        acks += 1;
    };
    push(
        &mut all,
        msg(nft(NFT_MSG_NEWTABLE), new, seq, NFPROTO_INET, 0).str(1, "sockstep"),
    );
    let mut chains = vec![(
        "out",
        NF_INET_LOCAL_OUT,
        (sees == Sees::LoopbackOut).then_some((NFT_META_OIFNAME, "lo")),
    )];
    if sees == Sees::OutAndLinkIn {
        chains.push((
            "in",
            NF_INET_PRE_ROUTING,
            Some((NFT_META_IIFNAME, crate::netns::LINK)),
        ));
    }
    for (chain, hook, ifname) in chains {
        seq += 1;
        // NFTA_CHAIN_TABLE, _NAME, _HOOK { HOOKNUM, PRIORITY }, _TYPE.
        push(
            &mut all,
            msg(nft(NFT_MSG_NEWCHAIN), new, seq, NFPROTO_INET, 0)
                .str(1, "sockstep")
                .str(3, chain)
                .begin(4)
                .attr(1, &hook.to_be_bytes())
                .attr(2, &0u32.to_be_bytes())
                .end()
                .str(7, "filter"),
        );
        seq += 1;
        // NFTA_RULE_TABLE, _CHAIN, _EXPRESSIONS { ELEM { NAME, DATA } ... }.
        let rule = msg(
            nft(NFT_MSG_NEWRULE),
            new | libc::NLM_F_APPEND as u16,
            seq,
            NFPROTO_INET,
            0,
        )
        .str(1, "sockstep")
        .str(2, chain);
        push(&mut all, rule_exprs(rule, ifname));
    }
    all.extend(batch(NFNL_MSG_BATCH_END, seq + 1));
    send(&fd, &all)?;
    acked(&fd, acks)
}

/// A netlink socket that receives every packet of the namespace's output,
/// whole, as soon as it is sent.
pub fn open(sees: Sees) -> io::Result<OwnedFd> {
    add_rule(sees)?;
    let fd = netlink_socket()?;
    let ulog = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
    let flags = libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16;
    let mut mode = 0xffffu32.to_be_bytes().to_vec();
    mode.extend_from_slice(&[NFULNL_COPY_PACKET, 0]);
    let config = [
        (NFULA_CFG_CMD, vec![NFULNL_CFG_CMD_BIND]),
        (NFULA_CFG_MODE, mode),
        // Each packet is passed on as it comes, not batched.
        (NFULA_CFG_QTHRESH, 1u32.to_be_bytes().to_vec()),
    ];
    // All three in one send, acknowledged in order.
    let mut all = Vec::new();
    for (seq, (ty, value)) in (1..).zip(config) {
        all.extend(
            msg(ulog, flags, seq, NFPROTO_UNSPEC, GROUP)
                .attr(ty, &value)
                .done(),
        );
    }
    send(&fd, &all)?;
    acked(&fd, 3)?;
    // Non-blocking from now on, to be drained.
    // SAFETY: fcntl with F_GETFL and F_SETFL and an int of flags.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok(fd)
}

/// The packets (IP, from its header on) in a buffer of netlink messages.
pub fn packets(buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for (ty, msg) in messages(buf) {
        if ty != (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET || msg.len() < 20 {
            continue;
        }
        // The attributes, after the header and the nfgenmsg.
        let mut a = &msg[20..];
        while a.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([a[0], a[1]]));
            let ty = u16::from_ne_bytes([a[2], a[3]]) & 0x3fff;
            if len < 4 || len > a.len() {
                break;
            }
            if ty == NFULA_PAYLOAD {
                out.push(&a[4..len]);
            }
            a = &a[len.next_multiple_of(4).min(a.len())..];
        }
    }
    out
}
