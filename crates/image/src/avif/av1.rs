//! AV1 items to pixels: the primary item (an `av01` item, or a `grid` of `av01` tiles) and its
//! alpha auxiliary item, decoded through [`rav1d_ffi`] and converted by [`yuv`], on the
//! contained thread that [`super::decode`] starts.

use super::container::{Bytes, File, Nclx};
use super::yuv::{to_alpha, to_rgb, Coeffs};
use super::{err, fourcc, rav1d_ffi, unsupported};
use crate::decode::{check_pixels, Raster};
use crate::ImageError;

pub(super) fn decode_contained(input: &[u8], limit: u64) -> Result<Raster, ImageError> {
  let file = File::parse(input)?;
  let id = file.primary;
  let (w, h) = super::primary_size(&file)?;
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
  rav1d_ffi::decode(&data, limit, |frame| {
    check_pixels(frame.width as u64, frame.height as u64, limit)?;
    let stream = frame.nclx;
    let data = match role {
      Role::Colour => {
        let coeffs = Coeffs::new(
          nclx.map_or(stream.matrix, |n| n.matrix),
          nclx.map_or(stream.primaries, |n| n.primaries),
          frame.depth,
          stream.full_range,
          frame.layout == rav1d_ffi::Layout::I400,
        );
        match &frame.planes {
          rav1d_ffi::Planes::Eight(p) => to_rgb(frame, p, &coeffs),
          rav1d_ffi::Planes::Sixteen(p) => to_rgb(frame, p, &coeffs),
        }
      }
      Role::Alpha => match &frame.planes {
        rav1d_ffi::Planes::Eight(p) => to_alpha(frame, &p[0]),
        rav1d_ffi::Planes::Sixteen(p) => to_alpha(frame, &p[0]),
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
