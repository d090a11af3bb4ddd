//! A lesson as C: one program per actor, one call per step, in the C the
//! tutorials teach, with the lesson's narration as comments. An actor that
//! another forks is the child's branch of its parent's `fork()`.
//!
//! Each call's result is printed as it returns (`bind = 0`,
//! `connect = -1 (Connection refused)`), so a run of the programs can be
//! read beside the lesson's transcript.

use crate::call::names as cnames;
use crate::call::{Addr, Call, FdRef, How, MsgFlag, OptValue, SockOpt, TypeFlag, Via};
use crate::lesson::{Length, Lesson, Step};
use std::fmt::Write as _;

/// The C programs of `lesson`: (file name, source), one per actor that is
/// not forked by another.
pub fn programs(lesson: &Lesson) -> Vec<(String, String)> {
    (0..lesson.actors.len())
        .filter(|&a| !lesson.forked(a))
        .map(|a| (format!("{}.c", lesson.actors[a]), program(lesson, a)))
        .collect()
}

/// What a program needs declared or defined, gathered as its code is made.
#[derive(Default)]
struct Needs {
    /// fd names, in the order first bound.
    fds: Vec<String>,
    /// Addresses named by the run (`peer = recvfrom(...)`): storage and
    /// length.
    addrs: Vec<String>,
    /// Declared buffers and their sizes (`char buf[1024];`).
    buffers: Vec<(String, usize)>,
    /// Counts (`n = recv(...)`).
    counts: Vec<String>,
    /// The largest receive without a declared buffer.
    scratch: usize,
    /// Uniform data too long to write as a string: (name, byte, length).
    fills: Vec<(String, u8, usize)>,
    show_addr: bool,
    said_bytes: bool,
    /// accept4 is a GNU extension: _GNU_SOURCE declares it.
    gnu: bool,
    inet: bool,
    unix: bool,
    uses_pid: bool,
}

/// Where the result variable's name goes, until it is known.
const RESULT: &str = "@result@";

fn program(lesson: &Lesson, actor: usize) -> String {
    let mut needs = Needs::default();
    let mut body = String::new();
    steps_of(lesson, actor, 1, &mut needs, &mut body);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* {}: the actor `{}` of the sockstep lesson \"{}\".",
        lesson.actors[actor],
        lesson.actors[actor],
        comment(&lesson.title)
    );
    if let Some(goal) = &lesson.goal {
        let _ = writeln!(out, " * {}", comment(goal));
    }
    let _ = writeln!(
        out,
        " * Written by `sockstep c`: one call per step of the lesson, in its order.\n */"
    );
    if needs.gnu {
        out.push_str("#define _GNU_SOURCE /* for accept4 */\n");
    }
    for h in [
        "arpa/inet.h",
        "errno.h",
        "fcntl.h",
        "netinet/in.h",
        "netinet/tcp.h",
        "poll.h",
        "stddef.h",
        "stdio.h",
        "string.h",
        "sys/select.h",
        "sys/socket.h",
        "sys/time.h",
        "sys/types.h",
        "sys/un.h",
        "unistd.h",
    ] {
        let _ = writeln!(out, "#include <{h}>");
    }
    out.push('\n');
    out.push_str(SAID);
    if needs.said_bytes {
        out.push_str(SAID_BYTES);
    }
    if needs.inet {
        out.push_str(INET_ADDR);
    }
    if needs.unix {
        out.push_str(UNIX_ADDR);
    }
    if needs.show_addr {
        out.push_str(SHOW_ADDR);
    }
    for (name, byte, len) in &needs.fills {
        let _ = writeln!(
            out,
            "static char {name}[{len}]; /* {len} bytes of {} */",
            char_lit(*byte)
        );
    }
    if needs.scratch > 0 {
        let _ = writeln!(out, "static char received[{}];", needs.scratch);
    }
    for (b, len) in &needs.buffers {
        let _ = writeln!(out, "static char {b}[{len}];");
    }
    // The variable for results: `r`, unless the lesson names something so.
    let taken = |n: &str| {
        needs
            .fds
            .iter()
            .chain(&needs.counts)
            .chain(&needs.addrs)
            .any(|x| x == n)
            || needs.buffers.iter().any(|(b, _)| b == n)
    };
    let result = ["r", "ret", "rv", "result"]
        .into_iter()
        .find(|n| !taken(n))
        .unwrap_or("sockstep_result");
    let body = body.replace(RESULT, result);
    let _ = writeln!(out, "\nint main(void)\n{{\n    long {result};");
    if !lesson.intro.is_empty() {
        out.push_str(&narration(&lesson.intro, 1));
    }
    for f in &needs.fds {
        let _ = writeln!(out, "    int {f} = -1;");
    }
    for c in &needs.counts {
        let _ = writeln!(out, "    long {c} = 0;");
    }
    for a in &needs.addrs {
        let _ = writeln!(
            out,
            "    struct sockaddr_storage {a};\n    socklen_t {a}_len = sizeof({a});"
        );
        let _ = writeln!(out, "    memset(&{a}, 0, sizeof({a}));");
    }
    if needs.uses_pid {
        out.push_str("    pid_t pid;\n");
    }
    for (name, byte, _) in &needs.fills {
        let _ = writeln!(
            out,
            "    memset({name}, {}, sizeof({name}));",
            char_lit(*byte)
        );
    }
    out.push('\n');
    out.push_str(&body);
    out.push_str("    return 0;\n}\n");
    out
}

