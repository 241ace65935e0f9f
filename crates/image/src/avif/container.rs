//! The HEIF/ISO-BMFF container reader: boxes, the `meta` box's items, their locations,
//! properties and references (what the module doc lists as read and not read). Safe Rust on
//! the input slice: every read is bounds-checked ([`Bytes`]), and running out of bytes is a
//! decode error, never a panic.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{err, fourcc, unsupported};
use crate::ImageError;

const ALPHA_URNS: [&[u8]; 2] = [
  b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
  b"urn:mpeg:hevc:2015:auxid:1",
];
/// More `iloc` extents than any real file has: bounds the work a hostile header can cause.
const MAX_EXTENTS: usize = 1 << 16;

// ---------------------------------------------------------------------------------------
// Byte and box reading.

/// A bounds-checked big-endian reader; running out of bytes is a decode error.
pub(super) struct Bytes<'a> {
  data: &'a [u8],
  pos: usize,
}

impl<'a> Bytes<'a> {
  pub(super) fn new(data: &'a [u8]) -> Self {
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

  pub(super) fn u8(&mut self) -> Result<u8, ImageError> {
    Ok(self.take(1)?[0])
  }

  pub(super) fn u16(&mut self) -> Result<u16, ImageError> {
    let b = self.take(2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
  }

  pub(super) fn u32(&mut self) -> Result<u32, ImageError> {
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
pub(super) struct Nclx {
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

pub(super) struct File<'a> {
  input: &'a [u8],
  pub(super) primary: u32,
  items: HashMap<u32, [u8; 4]>,
  locations: HashMap<u32, Location>,
  properties: Vec<Property<'a>>,
  /// Item → 1-based property indices, in association order.
  associations: HashMap<u32, Vec<usize>>,
  references: Vec<Reference>,
  idat: Option<&'a [u8]>,
}

impl<'a> File<'a> {
  pub(super) fn parse(input: &'a [u8]) -> Result<Self, ImageError> {
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

  pub(super) fn item_type(&self, id: u32) -> Option<[u8; 4]> {
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

  pub(super) fn ispe(&self, id: u32) -> Option<(u32, u32)> {
    self.properties(id).find_map(|p| match p {
      Property::Ispe { width, height } => Some((*width, *height)),
      _ => None,
    })
  }

  pub(super) fn nclx(&self, id: u32) -> Option<Nclx> {
    self.properties(id).find_map(|p| match p {
      Property::Nclx(n) => Some(*n),
      _ => None,
    })
  }

  pub(super) fn icc(&self, id: u32) -> Option<&'a [u8]> {
    self.properties(id).find_map(|p| match p {
      Property::Icc(icc) => Some(*icc),
      _ => None,
    })
  }

  /// EXIF orientation equivalent to the item's `irot` then `imir`.
  pub(super) fn orientation(&self, id: u32) -> u8 {
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
  pub(super) fn references_from(
    &self,
    kind: &[u8; 4],
    from: u32,
  ) -> impl Iterator<Item = u32> + '_ {
    let kind = *kind;
    self
      .references
      .iter()
      .filter(move |r| r.kind == kind && r.from == from)
      .flat_map(|r| r.to.iter().copied())
  }

  /// The alpha auxiliary item of `id`: an `auxl` reference to it from an item whose `auxC`
  /// names the alpha URN.
  pub(super) fn alpha_item(&self, id: u32) -> Option<u32> {
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

  pub(super) fn premultiplied(&self, colour: u32, alpha: u32) -> bool {
    self.references_from(b"prem", colour).any(|to| to == alpha)
  }

  /// The item's bytes: its extents, concatenated.
  pub(super) fn item_data(&self, id: u32) -> Result<Cow<'a, [u8]>, ImageError> {
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
