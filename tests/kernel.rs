//! What sockstep shows of the kernel agrees with the kernel's own tools:
//! `ss` run inside the run's namespace at chosen steps, and the pcap file
//! read back (and by tshark, where installed).

mod common;
use common::*;
use sockstep::engine::{Options, Run};
use sockstep::lesson::Lesson;
use sockstep::sock::{Socket, State};
use std::process::Command;

fn lesson(path: &str) -> Lesson {
    Lesson::parse(path, &std::fs::read(root().join(path)).unwrap()).unwrap()
}

/// ss's name for a kernel TCP state.
fn ss_state(s: State) -> String {
    match s {
        State::Established => "ESTAB".into(),
        other => other
            .kernel_name()
            .replace('_', "-")
            .replace("WAIT1", "WAIT-1")
            .replace("WAIT2", "WAIT-2"),
    }
}

/// `ss -tan` inside the namespace of `pid`: (state, recv-q, send-q, local,
/// peer).
fn ss(pid: u32) -> Vec<(String, u32, u32, String, String)> {
    let out = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-U",
            "-n",
            "--preserve-credentials",
            "ss",
            "-tanH",
        ])
        .output()
        .expect("nsenter and ss are installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].to_string(),
                f[4].to_string(),
            )
        })
        .collect()
}

/// What sockstep shows, in ss's terms, for the sockets ss lists.
fn shown(sockets: &[Socket]) -> Vec<(String, u32, u32, String, String)> {
    sockets
        .iter()
        .filter(|s| s.kind == sockstep::sock::Kind::TCP && s.state != State::Close)
        .map(|s| {
            let addr = |a: &Option<sockstep::call::Addr>| match a {
                Some(a) => a.to_string(),
                None => "0.0.0.0:*".to_string(),
            };
            (
                ss_state(s.state),
                s.recv_q,
                s.send_q,
                addr(&s.local),
                addr(&s.peer),
            )
        })
        .collect()
}

#[test]
fn states_agree_with_ss_after_every_step() {
    // Handshakes, the accept queue, orderly and half closes, a reset, and
    // the TIME-WAIT sockets no fd refers to.
    let lessons = [
        "lessons/01-hello.lesson",
        "lessons/04-address-in-use.lesson",
        "lessons/05-connect-before-accept.lesson",
        "lessons/06-orderly-close.lesson",
        "lessons/07-half-close.lesson",
        "lessons/08-reset.lesson",
    ];
    let opts = Options::new(BIN);
    for path in lessons {
        let mut run = Run::start(lesson(path), &opts).unwrap();
        let pid = run.netns_pid().expect("a private namespace");
        let mut compared = 0;
        for n in 1.. {
            let Some(events) = run.step().unwrap() else {
                break;
            };
            if events
                .iter()
                .any(|e| matches!(e, sockstep::event::Event::Finish { .. }))
            {
                // The hub, and so the namespace, is gone.
                break;
            }
            let mut ours = shown(run.sockets());
            let mut theirs = ss(pid);
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "{path} after engine step {n}");
            compared += theirs.len();
        }
        assert!(compared > 0, "{path}: nothing to compare");
    }
}

/// The records of a pcap file: each frame's bytes.
fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes(), "pcap magic");
    assert_eq!(
        u32::from_le_bytes(bytes[20..24].try_into().unwrap()),
        1,
        "link type Ethernet"
    );
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(bytes[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}

#[test]
fn the_pcap_file_holds_the_runs_packets() {
    let dir = std::env::temp_dir().join(unique_tag("pcap"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hello.pcap");
    let out = run_lesson(
        "hello",
        &["--pcap", file.to_str().unwrap()],
        &unique_tag("pcap"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let frames = read_pcap(&std::fs::read(&file).unwrap());
    let flags: Vec<String> = frames
        .iter()
        .map(|f| {
            match sockstep::capture::decode(f)
                .expect("a TCP/IP frame")
                .payload
            {
                sockstep::capture::Payload::Tcp { flags, data, .. } => {
                    let mut s = String::new();
                    for (bit, c) in [
                        (0x02, 'S'),
                        (0x01, 'F'),
                        (0x04, 'R'),
                        (0x08, 'P'),
                        (0x10, 'A'),
                    ] {
                        if flags & bit != 0 {
                            s.push(c);
                        }
                    }
                    if !data.is_empty() {
                        s.push_str(&format!("+{}", data.len()));
                    }
                    s
                }
                other => panic!("not TCP: {other:?}"),
            }
        })
        .collect();
    // The handshake, each greeting and its ACK, and the two FINs with
    // theirs: as the transcript shows, and as KERNEL-NOTES observed.
    assert_eq!(
        flags,
        [
            "S", "SA", "A", "PA+17", "A", "PA+17", "A", "FA", "A", "FA", "A"
        ]
    );

    if Command::new("tshark").arg("--version").output().is_ok() {
        let t = Command::new("tshark")
            .args([
                "-r",
                file.to_str().unwrap(),
                "-T",
                "fields",
                "-e",
                "tcp.len",
            ])
            .output()
            .unwrap();
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        let lens: Vec<String> = String::from_utf8_lossy(&t.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(
            lens,
            ["0", "0", "0", "17", "0", "17", "0", "0", "0", "0", "0"]
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
