//! AVIF input: our own reader for the HEIF/ISO-BMFF container (the crates.io parsers are
//! MPL-2.0, and the subset AVIF uses is small) and rav1d, the Rust port of dav1d (BSD-2), for
//! the AV1 payload. YUV is converted to 8-bit RGB(A) here.
//!
//! Read: the `meta` box's primary item (`pitm`), item types (`iinf`/`infe`), locations
//! (`iloc`, extents in the file or in `idat`), properties (`iprp`: `ispe`, `colr` nclx or ICC,
//! `irot`, `imir`, `auxC`) and references (`iref`: `auxl` alpha, `prem`, `dimg` grid tiles).
//! `av01` items and `grid` items made of `av01` tiles are decoded; an alpha auxiliary item is
//! decoded too and kept as a fourth channel (un-premultiplied when `prem` says so).
//!
//! Colour: 4:0:0/4:2:0/4:2:2/4:4:4, 8/10/12-bit, limited or full range (from the AV1 sequence
//! header, as libavif does), matrix from `colr` nclx else the sequence header: BT.601
//! (also for "unspecified"), BT.709, BT.2020, FCC, SMPTE 240, identity (GBR), YCgCo, and
//! chromaticity-derived for BT.709/BT.2020/P3 primaries. Chroma is upsampled by repetition
//! (nearest neighbour), as sharp's libheif does. An ICC `colr` becomes [`Raster::icc`];
//! nclx primaries other than BT.709 (Display P3, BT.2020, ...) and gamma 2.2/2.8/linear
//! transfers become an ICC profile built by moxcms, so the usual ICC path converts them to sRGB.
//! BT.709-family transfers are treated as sRGB (as libvips does), and HDR transfers (PQ, HLG)
//! are not tone-mapped: their code values are taken as sRGB.
//!
//! Not read: image sequences without a still primary item (tracks), `clap` cropping, layered
//! images beyond the highest layer, items in other files or built from other items (`iloc`
//! construction method 2), grids of grids. Precision: 10/12-bit samples are converted straight
//! to 8-bit RGB.
//!
//! Panics: our parsing and conversion run inside `decode::guarded` (and `contain::run`'s
//! catch), so a bug there becomes `IMAGE_DECODE`. rav1d is only reachable through its
//! dav1d-compatible `extern "C"` API, and Rust aborts (it cannot unwind) if a panic reaches
//! such a function; its portable DSP functions are `extern "C"` too, on its worker threads. So
//! the whole decode runs in `contain::run`, and every rav1d call goes through
//! `contain::foreign`: a rav1d panic parks its thread and fails the call, a hang fails it after
//! [`decode_timeout`] (see `contain.rs`). One rav1d bug is known and avoided rather than
//! contained, since contained panics cost a parked thread each: with a single frame context
//! rav1d 1.1.0 panics on *any* tile decode error (memorysafety/rav1d#1497), so we decode with
//! two frame contexts, which means two rav1d worker threads per decode.
//! tests/avif.rs feeds truncated and bit-flipped files: none makes rav1d panic or hang.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Display;

use crate::decode::{check_pixels, Header, Raster};
use crate::ImageError;

const ALPHA_URNS: [&[u8]; 2] = [
  b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
  b"urn:mpeg:hevc:2015:auxid:1",
];
/// More `iloc` extents than any real file has: bounds the work a hostile header can cause.
const MAX_EXTENTS: usize = 1 << 16;

fn err(reason: impl Display) -> ImageError {
  ImageError::decode("AVIF", reason)
}

fn unsupported(what: impl Display) -> ImageError {
  ImageError::UnsupportedFormat {
    what: format!("AVIF {what}"),
  }
}

fn fourcc(kind: [u8; 4]) -> String {
  String::from_utf8_lossy(&kind).into_owned()
}

// ---------------------------------------------------------------------------------------
// Byte and box reading.

/// A bounds-checked big-endian reader; running out of bytes is a decode error.
struct Bytes<'a> {
  data: &'a [u8],
  pos: usize,
}

impl<'a> Bytes<'a> {
  fn new(data: &'a [u8]) -> Self {
    Bytes { data, pos: 0 }
  }

  fn is_empty(&self) -> bool {
    self.pos >= self.data.len()
  }

  fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
    let end = self
      .pos
      .checked_add(n)
      .filter(|&end| end <= self.data.len())
      .ok_or_else(|| err("a box ends before its fields (truncated?)"))?;
    let out = &self.data[self.pos..end];
    self.pos = end;
    Ok(out)
  }

  fn rest(&mut self) -> &'a [u8] {
    let out = &self.data[self.pos.min(self.data.len())..];
    self.pos = self.data.len();
    out
  }

  fn u8(&mut self) -> Result<u8, ImageError> {
    Ok(self.take(1)?[0])
  }

  fn u16(&mut self) -> Result<u16, ImageError> {
    let b = self.take(2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
  }

  fn u32(&mut self) -> Result<u32, ImageError> {
    let b = self.take(4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
  }

  fn u64(&mut self) -> Result<u64, ImageError> {
    let b = self.take(8)?;
    Ok(u64::from_be_bytes([
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ]))
  }

  /// An unsigned field of 0, 4 or 8 bytes (`iloc`'s sizes).
  fn uint(&mut self, size: u8) -> Result<u64, ImageError> {
    match size {
      0 => Ok(0),
      4 => self.u32().map(u64::from),
      8 => self.u64(),
      other => Err(err(format!("iloc field size {other} (must be 0, 4 or 8)"))),
    }
  }

  /// 16-bit when `short`, else 32-bit (item IDs by box version).
  fn id(&mut self, short: bool) -> Result<u32, ImageError> {
    if short {
      self.u16().map(u32::from)
    } else {
      self.u32()
    }
  }

  fn fourcc(&mut self) -> Result<[u8; 4], ImageError> {
    let b = self.take(4)?;
    Ok([b[0], b[1], b[2], b[3]])
  }

  /// A FullBox header: version and flags.
  fn full_box(&mut self) -> Result<(u8, u32), ImageError> {
    let v = self.u32()?;
    Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
  }
}

struct BoxRef<'a> {
  kind: [u8; 4],
  body: &'a [u8],
}

/// The boxes one after another in `data` (a file or a container box's body).
struct Boxes<'a> {
  r: Bytes<'a>,
}

fn boxes(data: &[u8]) -> Boxes<'_> {
  Boxes {
    r: Bytes::new(data),
  }
}

