//! The seed's layout: `train/` and `test/`, each holding one folder per class (`0` … `9`) of PNG
//! files (`0000.png`, …), possibly under one top-level folder; as a folder or a `.zip` of it.
//!
//! Class folders may have any names, ordered the torchvision `ImageFolder` way (sorted), except
//! that folders named only by numbers (0 … 255) keep their numbers as labels (see
//! [`Classes::of_folders`]); every test class folder needs a training one of the same name. Hidden files
//! (`.DS_Store`, …) and macOS's `__MACOSX` folder are skipped; anything else that is not a PNG
//! is an error, as is an empty class folder or images of different sizes.

use super::image::decode_gray_png;
use super::{Classes, DataSplit, Dataset};
use crate::error::{Error, Result, io_error};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

const SPLITS: [&str; 2] = ["train", "test"];

/// The largest image file accepted from a zip (a bound on memory for hostile archives).
const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// Where one image's bytes are.
enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// One image to decode: its label, the path shown in errors, and its bytes.
struct Entry {
    label: u8,
    shown: PathBuf,
    source: Source,
}

fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX"
}

/// The folder that holds `train/` and `test/`: `dir` itself, or its only sub-folder.
pub fn find_root(dir: &Path) -> Option<PathBuf> {
    let has_splits = |d: &Path| SPLITS.iter().all(|s| d.join(s).is_dir());
    if has_splits(dir) {
        return Some(dir.to_path_buf());
    }
    let subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && !is_skipped(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    match subdirs.as_slice() {
        [only] if has_splits(only) => Some(only.clone()),
        _ => None,
    }
}

/// The label of the class folder `name`, from the training set's folders (see
/// [`Classes::of_folders`]); `shown` is the folder, for the error.
fn label_of(labels: &BTreeMap<String, u8>, name: &str, shown: &Path) -> Result<u8> {
    labels.get(name).copied().ok_or_else(|| Error::file(shown, "a test class folder with no training folder of the same name"))
}

/// The dataset's name: the folder's or the zip's file name without its extension.
fn dataset_name(path: &Path) -> String {
    path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let e = e.map_err(|e| io_error(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_skipped(&name) {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Loads a PNG tree from a folder.
pub fn load_folder(dir: &Path) -> Result<DataSplit> {
    let root = find_root(dir).ok_or_else(|| Error::file(dir, "no train/ and test/ folders here"))?;
    let mut class_folders = Vec::new();
    for split in SPLITS {
        let mut folders = Vec::new();
        for (class_name, class_dir) in sorted_entries(&root.join(split))? {
            if !class_dir.is_dir() {
                return Err(Error::file(&class_dir, "not a class folder (expected one folder of PNG images per class)"));
            }
            folders.push((class_name, class_dir));
        }
        class_folders.push(folders);
    }
    let train_names: Vec<String> = class_folders[0].iter().map(|(n, _)| n.clone()).collect();
    let (labels, classes) = Classes::of_folders(&train_names, dataset_name(dir), dir)?;
    let mut splits = Vec::new();
    let mut test_files = Vec::new();
    for (split, folders) in SPLITS.iter().zip(class_folders) {
        let mut entries = Vec::new();
        for (class_name, class_dir) in folders {
            let label = label_of(&labels, &class_name, &class_dir)?;
            let files = sorted_entries(&class_dir)?;
            if files.is_empty() {
                return Err(Error::file(&class_dir, "empty class folder (no images)"));
            }
            entries.extend(files.into_iter().map(|(_, path)| Entry { label, shown: path.clone(), source: Source::File(path) }));
        }
        if *split == "test" {
            let inside = |p: &Path| p.strip_prefix(dir).unwrap_or(p).to_string_lossy().into_owned();
            test_files = entries.iter().map(|e| inside(&e.shown)).collect();
        }
        splits.push(decode_all(entries, &root.join(split))?);
    }
    let test = splits.pop().unwrap();
    let train = splits.pop().unwrap();
    Ok(DataSplit { train, test, source: dir.to_path_buf(), class_names: classes, test_files: Some(test_files) })
}

/// A class folder inside a zip: its path, and its files' names and entry indices.
type ZipClass = (String, Vec<(String, usize)>);

/// Loads a PNG tree from a `.zip` file.
pub fn load_zip(path: &Path) -> Result<DataSplit> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    load_zip_from(std::io::BufReader::new(file), path)
}

/// Loads a PNG tree from a zip archive read from `reader`; `path` names it in messages.
pub fn load_zip_from<R: Read + std::io::Seek>(reader: R, path: &Path) -> Result<DataSplit> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| Error::file(path, format!("not a valid zip file ({e})")))?;
    let corrupt = |e: &dyn std::fmt::Display| Error::file(path, format!("corrupt zip file ({e})"));
    // Every entry as path components, with its index.
    let mut items: Vec<(Vec<String>, bool, usize)> = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| corrupt(&e))?;
        let name = entry.name().map_err(|e| corrupt(&e))?.into_owned();
        let parts: Vec<String> = name.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
        if parts.is_empty() || parts.iter().any(|p| is_skipped(p)) {
            continue;
        }
        items.push((parts, entry.is_dir(), i));
    }
    // The tree may sit under one top-level folder.
    let at_top = items.iter().any(|(p, _, _)| SPLITS.contains(&p[0].as_str()));
    let prefix = if at_top { 0 } else { 1 };
    // (split, class name) → (the class folder's path in the zip, its files); a class folder
    // listed with no files stays empty.
    let mut classes: BTreeMap<(usize, String), ZipClass> = BTreeMap::new();
    for (parts, is_dir, index) in items {
        let rest = &parts[prefix.min(parts.len())..];
        let Some(split) = rest.first().and_then(|s| SPLITS.iter().position(|x| x == s)) else {
            continue;
        };
        let class_path = parts[..parts.len().min(prefix + 2)].join("/");
        match (rest.len(), is_dir) {
            (2, true) => {
                classes.entry((split, rest[1].clone())).or_insert((class_path, vec![]));
            }
            (3, false) => {
                classes.entry((split, rest[1].clone())).or_insert((class_path, vec![])).1.push((parts.join("/"), index))
            }
            (2, false) => {
                return Err(Error::file(
                    path.join(parts.join("/")),
                    "not a class folder (expected one folder of PNG images per class)",
                ));
            }
            _ => {}
        }
    }
    let train_names: Vec<String> = classes.keys().filter(|(split, _)| *split == 0).map(|(_, n)| n.clone()).collect();
    let (labels, class_names) = Classes::of_folders(&train_names, dataset_name(path), path)?;
    let mut entries: [Vec<Entry>; 2] = [vec![], vec![]];
    let mut test_files = Vec::new();
    for ((split, class_name), (class_path, mut files)) in classes {
        let label = label_of(&labels, &class_name, &path.join(&class_path))?;
        if files.is_empty() {
            return Err(Error::file(path.join(&class_path), "empty class folder (no images)"));
        }
        files.sort();
        for (name, index) in files {
            let mut bytes = Vec::new();
            let f = archive.by_index(index).map_err(|e| corrupt(&e))?;
            f.take(MAX_IMAGE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::file(path.join(&name), format!("corrupt zip entry ({e})")))?;
            if bytes.len() as u64 > MAX_IMAGE_BYTES {
                return Err(Error::file(path.join(&name), "larger than 64 MiB: not an image of a dataset"));
            }
            if split == 1 {
                test_files.push(name.clone());
            }
            entries[split].push(Entry { label, shown: path.join(&name), source: Source::Bytes(bytes) });
        }
    }
    let [train, test] = entries;
    for (split, e) in SPLITS.iter().zip([&train, &test]) {
        if e.is_empty() {
            return Err(Error::file(path, format!("no {split}/ folder of class folders in this zip")));
        }
    }
    Ok(DataSplit {
        train: decode_all(train, &path.join("train"))?,
        test: decode_all(test, &path.join("test"))?,
        source: path.to_path_buf(),
        class_names,
        test_files: Some(test_files),
    })
}