/// The steps of `actor`, in order, at `depth` (1 in main, 2 in a forked
/// child's branch...).
fn steps_of(lesson: &Lesson, actor: usize, depth: usize, needs: &mut Needs, out: &mut String) {
    let pad = "    ".repeat(depth);
    for step in lesson.steps.iter().filter(|s| s.actor == actor) {
        if !step.before.is_empty() {
            out.push_str(&narration(&step.before, depth));
        }
        let _ = writeln!(out, "{pad}/* step {} */", step.number);
        if let Call::Fork { child } = step.call {
            needs.uses_pid = true;
            let _ = writeln!(out, "{pad}pid = fork();");
            // The child's pid differs every run: only a failure is said.
            let _ = writeln!(out, "{pad}if (pid < 0)\n{pad}    said(\"fork\", pid);");
            let _ = writeln!(out, "{pad}if (pid == 0) {{");
            out.push_str(&narration(&step.narration, depth + 1));
            steps_of(lesson, child, depth + 1, needs, out);
            let _ = writeln!(out, "{pad}    return 0;\n{pad}}}");
            continue;
        }
        let code = call_code(step, needs);
        for line in code.lines() {
            let _ = writeln!(out, "{pad}{line}");
        }
        out.push_str(&narration(&step.narration, depth));
    }
}

