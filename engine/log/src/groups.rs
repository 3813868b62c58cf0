//! Consumer groups' committed offsets, in one JSON file (`consumer-offsets.json`) replaced
//! atomically under a file lock, so commits from several processes never interleave and a
//! crash leaves the previous or the new file, never a mix.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io, Error, Result};
use crate::fsutil::atomic_write;

/// An offset a group committed: the next record the group will read (Kafka's convention:
/// the last processed offset + 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: u32,
    pub offset: i64,
}

/// group → topic → partition → offset.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Offsets {
    pub groups: BTreeMap<String, BTreeMap<String, BTreeMap<u32, i64>>>,
}

#[derive(Debug)]
pub(crate) struct GroupStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl GroupStore {
    pub fn new(dir: &Path) -> Self {
        GroupStore {
            path: dir.join("consumer-offsets.json"),
            lock_path: dir.join("consumer-offsets.lock"),
        }
    }

    pub fn load(&self) -> Result<Offsets> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Metadata {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Offsets::default()),
            Err(e) => Err(io("cannot read", &self.path)(e)),
        }
    }

    /// Runs `change` on the current offsets under the lock and saves the result durably.
    pub fn update(&self, change: impl FnOnce(&mut Offsets)) -> Result<()> {
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(io("cannot open", &self.lock_path))?;
        lock.lock().map_err(io("cannot lock", &self.lock_path))?;
        let mut offsets = self.load()?;
        change(&mut offsets);
        let bytes = serde_json::to_vec_pretty(&offsets).map_err(|source| Error::Metadata {
            path: self.path.clone(),
            source,
        })?;
        let saved = atomic_write(&self.path, &bytes);
        drop::<File>(lock);
        saved
    }
}
