//! Computes the build's identity once per build and hands it to the crate as `RMPROF_*` environment
//! variables (read by `src/build_info.rs`): the digest of the sources, the cargo features and profile,
//! the compiler, the rmprof version and the git commit the Rust sources come from.
//!
//! The `rerun-if-changed` lines keep it true: cargo runs this script again when any source file, the
//! package version or the checked-out commit changes (and a new compiler or other features or profile
//! rebuild everything anyway).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/build_digest.rs"]
mod build_digest;

use build_digest::Fnv64;

/// What the digest covers (`build_digest::source_files`), as cargo and git take paths.
const SOURCE_PATHS: [&str; 4] = ["src", "Cargo.toml", "Cargo.lock", "build.rs"];

fn main() {
    let crate_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for name in SOURCE_PATHS {
        println!("cargo:rerun-if-changed={name}");
    }
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    let sources =
        build_digest::source_digest(&crate_dir).expect("the crate's sources are readable");

    let features = features();
    let profile = env_or_empty("PROFILE");
    let opt_level = env_or_empty("OPT_LEVEL");
    let debug = env_or_empty("DEBUG");
    let target = env_or_empty("TARGET");
    // CARGO_ENCODED_RUSTFLAGS separates flags with 0x1f; a space reads better and cannot be confused.
    let rustflags = env_or_empty("CARGO_ENCODED_RUSTFLAGS").replace('\u{1f}', " ");
    let rustc = rustc_version();
    let rmprof_version = rmprof_version(&crate_dir);
    let (commit, dirty) = git_state(&crate_dir);

    // The build id: what an extension and a binary of one build share. Features are left out on
    // purpose: the extension is built with `python` and the binary without, from the same code.
    let mut id = Fnv64::default();
    for part in [
        sources.as_str(),
        &profile,
        &opt_level,
        &debug,
        &target,
        &rustflags,
        &rustc,
    ] {
        id.field(part.as_bytes());
    }

    let vars = [
        ("RMPROF_BUILD_ID", id.hex()),
        ("RMPROF_SOURCE_DIGEST", sources),
        ("RMPROF_BUILD_FEATURES", features.join(",")),
        ("RMPROF_BUILD_PROFILE", profile),
        ("RMPROF_BUILD_OPT_LEVEL", opt_level),
        ("RMPROF_BUILD_DEBUG", debug),
        ("RMPROF_BUILD_TARGET", target),
        ("RMPROF_BUILD_RUSTFLAGS", rustflags),
        ("RMPROF_RUSTC_VERSION", rustc),
        ("RMPROF_PACKAGE_VERSION", rmprof_version),
        ("RMPROF_GIT_COMMIT", commit),
        ("RMPROF_GIT_DIRTY", dirty),
    ];
    for (name, value) in vars {
        // One line per variable: a newline in a value would end the instruction early.
        println!(
            "cargo:rustc-env={name}={}",
            value.replace(['\n', '\r'], " ")
        );
    }
}

fn env_or_empty(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// The enabled cargo features, lowercase and sorted (cargo passes them as `CARGO_FEATURE_<NAME>`).
fn features() -> Vec<String> {
    let mut names: Vec<String> = env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .collect();
    names.sort();
    names
}

/// `rustc --version` of the compiler cargo builds with.
fn rustc_version() -> String {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    command_output(Command::new(rustc).arg("--version")).unwrap_or_default()
}

/// The `version` of `[project]` in the rmprof checkout's pyproject.toml (empty when the crate is
/// built outside one).
fn rmprof_version(crate_dir: &Path) -> String {
    let path = crate_dir.join("..").join("pyproject.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return String::new();
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let mut in_project = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_project = line == "[project]";
        } else if in_project {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return value.trim_matches('"').to_owned();
            }
        }
    }
    String::new()
}

/// The last commit that touched the digested sources, and whether they differ from HEAD (changes
/// or untracked files): `("", "")` without git or outside a repository.
///
/// The last commit of those files rather than HEAD: commits elsewhere in the repository leave the
/// Rust build the same, and its identity too. HEAD and its branch are still watched, since a commit
/// of the sources' own changes turns a dirty build into a clean one.
fn git_state(crate_dir: &Path) -> (String, String) {
    let git =
        |args: &[&str]| command_output(Command::new("git").arg("-C").arg(crate_dir).args(args));
    let Some(commit) = git(&[&["log", "-1", "--format=%H", "--"][..], &SOURCE_PATHS[..]].concat())
        .filter(|c| !c.is_empty())
    else {
        return (String::new(), String::new());
    };
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]) {
            // A path that does not exist would make cargo rerun this script on every build.
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    let status = [
        &["status", "--porcelain", "--untracked-files=all", "--"][..],
        &SOURCE_PATHS[..],
    ]
    .concat();
    let dirty = match git(&status) {
        Some(status) => (!status.is_empty()).to_string(),
        None => String::new(),
    };
    (commit, dirty)
}

/// A command's trimmed stdout when it succeeds.
fn command_output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
