//! `ao-forge-sim`: the simulated GitHub as a process, for `ao demo`, scripts and manual use.
//!
//! ```text
//! ao-forge-sim [--port N] [--dir DIR] [--repo OWNER/NAME[=BARE_GIT_DIR]]... [--scenario demo]
//!              [--stdin-lifeline]
//! ```
//! `--scenario demo` sets up `ao demo`'s world (see `ao_testkit::demo`) and also prints
//! `AO_DEMO_REPO`, `AO_DEMO_GIT` (the bare repository), `AO_DEMO_PLAYBOOK` and `AO_DEMO_ISSUES`.
//! Prints `AO_FORGE_URL=…` and `AO_FORGE_TOKEN=…` on stdout once listening, then serves until
//! killed, or with `--stdin-lifeline` until stdin closes (so a parent that dies takes the forge
//! with it). Script it with
//! `POST $AO_FORGE_URL/_sim/<command>` (see `ao_testkit::forge`).

use ao_testkit::forge::{ForgeSim, TOKEN};
use std::io::{Read, Write};
use std::path::PathBuf;

fn die(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "ao-forge-sim: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut port = 0u16;
    let mut dir: Option<PathBuf> = None;
    let mut repos: Vec<String> = Vec::new();
    let mut lifeline = false;
    let mut scenario: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--port" => {
                port = value()
                    .parse()
                    .unwrap_or_else(|_| die("--port takes a number"))
            }
            "--dir" => dir = Some(value().into()),
            "--repo" => repos.push(value()),
            "--stdin-lifeline" => lifeline = true,
            "--scenario" => scenario = Some(value()),
            "-h" | "--help" => {
                let _ = writeln!(
                    std::io::stdout(),
                    "usage: ao-forge-sim [--port N] [--dir DIR] [--repo OWNER/NAME[=BARE_GIT_DIR]]... [--scenario demo] [--stdin-lifeline]"
                );
                return;
            }
            other => die(&format!("unknown argument `{other}`")),
        }
    }
    let temp;
    let dir = match dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir().unwrap_or_else(|e| die(&format!("temp dir: {e}")));
            temp.path().to_path_buf()
        }
    };
    let sim =
        ForgeSim::start_in(&dir, port).unwrap_or_else(|e| die(&format!("cannot listen: {e}")));
    for r in &repos {
        let result = match r.split_once('=') {
            Some((full, path)) => sim
                .world()
                .add_repo_at(full, std::path::Path::new(path), false),
            None => sim.world().add_repo(r, false).map(|_| ()),
        };
        if let Err(e) = result {
            die(&format!("--repo {r}: {}", e.message));
        }
    }
    let mut out = std::io::stdout();
    let _demo = match scenario.as_deref() {
        None => None,
        Some("demo") => {
            let d = ao_testkit::demo::setup(&sim, &dir.join("demo"))
                .unwrap_or_else(|e| die(&format!("--scenario demo: {e}")));
            let issues: Vec<String> = d.issues.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "AO_DEMO_REPO={}\nAO_DEMO_GIT={}\nAO_DEMO_PLAYBOOK={}\nAO_DEMO_ISSUES={}",
                d.repo,
                d.git_dir.display(),
                d.playbook.display(),
                issues.join(",")
            );
            Some(d)
        }
        Some(other) => die(&format!("unknown scenario `{other}` (there is: demo)")),
    };
    let _ = writeln!(out, "AO_FORGE_URL={}\nAO_FORGE_TOKEN={TOKEN}", sim.url());
    let _ = out.flush();
    if !lifeline {
        loop {
            std::thread::park();
        }
    }
    let mut sink = [0u8; 256];
    while std::io::stdin().read(&mut sink).is_ok_and(|n| n > 0) {}
    drop(sim);
}
