//! The objects of a check kept on disk between reading and reviewing them (feature `native`), so that
//! `scaleguard check` holds one group of namespaces at a time instead of the whole repository: a
//! policy's look-ups only ever see the reviewed object's namespace and the cluster-scoped objects.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use serde_json::Value;

use crate::engine::{Check, ConfiguredPolicy};
use crate::input::{Document, Identity};
use crate::parallel;
use crate::report::{Record, Unselected};

/// Where one document's JSON is in the spool file.
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    len: usize,
}

/// Documents written to an unnamed temporary file as they are read, indexed by namespace. Reading
/// them back (see [`Spool::review`]) is by groups of namespaces.
#[derive(Debug)]
pub struct Spool {
    file: BufWriter<File>,
    written: u64,
    /// The files the documents came from, in reading order.
    files: Vec<String>,
    file_positions: HashMap<String, usize>,
    /// Each namespace's documents, in reading order (cluster-scoped objects under `""`).
    namespaces: BTreeMap<String, Vec<Entry>>,
    len: usize,
    /// The documents a group of namespaces holds at the least.
    group_documents: usize,
}

/// What reviewing a spool needs beside the documents: the check's setup.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The objects at `--against`, by identity.
    pub previous: &'a BTreeMap<Identity, Value>,
    /// The policies, with their settings.
    pub policies: &'a [ConfiguredPolicy<'a>],
    /// Who the requests come from.
    pub user_info: &'a scaleguard_sdk::UserInfo,
    /// The cluster's policy instances (`--use-cluster-policies`).
    #[cfg(feature = "cluster-policies")]
    pub instances: Option<&'a crate::instances::Instances>,
}

/// The documents a group of namespaces holds at the least (a namespace is never split), so that
/// reviewing 1,000 small namespaces is not 1,000 rounds of thread and module start-up.
pub const GROUP_DOCUMENTS: usize = 1_000;

impl Spool {
    /// An empty spool, in a temporary file that the operating system removes when it is dropped.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            file: BufWriter::new(tempfile::tempfile()?),
            written: 0,
            files: Vec::new(),
            file_positions: HashMap::new(),
            namespaces: BTreeMap::new(),
            len: 0,
            group_documents: GROUP_DOCUMENTS,
        })
    }

    /// The spool reviewing groups of at least `documents` documents instead of [`GROUP_DOCUMENTS`]:
    /// fewer hold less at a time, and start the threads and modules more often.
    #[must_use]
    pub fn with_group_documents(mut self, documents: usize) -> Self {
        self.group_documents = documents.max(1);
        self
    }

    /// Writes `document` to the spool.
    pub fn push(&mut self, document: &Document) -> io::Result<()> {
        let file = match self.file_positions.get(&document.file) {
            Some(&position) => position,
            None => {
                self.files.push(document.file.clone());
                self.file_positions
                    .insert(document.file.clone(), self.files.len() - 1);
                self.files.len() - 1
            }
        };
        let json = serde_json::to_vec(&(file, document.index, document.line, &document.object))?;
        self.file.write_all(&json)?;
        self.namespaces
            .entry(document.namespace().to_owned())
            .or_default()
            .push(Entry {
                offset: self.written,
                len: json.len(),
            });
        self.written += json.len() as u64;
        self.len += 1;
        Ok(())
    }

    /// The number of documents.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no document.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where `file` is in reading order, to put records of several groups back in input order (a
    /// file the spool never saw comes last).
    pub fn file_position(&self, file: &str) -> usize {
        self.file_positions.get(file).copied().unwrap_or(usize::MAX)
    }

    /// The namespaces (cluster-scoped objects aside), in groups of at least `group_documents`
    /// documents where there are that many.
    fn groups(&self) -> Vec<Vec<&str>> {
        let mut groups: Vec<Vec<&str>> = Vec::new();
        let mut size = 0;
        for (namespace, entries) in self.namespaces.iter().filter(|(ns, _)| !ns.is_empty()) {
            match groups.last_mut() {
                Some(group) if size < self.group_documents => group.push(namespace),
                _ => {
                    groups.push(vec![namespace]);
                    size = 0;
                }
            }
            size += entries.len();
        }
        groups
    }

    /// The documents of `namespaces`, in reading order.
    fn load(&mut self, namespaces: &[&str]) -> io::Result<Vec<Document>> {
        self.file.flush()?;
        let mut entries: Vec<Entry> = namespaces
            .iter()
            .filter_map(|namespace| self.namespaces.get(*namespace))
            .flatten()
            .copied()
            .collect();
        entries.sort_by_key(|entry| entry.offset);
        let file = self.file.get_mut();
        let mut buffer = Vec::new();
        entries
            .into_iter()
            .map(|entry| {
                file.seek(SeekFrom::Start(entry.offset))?;
                buffer.resize(entry.len, 0);
                file.read_exact(&mut buffer)?;
                let (file, index, line, object): (usize, usize, usize, Value) =
                    serde_json::from_slice(&buffer)?;
                Ok(Document {
                    file: self.files[file].clone(),
                    index,
                    line,
                    object,
                })
            })
            .collect()
    }

    /// Reviews every document, one group of namespaces at a time (each with the cluster-scoped objects
    /// beside it, for the look-ups), then the cluster-scoped objects, on `threads` threads. `each` gets
    /// each group's records and the objects no policy instance selects; `progress(done, total)` counts
    /// over the whole spool. Only one group's documents are held at a time.
    pub fn review(
        &mut self,
        setup: Setup<'_>,
        threads: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
        each: &mut dyn FnMut(Vec<Record>, Vec<Unselected>),
    ) -> Result<(), String> {
        let error = |error: io::Error| format!("cannot read back the spooled objects: {error}");
        let cluster_scoped = self.load(&[""]).map_err(error)?;
        let groups: Vec<Vec<String>> = self
            .groups()
            .into_iter()
            .map(|group| group.into_iter().map(str::to_owned).collect())
            .collect();
        let total = self.len;
        let mut done = 0;
        for group in &groups {
            let names: Vec<&str> = group.iter().map(String::as_str).collect();
            let mut documents = self.load(&names).map_err(error)?;
            let reviewed = documents.len();
            documents.extend(cluster_scoped.iter().cloned());
            let offset = done;
            let (records, unselected) = review(&documents, reviewed, setup, threads, &|n, _| {
                progress(offset + n, total);
            })?;
            done += reviewed;
            each(records, unselected);
        }
        let (records, unselected) = review(
            &cluster_scoped,
            cluster_scoped.len(),
            setup,
            threads,
            &|n, _| {
                progress(done + n, total);
            },
        )?;
        each(records, unselected);
        Ok(())
    }
}

