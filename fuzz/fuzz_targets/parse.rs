//! The lexer and parser on any bytes: no panic, no hang, and every error
//! points inside its input. `cargo +nightly fuzz run parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sockstep::lesson::Lesson::parse("fuzz.lesson", data) {
        assert!(e.offset <= data.len());
        assert!(e.line >= 1 && e.column >= 1);
        let _ = e.render(false);
    }
});
