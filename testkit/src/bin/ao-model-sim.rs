//! `ao-model-sim`: the simulated model server as a process, for scripts and manual runs of the
//! real agent CLIs. `ao-model-sim [--port N]` prints `AO_MODEL_URL=http://127.0.0.1:N` once
//! listening, then serves until stdin closes (or forever when stdin is not a pipe).
//! Script it with `@sim` directives in prompts and `POST /_sim/error`; read `GET /_sim/requests`.

use std::io::{Read, Write};

fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| {
                    let _ = writeln!(std::io::stderr(), "ao-model-sim: --port takes a number");
                    std::process::exit(2)
                })
            }
            _ => {
                let _ = writeln!(std::io::stderr(), "usage: ao-model-sim [--port N]");
                std::process::exit(2)
            }
        }
    }
    let sim = ao_testkit::model::ModelSim::start_on(port).unwrap_or_else(|e| {
        let _ = writeln!(std::io::stderr(), "ao-model-sim: cannot listen: {e}");
        std::process::exit(2)
    });
    let _ = writeln!(std::io::stdout(), "AO_MODEL_URL={}", sim.url());
    let _ = std::io::stdout().flush();
    // A pipe on stdin is a lifeline: the parent's end closing stops the server.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the zeroed struct we own.
    let piped =
        unsafe { libc::fstat(0, &mut st) } == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO;
    if piped {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        drop(sim);
        return;
    }
    loop {
        std::thread::park();
    }
}
