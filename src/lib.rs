//! sockstep: socket programming, one real system call at a time.
//!
//! A [`lesson::Lesson`] says what each actor does; the [`engine`] runs each
//! call as a real syscall in a real process and emits [`event::Event`]s; the
//! [`render`] module draws them.

pub mod actor;
pub mod book;
pub mod call;
pub mod calls;
pub mod capture;
pub mod catalog;
pub mod cgen;
pub mod check;
pub mod cli;
pub mod confine;
pub mod engine;
pub mod errno;
pub mod event;
pub mod exercise;
pub mod explain;
pub mod hub;
pub mod json;
pub mod kernel;
pub mod lesson;
pub mod netlink;
pub mod netns;
pub mod render;
pub mod sock;
pub mod trace;
pub mod tui;
pub mod wire;
