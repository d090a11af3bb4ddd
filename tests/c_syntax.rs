//! Lessons written the way the tutorials write C: declarations, casts,
//! sizeof, NULLs and semicolons run as the plain lessons do.

mod common;
use common::*;
use sockstep::lesson::Lesson;

/// A transcript with the header's path and the names steps bind left out:
/// what the kernel did, step for step.
fn facts(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .map(|l| {
            // `   5  c = accept(3)` and `socket_desc = socket(...)`: the name
            // is the lesson's; the call and what it gave are the kernel's.
            match l.find(" = ") {
                Some(eq)
                    if l[..eq].rsplit(' ').next().is_some_and(|w| {
                        w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    }) && l[eq + 3..].contains('(') =>
                {
                    let name_start = l[..eq].rfind(' ').map_or(0, |i| i + 1);
                    format!("{}{}", &l[..name_start], &l[eq + 3..])
                }
                _ => l.to_string(),
            }
        })
        .collect()
}

#[test]
fn tutorial_c_gives_the_plain_lessons_transcript_step_for_step() {
    let plain = run_lesson("lessons/01-hello.lesson", &[], "c-plain");
    let c = run_lesson("tests/c/01-hello.lesson", &[], "c-c");
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let (plain, c) = (facts(&stdout(&plain)), facts(&stdout(&c)));
    assert!(plain.len() > 40);
    for (i, (p, q)) in plain.iter().zip(&c).enumerate() {
        assert_eq!(p, q, "line {} differs", i + 2);
    }
    assert_eq!(plain.len(), c.len());
}

fn parse(step: &str) -> Result<Lesson, String> {
    let text = format!(
        "lesson \"t\"\nactors a\na: char buf[1024];\na: struct sockaddr_in addr = 127.0.0.1:8080;\n\
         a: char *msg = \"hello\";\na: int opt = 1;\na: int s = socket(AF_INET, SOCK_STREAM, 0);\na: {step}\n"
    );
    Lesson::parse("t.lesson", text.as_bytes()).map_err(|e| e.render(false))
}

/// The last step's call, as the plain syntax writes it.
fn call_of(step: &str) -> String {
    let l = parse(step).unwrap_or_else(|e| panic!("{step}:\n{e}"));
    let call = l.steps.last().unwrap().call.clone();
    let call = call
        .map_fd(&mut |_: &sockstep::call::FdRef| Ok::<i32, ()>(3))
        .unwrap();
    sockstep::render::format_call(&call, &sockstep::render::Names::default())
}

#[test]
fn each_c_form_means_what_the_plain_form_says() {
    for (c, plain) in [
        ("accept(s, NULL, NULL);", "accept(3)"),
        ("accept(s, (struct sockaddr *)&addr, &len);", "accept(3)"),
        ("listen(s, SOMAXCONN);", "listen(3, 4096)"),
        ("listen(s, 5)  ;  => 0", "listen(3, 5)"),
        ("connect(s, localhost:8080);", "connect(3, 127.0.0.1:8080)"),
        (
            "bind(s, (struct sockaddr*)&addr, sizeof(addr));",
            "bind(3, 127.0.0.1:8080)",
        ),
        (
            "connect(s, (struct sockaddr *) &addr, sizeof addr);",
            "connect(3, 127.0.0.1:8080)",
        ),
        ("shutdown(s, 1);", "shutdown(3, SHUT_WR)"),
        ("shutdown(s, 2);", "shutdown(3, SHUT_RDWR)"),
        ("recv(s, buf, sizeof(buf), 0);", "recv(3, 1024)"),
        ("n = recv(s, buf, 100, MSG_PEEK);", "recv(3, 100, MSG_PEEK)"),
        ("ssize_t n = read(s, buf, sizeof(buf));", "read(3, 1024)"),
        ("send(s, \"hi\", 2, 0);", "send(3, \"hi\")"),
        ("send(s, \"hello\", 4, 0);", "send(3, \"hell\")"),
        (
            "send(s, msg, strlen(msg), MSG_NOSIGNAL);",
            "send(3, \"hello\", MSG_NOSIGNAL)",
        ),
        ("write(s, msg, strlen(msg));", "write(3, \"hello\")"),
        (
            "sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&addr, sizeof(addr));",
            "sendto(3, \"hello\", 127.0.0.1:8080)",
        ),
        (
            "recvfrom(s, buf, sizeof(buf), 0, NULL, NULL);",
            "recvfrom(3, 1024)",
        ),
        (
            "setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));",
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1)",
        ),
    ] {
        assert_eq!(call_of(c), plain, "{c}");
    }
}

