//! The IDX format (LeCun's MNIST files, Fashion-MNIST), raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number `00 00 TT DD` (element type `TT`, here always `08` =
//! unsigned byte, and the number of dimensions `DD`), then `DD` big-endian `u32` sizes, then
//! the elements, row-major. Images are `N × rows × cols` (magic `0x00000803`), labels `N`
//! (magic `0x00000801`).
//!
//! Nothing here trusts the header: the sizes it claims are checked against the bytes that are
//! really there before anything is allocated from them.

use super::{Classes, DataSplit, Dataset};
use crate::error::{Error, Result, io_error};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest decompressed file accepted (4 GiB): a bound on memory for hostile `.gz` files.
const MAX_DECOMPRESSED: u64 = 4 << 30;

/// A parsed IDX file: its dimensions and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The size of each dimension (`[N, rows, cols]` for images, `[N]` for labels).
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes of unsigned-byte elements with `expected_dims` dimensions
/// (3 for images, 1 for labels).
/// Takes the bytes by value and keeps them as the elements (no second copy of a 47 MB file).
pub fn parse_idx(mut bytes: Vec<u8>, expected_dims: usize) -> Result<IdxArray> {
    let expected_magic = 0x0800 | expected_dims as u32;
    if bytes.len() < 4 {
        return Err(Error::Format(format!("not an IDX file (only {} bytes)", bytes.len())));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        if bytes[0] == 0 && bytes[1] == 0 && bytes[2] != 0x08 && (1..=4).contains(&bytes[3]) {
            return Err(Error::Format(format!(
                "IDX element type 0x{:02x} is not supported (ffnn reads unsigned bytes, 0x08)",
                bytes[2]
            )));
        }
        return Err(Error::Format(format!(
            "not an IDX file of {expected_dims} dimension(s): magic number 0x{magic:08x}, expected 0x{expected_magic:08x}"
        )));
    }
    let header = 4 + 4 * expected_dims;
    if bytes.len() < header {
        return Err(Error::Format(format!("truncated IDX header ({} bytes, need {header})", bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let claimed = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let present = bytes.len() - header;
    let shape = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    match claimed {
        Some(n) if n == present => {
            bytes.drain(..header);
            Ok(IdxArray { dims, data: bytes })
        }
        Some(n) if n > present => {
            Err(Error::Format(format!("truncated: the header says {shape} = {n} bytes of data, the file has {present}")))
        }
        Some(n) => Err(Error::Format(format!("{} bytes of data after the {shape} = {n} the header announces", present - n))),
        None => Err(Error::Format(format!("the header's sizes {shape} overflow"))),
    }
}

/// Reads a whole file, decompressing it when it is gzip (whatever its name).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let named_gz = path.extension().is_some_and(|e| e == "gz");
    decompress_if_gzip(raw, named_gz).map_err(|e| e.in_file(path))
}

/// Deflate cannot compress better than about 1032 : 1, so a gzip stream of `n` bytes never
/// inflates to more than this: a bound for trusting the size the trailer claims.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Decompresses `raw` when it starts with the gzip signature; returns it unchanged otherwise
/// (an error when `named_gz` says it should have been gzip).
pub fn decompress_if_gzip(raw: Vec<u8>, named_gz: bool) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        if named_gz {
            return Err(Error::Format(
                "not a gzip file (its name ends in .gz but it does not start with the gzip signature)".into(),
            ));
        }
        return Ok(raw);
    }
    // The trailer's last 4 bytes hold the uncompressed size (mod 2³²): a first guess for the
    // buffer, believed only as far as the compressed size makes possible.
    let claimed = raw.len().checked_sub(4).map_or(0, |at| u32::from_le_bytes(raw[at..].try_into().unwrap()) as u64);
    let possible = (raw.len() as u64).saturating_mul(MAX_DEFLATE_RATIO).min(MAX_DECOMPRESSED);
    let mut out = Vec::with_capacity(claimed.min(possible) as usize);
    MultiGzDecoder::new(&raw[..]).take(MAX_DECOMPRESSED + 1).read_to_end(&mut out).map_err(|e| {
        let why =
            if e.kind() == std::io::ErrorKind::UnexpectedEof { "unexpected end of file".to_string() } else { e.to_string() };
        format!("corrupt or truncated gzip data ({why})")
    })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(Error::Format("decompresses to more than 4 GiB".into()));
    }
    Ok(out)
}

/// Reads and parses an IDX file (raw or gzip).
pub fn read_idx(path: &Path, expected_dims: usize) -> Result<IdxArray> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx(bytes, expected_dims).map_err(|e| e.in_file(path))
}

/// The four files of an IDX dataset.
#[derive(Clone, Debug)]
pub struct IdxFiles {
    /// Training images (`train-images-idx3-ubyte[.gz]`).
    pub train_images: PathBuf,
    /// Training labels.
    pub train_labels: PathBuf,
    /// Test images (`t10k-images-idx3-ubyte[.gz]`).
    pub test_images: PathBuf,
    /// Test labels.
    pub test_labels: PathBuf,
}

