//! Every sentence follows from a fact: each explanation sockstep gives is
//! shown, by a scenario where its premise holds, to be given there and no
//! other given instead; each scenario's transcript is snapshot-tested.

mod common;
use common::*;
use serde_json::Value;

/// The scenario lessons in tests/scenarios, each a class of cause.
fn scenario_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lesson"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_matches_its_snapshot_and_runs_as_it_expects() {
    insta::glob!("scenarios", "*.lesson", |path| {
        let out = run_lesson(&rel(path), &[], &unique_tag("scenario"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}{}",
            rel(path),
            stdout(&out),
            stderr(&out)
        );
        let transcript = format!("{}\n[exit status 0]\n", stdout(&out));
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("scenario", transcript);
        });
    });
}

/// The explanation each call of a run got: (step, kind, rst cause, eof).
fn whys(lesson: &str) -> Vec<(u64, String, String, String)> {
    let out = run_lesson(lesson, &["--format", "json"], &unique_tag("whys"));
    let mut found = Vec::new();
    for line in stdout(&out).lines() {
        let e: Value = serde_json::from_str(line).expect("a JSON line");
        let kind = e["event"].as_str().unwrap_or_default();
        if !matches!(kind, "call" | "completed" | "crashed") || e["why"].is_null() {
            continue;
        }
        let w = &e["why"];
        let s = |k: &str| w[k].as_str().unwrap_or_default().to_string();
        found.push((e["step"].as_u64().unwrap(), s("kind"), s("rst"), s("eof")));
    }
    found
}

