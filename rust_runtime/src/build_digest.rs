//! The digest that names a build's sources: 64-bit FNV-1a over the files that make up the crate.
//!
//! Compiled twice: into `build.rs` (which computes the digest of the tree being built and hands it to
//! the crate through `cargo:rustc-env`) and into the library (`build_info`), whose unit tests check
//! the function and that the compiled-in digest is the one of the sources on disk. No dependency:
//! build scripts would otherwise need their own copy of a hash crate.

use std::io;
use std::path::{Path, PathBuf};

/// The files outside `src/` that change what is built (the manifest, the locked dependency
/// versions, the build script itself).
pub const TOP_LEVEL_FILES: [&str; 3] = ["Cargo.toml", "Cargo.lock", "build.rs"];

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running 64-bit FNV-1a hash.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(FNV_OFFSET)
    }
}

impl Fnv64 {
    /// Feeds `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Feeds one field, length first, so that ("ab", "c") and ("a", "bc") hash differently.
    pub fn field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    /// The hash as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Every file under `dir`, recursively, sorted (directories read in any order give one list).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The files the digest covers, relative to `crate_dir`, sorted: `src/**` and [`TOP_LEVEL_FILES`]
/// (those that exist).
pub fn source_files(crate_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    files_under(&crate_dir.join("src"), &mut files)?;
    for name in TOP_LEVEL_FILES {
        let path = crate_dir.join(name);
        if path.is_file() {
            files.push(path);
        }
    }
    let mut relative: Vec<PathBuf> = files
        .into_iter()
        .map(|p| {
            p.strip_prefix(crate_dir)
                .map(Path::to_path_buf)
                .unwrap_or(p)
        })
        .collect();
    relative.sort();
    Ok(relative)
}

/// The digest of the crate's sources at `crate_dir`: each file's relative path ('/'-separated) and
/// bytes, in sorted order. Renaming, adding, removing or editing any file changes it.
pub fn source_digest(crate_dir: &Path) -> io::Result<String> {
    let mut hash = Fnv64::default();
    for rel in source_files(crate_dir)? {
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        hash.field(name.join("/").as_bytes());
        hash.field(&std::fs::read(crate_dir.join(&rel))?);
    }
    Ok(hash.hex())
}