/// The records of the first `reviewed` of `documents`, the others seen by the look-ups only, and the
/// objects no policy instance selects.
fn review(
    documents: &[Document],
    reviewed: usize,
    setup: Setup<'_>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<Record>, Vec<Unselected>), String> {
    let check = Check::new(
        documents,
        setup.previous,
        setup.policies,
        setup.user_info.clone(),
    )
    .reviewing(reviewed);
    #[cfg(feature = "cluster-policies")]
    let check = match setup.instances {
        Some(instances) => check.with_instances(instances),
        None => check,
    };
    let records = parallel::run(&check, threads, progress)?;
    #[cfg(feature = "cluster-policies")]
    let unselected = check.unselected();
    #[cfg(not(feature = "cluster-policies"))]
    let unselected = Vec::new();
    Ok((records, unselected))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::test_policy::UniqueNames;
    use crate::input::{Format, parse};
    use crate::request::default_user;

    /// ConfigMaps in three namespaces, two of them named as the cluster-scoped Namespace `a`, which
    /// every look-up sees.
    const INPUT: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: blue}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: red}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: blue}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: green}
";

    #[test]
    fn group_by_group_the_records_are_those_of_one_check_over_everything() {
        let documents = parse("in.yaml", INPUT, Format::Yaml, "default").documents;
        let policies = [ConfiguredPolicy {
            policy: &UniqueNames,
            settings: Value::Null,
        }];
        let previous = BTreeMap::new();
        let user_info = default_user();
        let whole = Check::new(&documents, &previous, &policies, user_info.clone())
            .run(&mut |_, _| {})
            .unwrap();
        let denied: Vec<(&str, &str)> = whole
            .iter()
            .filter(|record| !record.allowed)
            .map(|record| (record.namespace.as_str(), record.name.as_str()))
            .collect();
        assert_eq!(denied, [("blue", "a"), ("green", "a")]);
        // Groups of one namespace each (blue, green, red), of two (blue and green, red), of all.
        for (group_documents, groups) in [(1, 4), (2, 3), (GROUP_DOCUMENTS, 2)] {
            let mut spool = Spool::new().unwrap().with_group_documents(group_documents);
            for document in &documents {
                spool.push(document).unwrap();
            }
            assert_eq!(spool.len(), 5);
            let setup = Setup {
                previous: &previous,
                policies: &policies,
                user_info: &user_info,
                #[cfg(feature = "cluster-policies")]
                instances: None,
            };
            let progress = Mutex::new(Vec::new());
            let (mut records, mut calls) = (Vec::new(), 0);
            spool
                .review(
                    setup,
                    2,
                    &|done, total| progress.lock().unwrap().push((done, total)),
                    &mut |found, unselected| {
                        assert!(unselected.is_empty());
                        records.extend(found);
                        calls += 1;
                    },
                )
                .unwrap();
            records.sort_by_key(|record| (spool.file_position(&record.file), record.index));
            assert_eq!(records, whole, "groups of {group_documents}");
            assert_eq!(calls, groups, "groups of {group_documents}");
            assert_eq!(progress.lock().unwrap().last(), Some(&(5, 5)));
        }
    }
}
