//! AVIF builders for the decoder tests: raw AV1 stills from rav1e (any layout, depth, range and
//! matrix) and a small HEIF container writer for what encoders rarely write (irot/imir, grids,
//! idat, ICC, the `avis` brand).

use rav1e::color::{
  ChromaSampling, ColorDescription, ColorPrimaries, MatrixCoefficients, PixelRange,
  TransferCharacteristics,
};
use rav1e::prelude::*;

/// How the YUV samples of a test image are coded.
#[derive(Debug, Clone, Copy)]
pub struct Yuv {
  pub depth: usize,
  pub sampling: ChromaSampling,
  pub full_range: bool,
  /// H.273 matrix_coefficients: 0 identity, 1 BT.709, 6 BT.601, 8 YCgCo, 9 BT.2020.
  pub matrix: u8,
}

impl Yuv {
  pub fn subsampling(&self) -> (bool, bool) {
    match self.sampling {
      ChromaSampling::Cs420 => (true, true),
      ChromaSampling::Cs422 => (true, false),
      _ => (false, false),
    }
  }

  pub fn chroma_size(&self, w: usize, h: usize) -> (usize, usize) {
    let (sx, sy) = self.subsampling();
    (
      (w + sx as usize) >> sx as usize,
      (h + sy as usize) >> sy as usize,
    )
  }

  /// Forward transform of an 8-bit sRGB colour to this coding's (Y, U, V) code values.
  pub fn encode_rgb(&self, rgb: [u8; 3]) -> [u16; 3] {
    let [r, g, b] = rgb.map(|v| f64::from(v) / 255.0);
    let max = f64::from((1u32 << self.depth) - 1);
    let scale = f64::from(1u32 << (self.depth - 8));
    let luma = |v: f64| {
      if self.full_range {
        v * max
      } else {
        (16.0 + 219.0 * v) * scale
      }
    };
    let chroma = |v: f64| {
      if self.full_range {
        v * max + f64::from(1u32 << (self.depth - 1))
      } else {
        (128.0 + 224.0 * v) * scale
      }
    };
    let q = |v: f64| v.round().clamp(0.0, max) as u16;
    match self.matrix {
      0 => [q(luma(g)), q(luma(b)), q(luma(r))],
      8 => {
        let y = 0.25 * r + 0.5 * g + 0.25 * b;
        let cg = -0.25 * r + 0.5 * g - 0.25 * b;
        let co = 0.5 * r - 0.5 * b;
        [q(luma(y)), q(chroma(cg)), q(chroma(co))]
      }
      m => {
        let (kr, kb) = match m {
          1 => (0.2126, 0.0722),
          9 => (0.2627, 0.0593),
          _ => (0.299, 0.114),
        };
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let cb = (b - y) / (2.0 * (1.0 - kb));
        let cr = (r - y) / (2.0 * (1.0 - kr));
        [q(luma(y)), q(chroma(cb)), q(chroma(cr))]
      }
    }
  }

  fn matrix_coefficients(&self) -> MatrixCoefficients {
    match self.matrix {
      0 => MatrixCoefficients::Identity,
      1 => MatrixCoefficients::BT709,
      8 => MatrixCoefficients::YCgCo,
      9 => MatrixCoefficients::BT2020NCL,
      _ => MatrixCoefficients::BT601,
    }
  }
}

/// Full-resolution planes (chroma at chroma resolution), row-major.
pub struct Planes {
  pub width: usize,
  pub height: usize,
  pub y: Vec<u16>,
  pub u: Vec<u16>,
  pub v: Vec<u16>,
}

/// Planes for an image whose pixel (x, y) has colour `colour(x, y)`; chroma samples take the
/// colour at the top-left luma position they cover (fine for flat areas).
pub fn planes(
  yuv: &Yuv,
  width: usize,
  height: usize,
  colour: impl Fn(usize, usize) -> [u8; 3],
) -> Planes {
  let (sx, sy) = yuv.subsampling();
  let (cw, ch) = yuv.chroma_size(width, height);
  let mut p = Planes {
    width,
    height,
    y: Vec::new(),
    u: Vec::new(),
    v: Vec::new(),
  };
  for y in 0..height {
    for x in 0..width {
      p.y.push(yuv.encode_rgb(colour(x, y))[0]);
    }
  }
  if yuv.sampling != ChromaSampling::Cs400 {
    for y in 0..ch {
      for x in 0..cw {
        let [_, u, v] = yuv.encode_rgb(colour(x << sx as usize, y << sy as usize));
        p.u.push(u);
        p.v.push(v);
      }
    }
  }
  p
}

