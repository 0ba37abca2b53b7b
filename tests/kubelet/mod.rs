//! A directory updated the way the kubelet updates a mounted ConfigMap or Secret (its
//! AtomicWriter): the files live in a timestamped directory, the `..data` symlink points at it
//! and each file name is a symlink through `..data`. An update writes a new directory and
//! renames a new `..data` over the old one (one atomic change), then removes the old directory.

// Shared by several test crates; each uses a part.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub struct AtomicDir {
    dir: tempfile::TempDir,
    version: usize,
}

impl AtomicDir {
    pub fn new(files: &[(String, Vec<u8>)]) -> AtomicDir {
        let mut d = AtomicDir { dir: tempfile::Builder::new().prefix("restrouter-volume-").tempdir().expect("temp dir"), version: 0 };
        d.publish(files);
        d
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of one file, through its `..data` symlink.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn publish(&mut self, files: &[(String, Vec<u8>)]) {
        let root = self.dir.path();
        self.version += 1;
        let data = format!("..2026_01_01_00_00_{:02}.{}", self.version, std::process::id());
        std::fs::create_dir(root.join(&data)).expect("data directory");
        for (name, value) in files {
            std::fs::write(root.join(&data).join(name), value).expect("write file");
        }
        let old = std::fs::read_link(root.join("..data")).ok();
        std::os::unix::fs::symlink(&data, root.join("..data_tmp")).expect("..data_tmp");
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).expect("rename ..data");
        for (name, _) in files {
            if std::fs::symlink_metadata(root.join(name)).is_err() {
                std::os::unix::fs::symlink(Path::new("..data").join(name), root.join(name)).expect("file symlink");
            }
        }
        if let Some(old) = old {
            std::fs::remove_dir_all(root.join(old)).expect("remove the old directory");
        }
    }
}
