//! A forge with a repository, a checkout that pushes to it, and plugin components aimed at it.

#![allow(dead_code, unreachable_pub)]

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::scm::Scm;
use ao_plugin_api::slots::tracker::Tracker;
use ao_plugin_github::{Config, GithubScm, GithubTracker};
use ao_testkit::forge::{ForgeSim, NewPull, TOKEN};
use ao_testkit::git::git;
use std::path::PathBuf;

pub const REPO: &str = "acme/app";

pub struct World {
    pub sim: ForgeSim,
    pub dir: tempfile::TempDir,
    pub checkout: PathBuf,
    pub host: std::sync::Arc<TestHost>,
}

impl World {
    pub fn new() -> Self {
        let sim = ForgeSim::start();
        let bare = sim.repo(REPO);
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("app");
        git(dir.path(), &["clone", "-q", bare.to_str().unwrap(), "app"]);
        git(&checkout, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        commit(&checkout, "README.md", "hello\n");
        git(&checkout, &["push", "-q", "origin", "main"]);
        let host = TestHost::new();
        host.set_secret("FORGE_TOKEN", TOKEN);
        host.set_secret("HOOK_SECRET", "s3cret");
        Self {
            sim,
            dir,
            checkout,
            host,
        }
    }

    pub fn config(&self, extra: serde_json::Value) -> Config {
        let mut c = serde_json::json!({
            "apiUrl": self.sim.url(),
            "tokenEnv": "FORGE_TOKEN",
            "webhookSecretEnv": "HOOK_SECRET",
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            c[k] = v;
        }
        serde_json::from_value(c).unwrap()
    }

    pub fn scm(&self) -> GithubScm {
        GithubScm::new(self.config(serde_json::json!({})), &self.host.handle()).unwrap()
    }

    pub fn tracker(&self) -> GithubTracker {
        GithubTracker::new(self.config(serde_json::json!({})), &self.host.handle()).unwrap()
    }

    /// Pushes a branch with one commit off `main`; returns its head.
    pub fn push_branch(&self, branch: &str, file: &str) -> String {
        git(&self.checkout, &["checkout", "-q", "-B", branch, "main"]);
        let sha = commit(&self.checkout, file, &format!("{branch}\n"));
        git(&self.checkout, &["push", "-q", "-f", "origin", branch]);
        git(&self.checkout, &["checkout", "-q", "main"]);
        sha
    }

    /// Adds a commit to an existing branch and pushes it.
    pub fn push_more(&self, branch: &str, file: &str, text: &str) -> String {
        git(&self.checkout, &["checkout", "-q", branch]);
        let sha = commit(&self.checkout, file, text);
        git(&self.checkout, &["push", "-q", "origin", branch]);
        git(&self.checkout, &["checkout", "-q", "main"]);
        sha
    }

    /// A branch with a PR; returns the PR number.
    pub fn pr(&self, branch: &str) -> u64 {
        self.push_branch(branch, &format!("{}.txt", branch.replace('/', "-")));
        self.sim
            .world()
            .create_pull(REPO, NewPull::new(branch, &format!("Work on {branch}")))
            .unwrap()
    }
}

pub fn commit(dir: &std::path::Path, file: &str, text: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", &format!("change {file}")]);
    git(dir, &["rev-parse", "HEAD"])
}

pub fn ctx() -> Ctx {
    Ctx::detached()
}

pub fn err_text<T: std::fmt::Debug>(r: Result<T, SdkError>) -> String {
    r.unwrap_err().to_string()
}
