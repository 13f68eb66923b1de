//! `ao plugins install` and `remove`: verify first, then copy by temp-file + rename.
//!
//! An install writes nothing until the library has passed every check (precheck, child-process
//! probe, compatibility), so a refused library leaves the plugin directory exactly as it was.
//! The new copy is a new inode renamed into place: a running `ao` that has the old file mapped is
//! not disturbed (overwriting a mapped library in place can crash it).

use crate::Error;
use crate::plugins::catalog::ScanOptions;
use crate::plugins::discovery::is_library_name;
use crate::plugins::sidecar::{self, Sidecar};
use crate::plugins::{compat, precheck, probe};
use std::path::{Path, PathBuf};

/// What an install did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The plugin's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it now lives.
    pub dir: PathBuf,
    /// The version it replaced, if any.
    pub replaced: Option<String>,
}

/// Installs the library at `src` (a file, or a directory holding exactly one library) into
/// `root/<name>/`.
pub fn install(src: &Path, root: &Path, opts: &ScanOptions) -> Result<Installed, Error> {
    let lib = resolve_source(src)?;
    let rejected = |reason: String| Error::PluginRejected {
        path: lib.clone(),
        reason,
    };
    precheck::check(&lib).map_err(rejected)?;
    let sha = precheck::sha256_file(&lib).map_err(|e| Error::io("could not read", &lib, e))?;
    let manifest = probe::run_child(&opts.shim, &lib, opts.timeout, opts.reports.as_deref())
        .map_err(rejected)?;
    compat::check(&manifest, &opts.host).map_err(|why| rejected(format!("incompatible: {why}")))?;
    // The file must not have changed between hashing and probing.
    let sha_after =
        precheck::sha256_file(&lib).map_err(|e| Error::io("could not read", &lib, e))?;
    if sha_after != sha {
        return Err(rejected(
            "the file changed while it was being verified".into(),
        ));
    }

    let file_name = lib
        .file_name()
        .expect("a library path has a file name")
        .to_string_lossy()
        .into_owned();
    std::fs::create_dir_all(root).map_err(|e| Error::io("could not create", root, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(root)
        .map_err(|e| Error::io("could not create a staging directory in", root, e))?;
    let staged_lib = staging.path().join(&file_name);
    std::fs::copy(&lib, &staged_lib).map_err(|e| Error::io("could not copy", &lib, e))?;
    set_mode(&staged_lib, 0o755)?;
    let copied = precheck::sha256_file(&staged_lib)
        .map_err(|e| Error::io("could not read", &staged_lib, e))?;
    if copied != sha {
        return Err(rejected(
            "the copy does not match the original (disk full?)".into(),
        ));
    }
    let record = Sidecar {
        library: file_name,
        sha256: sha,
        manifest: manifest.clone(),
        source: lib.display().to_string(),
        installed_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let json = serde_json::to_vec_pretty(&record).expect("sidecar serialises");
    let meta = staging.path().join(sidecar::FILE_NAME);
    std::fs::write(&meta, json).map_err(|e| Error::io("could not write", &meta, e))?;
    sync_dir(staging.path());

    let dest = root.join(&manifest.name);
    let replaced = Sidecar::read(&dest.join(sidecar::FILE_NAME))
        .ok()
        .map(|s| s.manifest.version);
    let staged = staging.keep();
    if dest.exists() {
        // Swap: move the old copy aside, the new one in, then delete the old one.
        let old = root.join(format!(".old-{}-{}", manifest.name, std::process::id()));
        std::fs::rename(&dest, &old).map_err(|e| Error::io("could not move aside", &dest, e))?;
        if let Err(e) = std::fs::rename(&staged, &dest) {
            let _ = std::fs::rename(&old, &dest);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::io("could not install into", &dest, e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&staged, &dest) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(Error::io("could not install into", &dest, e));
    }
    sync_dir(root);
    Ok(Installed {
        name: manifest.name,
        version: manifest.version,
        dir: dest,
        replaced,
    })
}

/// Removes `root/<name>/`. Only plugins installed there can be removed this way.
pub fn remove(name: &str, root: &Path) -> Result<PathBuf, Error> {
    let dir = root.join(name);
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid || !dir.join(sidecar::FILE_NAME).is_file() {
        return Err(Error::PluginNotFound {
            name: name.to_string(),
            hint: format!(" installed in {}", root.display()),
        });
    }
    // Rename first so a half-deleted directory is never mistaken for a plugin.
    let doomed = root.join(format!(".rm-{name}-{}", std::process::id()));
    std::fs::rename(&dir, &doomed).map_err(|e| Error::io("could not remove", &dir, e))?;
    std::fs::remove_dir_all(&doomed).map_err(|e| Error::io("could not remove", &doomed, e))?;
    Ok(dir)
}

fn resolve_source(src: &Path) -> Result<PathBuf, Error> {
    let meta = std::fs::metadata(src).map_err(|e| Error::io("could not read", src, e))?;
    if meta.is_file() {
        return Ok(src.to_path_buf());
    }
    if let Ok(s) = Sidecar::read(&src.join(sidecar::FILE_NAME)) {
        return Ok(src.join(s.library));
    }
    let libs: Vec<PathBuf> = std::fs::read_dir(src)
        .map_err(|e| Error::io("could not read", src, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_library_name(p))
        .collect();
    match libs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Invalid(format!(
            "{} holds no plugin library",
            src.display()
        ))),
        many => Err(Error::Invalid(format!(
            "{} holds {} libraries; name the one to install: {}",
            src.display(),
            many.len(),
            many.iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("could not set permissions on", path, e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), Error> {
    Ok(())
}

/// Makes renames in `dir` durable. Best effort: not every platform can fsync a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
