//! Lessons on two hosts: each host its own network namespace, joined by a
//! link; what each kernel answered, and a hosts line that is wrong.

mod common;
use common::*;
use serde_json::Value;
use sockstep::lesson::Lesson;

/// The JSON events of a run of `lesson`.
fn events(lesson: &str) -> Vec<Value> {
    let out = run_lesson(lesson, &["--format", "json"], &unique_tag("hosts"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn call(events: &[Value], step: u64) -> &Value {
    events
        .iter()
        .find(|e| e["event"] == "call" && e["step"] == step)
        .unwrap_or_else(|| panic!("no call at step {step}"))
}

#[test]
fn each_actor_runs_on_its_host_and_each_kernel_answers_for_its_own_addresses() {
    let ev = events("another-host");
    let start = &ev[0];
    assert_eq!(start["hosts"][0]["name"], "lab");
    assert_eq!(start["hosts"][0]["actors"][0], "server");
    assert_eq!(start["hosts"][1]["addrs"][0], "192.0.2.2");

    // 127.0.0.1 from laptop: laptop's own loopback refused, though a
    // listener on 127.0.0.1:8080 is there on lab.
    let loopback = &call(&ev, 6)["why"];
    assert_eq!(loopback["kind"], "refused");
    assert_eq!(loopback["host"], "laptop");
    assert_eq!(loopback["listener"]["holder"]["actor"], "server");
    assert_eq!(loopback["listener"]["local"]["ip"], "127.0.0.1");
    // lab's link address: lab's kernel refused.
    let link = &call(&ev, 7)["why"];
    assert_eq!(link["host"], "lab");
    assert_eq!(link["flag"], true, "the RST was captured");

    // The connection across the link: each side's addresses are its
    // host's address on the link.
    let connected = call(&ev, 13);
    assert_eq!(connected["outcome"]["ret"], 0);
    assert_eq!(connected["fds"][0]["local"]["ip"], "192.0.2.2");
    let accepted_local = &call(&ev, 15)["outcome"];
    assert_eq!(accepted_local["kind"], "returned");

    // Every packet of the handshake is seen once, from one actor's socket
    // to the other's.
    let handshake: Vec<&Value> = ev
        .iter()
        .filter(|e| e["event"] == "packets")
        .flat_map(|e| e["packets"].as_array().unwrap())
        .filter(|p| p["src"]["ip"] != "127.0.0.1" && p["dst"]["ip"] != "127.0.0.1")
        .take(5)
        .collect();
    let flags: Vec<String> = handshake
        .iter()
        .map(|p| {
            p["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    assert_eq!(flags, ["SYN", "RST-ACK", "SYN", "SYN-ACK", "ACK"]);
    assert_eq!(handshake[2]["from"], "client");
    assert_eq!(handshake[2]["to"], "server");
    assert_eq!(handshake[3]["from"], "server");
    // The packets on laptop's loopback are for laptop's sockets only: the
    // SYN to 127.0.0.1:8080 reached no socket (not lab's listener).
    let syn = ev
        .iter()
        .filter(|e| e["event"] == "packets")
        .flat_map(|e| e["packets"].as_array().unwrap())
        .find(|p| p["dst"]["ip"] == "127.0.0.1")
        .unwrap();
    assert_eq!(syn["from"], "client");
    assert_eq!(syn["to"], Value::Null);
}

#[test]
fn the_words_name_the_host_that_answered_and_where_the_listener_is() {
    let out = run_lesson("another-host", &[], &unique_tag("hosts"));
    // The sentences as read, whatever the lines they wrap to.
    let text = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains(
        "hosts: lab (server) at 192.0.2.1 and 2001:db8::1; laptop (client) at 192.0.2.2 and 2001:db8::2"
    ));
    assert!(text.contains(
        "nothing listens on 127.0.0.1:8080 on laptop, the connecting host (a loopback address is \
         always the host's own): laptop's kernel answered the SYN with RST; server fd 3 listens on \
         127.0.0.1:8080 on lab, another host, on lab's own loopback, which no other host reaches"
    ), "{text}");
    assert!(text.contains(
        "nothing listens on 192.0.2.1:8080 on lab: lab's kernel answered the SYN with RST; server \
         fd 3 listens on 127.0.0.1:8080, another address of lab"
    ), "{text}");
}

#[test]
fn a_lesson_with_hosts_needs_namespaces_and_says_so() {
    let out = run_lesson("another-host", &["--host-network"], &unique_tag("hosts"));
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("this lesson runs on two hosts, each its own network namespace")
            && stderr(&out).contains("--host-network was given"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_wrong_hosts_line_is_an_error_at_its_place() {
    let err = |src: &str| {
        let text = format!("lesson \"x\"\n{src}\nserver: s = socket(AF_INET, SOCK_STREAM, 0)\n");
        Lesson::parse("x.lesson", text.as_bytes()).unwrap_err()
    };
    let cases = [
        (
            "hosts lab: server; laptop: client\nactors server, client",
            "`hosts` before the `actors` line",
            2,
        ),
        (
            "actors server, client\nhosts lab: server; laptop: clint",
            "`clint` is not an actor",
            3,
        ),
        (
            "actors server, client\nhosts lab: server",
            "a hosts line names two hosts",
            3,
        ),
        (
            "actors server, client, other\nhosts a: server; b: client; c: other",
            "more than two hosts",
            3,
        ),
        (
            "actors server, client\nhosts lab: server, client; laptop: client",
            "`client` is placed on a host twice",
            3,
        ),
        (
            "actors server, client\nhosts lab: server; server: client",
            "`server` is already the name of a host or an actor",
            3,
        ),
        (
            "actors server, client, third\nhosts lab: server; laptop: client",
            "`third` is on no host",
            3,
        ),
        (
            "actors server, client\nhosts lab server; laptop: client",
            "a host is written `name: actor, actor`",
            3,
        ),
    ];
    for (src, message, line) in cases {
        let e = err(src);
        assert_eq!(e.message, message, "{src}");
        assert_eq!(e.line, line, "{src}");
        assert!(e.help.is_some(), "{src}");
    }
    // A forked actor runs on its parent's host.
    let text = "lesson \"x\"\nactors server, worker, client\nhosts lab: server; laptop: client, worker\n\
                server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: fork(worker)\n";
    let e = Lesson::parse("x.lesson", text.as_bytes()).unwrap_err();
    assert_eq!(e.message, "`worker` is forked by `server`, on another host");
    let text = "lesson \"x\"\nactors server, worker, client\nhosts lab: server; laptop: client\n\
                server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: fork(worker)\n";
    let lesson = Lesson::parse("x.lesson", text.as_bytes()).unwrap();
    assert_eq!(lesson.host_of(1), 0, "the worker is on lab");
    assert_eq!(lesson.host_of(2), 1);
}

#[test]
fn an_address_in_use_is_held_by_a_socket_of_the_same_host() {
    let ev = events("tests/scenarios/two-hosts-ports.lesson");
    // laptop's bind of 0.0.0.0:8080, while lab listens there: its own port.
    assert_eq!(call(&ev, 5)["outcome"]["ret"], 0);
    let why = &call(&ev, 8)["why"];
    assert_eq!(why["kind"], "address_held");
    let holders: Vec<&Value> = why["sockets"].as_array().unwrap().iter().collect();
    assert_eq!(holders.len(), 1, "{why}");
    assert_eq!(holders[0]["holder"]["actor"], "server");
}
