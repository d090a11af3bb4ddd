#!/usr/bin/env python3
"""The ground truth for sockstep: a run's calls made a second way.

Reads the JSON events of a sockstep run and makes the same calls, in the
same order, as a plain program would: one process per actor, each call a
real, blocking libc call (through ctypes, so no language runtime stands
between the call and the kernel). It checks, event by event, that each call
returns the same value and errno, that a call sockstep says blocks is
asleep in its system call, that the TCP state of every socket an fd holds
is the one sockstep showed, and that the packets on loopback carry the
same TCP flags. Run it inside a fresh network namespace with lo up.

Usage: replay.py EVENTS.jsonl
Prints one JSON object per mismatch found, and nothing else.
"""

import ctypes
import json
import os
import select
import signal
import socket
import struct
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)

AF = {"AF_INET": 2, "AF_INET6": 10, "AF_UNIX": 1, "AF_LOCAL": 1, "PF_INET": 2,
      "PF_INET6": 10, "PF_UNIX": 1}
TYPE = {"SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_SEQPACKET": 5}
PROTO = {"0": 0, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17}
LEVEL = {"SOL_SOCKET": 1, "IPPROTO_TCP": 6, "IPPROTO_IPV6": 41}
OPT = {"SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21, "SO_REUSEADDR": 2, "SO_REUSEPORT": 15, "SO_RCVBUF": 8, "SO_SNDBUF": 7,
       "SO_LINGER": 13, "SO_KEEPALIVE": 9, "SO_BROADCAST": 6, "TCP_NODELAY": 1,
       "IPV6_V6ONLY": 26, "SO_ERROR": 4}