impl<'a> Boxes<'a> {
  fn read(&mut self) -> Result<BoxRef<'a>, ImageError> {
    let start = self.r.pos;
    let size32 = self.r.u32()?;
    let kind = self.r.fourcc()?;
    let size = match size32 {
      0 => (self.r.data.len() - start) as u64,
      1 => self.r.u64()?,
      n => u64::from(n),
    };
    if &kind == b"uuid" {
      self.r.take(16)?;
    }
    let header = (self.r.pos - start) as u64;
    if size < header {
      return Err(err(format!(
        "{} box declares {size} bytes, less than its header",
        fourcc(kind)
      )));
    }
    let len = usize::try_from(size - header).unwrap_or(usize::MAX);
    let body = self.r.take(len).map_err(|_| {
      err(format!(
        "{} box runs past the end of its container (truncated?)",
        fourcc(kind)
      ))
    })?;
    Ok(BoxRef { kind, body })
  }
}

impl<'a> Iterator for Boxes<'a> {
  type Item = Result<BoxRef<'a>, ImageError>;

  fn next(&mut self) -> Option<Self::Item> {
    if self.r.is_empty() {
      return None;
    }
    let item = self.read();
    if item.is_err() {
      self.r.pos = self.r.data.len(); // fused after an error
    }
    Some(item)
  }
}

// ---------------------------------------------------------------------------------------
// The container.

/// CICP colour description (`colr` nclx, or the AV1 sequence header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nclx {
  pub primaries: u16,
  pub transfer: u16,
  pub matrix: u16,
  pub full_range: bool,
}

enum Property<'a> {
  Ispe {
    width: u32,
    height: u32,
  },
  Nclx(Nclx),
  Icc(&'a [u8]),
  /// Anticlockwise quarter turns.
  Irot(u8),
  /// 0: top and bottom exchanged, 1: left and right exchanged.
  Imir(u8),
  AuxC(&'a [u8]),
  Other,
}

struct Extent {
  offset: u64,
  length: u64,
}

struct Location {
  method: u8,
  data_reference: u16,
  base_offset: u64,
  extents: Vec<Extent>,
}

struct Reference {
  kind: [u8; 4],
  from: u32,
  to: Vec<u32>,
}

struct File<'a> {
  input: &'a [u8],
  primary: u32,
  items: HashMap<u32, [u8; 4]>,
  locations: HashMap<u32, Location>,
  properties: Vec<Property<'a>>,
  /// Item → 1-based property indices, in association order.
  associations: HashMap<u32, Vec<usize>>,
  references: Vec<Reference>,
  idat: Option<&'a [u8]>,
}

impl<'a> File<'a> {
  fn parse(input: &'a [u8]) -> Result<Self, ImageError> {
    let mut meta = None;
    let mut moov = false;
    for b in boxes(input) {
      match b {
        Ok(b) if &b.kind == b"meta" && meta.is_none() => meta = Some(b.body),
        Ok(b) => moov |= &b.kind == b"moov",
        // A damaged tail (usually a truncated `mdat`) only matters if an item lives there,
        // which reading that item reports.
        Err(e) if meta.is_none() => return Err(e),
        Err(_) => break,
      }
    }
    let Some(meta) = meta else {
      return Err(if moov {
        unsupported("image sequence without a still image item (tracks are not read)")
      } else {
        err("no meta box")
      });
    };
    let mut file = File {
      input,
      primary: 0,
      items: HashMap::new(),
      locations: HashMap::new(),
      properties: Vec::new(),
      associations: HashMap::new(),
      references: Vec::new(),
      idat: None,
    };
    let mut r = Bytes::new(meta);
    r.full_box()?;
    let (mut pitm, mut hdlr) = (None, None);
    let mut seen: Vec<[u8; 4]> = Vec::new();
    for b in boxes(r.rest()) {
      let b = b?;
      if seen.contains(&b.kind) {
        continue; // the first of each wins
      }
      seen.push(b.kind);
      let mut r = Bytes::new(b.body);
      match &b.kind {
        b"hdlr" => {
          r.full_box()?;
          r.u32()?; // pre_defined
          hdlr = Some(r.fourcc()?);
        }
        b"pitm" => {
          let (version, _) = r.full_box()?;
          pitm = Some(r.id(version == 0)?);
        }
        b"iloc" => file.locations = parse_iloc(&mut r)?,
        b"iinf" => file.items = parse_iinf(&mut r)?,
        b"iref" => file.references = parse_iref(&mut r)?,
        b"iprp" => file.parse_iprp(b.body)?,
        b"idat" => file.idat = Some(b.body),
        _ => {}
      }
    }
    if let Some(h) = hdlr.filter(|h| h != b"pict") {
      return Err(unsupported(format!(
        "meta box with a {:?} handler (not an image)",
        fourcc(h)
      )));
    }
    file.primary = pitm.ok_or_else(|| err("no primary item (pitm box)"))?;
    Ok(file)
  }

  fn parse_iprp(&mut self, body: &'a [u8]) -> Result<(), ImageError> {
    for b in boxes(body) {
      let b = b?;
      match &b.kind {
        b"ipco" if self.properties.is_empty() => {
          for p in boxes(b.body) {
            let p = p?;
            self.properties.push(parse_property(p.kind, p.body)?);
          }
        }
        b"ipma" => {
          let mut r = Bytes::new(b.body);
          let (version, flags) = r.full_box()?;
          let entries = r.u32()?;
          for _ in 0..entries {
            let id = r.id(version < 1)?;
            let count = r.u8()?;
            let mut indices = Vec::new();
            for _ in 0..count {
              let index = if flags & 1 != 0 {
                usize::from(r.u16()? & 0x7FFF)
              } else {
                usize::from(r.u8()? & 0x7F)
              };
              indices.push(index);
            }
            self.associations.entry(id).or_default().extend(indices);
          }
        }
        _ => {}
      }
    }
    Ok(())
  }

  fn item_type(&self, id: u32) -> Option<[u8; 4]> {
    self.items.get(&id).copied()
  }

  fn properties(&self, id: u32) -> impl Iterator<Item = &Property<'a>> + '_ {
    self
      .associations
      .get(&id)
      .into_iter()
      .flatten()
      .filter_map(|&index| index.checked_sub(1).and_then(|i| self.properties.get(i)))
  }

