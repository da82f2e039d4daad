//! The PNG-tree loader from a zip, and the PNG decoder alone.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ffnn::data::image::decode_gray_png(data);
    let _ = ffnn::data::png_tree::load_zip_from(std::io::Cursor::new(data), std::path::Path::new("fuzz.zip"));
});