/// Decodes every image (in parallel) into one dataset; all must have the same size.
fn decode_all(entries: Vec<Entry>, split_dir: &Path) -> Result<Dataset> {
    let decoded: Vec<(u8, super::image::GrayImage, &PathBuf)> = entries
        .par_iter()
        .map(|e| {
            let bytes = match &e.source {
                Source::File(p) => std::borrow::Cow::Owned(std::fs::read(p).map_err(|err| io_error(p, err))?),
                Source::Bytes(b) => std::borrow::Cow::Borrowed(b),
            };
            let img = decode_gray_png(&bytes).map_err(|err| err.in_file(&e.shown))?;
            Ok((e.label, img, &e.shown))
        })
        .collect::<Result<_>>()?;
    let Some((_, first, first_path)) = decoded.first() else {
        return Err(Error::file(split_dir, "no images"));
    };
    let (width, height) = (first.width, first.height);
    let mut images = Vec::with_capacity(decoded.len() * width * height);
    let mut labels = Vec::with_capacity(decoded.len());
    for (label, img, shown) in &decoded {
        if (img.width, img.height) != (width, height) {
            return Err(Error::file(
                shown,
                format!(
                    "image is {}×{} but {} is {width}×{height}; all images must have the same size",
                    img.width,
                    img.height,
                    first_path.display()
                ),
            ));
        }
        images.extend_from_slice(&img.pixels);
        labels.push(*label);
    }
    Ok(Dataset { images, labels, height, width })
}
