//! Checks made before a library is opened. `dlopen` runs a library's constructors before anything
//! can be verified, so whatever can be refused from the outside is refused here: the wrong kind
//! of file, a file for another machine, a truncated file, loose permissions, a changed checksum.
//!
//! The header check is a few dozen bytes of ELF/Mach-O/PE parsing; a general object-file crate
//! would be a large dependency for it.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Refuses what should never be opened. `Err` is one line naming the problem.
pub fn check(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    check_permissions(path, &meta)?;
    let mut header = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut header))
        .map_err(|e| format!("cannot read: {e}"))?;
    check_header(&header[..n], meta.len())
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!(
            "owned by uid {}, not by you or root: a plugin runs as you, so only you may provide it",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by other users (mode {:o}): run `chmod go-w {}`",
            meta.mode() & 0o777,
            path.display()
        ));
    }
    if let Some(parent) = path.parent().and_then(|p| std::fs::metadata(p).ok()) {
        // A sticky directory (like /tmp) stops others from replacing our file.
        if parent.mode() & 0o022 != 0 && parent.mode() & 0o1000 == 0 {
            return Err(format!(
                "its directory is writable by other users (mode {:o}), so the file could be swapped",
                parent.mode() & 0o777
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// What this build of `ao` can load.
struct Target {
    elf_machine: u16,
    macho_cpu: u32,
    bits64: bool,
    little_endian: bool,
}

const fn this_target() -> Target {
    let (elf_machine, macho_cpu) = if cfg!(target_arch = "x86_64") {
        (62, 0x0100_0007)
    } else if cfg!(target_arch = "aarch64") {
        (183, 0x0100_000c)
    } else if cfg!(target_arch = "x86") {
        (3, 7)
    } else if cfg!(target_arch = "arm") {
        (40, 12)
    } else if cfg!(target_arch = "riscv64") {
        (243, 0)
    } else {
        (0, 0)
    };
    Target {
        elf_machine,
        macho_cpu,
        bits64: cfg!(target_pointer_width = "64"),
        little_endian: cfg!(target_endian = "little"),
    }
}

fn elf_machine_name(m: u16) -> String {
    match m {
        3 => "x86".into(),
        40 => "arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv".into(),
        other => format!("machine {other}"),
    }
}

fn check_header(h: &[u8], len: u64) -> Result<(), String> {
    let want = this_target();
    if h.starts_with(b"\x7fELF") {
        if !cfg!(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd"
        )) {
            return Err("an ELF library, which this platform cannot load".into());
        }
        if h.len() < 64 {
            return Err(format!(
                "truncated: {len} bytes is shorter than an ELF header"
            ));
        }
        let bits64 = h[4] == 2;
        let little = h[5] == 1;
        if bits64 != want.bits64 || little != want.little_endian {
            return Err(format!(
                "built for a {}-bit {}-endian machine, this ao is {}-bit {}-endian",
                if bits64 { 64 } else { 32 },
                if little { "little" } else { "big" },
                if want.bits64 { 64 } else { 32 },
                if want.little_endian { "little" } else { "big" },
            ));
        }
        let u16_at = |o: usize| {
            let b = [h[o], h[o + 1]];
            if little {
                u16::from_le_bytes(b)
            } else {
                u16::from_be_bytes(b)
            }
        };
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[o..o + 8]);
            if little {
                u64::from_le_bytes(b)
            } else {
                u64::from_be_bytes(b)
            }
        };
        let e_type = u16_at(16);
        if e_type != 3 {
            return Err(format!(
                "an ELF file but not a shared library (e_type {e_type})"
            ));
        }
        let machine = u16_at(18);
        if machine != want.elf_machine {
            return Err(format!(
                "built for {}, this ao runs on {}",
                elf_machine_name(machine),
                elf_machine_name(want.elf_machine)
            ));
        }
        if bits64 {
            // Section headers sit at the end of the file: truncation cuts them first.
            let end = |off: u64, num: u16, size: u16| {
                off.saturating_add(u64::from(num) * u64::from(size))
            };
            let sh_end = end(u64_at(40), u16_at(60), u16_at(58));
            let ph_end = end(u64_at(32), u16_at(56), u16_at(54));
            let needed = sh_end.max(ph_end);
            if needed > len {
                return Err(format!(
                    "truncated: the file is {len} bytes but its headers reach {needed}"
                ));
            }
        }
        return Ok(());
    }
    if h.len() >= 16 && (h[..4] == [0xcf, 0xfa, 0xed, 0xfe] || h[..4] == [0xce, 0xfa, 0xed, 0xfe]) {
        if !cfg!(target_os = "macos") {
            return Err("a Mach-O library, which this platform cannot load".into());
        }
        let cpu = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let filetype = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
        if cpu != want.macho_cpu {
            return Err(format!("built for another CPU (Mach-O cputype {cpu:#x})"));
        }
        if filetype != 6 && filetype != 8 {
            return Err(format!(
                "a Mach-O file but not a library (filetype {filetype})"
            ));
        }
        return Ok(());
    }
    if h.starts_with(b"MZ") {
        if !cfg!(windows) {
            return Err("a Windows DLL, which this platform cannot load".into());
        }
        return Ok(());
    }
    if h.is_empty() {
        return Err("empty file".into());
    }
    let texty = h
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    Err(if texty {
        "not a shared library: it is a text file".into()
    } else {
        "not a shared library: unknown file format".into()
    })
}

/// The hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match f.read(&mut buf)? {
            0 => break,
            n => hasher.update(&buf[..n]),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn text_files_and_empty_files_are_refused() {
        let f = tmp_with(b"this is not a library\n");
        assert_eq!(
            check(f.path()).unwrap_err(),
            "not a shared library: it is a text file"
        );
        let f = tmp_with(b"");
        assert_eq!(check(f.path()).unwrap_err(), "empty file");
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn foreign_and_truncated_elf_files_are_refused() {
        let me = std::env::current_exe().unwrap();
        let exe = std::fs::read(&me).unwrap();
        // Our own test binary is an ELF for this machine; as a PIE it is ET_DYN, so it passes
        // the header check. Flip its machine to aarch64 and it must be refused.
        let mut foreign = exe[..64].to_vec();
        foreign.resize(exe.len().min(1 << 20), 0);
        foreign[18..20].copy_from_slice(&183u16.to_le_bytes());
        let f = tmp_with(&foreign);
        assert_eq!(
            check(f.path()).unwrap_err(),
            "built for aarch64, this ao runs on x86_64"
        );
        let f = tmp_with(&exe[..4096]);
        assert!(
            check(f.path())
                .unwrap_err()
                .starts_with("truncated: the file is 4096 bytes")
        );
    }

    #[cfg(unix)]
    #[test]
    fn group_writable_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let f = tmp_with(b"\x7fELF");
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = check(f.path()).unwrap_err();
        assert!(e.starts_with("writable by other users (mode 664)"), "{e}");
    }
}
