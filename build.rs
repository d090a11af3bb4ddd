//! Embeds the lessons in `lessons/` and the exercises in `exercises/` into
//! the binary, so `sockstep run hello` and `sockstep exercises` work
//! wherever the binary is installed.

use std::fmt::Write;
use std::path::Path;

fn embed(folder: &str) {
    println!("cargo:rerun-if-changed={folder}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "lesson"));
    files.sort();
    let mut out = String::from("&[\n");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join(format!("{folder}.rs"));
    std::fs::write(dest, out).unwrap();
}

fn main() {
    embed("lessons");
    embed("exercises");
}