  fn ispe(&self, id: u32) -> Option<(u32, u32)> {
    self.properties(id).find_map(|p| match p {
      Property::Ispe { width, height } => Some((*width, *height)),
      _ => None,
    })
  }

  fn nclx(&self, id: u32) -> Option<Nclx> {
    self.properties(id).find_map(|p| match p {
      Property::Nclx(n) => Some(*n),
      _ => None,
    })
  }

  fn icc(&self, id: u32) -> Option<&'a [u8]> {
    self.properties(id).find_map(|p| match p {
      Property::Icc(icc) => Some(*icc),
      _ => None,
    })
  }

  /// EXIF orientation equivalent to the item's `irot` then `imir`.
  fn orientation(&self, id: u32) -> u8 {
    let irot = self.properties(id).find_map(|p| match p {
      Property::Irot(a) => Some(*a),
      _ => None,
    });
    let imir = self.properties(id).find_map(|p| match p {
      Property::Imir(a) => Some(*a),
      _ => None,
    });
    exif_orientation(irot.unwrap_or(0), imir)
  }

  /// Items referenced from `from` by a `kind` reference, in order.
  fn references_from(&self, kind: &[u8; 4], from: u32) -> impl Iterator<Item = u32> + '_ {
    let kind = *kind;
    self
      .references
      .iter()
      .filter(move |r| r.kind == kind && r.from == from)
      .flat_map(|r| r.to.iter().copied())
  }

  /// The alpha auxiliary item of `id`: an `auxl` reference to it from an item whose `auxC`
  /// names the alpha URN.
  fn alpha_item(&self, id: u32) -> Option<u32> {
    self
      .references
      .iter()
      .filter(|r| &r.kind == b"auxl" && r.to.contains(&id))
      .map(|r| r.from)
      .find(|&aux| {
        self.properties(aux).any(|p| match p {
          Property::AuxC(urn) => ALPHA_URNS.contains(urn),
          _ => false,
        })
      })
  }

  fn premultiplied(&self, colour: u32, alpha: u32) -> bool {
    self.references_from(b"prem", colour).any(|to| to == alpha)
  }

  /// The item's bytes: its extents, concatenated.
  fn item_data(&self, id: u32) -> Result<Cow<'a, [u8]>, ImageError> {
    let loc = self
      .locations
      .get(&id)
      .ok_or_else(|| err(format!("item {id} has no location (iloc)")))?;
    if loc.data_reference != 0 {
      return Err(unsupported("item stored in another file"));
    }
    let source: &'a [u8] = match loc.method {
      0 => self.input,
      1 => self
        .idat
        .ok_or_else(|| err(format!("item {id} is in an idat box there is none of")))?,
      m => return Err(unsupported(format!("item construction method {m}"))),
    };
    let slice = |e: &Extent| -> Result<&'a [u8], ImageError> {
      let start = loc
        .base_offset
        .checked_add(e.offset)
        .and_then(|s| usize::try_from(s).ok())
        .filter(|&s| s <= source.len());
      let past_end = || {
        err(format!(
          "item {id}'s data runs past the end of the file (truncated?)"
        ))
      };
      let start = start.ok_or_else(past_end)?;
      let end = if e.length == 0 {
        source.len()
      } else {
        usize::try_from(e.length)
          .ok()
          .and_then(|l| start.checked_add(l))
          .filter(|&end| end <= source.len())
          .ok_or_else(past_end)?
      };
      Ok(&source[start..end])
    };
    match loc.extents.as_slice() {
      [] => Err(err(format!("item {id} has no extents"))),
      [one] => slice(one).map(Cow::Borrowed),
      many => {
        let mut out = Vec::new();
        for e in many {
          let part = slice(e)?;
          if out.len() + part.len() > self.input.len() {
            return Err(err(format!(
              "item {id}'s extents add up to more than the file"
            )));
          }
          out.extend_from_slice(part);
        }
        Ok(Cow::Owned(out))
      }
    }
  }
}

/// EXIF orientation for `irot` (anticlockwise quarter turns) followed by `imir`.
fn exif_orientation(irot: u8, imir: Option<u8>) -> u8 {
  match (irot & 3, imir) {
    (0, None) => 1,
    (0, Some(0)) => 4,
    (0, Some(_)) => 2,
    (1, None) => 8,
    (1, Some(0)) => 5,
    (1, Some(_)) => 7,
    (2, None) => 3,
    (2, Some(0)) => 2,
    (2, Some(_)) => 4,
    (3, None) => 6,
    (3, Some(0)) => 7,
    _ => 5,
  }
}

fn parse_property<'a>(kind: [u8; 4], body: &'a [u8]) -> Result<Property<'a>, ImageError> {
  let mut r = Bytes::new(body);
  Ok(match &kind {
    b"ispe" => {
      r.full_box()?;
      Property::Ispe {
        width: r.u32()?,
        height: r.u32()?,
      }
    }
    b"colr" => match &r.fourcc()? {
      b"nclx" => Property::Nclx(Nclx {
        primaries: r.u16()?,
        transfer: r.u16()?,
        matrix: r.u16()?,
        full_range: r.u8()? & 0x80 != 0,
      }),
      b"prof" | b"rICC" => Property::Icc(r.rest()),
      _ => Property::Other,
    },
    b"irot" => Property::Irot(r.u8()? & 3),
    b"imir" => Property::Imir(r.u8()? & 1),
    b"auxC" => {
      r.full_box()?;
      let rest = r.rest();
      let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
      Property::AuxC(&rest[..end])
    }
    _ => Property::Other,
  })
}

fn parse_iloc(r: &mut Bytes<'_>) -> Result<HashMap<u32, Location>, ImageError> {
  let (version, _) = r.full_box()?;
  if version > 2 {
    return Err(unsupported(format!("iloc box version {version}")));
  }
  let sizes = r.u8()?;
  let (offset_size, length_size) = (sizes >> 4, sizes & 15);
  let sizes = r.u8()?;
  let base_offset_size = sizes >> 4;
  let index_size = if version >= 1 { sizes & 15 } else { 0 };
  let count = if version < 2 {
    u32::from(r.u16()?)
  } else {
    r.u32()?
  };
  let mut out = HashMap::new();
  let mut extents_total = 0usize;
  for _ in 0..count {
    let id = r.id(version < 2)?;
    let method = if version >= 1 {
      (r.u16()? & 15) as u8
    } else {
      0
    };
    let data_reference = r.u16()?;
    let base_offset = r.uint(base_offset_size)?;
    let n = usize::from(r.u16()?);
    extents_total += n;
    if extents_total > MAX_EXTENTS {
      return Err(err("too many iloc extents"));
    }
    let mut extents = Vec::new();
    for _ in 0..n {
      r.uint(index_size)?;
      extents.push(Extent {
        offset: r.uint(offset_size)?,
        length: r.uint(length_size)?,
      });
    }
    out.entry(id).or_insert(Location {
      method,
      data_reference,
      base_offset,
      extents,
    });
  }
  Ok(out)
}

