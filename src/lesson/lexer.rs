//! Splits one line of a lesson into tokens, each with its byte span.

use super::error::{ErrorKind, LessonError};
use crate::call::Addr;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i64),
    Str(Vec<u8>),
    Addr(Addr),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Eq,
    Arrow,
    /// `|` between flags: `MSG_PEEK | MSG_DONTWAIT`.
    Pipe,
    /// `*` repeating a string: `"x" * 100000`.
    Star,
    /// `?` after an expectation: the step is a quiz question.
    Question,
    /// `| narration` at the start of a line: the text after the bar, trimmed.
    Narration(String),
    /// `;` ending a C statement.
    Semi,
    /// `&` before a name: its address, as C passes a sockaddr.
    Amp,
    /// `[` and `]` after a name: `char buf[1024]`.
    LBracket,
    RBracket,
    /// A host name with a port, resolved as getaddrinfo would:
    /// `localhost:8080`.
    NamedAddr(String, Addr),
    /// `127.0.0.1:eph`: an address with a port the kernel picked, as an
    /// expectation.
    /// `127.0.0.1:eph`, or `:eph1` with a number that names the port.
    EphAddr(std::net::IpAddr, Option<u32>),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    /// Byte offsets into the whole file.
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn span(&self) -> (usize, usize) {
        (self.start, self.end - self.start)
    }
}

pub struct Lexer<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

