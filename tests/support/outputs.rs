//! What jobs write, read back: temporary folders for a job's output and
//! the virtual scanner's storage, directory listings, images decoded into
//! pages, multipage TIFF walked IFD by IFD, PDF through poppler, the
//! virtual scanner's index strip, and a box downscale to compare previews
//! with. It checks files; it writes none but its own temporaries.

use super::cli::tool;
use std::io;
use std::path::{Path, PathBuf};
use streamscan::device::sim::render::{IndexStrip, decode_index_strip};
use streamscan::raster::{Page, PageHeader, PixelFormat, rgb_row};

/// A temporary directory.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// A temporary directory with `out` (scans) and `storage` (the device's
/// storage folder) inside.
pub struct Dirs {
    pub root: tempfile::TempDir,
    pub out: PathBuf,
    pub storage: PathBuf,
}

impl Default for Dirs {
    fn default() -> Dirs {
        Dirs::new()
    }
}

impl Dirs {
    pub fn new() -> Dirs {
        let root = tempfile::tempdir().expect("temporary directory");
        let out = root.path().join("out");
        let storage = root.path().join("storage");
        std::fs::create_dir(&out).expect("output directory");
        std::fs::create_dir(&storage).expect("storage directory");
        Dirs { root, out, storage }
    }
}

/// The names in `dir`, sorted (hidden temporary files included).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Decodes an image file (PNG, JPEG, TIFF, BMP, PNM) into an RGB page.
pub fn decode(bytes: &[u8]) -> Page {
    let image = image::load_from_memory(bytes).expect("decodable image");
    let rgb = image.to_rgb8();
    Page {
        header: PageHeader {
            width: rgb.width(),
            height: Some(rgb.height()),
            format: PixelFormat::Rgb8,
            dpi_x: 0,
            dpi_y: 0,
        },
        data: rgb.into_raw(),
    }
}

/// Decodes a file's index strip.
pub fn strip(bytes: &[u8]) -> IndexStrip {
    let page = decode(bytes);
    decode_index_strip(&page).expect("the page carries a readable index strip")
}

/// Reads a page's index strip, or says why not.
pub fn read_strip(page: &Page) -> Result<IndexStrip, String> {
    decode_index_strip(page).ok_or_else(|| String::from("no readable index strip"))
}

/// One image of a TIFF file.
pub struct TiffImage {
    /// Its samples in 8 bits (1-bit rows widened to 0 / 255 gray).
    pub page: Page,
    /// The colour type the file stores.
    pub color: tiff::ColorType,
    /// XResolution, YResolution and ResolutionUnit, when the file has them.
    pub resolution: Option<(f64, f64, u32)>,
}

/// Every image of a (multipage) TIFF, walking its IFD chain.
pub fn tiff_images(bytes: &[u8]) -> Result<Vec<TiffImage>, String> {
    use tiff::ColorType;
    use tiff::decoder::ifd::Value;
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    let mut decoder =
        Decoder::new(io::Cursor::new(bytes)).map_err(|e| format!("not a TIFF: {e}"))?;
    let mut images = Vec::new();
    loop {
        let index = images.len() + 1;
        let at = |e: tiff::TiffError| format!("IFD {index}: {e}");
        let (width, height) = decoder.dimensions().map_err(at)?;
        let color = decoder.colortype().map_err(at)?;
        let format = match color {
            ColorType::Gray(8) | ColorType::Gray(1) => PixelFormat::Gray8,
            ColorType::RGB(8) => PixelFormat::Rgb8,
            other => return Err(format!("IFD {index}: unexpected colour type {other:?}")),
        };
        let mut rational = |tag| match decoder.find_tag(tag).map_err(at)? {
            None => Ok(None),
            Some(Value::Rational(n, d)) => Ok(Some(f64::from(n) / f64::from(d))),
            Some(other) => Err(format!(
                "IFD {index}: {tag:?} should be a RATIONAL, not {other:?}"
            )),
        };
        let (x, y) = (rational(Tag::XResolution)?, rational(Tag::YResolution)?);
        let unit = decoder
            .find_tag_unsigned::<u32>(Tag::ResolutionUnit)
            .map_err(at)?;
        let resolution = match (x, y, unit) {
            (Some(x), Some(y), Some(unit)) => Some((x, y, unit)),
            _ => None,
        };
        let mut data = match decoder.read_image().map_err(at)? {
            DecodingResult::U8(data) => data,
            _ => return Err(format!("IFD {index}: samples are not 8-bit")),
        };
        if color == ColorType::Gray(1) {
            // The decoder gives 1-bit rows with 1 = white (it inverts
            // WhiteIsZero); widen them to 8-bit gray.
            let stride = width.div_ceil(8) as usize;
            data = data
                .chunks_exact(stride)
                .flat_map(|row| {
                    (0..width as usize).map(move |x| {
                        if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                            255
                        } else {
                            0
                        }
                    })
                })
                .collect();
        }
        let page = Page {
            header: PageHeader {
                width,
                height: Some(height),
                format,
                dpi_x: 0,
                dpi_y: 0,
            },
            data,
        };
        images.push(TiffImage {
            page,
            color,
            resolution,
        });
        if !decoder.more_images() {
            return Ok(images);
        }
        decoder
            .next_image()
            .map_err(|e| format!("IFD {}: {e}", index + 1))?;
    }
}

