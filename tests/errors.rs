//! Bad lessons get an error with file, line, column, the source line, a
//! caret under the offending token and a hint; never a panic.

mod common;
use common::*;
use sockstep::lesson::{ErrorKind, Lesson};

const HEAD: &str = "lesson \"bad\"\nactors server, client\n";

/// Name, file contents, kind, line, column.
fn cases() -> Vec<(&'static str, Vec<u8>, ErrorKind, usize, usize)> {
    let with_head = |body: &str| format!("{HEAD}{body}").into_bytes();
    vec![
        (
            "unknown-call",
            with_head("server: s = sockt(AF_INET, SOCK_STREAM, 0)\n"),
            ErrorKind::UnknownCall,
            3,
            13,
        ),
        (
            "unknown-constant",
            with_head("server: s = socket(AF_INTE, SOCK_STREAM, 0)\n"),
            ErrorKind::UnknownConstant,
            3,
            20,
        ),
        (
            "constant-out-of-place",
            with_head("server: s = socket(SOCK_STREAM, AF_INET, 0)\n"),
            ErrorKind::UnknownConstant,
            3,
            20,
        ),
        (
            "wrong-option-level",
            with_head(
                "server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: setsockopt(s, IPPROTO_TCP, SO_REUSEADDR, 1)\n",
            ),
            ErrorKind::UnknownConstant,
            4,
            23,
        ),
        (
            "argument-count",
            with_head("server: s = socket(AF_INET, SOCK_STREAM)\n"),
            ErrorKind::ArgumentCount,
            3,
            13,
        ),
        (
            "unbound-name",
            with_head(
                "server: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: connect(s, 127.0.0.1:8080)\n",
            ),
            ErrorKind::UnboundName,
            4,
            17,
        ),
        (
            "misspelt-name",
            with_head("server: sock = socket(AF_INET, SOCK_STREAM, 0)\nserver: listen(sokc, 5)\n"),
            ErrorKind::UnboundName,
            4,
            16,
        ),
        (
            "port-out-of-range",
            with_head(
                "server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: bind(s, 127.0.0.1:80800)\n",
            ),
            ErrorKind::BadAddress,
            4,
            27,
        ),
        (
            "bad-ipv4",
            with_head(
                "server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: bind(s, 127.0.0.300:8080)\n",
            ),
            ErrorKind::BadAddress,
            4,
            17,
        ),
        (
            "bad-ipv6",
            with_head(
                "server: s = socket(AF_INET6, SOCK_STREAM, 0)\nserver: bind(s, [::g]:8080)\n",
            ),
            ErrorKind::BadAddress,
            4,
            17,
        ),
        (
            "localhost",
            with_head(
                "client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: connect(s, localhost)\n",
            ),
            ErrorKind::BadAddress,
            4,
            20,
        ),
        (
            "unknown-actor",
            with_head("sever: s = socket(AF_INET, SOCK_STREAM, 0)\n"),
            ErrorKind::UnknownActor,
            3,
            1,
        ),
        (
            "unterminated-string",
            with_head("client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: send(s, \"Hello)\n"),
            ErrorKind::UnterminatedString,
            4,
            17,
        ),
        (
            "binary-garbage",
            b"lesson \"x\"\n\x7fELF\x02\x01\x01\x00\xff\xfe".to_vec(),
            ErrorKind::NotText,
            2,
            9,
        ),
        (
            "control-character",
            b"lesson \"x\"\n\x00\x01\x02".to_vec(),
            ErrorKind::NotText,
            2,
            1,
        ),
        ("empty-file", Vec::new(), ErrorKind::Empty, 1, 1),
        (
            "only-comments",
            b"# nothing here\n\n".to_vec(),
            ErrorKind::Empty,
            1,
            1,
        ),
        (
            "no-steps",
            HEAD.as_bytes().to_vec(),
            ErrorKind::Header,
            2,
            22,
        ),
        (
            "no-actors-line",
            b"lesson \"x\"\nserver: s = socket(AF_INET, SOCK_STREAM, 0)\n".to_vec(),
            ErrorKind::Header,
            2,
            1,
        ),
        (
            "unknown-errno",
            with_head(
                "client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: connect(s, 127.0.0.1:8080) => ECONNREFUSD\n",
            ),
            ErrorKind::BadExpectation,
            4,
            39,
        ),
        (
            "bytes-expected-of-send",
            with_head(
                "client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: send(s, \"hi\") => \"hi\"\n",
            ),
            ErrorKind::BadExpectation,
            4,
            26,
        ),
        (
            "binding-a-non-fd",
            with_head(
                "client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: r = connect(s, 127.0.0.1:8080)\n",
            ),
            ErrorKind::Syntax,
            4,
            9,
        ),
        (
            "unclosed-call",
            with_head("server: s = socket(AF_INET, SOCK_STREAM, 0\n"),
            ErrorKind::Syntax,
            3,
            43,
        ),
        (
            "unexpected-character",
            with_head("server: s = socket(AF_INET@ SOCK_STREAM, 0)\n"),
            ErrorKind::UnexpectedChar,
            3,
            27,
        ),
        (
            "header-after-steps",
            with_head("server: s = socket(AF_INET, SOCK_STREAM, 0)\ngoal \"late\"\n"),
            ErrorKind::Header,
            4,
            1,
        ),
        (
            "two-names-for-one-fd",
            with_head("server: a, b = socket(AF_INET, SOCK_STREAM, 0)\n"),
            ErrorKind::Syntax,
            3,
            12,
        ),
        (
            "external-not-a-word",
            b"lesson \"bad\"\nactors server, client = extern\nserver: s = socket(AF_INET, SOCK_STREAM, 0)\n"
                .to_vec(),
            ErrorKind::Header,
            2,
            25,
        ),
        (
            "external-without-steps",
            b"lesson \"bad\"\nactors server, client = external\nserver: s = socket(AF_INET, SOCK_STREAM, 0)\n"
                .to_vec(),
            ErrorKind::Header,
            2,
            25,
        ),
        (
            "quiz-mark-alone",
            with_head("server: s = socket(AF_INET, SOCK_STREAM, 0) ?\n"),
            ErrorKind::Syntax,
            3,
            45,
        ),
    ]
}