MSG = {"MSG_NOSIGNAL": 0x4000, "MSG_PEEK": 0x2, "MSG_DONTWAIT": 0x40,
       "MSG_WAITALL": 0x100, "MSG_TRUNC": 0x20, "MSG_OOB": 0x1,
       "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000}
HOW = {"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2}
F_GETFL, F_SETFL, O_NONBLOCK = 3, 4, 0o4000
POLLIN = 0x1
# x86_64 system call numbers a blocked call can be asleep in.
POLL_EVENTS = {"POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8,
               "POLLHUP": 0x10, "POLLNVAL": 0x20, "POLLRDHUP": 0x2000}
SLEEPS_IN = {"accept": {43, 288}, "accept4": {288}, "recv": {45}, "recvfrom": {45}, "read": {0},
             "send": {44}, "sendto": {44}, "write": {1}, "connect": {42},
             "close": {3}, "poll": {7, 271}, "select": {23, 270}}
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
              5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT",
              9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
CHANNEL = 900  # where an actor's command channel sits: far above lesson fds
ERRNO = {v: k for k, v in vars(__import__("errno")).items()
         if k.startswith("E") and isinstance(v, int)}
ERRNO[11] = "EAGAIN"
ERRNO[95] = "EOPNOTSUPP"
ERRNO[35] = "EDEADLK"


def errno_name(n):
    return ERRNO.get(n, str(n))


# --- addresses -----------------------------------------------------------

def sockaddr(a):
    """A JSON address as the bytes of a sockaddr, as C passes it."""
    fam = a["family"]
    if fam == "inet":
        ip = socket.inet_pton(socket.AF_INET, a["ip"])
        return struct.pack("=H", 2) + struct.pack("!H", a["port"]) + ip + b"\0" * 8
    if fam == "inet6":
        ip = socket.inet_pton(socket.AF_INET6, a["ip"])
        return struct.pack("=H", 10) + struct.pack("!HI", a["port"], 0) + ip + b"\0" * 4
    path = a["path"].encode()
    if path.startswith(b"@"):
        return struct.pack("=H", 1) + b"\0" + path[1:]
    return (struct.pack("=H", 1) + path).ljust(110, b"\0")


def from_sockaddr(buf, n):
    fam = struct.unpack("=H", buf[:2])[0] if n >= 2 else 0
    if fam == 2:
        return {"family": "inet", "ip": socket.inet_ntop(socket.AF_INET, buf[4:8]),
                "port": struct.unpack("!H", buf[2:4])[0]}
    if fam == 10:
        return {"family": "inet6", "ip": socket.inet_ntop(socket.AF_INET6, buf[8:24]),
                "port": struct.unpack("!H", buf[2:4])[0]}
    if fam == 1:
        return {"family": "unix"}
    return None


# --- the actor: one process, real blocking calls ---------------------------

def call(c):
    """Makes one call; returns {ret, errno, data, addr}."""
    name = c["name"]
    fd = c.get("fd")
    flags = sum(MSG[f] for f in c.get("flags", []))
    data = None
    addr = None
    ctypes.set_errno(0)
    if name == "socket":
        r = libc.socket(AF[c["domain"]], TYPE[c["type"]] | flags, PROTO[c["protocol"]])
    elif name == "socketpair":
        sv = (ctypes.c_int * 2)()
        r = libc.socketpair(1, TYPE[c["type"]], 0, sv)
    elif name == "setsockopt":
        if "linger" in c:
            v = struct.pack("ii", *c["linger"])
        elif "timeval" in c:
            v = struct.pack("qq", *c["timeval"])
        else:
            v = struct.pack("i", c["value"])
        r = libc.setsockopt(fd, LEVEL[c["level"]], OPT[c["option"]], v, len(v))
    elif name == "getsockopt":
        # Room for the largest value (a struct timeval or linger).
        v = ctypes.create_string_buffer(16)
        n = ctypes.c_uint32(16 if c["option"] in ("SO_RCVTIMEO", "SO_SNDTIMEO", "SO_LINGER") else 4)
        r = libc.getsockopt(fd, LEVEL[c["level"]], OPT[c["option"]],
                            v, ctypes.byref(n))
    elif name in ("bind", "connect"):
        sa = sockaddr(c["addr"])
        r = getattr(libc, name)(fd, sa, len(sa))
    elif name == "listen":
        r = libc.listen(fd, c["backlog"])
    elif name == "accept":
        r = libc.accept(fd, None, None)
    elif name == "accept4":
        r = libc.accept4(fd, None, None, flags)
    elif name in ("send", "write", "sendto"):
        payload = bytes.fromhex(c["data"]["hex"]) if "hex" in c["data"] else \
            c["data"]["text"].encode()
        if name == "send":
            r = libc.send(fd, payload, len(payload), flags)
        elif name == "write":
            r = libc.write(fd, payload, len(payload))
        else:
            sa = sockaddr(c["addr"])
            r = libc.sendto(fd, payload, len(payload), flags, sa, len(sa))
    elif name in ("recv", "read", "recvfrom"):
        buf = ctypes.create_string_buffer(max(c["len"], 1))
        if name == "recv":
            r = libc.recv(fd, buf, c["len"], flags)
        elif name == "read":
            r = libc.read(fd, buf, c["len"])
        else:
            sa = ctypes.create_string_buffer(128)
            n = ctypes.c_uint32(128)
            r = libc.recvfrom(fd, buf, c["len"], flags, sa, ctypes.byref(n))
            if r >= 0:
                addr = from_sockaddr(sa.raw, n.value)
        if r >= 0:
            data = buf.raw[:r].hex()
    elif name in ("getsockname", "getpeername"):
        sa = ctypes.create_string_buffer(128)
        n = ctypes.c_uint32(128)
        r = getattr(libc, name)(fd, sa, ctypes.byref(n))
        if r == 0:
            addr = from_sockaddr(sa.raw, n.value)
    elif name == "shutdown":
        r = libc.shutdown(fd, HOW[c["how"]])
    elif name == "close":
        r = libc.close(fd)
    elif name == "fcntl":
        fl = libc.fcntl(fd, F_GETFL)
        if c["cmd"] == "F_GETFL" or fl < 0:
            r = fl
        else:
            fl = fl | O_NONBLOCK if c["nonblock"] else fl & ~O_NONBLOCK
            r = libc.fcntl(fd, F_SETFL, fl)
    elif name == "unlink":
        r = libc.unlink(c["path"].encode())
    elif name == "poll":
        fds = c["fds"]
        arr = (ctypes.c_byte * (8 * len(fds)))()
        events = c.get("events") or [["POLLIN"]] * len(fds)
        for i, (f, ev) in enumerate(zip(fds, events)):
            bits = sum(POLL_EVENTS[e] for e in ev)
            struct.pack_into("ihh", arr, 8 * i, f, bits, 0)
        r = libc.poll(arr, len(fds), -1 if c["wait"] else 0)
    elif name == "select":
        # Two fd_sets (1024 bits each) and select(2) itself, with the
        # lesson's nfds: fds at or above it are not looked at.
        def fd_set(fds):
            if not fds:
                return None
            bits = bytearray(128)
            for f in fds:
                bits[f // 8] |= 1 << (f % 8)
            return (ctypes.c_ubyte * 128).from_buffer(bits)
        rset, wset = fd_set(c["fds"]), fd_set(c["write_fds"])
        tv = None if c["wait"] else (ctypes.c_long * 2)(0, 0)
        r = libc.select(c["nfds"], rset, wset, None, tv)
    else:
        return {"unsupported": name}
    e = ctypes.get_errno()
    return {"ret": r, "errno": errno_name(e) if r < 0 else None, "data": data, "addr": addr}


def send_msg(sock, obj, fds=()):
    body = json.dumps(obj).encode()
    msg = struct.pack("I", len(body)) + body
    if fds:
        socket.send_fds(sock, [msg], list(fds))
    else:
        sock.sendall(msg)


def recv_msg(sock, timeout=None):
    """The next message, or None when the channel is closed or `timeout`
    seconds pass."""
    sock.settimeout(timeout)
    try:
        msg, fds, _, _ = socket.recv_fds(sock, 4096, 1)
        if not msg:
            return None, fds
        n = struct.unpack("I", msg[:4])[0]
        body = msg[4:]
        while len(body) < n:
            more = sock.recv(n - len(body))
            if not more:
                return None, fds
            body += more
        return json.loads(body), fds
    except (socket.timeout, BlockingIOError):
        return "timeout", []


def actor_main(chan_fd):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    chan = socket.socket(fileno=chan_fd)
    while True:
        msg, fds = recv_msg(chan)
        if msg is None or msg == "timeout" or msg["op"] == "exit":
            os._exit(0)
        if msg["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                # The child goes on as the other actor, on the channel that
                # came with the message.
                chan.detach()
                os.dup2(fds[0], CHANNEL)
                os.close(fds[0])
                chan = socket.socket(fileno=CHANNEL)
                send_msg(chan, {"ret": 0, "ready": True})
                continue
            os.close(fds[0])
            send_msg(chan, {"ret": pid, "errno": None})
            continue
        send_msg(chan, call(msg["call"]))


def drop_capabilities():
    """As sockstep's actors do: an ordinary user's program."""
    PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = struct.pack("Ii", 0x20080522, 0)
    data = b"\0" * 24
    libc.syscall(126, header, data)  # capset


CLONE_NEWNET = 0x40000000


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def second_host():
    """A second network namespace joined to this one by a veth pair, set up
    as sockstep sets up a lesson's two hosts (eth0 on each, 192.0.2.1/24 and
    2001:db8::1/32 here, .2 there, fixed link-layer addresses written in as
    permanent neighbours, no IPv6 autoconfiguration, quickack on the link's
    routes). Returns the pid of a process that keeps it."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if libc.unshare(CLONE_NEWNET) != 0:
            os._exit(1)
        os.write(w, b"x")
        while True:
            signal.pause()
    os.close(w)
    if os.read(r, 1) != b"x":
        raise OSError("the second namespace was not made")
    os.close(r)
    here, there = "/proc/self/ns/net", f"/proc/{pid}/ns/net"

    def sh(*cmd):
        import subprocess
        subprocess.run(cmd, check=True)

    sh("ip", "link", "add", "eth0", "address", "02:00:00:00:00:01", "type", "veth",
       "peer", "name", "eth0", "address", "02:00:00:00:00:02", "netns", str(pid))
    back = os.open(here, os.O_RDONLY)
    for me, ns in ((2, there), (1, None)):
        other = 3 - me
        if ns:
            setns(ns)
        elif libc.setns(back, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        if me == 2:
            sh("ip", "link", "set", "lo", "up")
            sh("ip", "route", "replace", "local", "127.0.0.0/8", "dev", "lo", "table", "local",
               "proto", "kernel", "scope", "host", "src", "127.0.0.1", "quickack", "1")
        for name, value in (("addr_gen_mode", "1"), ("accept_dad", "0"), ("dad_transmits", "0"),
                            ("accept_ra", "0"), ("autoconf", "0"),
                            ("router_solicitations", "0")):
            with open(f"/proc/sys/net/ipv6/conf/eth0/{name}", "w") as f:
                f.write(value)
        sh("ip", "addr", "add", f"192.0.2.{me}/24", "dev", "eth0", "noprefixroute")
        sh("ip", "-6", "addr", "add", f"2001:db8::{me}/32", "dev", "eth0", "nodad",
           "noprefixroute")
        sh("ip", "link", "set", "eth0", "up")
        sh("ip", "route", "replace", "local", f"192.0.2.{me}", "dev", "eth0", "table", "local",
           "proto", "kernel", "scope", "host", "src", f"192.0.2.{me}", "quickack", "1")
        sh("ip", "route", "replace", "192.0.2.0/24", "dev", "eth0", "src", f"192.0.2.{me}",
           "quickack", "1")
        sh("ip", "-6", "route", "replace", "2001:db8::/32", "dev", "eth0", "quickack", "1")
        mac = f"02:00:00:00:00:0{other}"
        sh("ip", "neigh", "replace", f"192.0.2.{other}", "lladdr", mac, "dev", "eth0",
           "nud", "permanent")
        sh("ip", "-6", "neigh", "replace", f"2001:db8::{other}", "lladdr", mac, "dev", "eth0",
           "nud", "permanent")
    os.close(back)
    return pid


def spawn(chan_end, netns=None):
    pid = os.fork()
    if pid == 0:
        if netns:
            setns(netns)
        os.dup2(chan_end.fileno(), CHANNEL)
        os.closerange(3, CHANNEL)
        os.closerange(CHANNEL + 1, 4096)
        drop_capabilities()
        actor_main(CHANNEL)
    return pid


def died_of(pid):
    """The signal that ended `pid` (None if none did): waited for if it is
    this process's child, else (a forked actor, whose parent is another
    actor) read from its zombie's /proc/PID/stat."""
    try:
        _, status = os.waitpid(pid, 0)
        return os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    except ChildProcessError:
        pass
    fd = os.pidfd_open(pid)
    try:
        select.select([fd], [], [], 5)
    finally:
        os.close(fd)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    status = int(fields[49])
    return status & 0x7F or None


# --- what the kernel says ---------------------------------------------------

def proc_net(held, dirs=("/proc/net",)):
    """inode -> state, and the states of the TCP sockets no fd holds
    (`held`: the inodes the actors' fds refer to), in the network
    namespaces whose /proc/.../net directories `dirs` are."""
    by_inode, orphans = {}, []
    for f in (f"{d}/{t}" for d in dirs for t in ("tcp", "tcp6")):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            x = line.split()
            state = TCP_STATES.get(int(x[3], 16), x[3])
            ino = int(x[9])
            if ino in held:
                by_inode[ino] = state
            else:
                orphans.append(state)
    return by_inode, sorted(orphans)


def fd_inode(pid, fd):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    if link.startswith("socket:["):
        return int(link[8:-1])
    return None


def asleep_in(pid, nrs):
    """Whether `pid` is asleep in one of the system calls `nrs`."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
        state = stat[stat.rindex(")") + 2]
        nr = open(f"/proc/{pid}/syscall").read().split()[0]
    except (OSError, IndexError, ValueError):
        return False
    return state in "SD" and nr.isdigit() and int(nr) in nrs


class Capture:
    """TCP flags of the packets on lo, as sockstep captures them; with a
    second host (the pid keeping its namespace), those on its loopback and
    on the link too."""

    def __init__(self, second=None):
        def packet_socket(dev, outgoing):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            s.bind((dev, 0))
            if not outgoing:
                s.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING
            s.setblocking(False)
            return s
        self.socks = [packet_socket("lo", False)]
        if second:
            # Every frame on the link, either way, once.
            self.socks.append(packet_socket("eth0", True))
            back = os.open("/proc/self/ns/net", os.O_RDONLY)
            setns(f"/proc/{second}/ns/net")
            self.socks.append(packet_socket("lo", False))
            libc.setns(back, CLONE_NEWNET)
            os.close(back)

    def drain(self):
        """Flags of each TCP segment since the last drain, once the
        interfaces have been quiet for a little while."""
        out = []
        while True:
            r, _, _ = select.select(self.socks, [], [], 0.005)
            if not r:
                return out
            for s in r:
                while True:
                    try:
                        frame, meta = s.recvfrom(70000)
                    except BlockingIOError:
                        break
                    if meta[2] == 4 and meta[0] == "lo":
                        continue
                    flags = tcp_flags(frame)
                    if flags is not None:
                        out.append(flags)


def tcp_flags(frame):
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and ip[9] == 6:
        l4 = ip[(ip[0] & 0xF) * 4:]
    elif ethertype == 0x86DD and ip[6] == 6:
        l4 = ip[40:]
    else:
        return None
    f = l4[13]
    names = [n for bit, n in ((2, "SYN"), (1, "FIN"), (4, "RST"), (8, "PSH"), (16, "ACK"))
             if f & bit]
    return "-".join(names)


# --- the replay ---------------------------------------------------------------

class Replay:
    def __init__(self, events):
        self.events = events
        self.mismatches = []
        self.ports = {}
        self.chan = {}
        self.pid = {}
        self.blocked = {}
        hosts = events[0].get("hosts") or []
        self.second = second_host() if len(hosts) > 1 else None
        self.host_of = {a: i for i, h in enumerate(hosts) for a in h["actors"]}
        self.capture = Capture(self.second)
        self.packets = []
        self.payload = 0
        self.step = 0

    def wrong(self, what, **facts):
        self.mismatches.append({"step": self.step, "what": what, **facts})

    def run(self):
        start = self.events[0]
        forked = {e["call"]["child"] for e in self.events
                  if e["event"] == "call" and e["call"]["name"] == "fork"}
        for actor in start["actors"]:
            if actor not in forked:
                ours, theirs = socket.socketpair()
                netns = (f"/proc/{self.second}/ns/net"
                         if self.second and self.host_of.get(actor) == 1 else None)
                self.pid[actor] = spawn(theirs, netns)
                theirs.close()
                self.chan[actor] = ours
        for e in self.events[1:]:
            kind = e["event"]
            self.step = e.get("step", self.step)
            handler = getattr(self, "on_" + kind, None)
            if handler:
                handler(e)
        for pid in list(self.pid.values()) + ([self.second] if self.second else []):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        return self.mismatches

    def result(self, actor, timeout):
        msg, _ = recv_msg(self.chan[actor], timeout)
        return msg

    def on_call(self, e):
        actor, c, outcome = e["actor"], e["call"], e["outcome"]
        if c["name"] == "fork":
            ours, theirs = socket.socketpair()
            send_msg(self.chan[actor], {"op": "fork"}, [theirs.fileno()])
            theirs.close()
            got = self.result(actor, 10)
            ready = recv_msg(ours, 10)[0]
            if not isinstance(got, dict) or not isinstance(ready, dict):
                self.wrong("fork did not complete", actor=actor)
                return
            self.chan[c["child"]] = ours
            self.pid[c["child"]] = got["ret"]
            return
        # A port the kernel picked differs between the two runs: an address
        # sockstep's run reported and a later call uses is this run's.
        if "addr" in c and c["addr"].get("port") in self.ports:
            c = dict(c, addr=dict(c["addr"], port=self.ports[c["addr"]["port"]]))
        send_msg(self.chan[actor], {"op": "call", "call": c})
        if outcome["kind"] == "blocked":
            nrs = SLEEPS_IN.get(c["name"], set())
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if asleep_in(self.pid[actor], nrs):
                    self.blocked[actor] = e
                    return
                r, _, _ = select.select([self.chan[actor]], [], [], 0.002)
                if r:
                    got = self.result(actor, 1)
                    self.wrong("sockstep says it blocks; it returned", actor=actor,
                               call=c["c"], got=got)
                    return
            self.wrong("sockstep says it blocks; it is not asleep in the call",
                       actor=actor, call=c["c"])
            return
        got = self.result(actor, 10)
        self.compare(actor, c, outcome, got)

    def on_completed(self, e):
        actor = e["actor"]
        self.blocked.pop(actor, None)
        got = self.result(actor, 15)
        self.compare(actor, e["call"], e["outcome"], got)

    def compare(self, actor, c, outcome, got):
        if got == "timeout":
            self.wrong("sockstep says it returns; it blocks", actor=actor, call=c["c"])
            return
        if got is None:
            self.wrong("the process died", actor=actor, call=c["c"])
            return
        if outcome["kind"] == "returned":
            want = (outcome["ret"], None)
        else:
            want = (-1, outcome["errno"])
        theirs, ours = outcome.get("addr") or {}, got.get("addr") or {}
        if theirs.get("port") and ours.get("port"):
            self.ports[theirs["port"]] = ours["port"]
        have = (got["ret"], got["errno"])
        if have != want:
            self.wrong("another result", actor=actor, call=c["c"], sockstep=want, plain=have)
            return
        data = outcome.get("data")
        if data is not None:
            raw = bytes.fromhex(data["hex"]) if "hex" in data else data["text"].encode()
            if got["data"] is not None and bytes.fromhex(got["data"]) != raw:
                self.wrong("other bytes", actor=actor, call=c["c"])

    def on_crashed(self, e):
        actor = e["actor"]
        if actor not in self.blocked:
            send_msg(self.chan[actor], {"op": "call", "call": e["call"]})
        self.blocked.pop(actor, None)
        pid = self.pid.pop(actor)
        sig = died_of(pid)
        want = e["signal"]
        have = signal.Signals(sig).name if sig else None
        if have != want:
            self.wrong("died another way", actor=actor, sockstep=want, plain=have)

    def on_exit(self, e):
        actor = e["actor"]
        pid = self.pid.pop(actor, None)
        if pid is None:
            return
        if actor in self.blocked:
            os.kill(pid, signal.SIGKILL)
            self.blocked.pop(actor)
        else:
            send_msg(self.chan[actor], {"op": "exit"})
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

    def on_deadlock(self, e):
        for w in e["waits"]:
            actor = w["actor"]
            if not asleep_in(self.pid.get(actor, 0), SLEEPS_IN.get(w["call"]["name"], set())):
                self.wrong("sockstep says it waits; it is not asleep", actor=actor)

    def on_packets(self, e):
        tcp = [p for p in e["packets"] if p["proto"] == "tcp"]
        self.packets.extend("-".join(p["flags"]) for p in tcp)
        self.payload += sum(p.get("data", {}).get("len", 0) for p in tcp)

    def on_table(self, e):
        seen = self.capture.drain()
        ours, theirs = sorted(self.packets), sorted(seen)
        if self.payload > 16 * 1024:
            # How a bulk transfer is cut into segments, and when windows
            # are updated, depends on timing: only the SYNs, FINs and RSTs
            # must agree.
            def rare(fs):
                return sorted(f for f in fs if any(x in f for x in ("SYN", "FIN", "RST")))
            ours, theirs = rare(ours), rare(theirs)
        if ours != theirs:
            self.wrong("other packets", sockstep=self.packets, plain=seen)
        self.packets = []
        self.payload = 0
        held = set()
        for pid in self.pid.values():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            held.update(i for i in (fd_inode(pid, int(f)) for f in fds) if i)
        dirs = ["/proc/net"] + ([f"/proc/{self.second}/net"] if self.second else [])
        by_inode, orphans = proc_net(held, dirs)
        theirs_orphans = []
        for s in e["sockets"]:
            if s["type"] not in ("tcp", "tcp6"):
                continue
            h = s["holder"]
            if h["kind"] != "fd":
                theirs_orphans.append(s["state"])
                continue
            pid = self.pid.get(h["actor"])
            ino = fd_inode(pid, h["fd"]) if pid else None
            if ino is None:
                self.wrong("no such socket", actor=h["actor"], fd=h["fd"])
                continue
            state = by_inode.get(ino, "CLOSE")
            if state != s["state"]:
                self.wrong("another state", actor=h["actor"], fd=h["fd"],
                           sockstep=s["state"], plain=state)
        if sorted(theirs_orphans) != orphans:
            self.wrong("other sockets with no fd", sockstep=sorted(theirs_orphans),
                       plain=orphans)


def main():
    events = [json.loads(l) for l in open(sys.argv[1])]
    if not events or events[0]["event"] != "start":
        print(json.dumps({"what": "not a run", "first": events[:1]}))
        return
    for m in Replay(events).run():
        print(json.dumps(m))


if __name__ == "__main__":
    main()
