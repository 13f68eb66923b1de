//! `ao batch-spawn`: several issues at once, live ones skipped, failures undone and reported.

use crate::engine::*;
use crate::support::*;
use serde_json::json;

#[test]
fn batch_spawn_skips_live_issues_and_duplicates_and_reports_failures() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    for title in ["Second", "Third"] {
        s.sim
            .world()
            .create_issue(REPO, title, "more work", &[], "maintainer")
            .unwrap();
    }
    succeed(s.ao().args(["spawn", "1"]));

    let out = s
        .ao()
        .args(["batch-spawn", "1", "2", "#3", "2", "--concurrency", "2"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Spawned concurrently: which issue got which id is not fixed, only that each got one.
    let mut issues: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(" ISSUE=").map(|(_, i)| i))
        .collect();
    issues.sort();
    assert_eq!(issues, ["2", "3"], "{stdout}");
    let mut ids: Vec<&str> = stdout.lines().filter_map(|l| l.split(' ').next()).collect();
    ids.sort();
    assert_eq!(ids, ["SESSION=app-2", "SESSION=app-3"], "{stdout}");
    assert!(
        stderr.contains("skipped #1: app-1 is already on it"),
        "{stderr}"
    );
    assert!(stderr.contains("#2 is listed twice"), "{stderr}");
    assert!(
        stderr.contains("2 spawned, 1 skipped, 0 failed"),
        "{stderr}"
    );

    let v = stdout_json(&succeed(s.ao().args(["status", "--json"])));
    let mut issues: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["issueId"].as_str().unwrap_or("").to_string())
        .collect();
    issues.sort();
    assert_eq!(issues, ["1", "2", "3"], "{v}");

    // A missing issue fails alone, names itself, and leaves nothing behind.
    let out = s.ao().args(["batch-spawn", "99"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed #99:"), "{stderr}");
    assert!(
        stderr.contains("0 spawned, 0 skipped, 1 failed"),
        "{stderr}"
    );
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    assert_eq!(v["data"].as_array().unwrap().len(), 3, "{v}");
}