fn encode_planes<P: Pixel>(yuv: &Yuv, p: &Planes, quantizer: usize) -> Vec<u8> {
  let enc = EncoderConfig {
    width: p.width,
    height: p.height,
    bit_depth: yuv.depth,
    chroma_sampling: yuv.sampling,
    pixel_range: if yuv.full_range {
      PixelRange::Full
    } else {
      PixelRange::Limited
    },
    color_description: Some(ColorDescription {
      color_primaries: ColorPrimaries::BT709,
      // BT.709 primaries + sRGB transfer + identity implies full range in AV1 (rav1e refuses
      // limited range with it), so limited-range identity gets the BT.709 transfer.
      transfer_characteristics: if yuv.matrix == 0 && !yuv.full_range {
        TransferCharacteristics::BT709
      } else {
        TransferCharacteristics::SRGB
      },
      matrix_coefficients: yuv.matrix_coefficients(),
    }),
    still_picture: true,
    quantizer,
    min_quantizer: quantizer as u8,
    speed_settings: SpeedSettings::from_preset(10),
    ..Default::default()
  };
  let mut ctx = Config::new()
    .with_encoder_config(enc)
    .with_threads(1)
    .new_context::<P>()
    .unwrap();
  let mut frame = ctx.new_frame();
  let (cw, _) = yuv.chroma_size(p.width, p.height);
  let sources: [(&[u16], usize); 3] = [(&p.y, p.width), (&p.u, cw), (&p.v, cw)];
  for (plane, (src, w)) in frame.planes.iter_mut().zip(sources) {
    if src.is_empty() {
      continue;
    }
    let mut slice = plane.mut_slice(Default::default());
    for (row, src_row) in slice.rows_iter_mut().zip(src.chunks(w)) {
      for (dst, &s) in row.iter_mut().zip(src_row) {
        *dst = P::cast_from(s);
      }
    }
  }
  ctx.send_frame(frame).unwrap();
  ctx.flush();
  let mut out = Vec::new();
  loop {
    match ctx.receive_packet() {
      Ok(mut packet) => {
        if packet.frame_type == FrameType::KEY {
          out.append(&mut packet.data);
        }
      }
      Err(EncoderStatus::Encoded) => {}
      Err(EncoderStatus::LimitReached) => break,
      Err(e) => panic!("rav1e: {e:?}"),
    }
  }
  out
}

/// A still AV1 bitstream (OBUs) for `planes`, from rav1e. Quantizer 0 is lossless.
pub fn av1(yuv: &Yuv, p: &Planes, quantizer: usize) -> Vec<u8> {
  if yuv.depth == 8 {
    encode_planes::<u8>(yuv, p, quantizer)
  } else {
    encode_planes::<u16>(yuv, p, quantizer)
  }
}

/// `av1` in an AVIF made by avif-serialize (the container ravif writes).
pub fn avif_serialized(yuv: &Yuv, p: &Planes, quantizer: usize) -> Vec<u8> {
  let data = av1(yuv, p, quantizer);
  use avif_serialize::constants::MatrixCoefficients as Mc;
  let mut aviffy = avif_serialize::Aviffy::new();
  aviffy
    .set_matrix_coefficients(match yuv.matrix {
      0 => Mc::Rgb,
      1 => Mc::Bt709,
      8 => Mc::Ycgco,
      9 => Mc::Bt2020Ncl,
      _ => Mc::Bt601,
    })
    .set_chroma_subsampling(yuv.subsampling())
    .set_monochrome(yuv.sampling == ChromaSampling::Cs400)
    .set_full_color_range(yuv.full_range);
  aviffy.to_vec(
    &data,
    None,
    p.width as u32,
    p.height as u32,
    yuv.depth as u8,
  )
}

// ---------------------------------------------------------------------------------------
// A minimal HEIF writer.

pub fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
  let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
  out.extend_from_slice(kind);
  out.extend_from_slice(body);
  out
}

pub fn full_box(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
  let mut b = (u32::from(version) << 24 | flags).to_be_bytes().to_vec();
  b.extend_from_slice(body);
  bx(kind, &b)
}

pub fn ispe(w: u32, h: u32) -> Vec<u8> {
  let mut b = w.to_be_bytes().to_vec();
  b.extend_from_slice(&h.to_be_bytes());
  full_box(b"ispe", 0, 0, &b)
}

pub fn irot(quarter_turns_anticlockwise: u8) -> Vec<u8> {
  bx(b"irot", &[quarter_turns_anticlockwise])
}

pub fn imir(axis: u8) -> Vec<u8> {
  bx(b"imir", &[axis])
}

pub fn colr_nclx(primaries: u16, transfer: u16, matrix: u16, full_range: bool) -> Vec<u8> {
  let mut b = b"nclx".to_vec();
  for v in [primaries, transfer, matrix] {
    b.extend_from_slice(&v.to_be_bytes());
  }
  b.push(if full_range { 0x80 } else { 0 });
  bx(b"colr", &b)
}

pub fn colr_icc(icc: &[u8]) -> Vec<u8> {
  let mut b = b"prof".to_vec();
  b.extend_from_slice(icc);
  bx(b"colr", &b)
}

pub fn auxc_alpha() -> Vec<u8> {
  full_box(
    b"auxC",
    0,
    0,
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0",
  )
}