fn parse_iinf(r: &mut Bytes<'_>) -> Result<HashMap<u32, [u8; 4]>, ImageError> {
  let (version, _) = r.full_box()?;
  if version == 0 {
    r.u16()?;
  } else {
    r.u32()?;
  }
  let mut items = HashMap::new();
  for b in boxes(r.rest()) {
    let b = b?;
    if &b.kind != b"infe" {
      continue;
    }
    let mut r = Bytes::new(b.body);
    let (version, _) = r.full_box()?;
    if version < 2 {
      continue; // no item type before version 2
    }
    let id = r.id(version == 2)?;
    r.u16()?; // item_protection_index
    let kind = r.fourcc()?;
    items.entry(id).or_insert(kind);
  }
  Ok(items)
}

fn parse_iref(r: &mut Bytes<'_>) -> Result<Vec<Reference>, ImageError> {
  let (version, _) = r.full_box()?;
  let mut out = Vec::new();
  for b in boxes(r.rest()) {
    let b = b?;
    let mut r = Bytes::new(b.body);
    let from = r.id(version == 0)?;
    let count = r.u16()?;
    let mut to = Vec::new();
    for _ in 0..count {
      to.push(r.id(version == 0)?);
    }
    out.push(Reference {
      kind: b.kind,
      from,
      to,
    });
  }
  Ok(out)
}

// ---------------------------------------------------------------------------------------
// Entry points.

/// Size (stored orientation), orientation (`irot`/`imir`) and alpha from the container.
pub(crate) fn header(input: &[u8]) -> Result<Header, ImageError> {
  let file = File::parse(input)?;
  let id = file.primary;
  let (width, height) = file
    .ispe(id)
    .ok_or_else(|| err("the primary item has no size (ispe)"))?;
  Ok(Header {
    width,
    height,
    orientation: file.orientation(id),
    has_alpha: file.alpha_item(id).is_some(),
  })
}

/// Decodes the primary item (and its alpha) to 8-bit RGB/RGBA in stored orientation, on a
/// contained thread (`contain.rs`): a panic inside rav1d becomes `IMAGE_DECODE` instead of an
/// abort, and a hang becomes `IMAGE_DECODE` after [`decode_timeout`].
pub(crate) fn decode(input: &[u8], limit: u64) -> Result<Raster, ImageError> {
  // The container is read here first (cheaply) to refuse garbage without a thread and to size
  // the timeout; the thread reads its own copy of the input.
  let file = File::parse(input)?;
  let id = file.primary;
  let (w, h) = file
    .ispe(id)
    .ok_or_else(|| err("the primary item has no size (ispe)"))?;
  check_pixels(w.into(), h.into(), limit)?;
  let planes = if file.alpha_item(id).is_some() { 2 } else { 1 };
  let timeout = decode_timeout(u64::from(w) * u64::from(h) * planes);
  let input = input.to_vec();
  crate::contain::run("AVIF", "the AV1 decoder", timeout, move || {
    decode_contained(&input, limit)
  })
}

/// How long a caller waits for a contained decode: time a valid file should never need. 10 s
/// covers thread start-up and a loaded machine; each pixel (colour and alpha counted apart)
/// adds 1 µs. Whole optimizations of AVIF input (decode, resize, encode) took 0.25-0.39 µs a
/// pixel in a *debug* build at load average 8 on 2 cores (tests/contain.rs `avif_decode_rate`);
/// release builds are faster. A 12 Mpx photo waits at most 22 s, the 268 Mpx limit 278 s. Only
/// a hang (a rav1d bug) reaches it; its `optimize` slot is held that long, then the thread
/// counts as stuck (`contain::MAX_STUCK`). Next puts no limit on sharp's decode at all.
pub(crate) fn decode_timeout(pixels: u64) -> std::time::Duration {
  std::time::Duration::from_secs(10) + std::time::Duration::from_micros(pixels)
}

fn decode_contained(input: &[u8], limit: u64) -> Result<Raster, ImageError> {
  let file = File::parse(input)?;
  let id = file.primary;
  let (w, h) = file
    .ispe(id)
    .ok_or_else(|| err("the primary item has no size (ispe)"))?;
  check_pixels(w.into(), h.into(), limit)?;
  let colour = decode_item(&file, id, Role::Colour, limit)?;
  let (width, height) = (colour.width, colour.height);
  // The caller sized the output from `ispe`: a frame of another size is refused (so a small
  // header cannot make a huge output, nor a huge one hide a small frame).
  if (width as u64, height as u64) != (u64::from(w), u64::from(h)) {
    return Err(err(format!(
      "the image is {width}x{height} but its ispe box says {w}x{h}"
    )));
  }
  let mut raster = Raster {
    width: width as u32,
    height: height as u32,
    channels: 3,
    data: colour.data,
    icc: None,
  };
  if let Some(alpha_id) = file.alpha_item(id) {
    let alpha = decode_item(&file, alpha_id, Role::Alpha, limit)?;
    if (alpha.width, alpha.height) != (width, height) {
      return Err(err(format!(
        "alpha is {}x{}, the image {width}x{height}",
        alpha.width, alpha.height
      )));
    }
    let mut rgba = Vec::new();
    rgba
      .try_reserve_exact(width * height * 4)
      .map_err(|_| err("out of memory"))?;
    for (rgb, &a) in raster.data.chunks_exact(3).zip(&alpha.data) {
      rgba.extend_from_slice(&[rgb[0], rgb[1], rgb[2], a]);
    }
    if file.premultiplied(id, alpha_id) {
      unpremultiply(&mut rgba);
    }
    raster.data = rgba;
    raster.channels = 4;
  }
  raster.icc = match file.icc(id) {
    Some(icc) => Some(icc.to_vec()),
    None => {
      let nclx = file.nclx(id).unwrap_or(colour.stream);
      crate::colour::profile_for_cicp(nclx.primaries, nclx.transfer)
    }
  };
  Ok(raster)
}

