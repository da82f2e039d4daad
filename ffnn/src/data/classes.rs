//! What the classes are called and what the data is: `Classes`, kept with a dataset and
//! stored in the model file's metadata, so every place that shows a class can name it.
//!
//! Where names come from, in order:
//! - a PNG tree's class folders, the torchvision `ImageFolder` way: sorted names (`cat/`,
//!   `dog/`), except that folders named only by numbers keep their numbers as labels (`0/` …
//!   `9/`, the seed's layout);
//! - an IDX folder's `classes.txt`, one name a line, in label order;
//! - a dataset ffnn knows (MNIST, Fashion-MNIST), recognised by the SHA-256 of its test labels
//!   (so the Debian package's copy and a download agree, whatever their compression);
//! - otherwise the labels' numbers.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The metadata key of the class names (a JSON array of strings) in model and checkpoint files.
pub const NAMES_KEY: &str = "ffnn.class_names";
/// The metadata key of the dataset's name.
pub const DATASET_KEY: &str = "ffnn.dataset";
/// A class-name file in an IDX folder.
pub const CLASSES_TXT: &str = "classes.txt";

/// Fashion-MNIST's classes, in label order (Zalando's `fashion-mnist` README).
pub const FASHION_MNIST: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// A dataset ffnn knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownDataset {
    /// Its name, as shown (`MNIST`).
    pub name: &'static str,
    /// Its name on the command line (`mnist`).
    pub id: &'static str,
    /// The SHA-256 of its 10,000 test labels (the label file's body, after its 8-byte header).
    pub test_labels_sha256: &'static str,
    /// Its class names, in label order.
    pub classes: [&'static str; 10],
}

/// The datasets ffnn knows.
pub const KNOWN: [KnownDataset; 2] = [
    KnownDataset {
        name: "MNIST",
        id: "mnist",
        test_labels_sha256: "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    },
    KnownDataset {
        name: "Fashion-MNIST",
        id: "fashion-mnist",
        test_labels_sha256: "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
        classes: FASHION_MNIST,
    },
];

/// The names of a dataset's classes, in label order, and the dataset's own name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classes {
    /// `names[label]`.
    pub names: Vec<String>,
    /// The dataset's name: `MNIST`, `Fashion-MNIST`, or its folder's or file's name.
    pub dataset: String,
}

impl Classes {
    /// Classes called by their numbers, `0` … `count − 1`.
    pub fn numbered(count: usize, dataset: impl Into<String>) -> Classes {
        Classes { names: (0..count).map(|c| c.to_string()).collect(), dataset: dataset.into() }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of class `label` (its number when it has none).
    pub fn name(&self, label: usize) -> String {
        self.names.get(label).cloned().unwrap_or_else(|| label.to_string())
    }

    /// Whether every class is called by its number (`0`, `1`, …): nothing to show beyond it.
    pub fn are_numbered(&self) -> bool {
        self.names.iter().enumerate().all(|(i, n)| *n == i.to_string())
    }

    /// Whether the classes are the ten digits `0` … `9` (handwritten digits, as MNIST): the
    /// wording then speaks of digits, and the web page crops and centres drawings as MNIST's
    /// images were.
    pub fn are_digits(&self) -> bool {
        self.names.len() == 10 && self.are_numbered()
    }

    /// "digit" or "class", for wording.
    pub fn noun(&self) -> &'static str {
        if self.are_digits() { "digit" } else { "class" }
    }

