//! Can this `ao` use a plugin? ABI, protocol semver, target, panic strategy; and do two
//! descriptions of the same library agree?

use ao_plugin_api::abi::ABI_VERSION;
use ao_plugin_api::manifest::{Manifest, PROTOCOL_VERSION};
use ao_plugin_api::sdk::export::target_triple;
use semver::Version;

/// What the host speaks. A value rather than constants so tests can play a newer host.
#[derive(Debug, Clone)]
pub struct HostCompat {
    /// ABI major.
    pub abi: u32,
    /// Protocol version.
    pub protocol: Version,
    /// `arch-os-env`.
    pub target: String,
}

impl HostCompat {
    /// This build of `ao`.
    pub fn current() -> Self {
        Self {
            abi: ABI_VERSION,
            protocol: Version::parse(PROTOCOL_VERSION).expect("PROTOCOL_VERSION is semver"),
            target: target_triple(),
        }
    }
}

/// `Ok` when the host can load the plugin; otherwise one line saying what to rebuild.
pub fn check(m: &Manifest, host: &HostCompat) -> Result<(), String> {
    if !valid_name(&m.name) {
        return Err(format!("its name `{}` is not [a-z0-9-]+", m.name));
    }
    if m.abi != host.abi {
        return Err(format!(
            "built for plugin ABI {}, this ao speaks {}: rebuild against ao-plugin-api {}.x",
            m.abi, host.abi, host.abi
        ));
    }
    let p = Version::parse(&m.protocol)
        .map_err(|_| format!("its protocol version `{}` is not semver", m.protocol))?;
    // Same major; with 0.x, also the same minor (cargo's rule). Within a major both directions
    // work: the host only calls methods the plugin lists, and the plugin checks the host's
    // protocol before using newer host verbs.
    let compatible =
        p.major == host.protocol.major && (p.major != 0 || p.minor == host.protocol.minor);
    if !compatible {
        return Err(format!(
            "built for protocol {p}, this ao speaks {}: rebuild against ao-plugin-api {}.x",
            host.protocol, host.protocol.major
        ));
    }
    if !m.target.is_empty() && m.target != host.target {
        return Err(format!(
            "built for {}, this ao is {}",
            m.target, host.target
        ));
    }
    if !m.panic.is_empty() && m.panic != "unwind" {
        return Err(format!(
            "built with panic = \"{}\": a plugin panic would kill ao; rebuild with panic = \"unwind\"",
            m.panic
        ));
    }
    let mut ids: Vec<String> = m.components.iter().map(|c| c.id()).collect();
    ids.sort();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("it declares component `{}` twice", w[0]));
    }
    Ok(())
}

/// Whether two manifests describe the same build: name, version, protocol and components.
pub fn same_build(a: &Manifest, b: &Manifest) -> Result<(), String> {
    let ids = |m: &Manifest| m.components.iter().map(|c| c.id()).collect::<Vec<_>>();
    if a.name != b.name || a.version != b.version || a.protocol != b.protocol || ids(a) != ids(b) {
        return Err(format!(
            "recorded as {} {} ({}), but the library says {} {} ({})",
            a.name,
            a.version,
            ids(a).join(", "),
            b.name,
            b.version,
            ids(b).join(", ")
        ));
    }
    Ok(())
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(protocol: &str) -> Manifest {
        Manifest {
            name: "x".into(),
            version: "0.1.0".into(),
            description: String::new(),
            abi: 1,
            protocol: protocol.into(),
            sdk_version: "1.0.0".into(),
            target: target_triple(),
            panic: "unwind".into(),
            components: vec![],
        }
    }

    fn host(protocol: &str) -> HostCompat {
        HostCompat {
            protocol: Version::parse(protocol).unwrap(),
            ..HostCompat::current()
        }
    }

    #[test]
    fn protocol_rules() {
        // An old plugin on a newer host (minor bump) and a newer plugin on an older host load.
        assert!(check(&manifest("1.0.0"), &host("1.3.0")).is_ok());
        assert!(check(&manifest("1.4.2"), &host("1.0.0")).is_ok());
        assert_eq!(
            check(&manifest("2.0.0"), &host("1.0.0")).unwrap_err(),
            "built for protocol 2.0.0, this ao speaks 1.0.0: rebuild against ao-plugin-api 1.x"
        );
        assert!(check(&manifest("0.2.0"), &host("0.3.0")).is_err());
        assert!(check(&manifest("one"), &host("1.0.0")).is_err());
    }

    #[test]
    fn abi_target_and_panic_are_checked() {
        let mut m = manifest("1.0.0");
        m.abi = 2;
        assert_eq!(
            check(&m, &host("1.0.0")).unwrap_err(),
            "built for plugin ABI 2, this ao speaks 1: rebuild against ao-plugin-api 1.x"
        );
        let mut m = manifest("1.0.0");
        m.target = "powerpc-aix-none".into();
        assert!(
            check(&m, &host("1.0.0"))
                .unwrap_err()
                .starts_with("built for powerpc-aix-none")
        );
        let mut m = manifest("1.0.0");
        m.panic = "abort".into();
        assert!(
            check(&m, &host("1.0.0"))
                .unwrap_err()
                .contains("panic = \"unwind\"")
        );
        let mut m = manifest("1.0.0");
        m.name = "Bad Name".into();
        assert!(check(&m, &host("1.0.0")).is_err());
    }
}
