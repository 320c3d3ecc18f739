//! PNG bodies: the `png` crate's row reader on the worker.
//!
//! Rows are normalised to 8-bit gray or RGB: palettes are expanded, 16-bit
//! samples reduced to 8, 1/2/4-bit gray scaled to 8-bit gray (so a 1-bit PNG
//! becomes [`PixelFormat::Gray8`] with 0 and 255, never `Bw1`), and alpha
//! (including a tRNS colour key) composited onto white. Non-interlaced bodies
//! stream row by row; interlaced (Adam7) ones are decoded whole, after the
//! size has been checked against the limit.

use png::{BitDepth, ColorType, DecodingError, Transformations, Unit};

use super::worker::{ChunkReader, Failure, RowSink};
use crate::raster::{PageHeader, PixelFormat};

fn failure(error: DecodingError) -> Failure {
    match error {
        DecodingError::LimitsExceeded => Failure::TooLarge {
            width: 0,
            height: 0,
            needed: 0,
        },
        other => Failure::Corrupt(other.to_string()),
    }
}

/// Decodes a PNG body on the worker: header, then rows.
pub(super) fn decode(reader: ChunkReader, sink: &RowSink, max_bytes: u64) -> Result<(), Failure> {
    let limits = png::Limits {
        bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(reader, limits);
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(failure)?;
    let info = reader.info();
    let (width, height, interlaced) = (info.width, info.height, info.interlaced);
    let (dpi_x, dpi_y) = match info.pixel_dims {
        Some(dims) if dims.unit == Unit::Meter => {
            let dpi = |ppm: u32| (f64::from(ppm) * 0.0254).round() as u32;
            (dpi(dims.xppu), dpi(dims.yppu))
        }
        _ => (0, 0),
    };
    let (color, depth) = reader.output_color_type();
    if depth != BitDepth::Eight {
        return Err(Failure::Corrupt(format!(
            "unexpected {depth:?} output samples"
        )));
    }
    let (format, channels) = match color {
        ColorType::Grayscale => (PixelFormat::Gray8, 1),
        ColorType::GrayscaleAlpha => (PixelFormat::Gray8, 2),
        ColorType::Rgb => (PixelFormat::Rgb8, 3),
        ColorType::Rgba => (PixelFormat::Rgb8, 4),
        ColorType::Indexed => {
            return Err(Failure::Corrupt("the palette was not expanded".to_owned()));
        }
    };
    let header = PageHeader {
        width,
        height: Some(height),
        format,
        dpi_x,
        dpi_y,
    };
    sink.header(header, 1)?;
    let line = width as usize * channels;
    if interlaced {
        let needed = u64::from(width) * u64::from(height) * channels as u64;
        if needed > max_bytes {
            return Err(Failure::TooLarge {
                width,
                height,
                needed,
            });
        }
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| Failure::Corrupt("the image size is out of range".to_owned()))?;
        let mut image = vec![0u8; size];
        let frame = reader.next_frame(&mut image).map_err(failure)?;
        let stride = frame.line_size;
        for y in 0..height as usize {
            let start = y * stride;
            let row = image
                .get(start..start + line)
                .ok_or_else(|| Failure::Corrupt("short image data".to_owned()))?;
            sink.row(flatten(row, channels))?;
        }
    } else {
        let mut rows = 0u32;
        while let Some(row) = reader.next_row().map_err(failure)? {
            let data = row.data();
            let data = data
                .get(..line)
                .ok_or_else(|| Failure::Corrupt("short row".to_owned()))?;
            sink.row(flatten(data, channels))?;
            rows += 1;
        }
        if rows < height {
            return Err(Failure::Truncated);
        }
    }
    Ok(())
}

/// Composites alpha onto white, dropping the alpha channel.
fn flatten(row: &[u8], channels: usize) -> Vec<u8> {
    match channels {
        2 | 4 => {
            let colour = channels - 1;
            let mut out = Vec::with_capacity(row.len() / channels * colour);
            for px in row.chunks_exact(channels) {
                let alpha = u32::from(px[colour]);
                for &c in &px[..colour] {
                    let v = (u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255;
                    out.push(v as u8);
                }
            }
            out
        }
        _ => row.to_vec(),
    }
}