/// (lesson, step, the explanation's kind, for a reset its cause, for a 0
/// from recv what it means).
const PREMISES: &[(&str, u64, &str, &str, &str)] = &[
    (
        "tests/scenarios/rcvtimeo.lesson",
        11,
        "recv_timeout",
        "",
        "",
    ),
    ("tests/scenarios/sndtimeo.lesson", 7, "send_timeout", "", ""),
    (
        "tests/scenarios/two-hosts-errnos.lesson",
        5,
        "not_local",
        "",
        "",
    ),
    (
        "tests/scenarios/two-hosts-errnos.lesson",
        7,
        "loopback_source",
        "",
        "",
    ),
    (
        "tests/scenarios/two-hosts-errnos.lesson",
        9,
        "no_such_host",
        "",
        "",
    ),
    ("tests/scenarios/msg-flags.lesson", 6, "truncated", "", ""),
    ("tests/scenarios/msg-flags.lesson", 7, "truncated", "", ""),
    ("tests/scenarios/msg-flags.lesson", 19, "no_urgent", "", ""),
    ("tests/scenarios/msg-flags.lesson", 22, "discarded", "", ""),
    ("tests/scenarios/msg-flags.lesson", 23, "discarded", "", ""),
    (
        "tests/scenarios/msg-flags.lesson",
        39,
        "eof",
        "",
        "record_or_end",
    ),
    (
        "tests/scenarios/msg-flags.lesson",
        42,
        "eof",
        "",
        "shut_read_or_record",
    ),
    (
        "tests/scenarios/msg-flags.lesson",
        44,
        "eof",
        "",
        "shut_read_or_record",
    ),
    (
        "tests/scenarios/msg-flags.lesson",
        51,
        "would_block",
        "",
        "",
    ),
    (
        "tests/scenarios/msg-flags.lesson",
        55,
        "would_block",
        "",
        "",
    ),
    ("tests/scenarios/more-errnos.lesson", 1, "not_open", "", ""),
    (
        "tests/scenarios/more-errnos.lesson",
        2,
        "not_socket",
        "",
        "",
    ),
    (
        "tests/scenarios/connect-on-listener.lesson",
        4,
        "listening",
        "",
        "",
    ),
    (
        "tests/scenarios/send-unconnected.lesson",
        7,
        "listening",
        "",
        "",
    ),
    (
        "tests/scenarios/send-unconnected.lesson",
        8,
        "listening",
        "",
        "",
    ),
    (
        "tests/scenarios/connect-on-listener.lesson",
        7,
        "connected",
        "",
        "",
    ),
    (
        "tests/scenarios/send-unconnected.lesson",
        2,
        "never_connected",
        "",
        "",
    ),
    (
        "tests/scenarios/send-unconnected.lesson",
        3,
        "never_connected",
        "",
        "",
    ),
    (
        "tests/scenarios/send-unconnected.lesson",
        9,
        "never_connected",
        "",
        "",
    ),
    ("lessons/08-reset.lesson", 10, "reset", "unread_data", ""),
    ("lessons/08-reset.lesson", 11, "reset", "unread_data", ""),
    (
        "tests/scenarios/reset-causes.lesson",
        10,
        "reset",
        "linger_zero",
        "",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        11,
        "eof",
        "",
        "after_reset",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        16,
        "reset",
        "listener_closed",
        "",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        24,
        "reset",
        "listener_shut",
        "",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        35,
        "eof",
        "",
        "peer_fin",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        36,
        "reset",
        "data_after_close",
        "",
    ),
    (
        "tests/scenarios/reset-causes.lesson",
        43,
        "reset",
        "died",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        9,
        "shut_write",
        "",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        19,
        "peer_shut_read",
        "",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        21,
        "peer_closed",
        "",
        "",
    ),
    (
        "tests/scenarios/unix-refused.lesson",
        11,
        "peer_closed",
        "",
        "",
    ),
    (
        "tests/scenarios/unix-refused.lesson",
        12,
        "peer_closed",
        "",
        "",
    ),
    (
        "tests/scenarios/wrong-family.lesson",
        2,
        "family_mismatch",
        "",
        "",
    ),
    (
        "tests/scenarios/wrong-family.lesson",
        5,
        "family_mismatch",
        "",
        "",
    ),
    (
        "tests/scenarios/wrong-family.lesson",
        7,
        "family_mismatch",
        "",
        "",
    ),
    (
        "tests/scenarios/wrong-family.lesson",
        9,
        "family_mismatch",
        "",
        "",
    ),
    (
        "tests/scenarios/wrong-family.lesson",
        11,
        "already_bound",
        "",
        "",
    ),
    (
        "lessons/04-address-in-use.lesson",
        12,
        "address_held",
        "",
        "",
    ),
    (
        "tests/scenarios/fixed-port-client.lesson",
        14,
        "address_held",
        "",
        "",
    ),
    ("lessons/15-unix-domain.lesson", 16, "path_exists", "", ""),
    (
        "tests/scenarios/second-listener.lesson",
        8,
        "other_listener",
        "",
        "",
    ),
    (
        "tests/scenarios/fixed-port-client.lesson",
        12,
        "pair_in_use",
        "",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        12,
        "not_local",
        "",
        "",
    ),
    ("lessons/02-client-first.lesson", 2, "refused", "", ""),
    (
        "tests/scenarios/unix-refused.lesson",
        4,
        "unix_refused",
        "",
        "",
    ),
    (
        "tests/scenarios/unix-refused.lesson",
        7,
        "unix_refused",
        "",
        "",
    ),
    (
        "tests/scenarios/unix-refused.lesson",
        8,
        "no_such_path",
        "",
        "",
    ),
    ("lessons/09-udp.lesson", 13, "port_unreachable", "", ""),
    ("lessons/14-nonblocking.lesson", 11, "would_block", "", ""),
    (
        "tests/scenarios/accept-reset.lesson",
        12,
        "reset",
        "linger_zero",
        "",
    ),
    (
        "tests/scenarios/accept-reset.lesson",
        16,
        "connects_once",
        "",
        "",
    ),
    (
        "tests/scenarios/connect-again.lesson",
        14,
        "connection_over",
        "",
        "",
    ),
    (
        "tests/scenarios/connect-again.lesson",
        15,
        "disconnected",
        "",
        "",
    ),
    (
        "tests/scenarios/connect-again.lesson",
        22,
        "connect_aborted",
        "",
        "",
    ),
    (
        "tests/scenarios/shut-read-more.lesson",
        4,
        "eof",
        "",
        "shut_read",
    ),
    (
        "tests/scenarios/shut-read-more.lesson",
        17,
        "unix_refused",
        "",
        "",
    ),
    (
        "tests/scenarios/partial-then-error.lesson",
        13,
        "reset",
        "unread_data",
        "",
    ),
    (
        "tests/scenarios/nonblock-refused.lesson",
        6,
        "attempt_ended",
        "",
        "",
    ),
    (
        "tests/scenarios/nonblock-refused.lesson",
        8,
        "refused",
        "",
        "",
    ),
    (
        "tests/scenarios/nonblock-refused.lesson",
        13,
        "refused",
        "",
        "",
    ),
    (
        "tests/scenarios/own-reset.lesson",
        14,
        "reset",
        "data_after_close",
        "",
    ),
    (
        "tests/scenarios/unix-resets.lesson",
        10,
        "reset",
        "listener_closed",
        "",
    ),
    (
        "tests/scenarios/unix-resets.lesson",
        17,
        "reset",
        "unread_data",
        "",
    ),
    (
        "tests/scenarios/unix-dgram-peers.lesson",
        8,
        "peer_shut_read",
        "",
        "",
    ),
    (
        "tests/scenarios/dual-stack.lesson",
        9,
        "address_held",
        "",
        "",
    ),
    (
        "tests/scenarios/process-died.lesson",
        14,
        "reset",
        "died",
        "",
    ),
    (
        "tests/scenarios/process-died.lesson",
        15,
        "reset",
        "listener_closed",
        "",
    ),
    (
        "tests/scenarios/send-while-connecting.lesson",
        10,
        "handshaking",
        "",
        "",
    ),
    (
        "tests/scenarios/send-while-connecting.lesson",
        11,
        "handshaking",
        "",
        "",
    ),
    (
        "tests/scenarios/syn-retransmit.lesson",
        9,
        "in_progress",
        "",
        "",
    ),
    (
        "tests/scenarios/syn-retransmit.lesson",
        10,
        "already",
        "",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        11,
        "not_listening",
        "",
        "",
    ),
    ("tests/scenarios/more-errnos.lesson", 14, "datagram", "", ""),
    (
        "tests/scenarios/more-errnos.lesson",
        15,
        "no_destination",
        "",
        "",
    ),
    (
        "tests/scenarios/privileged-port.lesson",
        2,
        "privileged_port",
        "",
        "",
    ),
    ("tests/scenarios/more-errnos.lesson", 16, "too_big", "", ""),
    (
        "tests/scenarios/more-errnos.lesson",
        25,
        "wrong_type",
        "",
        "",
    ),
    (
        "tests/scenarios/more-errnos.lesson",
        26,
        "other_level",
        "",
        "",
    ),
    (
        "tests/scenarios/eof-kinds.lesson",
        9,
        "eof",
        "",
        "zero_length",
    ),
    (
        "tests/scenarios/eof-kinds.lesson",
        12,
        "eof",
        "",
        "shut_read",
    ),
    (
        "tests/scenarios/eof-kinds.lesson",
        20,
        "eof",
        "",
        "empty_datagram",
    ),
    (
        "tests/scenarios/eof-kinds.lesson",
        23,
        "eof",
        "",
        "peer_closed",
    ),
    (
        "tests/scenarios/eof-kinds.lesson",
        28,
        "eof",
        "",
        "peer_fin",
    ),
];

