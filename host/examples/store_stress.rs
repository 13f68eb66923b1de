//! Test helper for `tests/it/store.rs`: a separate process that uses the real store.
//!
//! `store_stress reserve <root> <prefix>`: reserve an id, write its session, print the id.
//! `store_stress rewrite <root> <id> <count>`: rewrite the session `count` times.
#![allow(clippy::print_stdout)]

use ao::store::ProjectStore;
use ao::store::session::Session;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = ProjectStore::at(PathBuf::from(&args[2]));
    match args[1].as_str() {
        "reserve" => {
            let id = store.reserve_id(&args[3]).expect("reserve");
            store
                .write_session(&Session::new(&id, "stress", 1))
                .expect("write");
            println!("{id}");
        }
        "rewrite" => {
            let count: u64 = args[4].parse().expect("count");
            for n in 1..=count {
                store
                    .update_session(&args[3], |s| {
                        // A value that changes size every time, so a torn write would show.
                        s.summary = Some(format!(
                            "rewrite {n} {}",
                            "x".repeat((n % 97) as usize * 40)
                        ));
                        s.last_activity_at = Some(n);
                    })
                    .expect("update");
            }
        }
        other => panic!("unknown command {other}"),
    }
}