/// Every page of a multipage TIFF.
pub fn tiff_pages(bytes: &[u8]) -> Result<Vec<Page>, String> {
    Ok(tiff_images(bytes)?.into_iter().map(|i| i.page).collect())
}

/// The page count `pdfinfo` reads from a PDF.
pub fn pdf_page_count(path: &Path) -> Result<usize, String> {
    let out = tool("pdfinfo", &[path]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "pdfinfo refuses {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("pdfinfo gives no page count for {}: {text}", path.display()))
}

/// Every page of a PDF, rendered in gray by `pdftoppm` at `dpi`.
pub fn pdf_pages(path: &Path, dpi: u32) -> Result<Vec<Page>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let prefix = dir.path().join("p");
    let dpi = dpi.to_string();
    let out = tool(
        "pdftoppm",
        &[
            "-r".as_ref(),
            dpi.as_ref(),
            "-gray".as_ref(),
            path.as_os_str(),
            prefix.as_os_str(),
        ],
    );
    if !out.status.success() {
        return Err(format!(
            "pdftoppm refuses {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // pdftoppm pads the numbers to a common width, so names sort in order.
    dir_names(dir.path())
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.path().join(name)).map_err(|e| e.to_string())?;
            Ok(decode(&bytes))
        })
        .collect()
}

/// Box-downscales `page` by `factor` (partial blocks at the right and
/// bottom edges average what they cover) into RGB rows.
pub fn box_downscale(page: &Page, factor: u32) -> (u32, u32, Vec<u8>) {
    let width = page.header.width;
    let height = page.height();
    let (out_w, out_h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut rgb = vec![0u8; (out_w * out_h * 3) as usize];
    let mut row = Vec::new();
    let mut sums = vec![0u64; (out_w * 3) as usize];
    for oy in 0..out_h {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = (oy * factor..((oy + 1) * factor).min(height)).collect::<Vec<_>>();
        for &y in &rows {
            row.clear();
            rgb_row(page.header.format, page.row(y), width as usize, &mut row);
            for (x, px) in row.chunks_exact(3).enumerate() {
                let o = (x / factor as usize) * 3;
                for (sum, &value) in sums[o..o + 3].iter_mut().zip(px) {
                    *sum += u64::from(value);
                }
            }
        }
        for ox in 0..out_w {
            let cols = u64::from((width - ox * factor).min(factor));
            let n = cols * rows.len() as u64;
            let at = ((oy * out_w + ox) * 3) as usize;
            let sum_at = (ox * 3) as usize;
            for (out, sum) in rgb[at..at + 3].iter_mut().zip(&sums[sum_at..sum_at + 3]) {
                *out = (sum / n) as u8;
            }
        }
    }
    (out_w, out_h, rgb)
}
