//! PNG in and out: decoding any PNG to 8-bit grayscale, encoding grayscale and RGB images.

use crate::error::{Error, Result};
use std::io::Cursor;
use std::path::Path;

/// The most pixels an image may have (64 Mi): bounds the memory a hostile header can ask for.
pub const MAX_PIXELS: u64 = 1 << 26;

/// A decoded grayscale image.
#[derive(Clone, Debug, PartialEq)]
pub struct GrayImage {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// One byte per pixel, row-major.
    pub pixels: Vec<u8>,
}

/// Width and height of a PNG, read from its header without decoding any pixel.
pub fn png_size(bytes: &[u8]) -> Result<(usize, usize)> {
    let reader = png::Decoder::new(Cursor::new(bytes)).read_info().map_err(|e| format!("not a PNG image ({e})"))?;
    Ok((reader.info().width as usize, reader.info().height as usize))
}

/// Decodes a PNG to 8-bit grayscale. Palette and low bit depths are expanded, 16-bit is
/// reduced to 8; colour becomes luma `0.299 R + 0.587 G + 0.114 B`; transparency is
/// composited over black (MNIST's background).
pub fn decode_gray_png(bytes: &[u8]) -> Result<GrayImage> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG image ({e})"))?;
    // The header may claim any size: refuse what no dataset image is before allocating for it.
    let (w, h) = (reader.info().width as u64, reader.info().height as u64);
    if w * h > MAX_PIXELS {
        return Err(Error::Format(format!("PNG image too large ({w}×{h} pixels; at most {MAX_PIXELS})")));
    }
    let size = reader.output_buffer_size().ok_or("PNG image too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("corrupt PNG image ({e})"))?;
    let (width, height) = (info.width as usize, info.height as usize);
    let data = &buf[..info.buffer_size()];
    let luma = |r: u8, g: u8, b: u8| (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32).round() as u8;
    let over_black = |v: u8, a: u8| ((v as u16 * a as u16 + 127) / 255) as u8;
    let pixels: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => data.to_vec(),
        png::ColorType::GrayscaleAlpha => data.chunks_exact(2).map(|p| over_black(p[0], p[1])).collect(),
        png::ColorType::Rgb => data.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect(),
        png::ColorType::Rgba => data.chunks_exact(4).map(|p| over_black(luma(p[0], p[1], p[2]), p[3])).collect(),
        png::ColorType::Indexed => return Err(Error::Format("indexed PNG was not expanded".into())),
    };
    Ok(GrayImage { width, height, pixels })
}

/// Encodes 8-bit pixels as PNG bytes; `channels` is 1 (grayscale) or 3 (RGB).
pub fn encode_png(width: usize, height: usize, channels: usize, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(pixels.len(), width * height * channels);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(if channels == 1 { png::ColorType::Grayscale } else { png::ColorType::Rgb });
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header to memory");
    writer.write_image_data(pixels).expect("PNG data to memory");
    writer.finish().expect("PNG end to memory");
    out
}

/// Writes an 8-bit PNG file atomically; `channels` is 1 (grayscale) or 3 (RGB).
pub fn write_png(path: &Path, width: usize, height: usize, channels: usize, pixels: &[u8]) -> Result<()> {
    crate::atomic_file::write_atomic(path, &encode_png(width, height, channels, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_and_rgb_round_trip() {
        let gray = decode_gray_png(&encode_png(2, 1, 1, &[0, 200])).unwrap();
        assert_eq!((gray.width, gray.height, gray.pixels), (2, 1, vec![0, 200]));
        let rgb = decode_gray_png(&encode_png(2, 1, 3, &[255, 255, 255, 255, 0, 0])).unwrap();
        assert_eq!(rgb.pixels, vec![255, 76]);
        assert!(decode_gray_png(b"hello").unwrap_err().to_string().starts_with("not a PNG image"));
    }
}