fn unpremultiply(rgba: &mut [u8]) {
  for px in rgba.chunks_exact_mut(4) {
    let a = u32::from(px[3]);
    if a == 255 {
      continue;
    }
    for c in &mut px[..3] {
      *c = (u32::from(*c) * 255 + a / 2)
        .checked_div(a)
        .map_or(0, |v| v.min(255) as u8);
    }
  }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
  /// RGB, 3 bytes a pixel.
  Colour,
  /// The luma plane as 8-bit alpha.
  Alpha,
}

/// A decoded item: RGB (colour) or one alpha byte per pixel.
struct Decoded {
  width: usize,
  height: usize,
  data: Vec<u8>,
  /// The colour description in the AV1 sequence header (the first tile's, for a grid).
  stream: Nclx,
}

fn decode_item(file: &File, id: u32, role: Role, limit: u64) -> Result<Decoded, ImageError> {
  match file.item_type(id) {
    Some(kind) if &kind == b"av01" => decode_av01(file, id, role, limit, file.nclx(id)),
    Some(kind) if &kind == b"grid" => decode_grid(file, id, role, limit),
    Some(kind) => Err(unsupported(format!(
      "{:?} item (only av01 and grid items are read)",
      fourcc(kind)
    ))),
    None => Err(err(format!("item {id} is not in the item list (iinf)"))),
  }
}

fn decode_av01(
  file: &File,
  id: u32,
  role: Role,
  limit: u64,
  nclx: Option<Nclx>,
) -> Result<Decoded, ImageError> {
  let data = file.item_data(id)?;
  av1::decode(&data, limit, |frame| {
    check_pixels(frame.width as u64, frame.height as u64, limit)?;
    let stream = frame.nclx;
    let data = match role {
      Role::Colour => {
        let coeffs = Coeffs::new(
          nclx.map_or(stream.matrix, |n| n.matrix),
          nclx.map_or(stream.primaries, |n| n.primaries),
          frame.depth,
          stream.full_range,
          frame.layout == av1::Layout::I400,
        );
        match &frame.planes {
          av1::Planes::Eight(p) => to_rgb(frame, p, &coeffs),
          av1::Planes::Sixteen(p) => to_rgb(frame, p, &coeffs),
        }
      }
      Role::Alpha => match &frame.planes {
        av1::Planes::Eight(p) => to_alpha(frame, &p[0]),
        av1::Planes::Sixteen(p) => to_alpha(frame, &p[0]),
      },
    }?;
    Ok(Decoded {
      width: frame.width,
      height: frame.height,
      data,
      stream,
    })
  })
}

/// A `grid` item: `dimg` tiles (all `av01`, same size) laid out row by row, cropped to the
/// grid's output size.
fn decode_grid(file: &File, id: u32, role: Role, limit: u64) -> Result<Decoded, ImageError> {
  let desc = file.item_data(id)?;
  let mut r = Bytes::new(&desc);
  let version = r.u8()?;
  if version != 0 {
    return Err(unsupported(format!("grid version {version}")));
  }
  let flags = r.u8()?;
  let rows = usize::from(r.u8()?) + 1;
  let cols = usize::from(r.u8()?) + 1;
  let (out_w, out_h) = if flags & 1 != 0 {
    (r.u32()?, r.u32()?)
  } else {
    (u32::from(r.u16()?), u32::from(r.u16()?))
  };
  check_pixels(out_w.into(), out_h.into(), limit)?;
  let (out_w, out_h) = (out_w as usize, out_h as usize);
  let tiles: Vec<u32> = file.references_from(b"dimg", id).collect();
  if tiles.len() != rows * cols {
    return Err(err(format!(
      "grid of {rows}x{cols} has {} tiles",
      tiles.len()
    )));
  }
  // Geometry from the tiles' declared sizes first, so a bad grid fails before any decoding.
  let fits = |tw: usize, th: usize| {
    tw * cols >= out_w && tw * (cols - 1) < out_w && th * rows >= out_h && th * (rows - 1) < out_h
  };
  for &tile in &tiles {
    if file.item_type(tile) != Some(*b"av01") {
      return Err(unsupported("grid whose tiles are not av01 items"));
    }
    if let Some((tw, th)) = file.ispe(tile) {
      if !fits(tw as usize, th as usize) {
        return Err(err(format!(
          "{rows}x{cols} tiles of {tw}x{th} do not make a {out_w}x{out_h} grid"
        )));
      }
    }
  }
  let channels = if role == Role::Colour { 3 } else { 1 };
  let mut canvas = Vec::new();
  canvas
    .try_reserve_exact(out_w * out_h * channels)
    .map_err(|_| err("out of memory"))?;
  canvas.resize(out_w * out_h * channels, 0);
  let grid_nclx = file.nclx(id);
  let mut first: Option<(usize, usize, Nclx)> = None;
  for (i, &tile) in tiles.iter().enumerate() {
    let t = decode_av01(file, tile, role, limit, file.nclx(tile).or(grid_nclx))?;
    let (tw, th, _) = *first.get_or_insert((t.width, t.height, t.stream));
    if (t.width, t.height) != (tw, th) || !fits(tw, th) {
      return Err(err(format!(
        "grid tile {i} is {}x{}; tiles must share one size that makes a {out_w}x{out_h} grid",
        t.width, t.height
      )));
    }
    let (x0, y0) = ((i % cols) * tw, (i / cols) * th);
    let w = tw.min(out_w - x0);
    for y in 0..th.min(out_h - y0) {
      let src = &t.data[y * tw * channels..][..w * channels];
      canvas[((y0 + y) * out_w + x0) * channels..][..w * channels].copy_from_slice(src);
    }
  }
  let (_, _, stream) = first.ok_or_else(|| err("grid without tiles"))?;
  Ok(Decoded {
    width: out_w,
    height: out_h,
    data: canvas,
    stream,
  })
}

// ---------------------------------------------------------------------------------------
// YUV → RGB.

/// A 3×3 fixed-point matrix from (Y, U, V) samples scaled by 16 (headroom for sub-sample
/// precision), minus `offset`, to 8-bit R, G, B in units of 2⁻¹⁶.
struct Coeffs {
  m: [[i32; 3]; 3],
  offset: [i32; 3],
}