/// Explanations no scenario can show in a test run, and why: their
/// premises are tested in `src/explain.rs`.
const NOT_IN_A_SCENARIO: &[(&str, &str)] = &[
    (
        "timed_out",
        "a SYN that is never answered takes over two minutes to time out",
    ),
    (
        "unsettled",
        "its premise is that the facts do not settle the cause",
    ),
    (
        "outside_run",
        "Landlock confines actors only on the host's network without root: tests/confine.rs shows it",
    ),
    (
        "outside_scope",
        "it needs the host's network and an abstract socket of the host's: tests/confine.rs shows it",
    ),
];

#[test]
fn each_explanation_is_given_where_its_premise_holds_and_no_other() {
    let mut by_lesson: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for p in PREMISES {
        by_lesson.entry(p.0).or_default().push(p);
    }
    for (lesson, premises) in by_lesson {
        let found = whys(lesson);
        for (_, step, kind, rst, eof) in premises {
            let at: Vec<_> = found.iter().filter(|f| f.0 == *step).collect();
            assert_eq!(
                at.len(),
                1,
                "{lesson} step {step}: one explanation, found {at:?}"
            );
            let got = at[0];
            assert_eq!(
                (got.1.as_str(), got.2.as_str(), got.3.as_str()),
                (*kind, *rst, *eof),
                "{lesson} step {step}"
            );
        }
    }
}

#[test]
fn every_kind_of_explanation_has_a_scenario() {
    for kind in sockstep::json::WHY_KINDS {
        let shown = PREMISES.iter().any(|p| p.2 == *kind);
        let excused = NOT_IN_A_SCENARIO.iter().any(|(k, _)| k == kind);
        assert!(shown || excused, "no scenario shows `{kind}`");
    }
    for cause in sockstep::json::RST_CAUSES {
        let shown = PREMISES.iter().any(|p| p.3 == *cause);
        let unseen = ["no_listener", "no_connection", "unknown"];
        assert!(
            shown || unseen.contains(cause),
            "no scenario shows a reset caused by `{cause}`"
        );
    }
    for eof in sockstep::json::EOF_KINDS {
        assert!(
            PREMISES.iter().any(|p| p.4 == *eof),
            "no scenario shows a 0 that means `{eof}`"
        );
    }
    assert!(scenario_files().len() >= 10);
}
