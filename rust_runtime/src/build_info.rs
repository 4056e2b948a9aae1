//! The build's identity, computed by `build.rs` when the crate is compiled: what `rmprof-runtime
//! --build-info` prints, what its timed runs report under `"build"`, and what the extension's
//! `build_info()` returns.
//!
//! `build_id` is the digest of the sources (`source_digest`), the profile, the target, the rustflags
//! and the compiler: an extension and a binary built from one tree with one profile have the same
//! `build_id` though their features differ (`python` for the extension), so that the boundary
//! (in-process minus binary) is only ever taken between two artifacts of one build.

#[path = "build_digest.rs"]
mod build_digest;

pub use build_digest::{source_digest, Fnv64};

/// The build id (16 hex digits): what the extension and the binary of one build share.
pub const BUILD_ID: &str = env!("RMPROF_BUILD_ID");
/// The digest of `src/**`, Cargo.toml, Cargo.lock and build.rs when the crate was compiled.
pub const SOURCE_DIGEST: &str = env!("RMPROF_SOURCE_DIGEST");

/// A compile-time value, or JSON null when `build.rs` could not tell (no git, no pyproject.toml).
fn string_or_null(value: &str) -> serde_json::Value {
    if value.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::String(value.to_owned())
    }
}

/// The build's identity as a JSON object: `{"schema", "build_id", "source_digest", "features",
/// "profile": {"name", "opt_level", "debug"}, "target", "rustflags", "rustc", "crate_version",
/// "rmprof_version", "git": {"commit", "dirty"}}`. `git.commit` is the last commit of the digested
/// sources, `git.dirty` whether they differed from it; both null when built outside a git checkout.
pub fn build_info() -> serde_json::Value {
    let features: Vec<&str> = env!("RMPROF_BUILD_FEATURES")
        .split(',')
        .filter(|f| !f.is_empty())
        .collect();
    let dirty = match env!("RMPROF_GIT_DIRTY") {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "schema": "rmprof.build/1",
        "build_id": BUILD_ID,
        "source_digest": SOURCE_DIGEST,
        "features": features,
        "profile": {
            "name": env!("RMPROF_BUILD_PROFILE"),
            "opt_level": env!("RMPROF_BUILD_OPT_LEVEL"),
            "debug": env!("RMPROF_BUILD_DEBUG"),
        },
        "target": env!("RMPROF_BUILD_TARGET"),
        "rustflags": env!("RMPROF_BUILD_RUSTFLAGS"),
        "rustc": string_or_null(env!("RMPROF_RUSTC_VERSION")),
        "crate_version": crate::VERSION,
        "rmprof_version": string_or_null(env!("RMPROF_PACKAGE_VERSION")),
        "git": {
            "commit": string_or_null(env!("RMPROF_GIT_COMMIT")),
            "dirty": dirty,
        },
    })
}

/// [`build_info`] as compact JSON text.
pub fn build_info_json() -> String {
    build_info().to_string()
}

/// `rmprof._native.build_info()`: [`build_info`] as a Python dict.
#[cfg(feature = "python")]
#[pyo3::pyfunction(name = "build_info")]
pub fn py_build_info(py: pyo3::Python<'_>) -> pyo3::PyResult<pyo3::Bound<'_, pyo3::PyAny>> {
    use pyo3::types::PyAnyMethods;
    // Through Python's json: one description of the shape, here and in the binary, not two.
    py.import("json")?
        .call_method1("loads", (build_info_json(),))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn crate_tree(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rmprof-digest-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("src/bin")).unwrap();
        std::fs::write(d.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        std::fs::write(d.join("src/bin/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(d.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        std::fs::write(d.join("README.md"), "not a source\n").unwrap();
        d
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // The published FNV-1a 64 test vectors.
        let hex = |s: &[u8]| {
            let mut h = Fnv64::default();
            h.write(s);
            h.hex()
        };
        assert_eq!(hex(b""), "cbf29ce484222325");
        assert_eq!(hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(hex(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn fields_are_length_prefixed() {
        let digest = |parts: &[&str]| {
            let mut h = Fnv64::default();
            for p in parts {
                h.field(p.as_bytes());
            }
            h.hex()
        };
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
    }

    #[test]
    fn source_digest_changes_with_any_source_and_only_with_sources() {
        let d = crate_tree("change");
        let before = source_digest(&d).unwrap();
        assert_eq!(
            before,
            source_digest(&d).unwrap(),
            "the same tree, the same digest"
        );

        std::fs::write(d.join("README.md"), "edited, but not a source\n").unwrap();
        assert_eq!(before, source_digest(&d).unwrap());

        std::fs::write(d.join("src/bin/main.rs"), "fn main() { }\n").unwrap();
        let edited = source_digest(&d).unwrap();
        assert_ne!(before, edited, "an edited source");

        std::fs::write(d.join("src/new.rs"), "").unwrap();
        let added = source_digest(&d).unwrap();
        assert_ne!(edited, added, "an added (even empty) source");

        std::fs::rename(d.join("src/new.rs"), d.join("src/renamed.rs")).unwrap();
        assert_ne!(added, source_digest(&d).unwrap(), "a renamed source");

        std::fs::write(d.join("Cargo.lock"), "# locked\n").unwrap();
        let locked = source_digest(&d).unwrap();
        std::fs::write(d.join("Cargo.lock"), "# locked again\n").unwrap();
        assert_ne!(locked, source_digest(&d).unwrap(), "Cargo.lock is a source");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn compiled_in_digest_is_that_of_the_sources_on_disk() {
        // build.rs reruns whenever a source changes (its rerun-if-changed lines): the digest compiled
        // into this test binary is the one of the tree it was compiled from, which is the tree now.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(SOURCE_DIGEST, source_digest(here).unwrap());
    }

    #[test]
    fn build_info_names_the_build() {
        let info = build_info();
        assert_eq!(info["build_id"], BUILD_ID);
        assert_eq!(BUILD_ID.len(), 16);
        assert!(BUILD_ID.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(info["crate_version"], crate::VERSION);
        assert!(info["rustc"].as_str().unwrap().starts_with("rustc "));
        assert!(info["profile"]["opt_level"].is_string());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&build_info_json()).unwrap(),
            info
        );
    }
}