impl Coeffs {
  fn new(matrix: u16, primaries: u16, depth: u8, full_range: bool, mono: bool) -> Self {
    let scale = f64::from(1u32 << (depth - 8));
    let max = f64::from((1u32 << depth) - 1);
    let (y_off, y_range, c_range) = if full_range {
      (0.0, max, max)
    } else {
      (16.0 * scale, 219.0 * scale, 224.0 * scale)
    };
    let c_off = f64::from(1u32 << (depth - 1));
    // Per unit of a ×16 sample, to 0–255, in 2⁻¹⁶ units.
    let unit = 65536.0 * 255.0 / 16.0;
    let ys = unit / y_range;
    let cs = unit / c_range;
    let q = |v: f64| v.round() as i32;
    let y_off16 = q(y_off * 16.0);
    let c_off16 = q(c_off * 16.0);
    if mono {
      return Coeffs {
        m: [[q(ys), 0, 0]; 3],
        offset: [y_off16, c_off16, c_off16],
      };
    }
    match matrix {
      // Identity: G, B, R stored as Y, U, V, each scaled like luma.
      0 => Coeffs {
        m: [[0, 0, q(ys)], [q(ys), 0, 0], [0, q(ys), 0]],
        offset: [y_off16, y_off16, y_off16],
      },
      // YCgCo: U is Cg, V is Co.
      8 => Coeffs {
        m: [
          [q(ys), -q(cs), q(cs)],
          [q(ys), q(cs), 0],
          [q(ys), -q(cs), -q(cs)],
        ],
        offset: [y_off16, c_off16, c_off16],
      },
      _ => {
        let (kr, kb) = kr_kb(matrix, primaries);
        let kg = 1.0 - kr - kb;
        Coeffs {
          m: [
            [q(ys), 0, q(2.0 * (1.0 - kr) * cs)],
            [
              q(ys),
              q(-2.0 * kb * (1.0 - kb) / kg * cs),
              q(-2.0 * kr * (1.0 - kr) / kg * cs),
            ],
            [q(ys), q(2.0 * (1.0 - kb) * cs), 0],
          ],
          offset: [y_off16, c_off16, c_off16],
        }
      }
    }
  }

  #[inline(always)]
  fn apply(&self, k: usize, y: i32, u: i32, v: i32) -> u8 {
    let m = &self.m[k];
    let sum = m[0] * (y - self.offset[0])
      + m[1] * (u - self.offset[1])
      + m[2] * (v - self.offset[2])
      + (1 << 15);
    (sum >> 16).clamp(0, 255) as u8
  }
}

/// Luma weights of red and blue for a matrix_coefficients code (H.273).
fn kr_kb(matrix: u16, primaries: u16) -> (f64, f64) {
  const BT601: (f64, f64) = (0.299, 0.114);
  const BT709: (f64, f64) = (0.2126, 0.0722);
  const BT2020: (f64, f64) = (0.2627, 0.0593);
  match matrix {
    1 => BT709,
    4 => (0.30, 0.11),
    7 => (0.212, 0.087),
    9 | 10 => BT2020,
    // Chromaticity-derived: the common primaries' values.
    12 | 13 => match primaries {
      1 => BT709,
      9 => BT2020,
      12 => (0.2290, 0.0793),
      _ => BT601,
    },
    // 5, 6 (BT.601), 2 (unspecified) and anything unknown.
    _ => BT601,
  }
}

trait Sample: Copy {
  fn get(self) -> i32;
}

impl Sample for u8 {
  #[inline(always)]
  fn get(self) -> i32 {
    i32::from(self)
  }
}

impl Sample for u16 {
  #[inline(always)]
  fn get(self) -> i32 {
    i32::from(self)
  }
}

fn alloc(len: usize) -> Result<Vec<u8>, ImageError> {
  let mut out = Vec::new();
  out
    .try_reserve_exact(len)
    .map_err(|_| err("out of memory"))?;
  Ok(out)
}