/// Finds the file for `stems` (e.g. `train-images`) and `kind` (`idx3-ubyte`) in `dir`, under
/// any of the names it is distributed with: `train-images-idx3-ubyte`, `train-images.idx3-ubyte`,
/// each with or without `.gz`.
fn find_one(dir: &Path, stems: &[&str], kind: &str) -> Option<PathBuf> {
    for stem in stems {
        for sep in ["-", "."] {
            for ext in ["", ".gz"] {
                let p = dir.join(format!("{stem}{sep}{kind}{ext}"));
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// `Some` when `dir` holds at least one IDX file of a dataset; each entry is the file found or
/// the name it was expected under.
pub fn find_idx_files(dir: &Path) -> Option<IdxFiles> {
    let spec: [(&[&str], &str); 4] = [
        (&["train-images"], "idx3-ubyte"),
        (&["train-labels"], "idx1-ubyte"),
        (&["t10k-images", "test-images"], "idx3-ubyte"),
        (&["t10k-labels", "test-labels"], "idx1-ubyte"),
    ];
    let found: Vec<Option<PathBuf>> = spec.iter().map(|(stems, kind)| find_one(dir, stems, kind)).collect();
    if found.iter().all(Option::is_none) {
        return None;
    }
    let path = |i: usize| found[i].clone().unwrap_or_else(|| dir.join(format!("{}-{}[.gz]", spec[i].0[0], spec[i].1)));
    Some(IdxFiles { train_images: path(0), train_labels: path(1), test_images: path(2), test_labels: path(3) })
}

/// Reads one split from its image and label files.
fn load_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    for p in [images, labels] {
        if !p.is_file() {
            return Err(Error::file(p, "missing (an IDX dataset needs train-images, train-labels, t10k-images and t10k-labels)"));
        }
    }
    let (img, lab) = rayon::join(|| read_idx(images, 3), || read_idx(labels, 1));
    let (img, lab) = (img?, lab?);
    let (n, height, width) = (img.dims[0], img.dims[1], img.dims[2]);
    if lab.dims[0] != n {
        return Err(Error::file(labels, format!("{} labels, but {} has {n} images", lab.dims[0], images.display())));
    }
    Ok(Dataset { images: img.data, labels: lab.data, height, width })
}

/// Loads the training and test sets of an IDX folder.
pub fn load_idx_folder(dir: &Path) -> Result<DataSplit> {
    let files = find_idx_files(dir).ok_or_else(|| Error::file(dir, "no IDX files here"))?;
    let (train, test) =
        rayon::join(|| load_pair(&files.train_images, &files.train_labels), || load_pair(&files.test_images, &files.test_labels));
    let (train, test) = (train?, test?);
    let folder_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // classes.txt first, then a dataset ffnn knows, then numbers.
    let known = Classes::known(&test.labels);
    let class_names = match Classes::read_classes_txt(dir)? {
        Some(names) => {
            if names.len() != train.classes() {
                return Err(Error::file(
                    dir.join(super::classes::CLASSES_TXT),
                    format!(
                        "{} names for the {} classes of the labels (0 to {})",
                        names.len(),
                        train.classes(),
                        train.classes() - 1
                    ),
                ));
            }
            Classes { names, dataset: known.map_or(folder_name, |k| k.name.to_string()) }
        }
        None => match known {
            Some(k) => Classes { names: k.classes.map(String::from).to_vec(), dataset: k.name.to_string() },
            None => Classes::numbered(train.classes(), folder_name),
        },
    };
    Ok(DataSplit { train, test, source: dir.to_path_buf(), class_names, test_files: None })
}

/// Encodes an IDX file of unsigned bytes (used by tests and tools to write small datasets).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let bytes = encode_idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx(bytes.clone(), 3).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data[11], 12);
        assert_eq!(parse_idx(bytes[..10].to_vec(), 3).unwrap_err().to_string(), "truncated IDX header (10 bytes, need 16)");
        assert_eq!(
            parse_idx(bytes[..15 + 6].to_vec(), 3).unwrap_err().to_string(),
            "truncated: the header says 2×2×3 = 12 bytes of data, the file has 5"
        );
        assert_eq!(
            parse_idx(bytes.clone(), 1).unwrap_err().to_string(),
            "not an IDX file of 1 dimension(s): magic number 0x00000803, expected 0x00000801"
        );
        // Headers claiming absurd sizes must fail without allocating.
        let huge = encode_idx(&[u32::MAX as usize, 28, 28], &[0; 8]);
        assert!(parse_idx(huge, 3).unwrap_err().to_string().starts_with("truncated: the header says 4294967295×28×28"));
        let overflow = encode_idx(&[u32::MAX as usize, u32::MAX as usize, 2], &[0; 8]);
        assert_eq!(parse_idx(overflow, 3).unwrap_err().to_string(), "the header's sizes 4294967295×4294967295×2 overflow");
    }
}