/// One step's call, assigning its result to `r` (and its name), then
/// printing it.
fn call_code(step: &Step, needs: &mut Needs) -> String {
    let name = step.call.name();
    let bind = |n: &Option<String>, needs: &mut Needs| {
        if let Some(n) = n
            && !needs.fds.contains(n)
        {
            needs.fds.push(n.clone());
        }
    };
    bind(&step.binding, needs);
    bind(&step.binding2, needs);
    let fd = |f: &FdRef| match f {
        FdRef::Name(n) => n.clone(),
        FdRef::Num(n) => n.to_string(),
    };
    // What receives the result: the fd's name, a count's name, or r.
    let var = match (&step.binding, &step.binds_count) {
        (Some(n), _) => n.clone(),
        (None, Some(c)) => {
            if !needs.counts.contains(c) {
                needs.counts.push(c.clone());
            }
            c.clone()
        }
        _ => RESULT.to_string(),
    };
    let target = format!("{var} = ");
    let flags = |f: &[MsgFlag]| {
        if f.is_empty() {
            "0".to_string()
        } else {
            f.iter()
                .map(|x| cnames::name_of(cnames::FLAGS, *x))
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    let expect = step
        .expect
        .as_ref()
        .map(|e| format!(" /* => {} */", comment(&crate::render::words::answer(e))))
        .unwrap_or_default();
    let mut c = String::new();
    let said = |c: &mut String, what: &str| {
        let _ = writeln!(c, "said(\"{what}\", {var});{expect}");
    };
    match &step.call {
        Call::Socket {
            domain,
            ty,
            protocol,
            flags: tf,
        } => {
            let mut ty_s = cnames::name_of(cnames::TYPES, *ty).to_string();
            for f in tf {
                ty_s.push_str(" | ");
                ty_s.push_str(type_flag(*f));
            }
            let _ = writeln!(
                c,
                "{target}socket({}, {ty_s}, {});",
                cnames::name_of(cnames::DOMAINS, *domain),
                cnames::name_of(cnames::PROTOCOLS, *protocol)
            );
            said(&mut c, name);
        }
        Call::Socketpair { ty } => {
            let (a, b) = (
                step.binding.clone().unwrap_or_else(|| "sv0".into()),
                step.binding2.clone().unwrap_or_else(|| "sv1".into()),
            );
            let _ = writeln!(
                c,
                "{{\n    int pair[2];\n    @result@ = socketpair(AF_UNIX, {}, 0, pair);\n    {a} = pair[0];\n    {b} = pair[1];\n}}",
                cnames::name_of(cnames::TYPES, *ty)
            );
            for n in [&a, &b] {
                if !needs.fds.contains(n) {
                    needs.fds.push(n.clone());
                }
            }
            let _ = writeln!(c, "said(\"{name}\", @result@);{expect}");
        }
        Call::Setsockopt { fd: f, opt, value } => {
            let (level, oname) = opt_names(*opt);
            let decl = match value {
                OptValue::Int(v) => format!("int optval = {v};"),
                OptValue::Linger { on, secs } => {
                    format!("struct linger optval = {{ .l_onoff = {on}, .l_linger = {secs} }};")
                }
                OptValue::Time { secs, usecs } => {
                    format!("struct timeval optval = {{ .tv_sec = {secs}, .tv_usec = {usecs} }};")
                }
            };
            let _ = writeln!(
                c,
                "{{\n    {decl}\n    @result@ = setsockopt({}, {level}, {oname}, &optval, sizeof(optval));\n}}",
                fd(f)
            );
            said(&mut c, name);
        }
        Call::Getsockopt { fd: f, opt } => {
            let (level, oname) = opt_names(*opt);
            let (decl, show) = match opt {
                SockOpt::Linger => (
                    "struct linger optval;",
                    "printf(\"    l_onoff %d, l_linger %d\\n\", optval.l_onoff, optval.l_linger);",
                ),
                SockOpt::RcvTimeo | SockOpt::SndTimeo => (
                    "struct timeval optval;",
                    "printf(\"    tv_sec %ld, tv_usec %ld\\n\", (long)optval.tv_sec, (long)optval.tv_usec);",
                ),
                _ => ("int optval = 0;", "printf(\"    value %d\\n\", optval);"),
            };
            let _ = writeln!(
                c,
                "{{\n    {decl}\n    socklen_t optlen = sizeof(optval);\n    @result@ = getsockopt({}, {level}, {oname}, &optval, &optlen);\n    said(\"{name}\", @result@);{expect}\n    if (@result@ == 0)\n        {show}\n}}",
                fd(f)
            );
        }
        Call::SoError { fd: f } => {
            let _ = writeln!(
                c,
                "{{\n    int optval = 0;\n    socklen_t optlen = sizeof(optval);\n    @result@ = getsockopt({}, SOL_SOCKET, SO_ERROR, &optval, &optlen);\n    said(\"getsockopt\", @result@);{expect}\n    if (@result@ == 0)\n        printf(\"    SO_ERROR %d (%s)\\n\", optval, strerror(optval));\n}}",
                fd(f)
            );
        }
        Call::Bind { fd: f, addr, raw } => {
            let (setup, ptr, len) = sockaddr(step, addr, *raw, needs);
            let _ = writeln!(
                c,
                "{{\n{setup}    {target}bind({}, {ptr}, {len});\n}}",
                fd(f)
            );
            said(&mut c, name);
        }
        Call::Connect { fd: f, addr } => {
            let (setup, ptr, len) = sockaddr(step, addr, false, needs);
            let _ = writeln!(
                c,
                "{{\n{setup}    {target}connect({}, {ptr}, {len});\n}}",
                fd(f)
            );
            said(&mut c, name);
        }
        Call::Listen { fd: f, backlog } => {
            let _ = writeln!(c, "{target}listen({}, {backlog});", fd(f));
            said(&mut c, name);
        }
        Call::Accept { fd: f, flags: tf } => {
            let (addr, len) = match &step.binds_addr {
                Some((peer, _)) => {
                    runtime_addr(peer, needs);
                    (
                        format!("(struct sockaddr *)&{peer}"),
                        format!("&{peer}_len"),
                    )
                }
                // As the tutorials write it: the kernel reports who
                // connected.
                None => {
                    runtime_addr("client_addr", needs);
                    let _ = writeln!(c, "client_addr_len = sizeof(client_addr);");
                    (
                        "(struct sockaddr *)&client_addr".to_string(),
                        "&client_addr_len".to_string(),
                    )
                }
            };
            if tf.is_empty() {
                let _ = writeln!(c, "{target}accept({}, {addr}, {len});", fd(f));
            } else {
                needs.gnu = true;
                let fl: Vec<&str> = tf.iter().map(|f| type_flag(*f)).collect();
                let _ = writeln!(
                    c,
                    "{target}accept4({}, {addr}, {len}, {});",
                    fd(f),
                    fl.join(" | ")
                );
            }
            said(&mut c, name);
        }
        Call::Send {
            fd: f,
            data,
            flags: fl,
            via,
        } => {
            let (buf, len) = send_data(step, data, needs);
            match via {
                Via::Socket => {
                    let _ = writeln!(c, "{target}send({}, {buf}, {len}, {});", fd(f), flags(fl));
                }
                Via::File => {
                    let _ = writeln!(c, "{target}write({}, {buf}, {len});", fd(f));
                }
            }
            said(&mut c, name);
        }
        Call::Sendto {
            fd: f,
            data,
            flags: fl,
            addr,
        } => {
            let (buf, len) = send_data(step, data, needs);
            let (setup, ptr, alen) = sockaddr(step, addr, false, needs);
            let _ = writeln!(
                c,
                "{{\n{setup}    {target}sendto({}, {buf}, {len}, {}, {ptr}, {alen});\n}}",
                fd(f),
                flags(fl)
            );
            said(&mut c, name);
        }
        Call::Recv {
            fd: f,
            len,
            flags: fl,
            via,
        } => {
            let buf = recv_buffer(step, *len, needs);
            match via {
                Via::Socket => {
                    let _ = writeln!(c, "{target}recv({}, {buf}, {len}, {});", fd(f), flags(fl));
                }
                Via::File => {
                    let _ = writeln!(c, "{target}read({}, {buf}, {len});", fd(f));
                }
            }
            needs.said_bytes = true;
            let _ = writeln!(c, "said_bytes(\"{name}\", {var}, {buf});{expect}");
        }
        Call::Recvfrom {
            fd: f,
            len,
            flags: fl,
        } => {
            let buf = recv_buffer(step, *len, needs);
            let (addr, alen) = match &step.binds_addr {
                Some((peer, _)) => {
                    runtime_addr(peer, needs);
                    (
                        format!("(struct sockaddr *)&{peer}"),
                        format!("&{peer}_len"),
                    )
                }
                // The sender is asked for, as the lesson's recvfrom()
                // reports it.
                None => {
                    runtime_addr("sender", needs);
                    let _ = writeln!(c, "sender_len = sizeof(sender);");
                    (
                        "(struct sockaddr *)&sender".to_string(),
                        "&sender_len".to_string(),
                    )
                }
            };
            let _ = writeln!(
                c,
                "{target}recvfrom({}, {buf}, {len}, {}, {addr}, {alen});",
                fd(f),
                flags(fl)
            );
            needs.said_bytes = true;
            let _ = writeln!(c, "said_bytes(\"{name}\", {var}, {buf});{expect}");
        }
        Call::Shutdown { fd: f, how } => {
            let how = match how {
                How::Rd => "SHUT_RD",
                How::Wr => "SHUT_WR",
                How::RdWr => "SHUT_RDWR",
            };
            let _ = writeln!(c, "{target}shutdown({}, {how});", fd(f));
            said(&mut c, name);
        }
        Call::Close { fd: f } => {
            let _ = writeln!(c, "{target}close({});", fd(f));
            said(&mut c, name);
        }
        Call::Getsockname { fd: f } | Call::Getpeername { fd: f } => {
            let peer = match &step.binds_addr {
                Some((p, _)) => p.clone(),
                None => "addr".to_string(),
            };
            runtime_addr(&peer, needs);
            needs.show_addr = true;
            let _ = writeln!(
                c,
                "{peer}_len = sizeof({peer});\n@result@ = {name}({}, (struct sockaddr *)&{peer}, &{peer}_len);",
                fd(f)
            );
            let _ = writeln!(
                c,
                "said(\"{name}\", @result@);{expect}\nif (@result@ == 0)\n    show_addr(&{peer});"
            );
        }
        Call::Fcntl { fd: f, nonblock } => {
            let f = fd(f);
            match nonblock {
                Some(true) => {
                    let _ = writeln!(
                        c,
                        "{target}fcntl({f}, F_SETFL, fcntl({f}, F_GETFL) | O_NONBLOCK);"
                    );
                }
                Some(false) => {
                    let _ = writeln!(
                        c,
                        "{target}fcntl({f}, F_SETFL, fcntl({f}, F_GETFL) & ~O_NONBLOCK);"
                    );
                }
                None => {
                    let _ = writeln!(c, "{target}fcntl({f}, F_GETFL);");
                }
            }
            said(&mut c, name);
        }
        Call::Unlink { path } => {
            let _ = writeln!(c, "{target}unlink({});", string_lit(path.as_bytes()));
            said(&mut c, name);
        }
        Call::Poll {
            fds, events, wait, ..
        } => {
            let each: Vec<String> = fds
                .iter()
                .zip(events)
                .map(|(f, e)| {
                    let ev = crate::render::poll_names(*e).join(" | ");
                    format!("{{ .fd = {}, .events = {ev} }}", fd(f))
                })
                .collect();
            let _ = writeln!(
                c,
                "{{\n    struct pollfd pfds[] = {{ {} }};\n    @result@ = poll(pfds, {}, {});\n}}",
                each.join(", "),
                fds.len(),
                if *wait { -1 } else { 0 }
            );
            said(&mut c, name);
        }
        Call::Select {
            nfds,
            read,
            write,
            wait,
            ..
        } => {
            let mut s = String::from(
                "{\n    fd_set readfds, writefds;\n    struct timeval tv = { 0, 0 };\n    FD_ZERO(&readfds);\n    FD_ZERO(&writefds);\n",
            );
            for f in read {
                let _ = writeln!(s, "    FD_SET({}, &readfds);", fd(f));
            }
            for f in write {
                let _ = writeln!(s, "    FD_SET({}, &writefds);", fd(f));
            }
            let set = |fds: &[FdRef], name: &str| {
                if fds.is_empty() {
                    "NULL".to_string()
                } else {
                    format!("&{name}")
                }
            };
            let _ = writeln!(
                s,
                "    (void)tv;\n    @result@ = select({nfds}, {}, {}, NULL, {});\n}}",
                set(read, "readfds"),
                set(write, "writefds"),
                if *wait { "NULL" } else { "&tv" }
            );
            c.push_str(&s);
            said(&mut c, name);
        }
        // Lessons make processes, not threads.
        Call::Fork { .. } | Call::Thread { .. } => {}
    }
    c
}

/// The sockaddr a call names: the code that fills it, the pointer and the
/// length to pass.
fn sockaddr(step: &Step, addr: &Addr, raw: bool, needs: &mut Needs) -> (String, String, String) {
    if let Some(name) = &step.addr_from {
        runtime_addr(name, needs);
        return (
            String::new(),
            format!("(struct sockaddr *)&{name}"),
            format!("{name}_len"),
        );
    }
    let (family, ip, port, path) = match addr {
        Addr::V4(a) => ("AF_INET", a.ip().to_string(), a.port(), None),
        Addr::V6(a) => ("AF_INET6", a.ip().to_string(), a.port(), None),
        Addr::Unix(p) => ("AF_UNIX", String::new(), 0, Some(p.clone())),
    };
    // Without htons() the program stores the port the lesson writes as it
    // is; the kernel reads those bytes as the port `addr` holds.
    let port = if raw { port.swap_bytes() } else { port };
    match path {
        Some(_) => needs.unix = true,
        None => needs.inet = true,
    }
    let setup = match path {
        Some(p) => format!(
            "    struct sockaddr_storage dest;\n    socklen_t dest_len = unix_addr(&dest, {});\n",
            string_lit(p.as_bytes())
        ),
        None => format!(
            "    struct sockaddr_storage dest;\n    socklen_t dest_len = inet_addr_port(&dest, {family}, \"{ip}\", {port}, {});\n",
            if raw { 0 } else { 1 }
        ),
    };
    (setup, "(struct sockaddr *)&dest".into(), "dest_len".into())
}

fn runtime_addr(name: &str, needs: &mut Needs) {
    if !needs.addrs.iter().any(|a| a == name) {
        needs.addrs.push(name.to_string());
    }
}

/// The buffer a send takes and its length.
fn send_data(step: &Step, data: &[u8], needs: &mut Needs) -> (String, String) {
    if let Some((buf, len)) = &step.data_from {
        let len = match len {
            Length::Bytes(n) => n.to_string(),
            Length::Count(c) => c.clone(),
        };
        return (buf.clone(), len);
    }
    if data.len() > 256 && data.iter().all(|b| *b == data[0]) {
        let name = format!("data{}", step.number);
        needs.fills.push((name.clone(), data[0], data.len()));
        return (name, data.len().to_string());
    }
    (string_lit(data), data.len().to_string())
}

/// The buffer a receive fills: the declared one it names, or one of the
/// program's own.
fn recv_buffer(step: &Step, len: usize, needs: &mut Needs) -> String {
    if let Some(buf) = &step.fills {
        if !needs.buffers.iter().any(|(b, _)| b == buf) {
            needs.buffers.push((buf.clone(), len.max(1)));
        } else if let Some(b) = needs.buffers.iter_mut().find(|(b, _)| b == buf) {
            b.1 = b.1.max(len);
        }
        return buf.clone();
    }
    needs.scratch = needs.scratch.max(len.max(1));
    "received".into()
}

fn type_flag(f: TypeFlag) -> &'static str {
    match f {
        TypeFlag::NonBlock => "SOCK_NONBLOCK",
        TypeFlag::CloExec => "SOCK_CLOEXEC",
    }
}

fn opt_names(opt: SockOpt) -> (&'static str, &'static str) {
    let (level, name) = cnames::opt(opt);
    (level, name)
}

/// A C string literal of `bytes` (octal escapes for what is not printable).
fn string_lit(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'?' => s.push_str("\\?"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push('"');
    s
}

fn char_lit(b: u8) -> String {
    match b {
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\{b:03o}'"),
    }
}

/// Text safe inside a C comment.
fn comment(text: &str) -> String {
    text.replace("*/", "* /").replace("/*", "/ *")
}

fn narration(lines: &[String], depth: usize) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let pad = "    ".repeat(depth);
    let mut s = format!("{pad}/*\n");
    for l in lines {
        let _ = writeln!(s, "{pad} * {}", comment(l));
    }
    let _ = writeln!(s, "{pad} */");
    s
}

/// Prints a call's result as sockstep's transcript gives it.
const SAID: &str = r#"/* Prints what a call returned: its value, or -1 and the error. */
static void said(const char *call, long r)
{
    if (r < 0)
        printf("%s = -1 (%s)\n", call, strerror(errno));
    else
        printf("%s = %ld\n", call, r);
    fflush(stdout);
}

"#;

/// Prints a receive's result with the bytes it got.
const SAID_BYTES: &str = r#"/* The same for a receive, with the bytes it got. */
static void said_bytes(const char *call, long r, const char *buf)
{
    if (r < 0)
        printf("%s = -1 (%s)\n", call, strerror(errno));
    else
        printf("%s = %ld \"%.*s\"\n", call, r, (int)(r < 40 ? r : 40), buf);
    fflush(stdout);
}

"#;

const INET_ADDR: &str = r#"/* Fills in an IPv4 or IPv6 address and port; `htons` 0 leaves the port
 * in host byte order, as a program that forgot htons() would. */
static socklen_t inet_addr_port(struct sockaddr_storage *sa, int family, const char *ip,
                                int port, int htons_port)
{
    memset(sa, 0, sizeof(*sa));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)sa;
        a->sin_family = AF_INET;
        a->sin_port = htons_port ? htons(port) : port;
        inet_pton(AF_INET, ip, &a->sin_addr);
        return sizeof(*a);
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons_port ? htons(port) : port;
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    return sizeof(*a);
}