fn to_rgb<T: Sample>(
  frame: &av1::Frame,
  planes: &[av1::Plane<'_, T>; 3],
  coeffs: &Coeffs,
) -> Result<Vec<u8>, ImageError> {
  let (w, h) = (frame.width, frame.height);
  let mut out = alloc(w * h * 3)?;
  let y_plane = &planes[0];
  if frame.layout == av1::Layout::I400 {
    for y in 0..h {
      for &s in y_plane.row(y) {
        let v = coeffs.apply(0, s.get() * 16, 0, 0);
        out.extend_from_slice(&[v, v, v]);
      }
    }
    return Ok(out);
  }
  let (ss_x, ss_y) = frame.layout.subsampling();
  let (u_plane, v_plane) = (&planes[1], &planes[2]);
  // Nearest-neighbour chroma upsampling: each chroma sample covers its 2×1 or 2×2 luma block.
  // This is what sharp's libheif does (checked against sharp 0.35: identical to ±1), so Next
  // and we agree; a bilinear filter would differ by up to ~10 code values at colour edges.
  let columns: Vec<usize> = (0..w).map(|x| x >> ss_x as usize).collect();
  for y in 0..h {
    let row = y >> ss_y as usize;
    let (u_row, v_row) = (u_plane.row(row), v_plane.row(row));
    for (&s, &c) in y_plane.row(y).iter().zip(&columns) {
      let (yy, u, v) = (s.get() * 16, u_row[c].get() * 16, v_row[c].get() * 16);
      out.extend_from_slice(&[
        coeffs.apply(0, yy, u, v),
        coeffs.apply(1, yy, u, v),
        coeffs.apply(2, yy, u, v),
      ]);
    }
  }
  Ok(out)
}

fn to_alpha<T: Sample>(
  frame: &av1::Frame,
  luma: &av1::Plane<'_, T>,
) -> Result<Vec<u8>, ImageError> {
  let coeffs = Coeffs::new(0, 0, frame.depth, frame.nclx.full_range, true);
  let mut out = alloc(frame.width * frame.height)?;
  for y in 0..frame.height {
    out.extend(
      luma
        .row(y)
        .iter()
        .map(|s| coeffs.apply(0, s.get() * 16, 0, 0)),
    );
  }
  Ok(out)
}

// ---------------------------------------------------------------------------------------
// AV1 through rav1d's dav1d-compatible API.

mod av1 {
  use std::mem::MaybeUninit;
  use std::ptr::NonNull;

  use rav1d::include::dav1d::data::Dav1dData;
  use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dLogger, Dav1dSettings};
  use rav1d::include::dav1d::headers::{
    DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
    DAV1D_PIXEL_LAYOUT_I444,
  };
  use rav1d::include::dav1d::picture::Dav1dPicture;
  use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
  };
  use rav1d::Dav1dResult;

  use super::{err, Nclx};
  use crate::contain::foreign;
  use crate::ImageError;

  /// Far more send/get rounds than one still frame needs; a guard against a decoder that
  /// makes no progress.
  const MAX_ROUNDS: usize = 1 << 16;

  #[derive(Debug, Clone, Copy, PartialEq, Eq)]
  pub(super) enum Layout {
    I400,
    I420,
    I422,
    I444,
  }

  impl Layout {
    pub(super) fn subsampling(self) -> (bool, bool) {
      match self {
        Layout::I420 => (true, true),
        Layout::I422 => (true, false),
        Layout::I400 | Layout::I444 => (false, false),
      }
    }
  }

  /// One plane borrowed from a dav1d picture.
  pub(super) struct Plane<'a, T> {
    data: &'a [T],
    /// In samples.
    stride: usize,
    width: usize,
  }

  impl<'a, T> Plane<'a, T> {
    pub(super) fn row(&self, y: usize) -> &'a [T] {
      &self.data[y * self.stride..][..self.width]
    }

    fn empty() -> Self {
      Plane {
        data: &[],
        stride: 0,
        width: 0,
      }
    }
  }

  pub(super) enum Planes<'a> {
    Eight([Plane<'a, u8>; 3]),
    Sixteen([Plane<'a, u16>; 3]),
  }

  pub(super) struct Frame<'a> {
    pub width: usize,
    pub height: usize,
    pub depth: u8,
    pub layout: Layout,
    /// From the sequence header; `full_range` is the range the samples use.
    pub nclx: Nclx,
    pub planes: Planes<'a>,
  }

  struct Context(Option<Dav1dContext>);

  impl Drop for Context {
    fn drop(&mut self) {
      // SAFETY: the context came from `dav1d_open` (or is None, which dav1d_close ignores)
      // and is closed once, here.
      foreign(|| unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) });
    }
  }

  struct Data(Dav1dData);

  impl Drop for Data {
    fn drop(&mut self) {
      // SAFETY: `self.0` is a valid (possibly empty) Dav1dData owned by us.
      foreign(|| unsafe { dav1d_data_unref(Some(NonNull::from(&mut self.0))) });
    }
  }

  struct Picture(Dav1dPicture);

  impl Drop for Picture {
    fn drop(&mut self) {
      // SAFETY: `self.0` is a default or dav1d-filled picture owned by us.
      foreign(|| unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) });
    }
  }

  fn failure(code: Dav1dResult) -> ImageError {
    let what = match -code.0 {
      libc::EINVAL => "invalid or corrupt AV1 data",
      libc::ENOMEM => "out of memory",
      libc::ERANGE => "the AV1 frame is larger than the pixel limit",
      libc::ENOPROTOOPT => "unsupported AV1 feature",
      _ => "AV1 decoding failed",
    };
    err(format!("{what} (dav1d error {})", code.0))
  }

  /// Decodes the first frame of a still AV1 item (OBUs with a sequence header), on rav1d's two
  /// worker threads while the caller waits, and hands its planes to `f` while the picture is
  /// alive. Frames over `max_pixels` are refused by the decoder before it allocates them.
  pub(super) fn decode<R>(
    obus: &[u8],
    max_pixels: u64,
    f: impl FnOnce(&Frame) -> Result<R, ImageError>,
  ) -> Result<R, ImageError> {
    if obus.is_empty() {
      return Err(err("empty AV1 item"));
    }
    let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
    // SAFETY: dav1d_default_settings writes every field of the settings.
    let mut settings = foreign(|| unsafe {
      dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
      settings.assume_init()
    });
    // Two frame contexts, hence two worker threads. With one (n_threads or max_frame_delay 1)
    // rav1d 1.1.0 panics inside `extern "C"` (which would park a thread; see contain.rs) on
    // any error while decoding tile data (memorysafety/rav1d#1497: `on_error` unwraps a frame
    // header that `rav1d_decode_frame_exit` already took). With two, errors go through the
    // task threads and come back as error codes. `n_threads` must be explicit: "auto" on one core is 1.
    settings.n_threads = 2;
    settings.max_frame_delay = 2;
    settings.all_layers = 0; // the highest spatial layer only, as libavif asks
    settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX).max(1);
    // SAFETY: no callback, so dav1d logs nothing (it would print to stderr by default).
    settings.logger = unsafe { Dav1dLogger::new(None, None) };
    let mut context = Context(None);
    // SAFETY: both pointers are valid for the call; dav1d_open writes the context.
    let opened = foreign(|| unsafe {
      dav1d_open(
        Some(NonNull::from(&mut context.0)),
        Some(NonNull::from(&mut settings)),
      )
    });
    if opened.0 != 0 || context.0.is_none() {
      return Err(failure(opened));
    }
    let mut data = Data(Dav1dData::default());
    // SAFETY: dav1d_data_create allocates `len` bytes and points `data` at them.
    let buffer =
      foreign(|| unsafe { dav1d_data_create(Some(NonNull::from(&mut data.0)), obus.len()) });
    if buffer.is_null() {
      return Err(err("out of memory"));
    }
    // SAFETY: `buffer` holds `obus.len()` writable bytes that nothing else references.
    unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };
    let again = -libc::EAGAIN;
    let mut picture = Picture(Dav1dPicture::default());
    let mut got = false;
    let mut drains = 0;
    for _ in 0..MAX_ROUNDS {
      if data.0.sz > 0 {
        // SAFETY: the context is open and `data` is a valid Dav1dData we own.
        let sent =
          foreign(|| unsafe { dav1d_send_data(context.0, Some(NonNull::from(&mut data.0))) });
        if sent.0 < 0 && sent.0 != again {
          return Err(failure(sent));
        }
      }
      // SAFETY: the context is open; `picture` is empty, so overwriting it leaks nothing.
      let res =
        foreign(|| unsafe { dav1d_get_picture(context.0, Some(NonNull::from(&mut picture.0))) });
      if res.0 == 0 {
        got = true;
        break;
      }
      if res.0 != again {
        return Err(failure(res));
      }
      // All data sent: with frame threading the first get arms draining and the next one
      // waits for the frame in flight; if nothing comes the data held no whole frame.
      if data.0.sz == 0 {
        drains += 1;
        if drains > 3 {
          return Err(err("the AV1 data ends before a whole frame (truncated?)"));
        }
      }
    }
    if !got {
      return Err(err("the AV1 decoder made no progress"));
    }
    let p = &picture.0;
    let (width, height) = (p.p.w, p.p.h);
    if width <= 0 || height <= 0 {
      return Err(err("AV1 frame without pixels"));
    }
    let (width, height) = (width as usize, height as usize);
    let layout = match p.p.layout {
      DAV1D_PIXEL_LAYOUT_I400 => Layout::I400,
      DAV1D_PIXEL_LAYOUT_I420 => Layout::I420,
      DAV1D_PIXEL_LAYOUT_I422 => Layout::I422,
      DAV1D_PIXEL_LAYOUT_I444 => Layout::I444,
      other => return Err(err(format!("unknown AV1 pixel layout {other}"))),
    };
    let depth = match p.p.bpc {
      8 => 8u8,
      10 => 10,
      12 => 12,
      other => return Err(err(format!("AV1 bit depth {other}"))),
    };
    // SAFETY: a decoded picture's sequence header lives as long as the picture.
    let seq = p
      .seq_hdr
      .map(|s| unsafe { s.as_ref() })
      .ok_or_else(|| err("AV1 picture without a sequence header"))?;
    let nclx = Nclx {
      primaries: seq.pri as u16,
      transfer: seq.trc as u16,
      matrix: seq.mtrx as u16,
      full_range: seq.color_range != 0,
    };
    let (ss_x, ss_y) = layout.subsampling();
    let (cw, ch) = (
      (width + ss_x as usize) >> ss_x as usize,
      (height + ss_y as usize) >> ss_y as usize,
    );
    let bytes = if depth == 8 { 1 } else { 2 };
    let plane_bytes = |index: usize, w: usize| -> Result<(*const u8, usize), ImageError> {
      let ptr = p.data[index]
        .ok_or_else(|| err("AV1 picture without pixel data"))?
        .as_ptr() as *const u8;
      let stride = p.stride[index.min(1)];
      let stride = usize::try_from(stride)
        .ok()
        .filter(|&s| {
          s >= w * bytes && s.is_multiple_of(bytes) && (ptr as usize).is_multiple_of(bytes)
        })
        .ok_or_else(|| err("unexpected AV1 picture layout"))?;
      Ok((ptr, stride))
    };
    let mut dims = vec![(0usize, width, height)];
    if layout != Layout::I400 {
      dims.push((1, cw, ch));
      dims.push((2, cw, ch));
    }
    let planes = if depth == 8 {
      let mut planes = [Plane::empty(), Plane::empty(), Plane::empty()];
      for &(i, w, h) in &dims {
        let (ptr, stride) = plane_bytes(i, w)?;
        // SAFETY: dav1d allocates each plane as `stride` bytes × its (padded) height, so the
        // first `stride·(h−1) + w` bytes are initialised pixels that live as long as `picture`.
        let data = unsafe { std::slice::from_raw_parts(ptr, stride * (h - 1) + w) };
        planes[i] = Plane {
          data,
          stride,
          width: w,
        };
      }
      Planes::Eight(planes)
    } else {
      let mut planes = [Plane::empty(), Plane::empty(), Plane::empty()];
      for &(i, w, h) in &dims {
        let (ptr, stride) = plane_bytes(i, w)?;
        let stride = stride / 2;
        // SAFETY: as above, with 16-bit samples; the pointer is 2-aligned (checked).
        let data = unsafe { std::slice::from_raw_parts(ptr as *const u16, stride * (h - 1) + w) };
        planes[i] = Plane {
          data,
          stride,
          width: w,
        };
      }
      Planes::Sixteen(planes)
    };
    let frame = Frame {
      width,
      height,
      depth,
      layout,
      nclx,
      planes,
    };
    // `frame` borrows the picture's memory; the guards below free picture, data and context
    // (in that order) when they go out of scope after this call.
    f(&frame)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn irot_imir_map_to_exif() {
    assert_eq!(exif_orientation(0, None), 1);
    assert_eq!(exif_orientation(1, None), 8);
    assert_eq!(exif_orientation(2, None), 3);
    assert_eq!(exif_orientation(3, None), 6);
    assert_eq!(exif_orientation(0, Some(1)), 2);
    assert_eq!(exif_orientation(0, Some(0)), 4);
    assert_eq!(exif_orientation(1, Some(0)), 5);
    assert_eq!(exif_orientation(3, Some(0)), 7);
  }

  #[test]
  fn full_range_8bit_bt601_is_exact_for_greys_and_primaries() {
    let c = Coeffs::new(6, 1, 8, true, false);
    for v in [0, 1, 77, 128, 200, 254, 255] {
      let y = v * 16;
      let mid = 128 * 16;
      assert_eq!(
        [
          c.apply(0, y, mid, mid),
          c.apply(1, y, mid, mid),
          c.apply(2, y, mid, mid)
        ],
        [v as u8; 3]
      );
    }
    // Pure red in BT.601 full range: Y 76.245, Cb 84.97, Cr 255.5 (clipped to 255).
    let (y, u, v) = (76.245f64, 84.972f64, 255.0f64);
    let s = |x: f64| (x * 16.0).round() as i32;
    let rgb = [0, 1, 2].map(|k| c.apply(k, s(y), s(u), s(v)));
    assert!(rgb[0] >= 253 && rgb[1] <= 2 && rgb[2] <= 2, "{rgb:?}");
  }

  #[test]
  fn limited_range_10bit_maps_nominal_black_and_white() {
    let c = Coeffs::new(1, 1, 10, false, false);
    let mid = 512 * 16;
    assert_eq!(c.apply(0, 64 * 16, mid, mid), 0);
    assert_eq!(c.apply(1, 940 * 16, mid, mid), 255);
    assert_eq!(c.apply(2, 4 * 16, mid, mid), 0); // below nominal black clips
  }

  #[test]
  fn box_reader_rejects_overlong_and_short_boxes() {
    let mut b = boxes(b"\0\0\0\x10freeabc");
    assert!(b.next().unwrap().is_err());
    assert!(b.next().is_none());
    let mut b = boxes(b"\0\0\0\x04free");
    assert!(b.next().unwrap().is_err());
    let mut b = boxes(b"\0\0\0\x09freeX\0\0\0\x08skip");
    assert_eq!(&b.next().unwrap().unwrap().body, b"X");
    assert_eq!(&b.next().unwrap().unwrap().kind, b"skip");
  }
}