#[test]
fn each_class_of_bad_input_points_at_its_token() {
    for (name, bytes, kind, line, column) in cases() {
        let path = format!("bad/{name}.lesson");
        let err = match Lesson::parse(&path, &bytes) {
            Ok(_) => panic!("{name}: parsed without error"),
            Err(e) => e,
        };
        assert_eq!(
            (err.kind, err.line, err.column),
            (kind, line, column),
            "{name}: {}",
            err.render(false)
        );
        let rendered = err.render(false);
        assert!(
            rendered.contains(&format!("[{path}:{line}:{column}]")),
            "{name}:\n{rendered}"
        );
        if kind != ErrorKind::Empty {
            assert!(rendered.contains('^'), "{name}: no caret:\n{rendered}");
        }
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => name,
        }, {
            insta::assert_snapshot!("error", rendered);
        });
    }
}

#[test]
fn hints_suggest_the_nearest_name() {
    let hint = |src: &str| {
        let e = Lesson::parse("x.lesson", format!("{HEAD}{src}").as_bytes()).unwrap_err();
        e.help.unwrap_or_default()
    };
    assert_eq!(
        hint("server: s = sockt(AF_INET, SOCK_STREAM, 0)\n"),
        "did you mean `socket`?"
    );
    assert_eq!(
        hint("server: s = socket(AF_INTE, SOCK_STREAM, 0)\n"),
        "did you mean `AF_INET`?"
    );
    assert!(
        hint("sever: s = socket(AF_INET, SOCK_STREAM, 0)\n").starts_with("did you mean `server`?")
    );
    assert_eq!(
        hint("server: s = socket(AF_INET, SOCK_STREAM, 0)\nserver: listen(x, 5)\n"),
        "server has bound `s`"
    );
}

#[test]
fn the_cli_prints_the_error_to_stderr_and_exits_2() {
    let dir = std::env::temp_dir().join(unique_tag("cli-error"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.lesson"),
        format!("{HEAD}server: s = sockt(AF_INET, SOCK_STREAM, 0)\n"),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["run", "bad.lesson", "--no-pause"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("error: unknown call `sockt`"), "{err}");
    assert!(err.contains("[bad.lesson:3:13]"), "{err}");
    assert!(err.contains("help: did you mean `socket`?"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: no test depends on chance.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"server: client s c = socket(AF_INET, SOCK_STREAM) 0 1 127.0.0.1:8080 [::1]:80 \"x\\ => | # \n{},";
    for _ in 0..3000 {
        let len = (next() % 120) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 7 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                }
            })
            .collect();
        let mut src = HEAD.as_bytes().to_vec();
        src.extend(bytes);
        if let Err(e) = Lesson::parse("fuzz.lesson", &src) {
            let _ = e.render(false);
        }
    }
}