/// ImageGrid: `rows`×`cols` tiles cropped to `w`×`h` (16-bit fields).
pub fn grid_descriptor(rows: u8, cols: u8, w: u16, h: u16) -> Vec<u8> {
  let mut b = vec![0, 0, rows - 1, cols - 1];
  b.extend_from_slice(&w.to_be_bytes());
  b.extend_from_slice(&h.to_be_bytes());
  b
}

pub struct Item {
  pub id: u16,
  pub kind: [u8; 4],
  pub data: Vec<u8>,
  /// Property boxes, each associated with this item.
  pub props: Vec<Vec<u8>>,
  /// Stored in `idat` (iloc construction method 1) instead of `mdat`.
  pub in_idat: bool,
}

impl Item {
  pub fn av01(id: u16, data: Vec<u8>, props: Vec<Vec<u8>>) -> Self {
    Item {
      id,
      kind: *b"av01",
      data,
      props,
      in_idat: false,
    }
  }
}

/// A HEIF file: `ftyp` with `brand`, `meta` (hdlr, pitm, iinf, iloc v1, iref, iprp, idat) and
/// `mdat` with the items not in `idat`.
pub fn container(
  brand: &[u8; 4],
  primary: u16,
  items: &[Item],
  refs: &[(&[u8; 4], u16, &[u16])],
) -> Vec<u8> {
  let mut ftyp = brand.to_vec();
  ftyp.extend_from_slice(&0u32.to_be_bytes());
  for b in [brand, b"mif1", b"miaf"] {
    ftyp.extend_from_slice(b);
  }
  let ftyp = bx(b"ftyp", &ftyp);
  let meta = |mdat_start: u32| -> Vec<u8> {
    let mut m = Vec::new();
    m.extend(full_box(
      b"hdlr",
      0,
      0,
      &[&[0u8; 4][..], b"pict", &[0u8; 13]].concat(),
    ));
    m.extend(full_box(b"pitm", 0, 0, &primary.to_be_bytes()));
    let mut iinf = (items.len() as u16).to_be_bytes().to_vec();
    for it in items {
      let mut infe = it.id.to_be_bytes().to_vec();
      infe.extend_from_slice(&[0, 0]);
      infe.extend_from_slice(&it.kind);
      infe.push(0);
      iinf.extend(full_box(b"infe", 2, 0, &infe));
    }
    m.extend(full_box(b"iinf", 0, 0, &iinf));
    let mut iloc = vec![0x44, 0x00];
    iloc.extend_from_slice(&(items.len() as u16).to_be_bytes());
    let (mut in_mdat, mut in_idat) = (0u32, 0u32);
    for it in items {
      iloc.extend_from_slice(&it.id.to_be_bytes());
      iloc.extend_from_slice(&u16::from(it.in_idat).to_be_bytes());
      iloc.extend_from_slice(&[0, 0, 0, 1]); // data_reference_index, extent_count
      let offset = if it.in_idat {
        in_idat += it.data.len() as u32;
        in_idat - it.data.len() as u32
      } else {
        in_mdat += it.data.len() as u32;
        mdat_start + in_mdat - it.data.len() as u32
      };
      iloc.extend_from_slice(&offset.to_be_bytes());
      iloc.extend_from_slice(&(it.data.len() as u32).to_be_bytes());
    }
    m.extend(full_box(b"iloc", 1, 0, &iloc));
    let mut iref = Vec::new();
    for (kind, from, to) in refs {
      let mut b = from.to_be_bytes().to_vec();
      b.extend_from_slice(&(to.len() as u16).to_be_bytes());
      for t in *to {
        b.extend_from_slice(&t.to_be_bytes());
      }
      iref.extend(bx(kind, &b));
    }
    if !refs.is_empty() {
      m.extend(full_box(b"iref", 0, 0, &iref));
    }
    let mut ipco = Vec::new();
    let mut ipma = (items.len() as u32).to_be_bytes().to_vec();
    let mut index = 0u8;
    for it in items {
      ipma.extend_from_slice(&it.id.to_be_bytes());
      ipma.push(it.props.len() as u8);
      for p in &it.props {
        ipco.extend_from_slice(p);
        index += 1;
        ipma.push(index);
      }
    }
    let mut iprp = bx(b"ipco", &ipco);
    iprp.extend(full_box(b"ipma", 0, 0, &ipma));
    m.extend(bx(b"iprp", &iprp));
    let idat: Vec<u8> = items
      .iter()
      .filter(|i| i.in_idat)
      .flat_map(|i| i.data.clone())
      .collect();
    if !idat.is_empty() {
      m.extend(bx(b"idat", &idat));
    }
    full_box(b"meta", 0, 0, &m)
  };
  let meta_len = meta(0).len();
  let mdat_start = (ftyp.len() + meta_len + 8) as u32;
  let mut out = ftyp;
  out.extend(meta(mdat_start));
  let mdat: Vec<u8> = items
    .iter()
    .filter(|i| !i.in_idat)
    .flat_map(|i| i.data.clone())
    .collect();
  out.extend(bx(b"mdat", &mdat));
  out
}