"#;

const UNIX_ADDR: &str = r#"/* Fills in a unix socket's path (`@name`: the abstract namespace). */
static socklen_t unix_addr(struct sockaddr_storage *sa, const char *path)
{
    struct sockaddr_un *a = (struct sockaddr_un *)sa;
    size_t len = strlen(path);
    memset(sa, 0, sizeof(*sa));
    a->sun_family = AF_UNIX;
    if (len > sizeof(a->sun_path) - 1)
        len = sizeof(a->sun_path) - 1;
    memcpy(a->sun_path, path, len);
    /* An abstract name (@) is as long as its bytes; a path ends with its
     * NUL, in a struct given whole, as the tutorials pass it. */
    if (path[0] != '@')
        return (socklen_t)sizeof(struct sockaddr_un);
    a->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

"#;

const SHOW_ADDR: &str = r#"/* Prints an address the kernel reported. */
static void show_addr(const struct sockaddr_storage *sa)
{
    char ip[INET6_ADDRSTRLEN] = "";
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        printf("    address %s:%d\n", ip, ntohs(a->sin_port));
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        printf("    address [%s]:%d\n", ip, ntohs(a->sin6_port));
    } else if (sa->ss_family == AF_UNIX) {
        const struct sockaddr_un *a = (const struct sockaddr_un *)sa;
        printf("    address \"%s\"\n", a->sun_path);
    }
}

"#;