#[test]
fn c_that_would_misbehave_gets_a_positioned_error() {
    for (step, says) in [
        ("recv(s, buf, 2048, 0);", "2048 bytes into a buffer of 1024"),
        (
            "send(s, msg, sizeof(msg), 0);",
            "sizeof gives the size of a pointer",
        ),
        ("send(s, \"hi\", 5, 0);", "5 bytes of a string of 2"),
        ("recv(buf, 10);", "`buf` is not a socket"),
        (
            "recv(s, buf, BUFFER_SIZE, 0);",
            "expected the buffer's length",
        ),
        (
            "recv(s, buf, BUFFER_SIZE - 1, 0);",
            "write the number itself",
        ),
        (
            "select(4, &nope, NULL, NULL, NULL);",
            "`nope` is not a declared fd_set",
        ),
        (
            "select(s + 1, NULL, NULL, NULL, NULL);",
            "sockstep does no arithmetic",
        ),
        (
            "FD_ISSET(s, &r);",
            "FD_ISSET reads what select left in a set",
        ),
        (
            "select(4, NULL, NULL, NULL, &tv);",
            "a timeout of NULL (wait) or a zero timeval (look)",
        ),
        (
            "epoll_wait(4, NULL, 1, -1);",
            "sockstep has poll() and select()",
        ),
        ("sleep(1);", "a run does not wait for time to pass"),
        (
            "setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, 1);",
            "SO_SNDTIMEO takes a struct timeval",
        ),
        (
            "setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 1);",
            "SO_RCVTIMEO takes a struct timeval",
        ),
        (
            "connect(s, addr) => 127.0.0.1:8080",
            "connect() reports no address",
        ),
    ] {
        let e = parse(step).expect_err(step);
        assert!(e.contains(says), "{step}: {e}");
        assert!(e.contains("t.lesson:8:"), "{step}: positioned: {e}");
    }
}

#[test]
fn addresses_the_run_reports_can_be_named_used_and_expected() {
    // Parsed: where the name is bound, and the step that uses it.
    let l = parse("peer = recvfrom(s, 100)   => 127.0.0.1:eph\na: sendto(s, \"x\", peer)").unwrap();
    let n = l.steps.len();
    assert_eq!(l.steps[n - 2].binds_addr, Some(("peer".into(), true)));
    assert_eq!(l.steps[n - 1].addr_from.as_deref(), Some("peer"));
    let l = parse("struct sockaddr_in who;\na: c = accept(s, (struct sockaddr *)&who, &len);\na: connect(s, who)").unwrap();
    let n = l.steps.len();
    assert_eq!(l.steps[n - 2].binds_addr, Some(("who".into(), false)));
    assert_eq!(l.steps[n - 1].addr_from.as_deref(), Some("who"));
    // An address can be expected only of a call that reports one.
    let e = parse("connect(s, addr) => 127.0.0.1:8080").unwrap_err();
    assert!(e.contains("connect() reports no address"), "{e}");
    assert!(parse("getsockname(s) => [::1]:eph").is_ok());
    assert!(parse("getsockname(s) => 127.0.0.1:eph1").is_ok());
    let e = parse("getsockname(s) => 127.0.0.1:ephx").unwrap_err();
    assert!(e.contains("or `eph1`, `eph2`..."), "{e}");
    // And the run: scenario address-values binds, uses and expects them.
    let out = run_lesson("tests/scenarios/address-values.lesson", &[], "addr-values");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("peer = recvfrom(3, 100) = 13 \"hi from alice\""),
        "{text}"
    );
    assert!(
        text.contains("sendto(3, \"echo\", 127.0.0.1:eph1) = 4"),
        "{text}"
    );
}

#[test]
fn a_buffer_holds_what_recv_put_there_and_send_sends_it() {
    let out = run_lesson("tests/scenarios/echo-buffer.lesson", &[], "echo-buffer");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // n = 7: the echo sends what the server received.
    assert!(text.contains("send(4, \"echo me\") = 7"), "{text}");
    // 4 bytes of a buffer that received "hi" over "echo me": "hiho".
    assert!(text.contains("send(4, \"hiho\") = 4"), "{text}");
    let e = parse("send(s, buf, sizeof(buf), 0);").unwrap_err();
    assert!(
        e.contains("expected how many bytes of the buffer to send"),
        "{e}"
    );
}