    /// The dataset ffnn knows whose test labels these are, if any.
    pub fn known(test_labels: &[u8]) -> Option<&'static KnownDataset> {
        use sha2::{Digest, Sha256};
        if test_labels.len() != 10_000 {
            return None;
        }
        let hash: String = Sha256::digest(test_labels).iter().map(|b| format!("{b:02x}")).collect();
        KNOWN.iter().find(|k| k.test_labels_sha256 == hash)
    }

    /// The known dataset called `id` (`mnist`, `fashion-mnist`), if any.
    pub fn known_by_id(id: &str) -> Option<&'static KnownDataset> {
        KNOWN.iter().find(|k| k.id == id)
    }

    /// The metadata entries that record these classes.
    pub fn to_metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (NAMES_KEY.to_string(), serde_json::to_string(&self.names).expect("strings serialize")),
            (DATASET_KEY.to_string(), self.dataset.clone()),
        ])
    }

    /// The classes a model file's metadata records for a model of `count` classes: its names when
    /// it has them (and they are as many), else numbers.
    pub fn from_metadata<'a>(metadata: impl IntoIterator<Item = (&'a String, &'a String)>, count: usize) -> Classes {
        let metadata: HashMap<&str, &str> = metadata.into_iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let dataset = metadata.get(DATASET_KEY).map(|d| d.to_string()).unwrap_or_default();
        let names: Option<Vec<String>> = metadata.get(NAMES_KEY).and_then(|n| serde_json::from_str(n).ok());
        match names {
            Some(names) if names.len() == count => Classes { names, dataset },
            _ => Classes::numbered(count, dataset),
        }
    }

    /// Reads `classes.txt` in `dir`, when there is one: its non-empty lines, trimmed, in label
    /// order. `None` when the folder has none.
    pub fn read_classes_txt(dir: &Path) -> Result<Option<Vec<String>>> {
        let path = dir.join(CLASSES_TXT);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        if names.is_empty() {
            return Err(Error::file(&path, "no class names (one a line, in label order)"));
        }
        if let Some(twice) = names.iter().enumerate().find_map(|(i, n)| names[..i].contains(n).then_some(n)) {
            return Err(Error::file(&path, format!("the class name {twice:?} is there twice")));
        }
        Ok(Some(names))
    }

    /// The labels of a PNG tree's class folders (`folder name → label`) and the names: the
    /// folders named only by numbers (0 … 255) keep their numbers; otherwise they are sorted
    /// by name and numbered in that order (torchvision's `ImageFolder`). `folders` are the
    /// training set's class folders; `shown` names the tree in errors.
    pub fn of_folders(folders: &[String], dataset: impl Into<String>, shown: &Path) -> Result<(BTreeMap<String, u8>, Classes)> {
        let dataset = dataset.into();
        let numbers: Option<Vec<u8>> = folders.iter().map(|f| f.parse::<u8>().ok().filter(|n| n.to_string() == *f)).collect();
        if let Some(numbers) = numbers {
            let count = numbers.iter().copied().max().map_or(0, |m| m as usize + 1);
            let labels = folders.iter().cloned().zip(numbers).collect();
            return Ok((labels, Classes::numbered(count, dataset)));
        }
        let mut names = folders.to_vec();
        names.sort();
        names.dedup();
        if names.len() > 256 {
            return Err(Error::file(shown, format!("{} class folders: ffnn takes at most 256 classes", names.len())));
        }
        let labels = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u8)).collect();
        Ok((labels, Classes { names, dataset }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_by_number_keep_their_numbers_and_others_are_sorted() {
        let shown = Path::new("tree");
        let (labels, classes) = Classes::of_folders(&["0".into(), "7".into(), "3".into()], "digits", shown).unwrap();
        assert_eq!((labels["7"], labels["3"]), (7, 3));
        assert_eq!(classes.names.len(), 8);
        let (labels, classes) = Classes::of_folders(&["dog".into(), "cat".into(), "7".into()], "pets", shown).unwrap();
        assert_eq!(classes.names, ["7", "cat", "dog"]);
        assert_eq!((labels["7"], labels["cat"], labels["dog"]), (0, 1, 2));
        // "07" is a name, not the number 7.
        let (_, classes) = Classes::of_folders(&["07".into(), "1".into()], "x", shown).unwrap();
        assert_eq!(classes.names, ["07", "1"]);
    }

    #[test]
    fn metadata_round_trips_and_digits_are_recognised() {
        let fashion = Classes { names: FASHION_MNIST.map(String::from).to_vec(), dataset: "Fashion-MNIST".into() };
        let meta: HashMap<String, String> = fashion.to_metadata().into_iter().collect();
        assert_eq!(Classes::from_metadata(&meta, 10), fashion);
        let ordered = fashion.to_metadata();
        assert_eq!(Classes::from_metadata(&ordered, 10), fashion);
        assert_eq!(Classes::from_metadata(&meta, 3), Classes::numbered(3, "Fashion-MNIST"), "names of another count are ignored");
        assert!(!fashion.are_digits() && Classes::numbered(10, "").are_digits() && !Classes::numbered(3, "").are_digits());
        assert_eq!((fashion.noun(), Classes::numbered(10, "").noun()), ("class", "digit"));
    }
}