impl Lexer<'_> {
    fn err(&self, kind: ErrorKind, span: (usize, usize), msg: String, label: &str) -> LessonError {
        LessonError::new(kind, self.path, self.text, span, msg, label)
    }

    /// Tokens of the line that starts at byte `base`; comments are dropped.
    pub fn line(&self, base: usize, line: &str) -> Result<Vec<Token>, LessonError> {
        let bytes = line.as_bytes();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let start = base + i;
            let single = |tok| Token {
                tok,
                start,
                end: start + 1,
            };
            match c {
                b' ' | b'\t' | b'\r' => i += 1,
                b'#' => break,
                b'|' if !toks.is_empty() => {
                    toks.push(single(Tok::Pipe));
                    i += 1;
                }
                b'|' => {
                    toks.push(Token {
                        tok: Tok::Narration(line[i + 1..].trim().to_string()),
                        start,
                        end: base + bytes.len(),
                    });
                    break;
                }
                b'(' => {
                    toks.push(single(Tok::LParen));
                    i += 1;
                }
                b')' => {
                    toks.push(single(Tok::RParen));
                    i += 1;
                }
                b'{' => {
                    toks.push(single(Tok::LBrace));
                    i += 1;
                }
                b'}' => {
                    toks.push(single(Tok::RBrace));
                    i += 1;
                }
                b'*' => {
                    toks.push(single(Tok::Star));
                    i += 1;
                }
                b'?' if line[i..].starts_with("???") => {
                    return Err(self
                        .err(
                            ErrorKind::Blank,
                            (start, 3),
                            "a blank to fill in".into(),
                            "this is yours to write",
                        )
                        .help("replace ??? with what the step needs; `sockstep check FILE --hint` gives a hint"));
                }
                b'?' => {
                    toks.push(single(Tok::Question));
                    i += 1;
                }
                b',' => {
                    toks.push(single(Tok::Comma));
                    i += 1;
                }
                b':' => {
                    toks.push(single(Tok::Colon));
                    i += 1;
                }
                b'=' if bytes.get(i + 1) == Some(&b'>') => {
                    toks.push(Token {
                        tok: Tok::Arrow,
                        start,
                        end: start + 2,
                    });
                    i += 2;
                }
                b'=' => {
                    toks.push(single(Tok::Eq));
                    i += 1;
                }
                b'"' => {
                    let (data, len) = self.string(base + i, &line[i..])?;
                    toks.push(Token {
                        tok: Tok::Str(data),
                        start,
                        end: start + len,
                    });
                    i += len;
                }
                b';' => {
                    toks.push(single(Tok::Semi));
                    i += 1;
                }
                b'&' => {
                    toks.push(single(Tok::Amp));
                    i += 1;
                }
                b']' => {
                    toks.push(single(Tok::RBracket));
                    i += 1;
                }
                // `buf[`: an array, not an IPv6 address.
                b'[' if toks
                    .last()
                    .is_some_and(|t: &Token| t.end == start && matches!(t.tok, Tok::Ident(_))) =>
                {
                    toks.push(single(Tok::LBracket));
                    i += 1;
                }
                b'[' => {
                    let len = line[i..]
                        .find(|c: char| c.is_whitespace() || c == ',' || c == ')')
                        .unwrap_or(line.len() - i);
                    let word = &line[i..i + len];
                    let tok = match ephemeral(word).and_then(|(w, n)| {
                        let ip = w.strip_prefix('[')?.strip_suffix(']')?;
                        Some((ip.parse::<Ipv6Addr>().ok()?, n))
                    }) {
                        Some((ip, n)) => Tok::EphAddr(ip.into(), n),
                        None => Tok::Addr(self.addr6(base + i, word)?),
                    };
                    toks.push(Token {
                        tok,
                        start,
                        end: start + len,
                    });
                    i += len;
                }
                b'0'..=b'9' | b'-' => {
                    let len = line[i + 1..]
                        .find(|c: char| {
                            !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-'))
                        })
                        .map(|n| n + 1)
                        .unwrap_or(line.len() - i);
                    let word = &line[i..i + len];
                    let tok = if let Some((ip, n)) =
                        ephemeral(word).and_then(|(ip, n)| Some((ip.parse::<Ipv4Addr>().ok()?, n)))
                    {
                        Tok::EphAddr(ip.into(), n)
                    } else if word.contains('.') || (word.contains(':') && c != b'-') {
                        Tok::Addr(self.addr4(base + i, word)?)
                    } else {
                        Tok::Int(word.parse().map_err(|_| {
                            let e = self.err(
                                ErrorKind::Syntax,
                                (start, len),
                                format!("`{word}` is not a number"),
                                "expected a whole number",
                            );
                            if word == "-" {
                                e.help(
                                    "sockstep does no arithmetic: write the number itself \
                                     (1023 for BUFFER_SIZE - 1)",
                                )
                            } else {
                                e
                            }
                        })?)
                    };
                    toks.push(Token {
                        tok,
                        start,
                        end: start + len,
                    });
                    i += len;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let len = line[i..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(line.len() - i);
                    let word = &line[i..i + len];
                    let port = line[i + len..]
                        .strip_prefix(':')
                        .map(|p| p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len())
                        .filter(|n| *n > 0);
                    if word == "localhost"
                        && let Some(digits) = port
                    {
                        // 127.0.0.1, as /etc/hosts maps localhost for
                        // IPv4 (the parser makes it ::1 for an AF_INET6
                        // socket).
                        let p =
                            self.port(start + len + 1, &line[i + len + 1..i + len + 1 + digits])?;
                        let addr = Addr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, p));
                        toks.push(Token {
                            tok: Tok::NamedAddr(word.to_string(), addr),
                            start,
                            end: start + len + 1 + digits,
                        });
                        i += len + 1 + digits;
                        continue;
                    }
                    toks.push(Token {
                        tok: Tok::Ident(line[i..i + len].to_string()),
                        start,
                        end: start + len,
                    });
                    i += len;
                }
                _ => {
                    let ch = line[i..].chars().next().unwrap_or('?');
                    return Err(self
                        .err(
                            ErrorKind::UnexpectedChar,
                            (start, ch.len_utf8()),
                            format!("unexpected character `{ch}`"),
                            "no token starts with this",
                        )
                        .help(if matches!(ch, '+' | '/' | '%') {
                            "sockstep does no arithmetic: write the number itself (select's \
                             nfds is the highest fd in its sets plus one: 5 when it is 4)"
                        } else {
                            "a step looks like `server: s = socket(AF_INET, SOCK_STREAM, 0)`; \
                             narration lines start with `|`, comments with `#`"
                        }));
                }
            }
        }
        Ok(toks)
    }

    /// A string literal at the start of `s`: its bytes and its length in the source.
    fn string(&self, start: usize, s: &str) -> Result<(Vec<u8>, usize), LessonError> {
        let mut out = Vec::new();
        let mut chars = s.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, i + 1)),
                '\\' => {
                    let Some((j, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push(b'\n'),
                        'r' => out.push(b'\r'),
                        't' => out.push(b'\t'),
                        '0' => out.push(0),
                        '\\' => out.push(b'\\'),
                        '"' => out.push(b'"'),
                        'x' => {
                            let hex = s.get(j + 1..j + 3).unwrap_or("");
                            let byte = u8::from_str_radix(hex, 16).map_err(|_| {
                                self.err(
                                    ErrorKind::Syntax,
                                    (start + i, 2 + hex.len()),
                                    "bad escape in a string".into(),
                                    "expected \\x and two hex digits",
                                )
                            })?;
                            out.push(byte);
                            chars.next();
                            chars.next();
                        }
                        _ => {
                            return Err(self
                                .err(
                                    ErrorKind::Syntax,
                                    (start + i, 1 + e.len_utf8()),
                                    format!("unknown escape `\\{e}` in a string"),
                                    "not an escape sockstep knows",
                                )
                                .help(r#"the escapes are \n \r \t \0 \\ \" and \xNN"#));
                        }
                    }
                }
                c => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        Err(self
            .err(
                ErrorKind::UnterminatedString,
                (start, 1),
                "unterminated string".into(),
                "this string is never closed",
            )
            .help("close it with `\"` on the same line"))
    }

    fn port(&self, start: usize, s: &str) -> Result<u16, LessonError> {
        let n: u32 = s.parse().map_err(|_| {
            self.err(
                ErrorKind::BadAddress,
                (start, s.len().max(1)),
                format!("`{s}` is not a port number"),
                "expected a port from 0 to 65535",
            )
            .help(if s.starts_with("eph") {
                "a port the kernel picked is written `eph` (`=> 127.0.0.1:eph`), or `eph1`, \
                 `eph2`... to name it and expect the same port again"
            } else {
                "an address is written like 127.0.0.1:8080 or [::1]:8080"
            })
        })?;
        u16::try_from(n).map_err(|_| {
            self.err(
                ErrorKind::BadAddress,
                (start, s.len()),
                format!("port {n} is out of range"),
                "ports go from 0 to 65535",
            )
            .help("a port is 16 bits wide: pick one from 1024 to 65535, such as 8080")
        })
    }

    fn addr4(&self, start: usize, word: &str) -> Result<Addr, LessonError> {
        let Some((ip, port)) = word.rsplit_once(':') else {
            return Err(self
                .err(
                    ErrorKind::BadAddress,
                    (start, word.len()),
                    format!("`{word}` has no port"),
                    "expected ADDRESS:PORT",
                )
                .help(format!("add a port: {word}:8080")));
        };
        let ip: Ipv4Addr = ip.parse().map_err(|_| {
            self.err(
                ErrorKind::BadAddress,
                (start, ip.len().max(1)),
                format!("`{ip}` is not an IPv4 address"),
                "expected four numbers from 0 to 255, like 127.0.0.1",
            )
            .help("write IPv6 addresses in brackets: [::1]:8080")
        })?;
        let port = self.port(start + word.len() - port.len(), port)?;
        Ok(Addr::V4(SocketAddrV4::new(ip, port)))
    }

    fn addr6(&self, start: usize, word: &str) -> Result<Addr, LessonError> {
        let bad = |msg: String| {
            self.err(
                ErrorKind::BadAddress,
                (start, word.len().max(1)),
                msg,
                "expected [IPV6]:PORT",
            )
            .help("an IPv6 address is written in brackets with a port: [::1]:8080")
        };
        let Some(close) = word.find(']') else {
            return Err(bad(format!("`{word}` has no closing `]`")));
        };
        let ip: Ipv6Addr = word[1..close]
            .parse()
            .map_err(|_| bad(format!("`{}` is not an IPv6 address", &word[1..close])))?;
        let Some(port) = word[close + 1..].strip_prefix(':') else {
            return Err(bad(format!("`{word}` has no port")));
        };
        let port = self.port(start + close + 2, port)?;
        Ok(Addr::V6(SocketAddrV6::new(ip, port, 0, 0)))
    }
}

/// `IP:eph` or `IP:ephN`: the IP part, and N if it is there.
fn ephemeral(word: &str) -> Option<(&str, Option<u32>)> {
    let (ip, n) = word.rsplit_once(":eph")?;
    if n.is_empty() {
        return Some((ip, None));
    }
    if !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 4 {
        return None;
    }
    Some((ip, n.parse().ok()))
}
