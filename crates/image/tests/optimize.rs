mod common;

use common::*;
use next_native_image::{
  blur_placeholder, metadata, optimize, ImageError, InputFormat, OptimizeOptions, OutputFormat,
};

fn opts(width: u32, format: OutputFormat) -> OptimizeOptions {
  OptimizeOptions::new(width, format)
}

fn gradient(width: u32, height: u32) -> Vec<u8> {
  let mut px = Vec::new();
  for y in 0..height {
    for x in 0..width {
      px.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 128]);
    }
  }
  px
}

fn assert_magic(data: &[u8], format: OutputFormat) {
  let ok = match format {
    OutputFormat::Jpeg => data.starts_with(&[0xFF, 0xD8, 0xFF]),
    OutputFormat::Png => data.starts_with(b"\x89PNG\r\n\x1a\n"),
    OutputFormat::Webp => data.starts_with(b"RIFF") && &data[8..12] == b"WEBP",
    OutputFormat::Avif => &data[4..12] == b"ftypavif",
    OutputFormat::Gif => data.starts_with(b"GIF89a"),
    OutputFormat::Tiff => data.starts_with(b"II*\0") || data.starts_with(b"MM\0*"),
  };
  assert!(
    ok,
    "{format:?} output has the wrong magic bytes: {:?}",
    &data[..12.min(data.len())]
  );
}

/// Size of an encoded output, read back by an independent decoder (AVIF: our header parser;
/// the AV1 decoder in the build is the one under test).
fn decoded_size(data: &[u8], format: OutputFormat) -> (u32, u32) {
  if format == OutputFormat::Avif {
    let m = metadata(data).unwrap();
    return (m.width, m.height);
  }
  decode_rgba(data).dimensions()
}

#[test]
fn every_output_format_has_right_magic_and_size() {
  let src = jpeg_rgb(64, 48, &gradient(64, 48));
  for format in [
    OutputFormat::Jpeg,
    OutputFormat::Png,
    OutputFormat::Webp,
    OutputFormat::Avif,
    OutputFormat::Gif,
    OutputFormat::Tiff,
  ] {
    let out = optimize(&src, &opts(32, format)).unwrap();
    assert_eq!((out.width, out.height), (32, 24), "{format:?}");
    assert_eq!(out.format, format);
    assert_magic(&out.data, format);
    assert_eq!(decoded_size(&out.data, format), (32, 24), "{format:?}");
  }
}

/// GIF and TIFF sources stay GIF and TIFF when nothing else is negotiated, as in Next.
#[test]
fn gif_and_tiff_sources_keep_their_format() {
  use next_native_image::fallback_format;
  assert_eq!(fallback_format(InputFormat::Gif), OutputFormat::Gif);
  assert_eq!(fallback_format(InputFormat::Tiff), OutputFormat::Tiff);
  assert_eq!(fallback_format(InputFormat::Bmp), OutputFormat::Png);

  // TIFF is lossless: a half-transparent source (no resize) comes back pixel for pixel.
  let rgba = half_transparent_rgba(40, 20);
  let mut tiff = std::io::Cursor::new(Vec::new());
  image::DynamicImage::ImageRgba8(image::RgbaImage::from_raw(40, 20, rgba.clone()).unwrap())
    .write_to(&mut tiff, image::ImageFormat::Tiff)
    .unwrap();
  let out = optimize(tiff.get_ref(), &opts(40, OutputFormat::Tiff)).unwrap();
  assert_magic(&out.data, OutputFormat::Tiff);
  let img = decode_rgba(&out.data);
  assert_eq!(img.dimensions(), (40, 20));
  assert_eq!(img.into_raw(), rgba);
  let smaller = optimize(tiff.get_ref(), &opts(20, OutputFormat::Tiff)).unwrap();
  assert_eq!(decode_rgba(&smaller.data).dimensions(), (20, 10));

  // GIF: a palette, so a flat colour survives exactly; fully transparent pixels stay so.
  let mut px = solid(30, 30, &[20, 200, 90, 255]);
  for p in px.chunks_exact_mut(4).take(30 * 15) {
    p.copy_from_slice(&[0, 0, 0, 0]);
  }
  let mut gif = Vec::new();
  image::codecs::gif::GifEncoder::new(&mut gif)
    .encode(&px, 30, 30, image::ExtendedColorType::Rgba8)
    .unwrap();
  let out = optimize(&gif, &opts(30, OutputFormat::Gif)).unwrap();
  assert_magic(&out.data, OutputFormat::Gif);
  let img = decode_rgba(&out.data);
  assert_eq!(img.dimensions(), (30, 30));
  assert_eq!(img.get_pixel(5, 2).0[3], 0, "top half transparent");
  assert_eq!(img.get_pixel(5, 25).0, [20, 200, 90, 255]);
}

#[test]
fn never_enlarges() {
  let src = png(40, 30, &gradient(40, 30), image::ExtendedColorType::Rgb8);
  for format in [OutputFormat::Jpeg, OutputFormat::Webp, OutputFormat::Png] {
    let out = optimize(&src, &opts(640, format)).unwrap();
    assert_eq!((out.width, out.height), (40, 30));
    assert_eq!(decode_rgba(&out.data).dimensions(), (40, 30));
  }
}

#[test]
fn one_by_one_stays_one_by_one_and_thin_strip_keeps_one_row() {
  let src = png(1, 1, &[10, 20, 30], image::ExtendedColorType::Rgb8);
  let out = optimize(&src, &opts(64, OutputFormat::Webp)).unwrap();
  assert_eq!((out.width, out.height), (1, 1));
  // Next observed: 10000×50 at w=64 → 64×1.
  let strip = png(
    10000,
    50,
    &solid(10000, 50, &[0, 0, 255]),
    image::ExtendedColorType::Rgb8,
  );
  let out = optimize(&strip, &opts(64, OutputFormat::Png)).unwrap();
  assert_eq!((out.width, out.height), (64, 1));
  assert_eq!(decode_rgba(&out.data).dimensions(), (64, 1));
}

/// A 40×20 JPEG, left half red, right half blue.
fn red_left_blue_right() -> Vec<u8> {
  let mut px = Vec::new();
  for _ in 0..20 {
    for x in 0..40 {
      px.extend_from_slice(if x < 20 { &[255, 0, 0] } else { &[0, 0, 255] });
    }
  }
  jpeg_rgb(40, 20, &px)
}

/// Left half red, right half blue, stored 40×20, EXIF orientation 6 (rotate 90° clockwise to
/// display): displayed 20×40 with red on top.
#[test]
fn exif_orientation_6_is_applied_and_dropped() {
  let src = with_exif_orientation(&red_left_blue_right(), 6);
  let meta = metadata(&src).unwrap();
  assert_eq!((meta.width, meta.height, meta.orientation), (20, 40, 6));

  let out = optimize(&src, &opts(10, OutputFormat::Png)).unwrap();
  assert_eq!((out.width, out.height), (10, 20));
  let img = decode_rgba(&out.data);
  assert_eq!(img.dimensions(), (10, 20));
  let top = img.get_pixel(5, 2);
  let bottom = img.get_pixel(5, 17);
  assert!(
    top[0] > 200 && top[2] < 60,
    "top should be red, got {top:?}"
  );
  assert!(
    bottom[2] > 200 && bottom[0] < 60,
    "bottom should be blue, got {bottom:?}"
  );

  // The tag is gone: the output JPEG has no EXIF and reads as orientation 1.
  let jpeg = optimize(&src, &opts(10, OutputFormat::Jpeg)).unwrap();
  assert!(!jpeg.data.windows(4).any(|w| w == b"Exif"));
  assert_eq!(metadata(&jpeg.data).unwrap().orientation, 1);
  assert_eq!((jpeg.width, jpeg.height), (10, 20));
}

#[test]
fn orientation_8_rotates_the_other_way() {
  let src = with_exif_orientation(&red_left_blue_right(), 8);
  let img = decode_rgba(&optimize(&src, &opts(20, OutputFormat::Png)).unwrap().data);
  assert_eq!(img.dimensions(), (20, 40));
  assert!(
    img.get_pixel(10, 35)[0] > 200,
    "red ends at the bottom for orientation 8"
  );
}

/// Display P3 (180, 60, 60) is a more saturated red than sRGB (180, 60, 60); in sRGB it is
/// about (194, 46, 54) (P3→sRGB matrix by hand). Untransformed, it would stay (180, 60, 60).
#[test]
fn display_p3_is_converted_to_srgb() {
  let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
  let jpeg = with_icc(&jpeg_rgb(16, 16, &solid(16, 16, &[180, 60, 60])), &p3);
  let png_src = png_with_icc(16, 16, &solid(16, 16, &[180, 60, 60]), p3.clone());
  for (name, src) in [("jpeg", jpeg), ("png", png_src)] {
    let out = optimize(&src, &opts(8, OutputFormat::Png)).unwrap();
    let px = *decode_rgba(&out.data).get_pixel(4, 4);
    assert!((188..=200).contains(&px[0]), "{name}: red {px:?}");
    assert!((38..=54).contains(&px[1]), "{name}: green {px:?}");
    assert!(
      !out.data.windows(4).any(|w| w == b"iCCP"),
      "{name}: profile must be stripped"
    );
  }
  // Pure P3 red stays red (clipped to sRGB red).
  let src = with_icc(&jpeg_rgb(8, 8, &solid(8, 8, &[255, 0, 0])), &p3);
  let px = *decode_rgba(&optimize(&src, &opts(8, OutputFormat::Png)).unwrap().data).get_pixel(2, 2);
  assert!(
    px[0] > 240 && px[1] < 25 && px[2] < 25,
    "P3 red must stay red: {px:?}"
  );
}

#[test]
fn adobe_rgb_is_converted_to_srgb() {
  // Adobe RGB (60, 180, 60) is a greener green than sRGB's; sRGB ≈ (0, 182, 53)-ish: the red
  // channel must drop clearly below 60.
  let adobe = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
  let src = with_icc(&jpeg_rgb(8, 8, &solid(8, 8, &[60, 180, 60])), &adobe);
  let px = *decode_rgba(&optimize(&src, &opts(8, OutputFormat::Png)).unwrap().data).get_pixel(2, 2);
  assert!(
    px[0] < 40 && px[1] > 170,
    "Adobe RGB green not converted: {px:?}"
  );
}

#[test]
fn cmyk_jpeg_decodes_to_the_right_colour() {
  // Untagged, so through libvips's default CMYK profile; expected values are sharp 0.35.5's.
  // Ink C0 M100 Y100 K0 = red; C100 M0 Y0 K0 = cyan; K100 = black. The tolerance covers the
  // deepest blues, where sharp's LittleCMS 2.19.1 differs (see colour.rs): ours are
  // [232, 0, 21], [0, 153, 228], [18, 4, 23].
  for (ink, expect) in [
    ([0u8, 255, 255, 0], [232u8, 0, 0]),
    ([255, 0, 0, 0], [0, 153, 227]),
    ([0, 0, 0, 255], [20, 5, 0]),
  ] {
    let src = jpeg_cmyk(16, 16, &solid(16, 16, &ink));
    let out = optimize(&src, &opts(8, OutputFormat::Png)).unwrap();
    let px = *decode_rgba(&out.data).get_pixel(4, 4);
    for c in 0..3 {
      assert!(
        (i32::from(px[c]) - i32::from(expect[c])).abs() <= 24,
        "ink {ink:?}: got {px:?}"
      );
    }
  }
}

fn half_transparent_rgba(width: u32, height: u32) -> Vec<u8> {
  let mut px = Vec::new();
  for _ in 0..height {
    for x in 0..width {
      px.extend_from_slice(if x < width / 2 {
        &[0, 200, 0, 255]
      } else {
        &[255, 255, 255, 0]
      });
    }
  }
  px
}

#[test]
fn alpha_is_kept_in_png_webp_avif_and_flattened_on_black_in_jpeg() {
  let src = png(
    32,
    16,
    &half_transparent_rgba(32, 16),
    image::ExtendedColorType::Rgba8,
  );
  assert!(metadata(&src).unwrap().has_alpha);
  for format in [OutputFormat::Png, OutputFormat::Webp] {
    let img = decode_rgba(&optimize(&src, &opts(16, format)).unwrap().data);
    assert_eq!(img.get_pixel(2, 4)[3], 255, "{format:?} opaque side");
    assert_eq!(img.get_pixel(14, 4)[3], 0, "{format:?} transparent side");
    assert!(img.get_pixel(2, 4)[1] > 180, "{format:?} colour");
  }
  let avif = optimize(&src, &opts(16, OutputFormat::Avif)).unwrap();
  assert!(
    metadata(&avif.data).unwrap().has_alpha,
    "AVIF must carry an alpha plane"
  );
  // libvips flattens RGBA onto its default black background when saving JPEG.
  let img = decode_rgba(&optimize(&src, &opts(16, OutputFormat::Jpeg)).unwrap().data);
  let px = img.get_pixel(14, 4);
  assert!(
    px[0] < 30 && px[1] < 30 && px[2] < 30,
    "transparent area should be black: {px:?}"
  );
}

#[test]
fn avif_quality_follows_next_mapping_and_changes_size() {
  assert_eq!(next_native_image::avif_quality(75), 47);
  let src = jpeg_rgb(96, 64, &gradient(96, 64));
  let mut lo = opts(96, OutputFormat::Avif);
  lo.quality = 30;
  let mut hi = lo.clone();
  hi.quality = 95;
  let (lo, hi) = (optimize(&src, &lo).unwrap(), optimize(&src, &hi).unwrap());
  assert!(
    hi.data.len() > lo.data.len(),
    "q95 {} <= q30 {}",
    hi.data.len(),
    lo.data.len()
  );
}

#[test]
fn grey_and_16_bit_png_become_8_bit_rgb() {
  let grey16: Vec<u8> = (0..32 * 32)
    .flat_map(|i: u32| ((i * 64) as u16).to_be_bytes())
    .collect();
  let src = png(32, 32, &grey16, image::ExtendedColorType::L16);
  let out = optimize(&src, &opts(16, OutputFormat::Webp)).unwrap();
  assert_eq!(decode_rgba(&out.data).dimensions(), (16, 16));
  let grey8 = png(32, 32, &[100u8; 32 * 32], image::ExtendedColorType::L8);
  let img = decode_rgba(&optimize(&grey8, &opts(16, OutputFormat::Png)).unwrap().data);
  assert_eq!(*img.get_pixel(3, 3), image::Rgba([100, 100, 100, 255]));
}

#[test]
fn other_inputs_decode() {
  let rgb = gradient(20, 10);
  let rgba = image::RgbImage::from_raw(20, 10, rgb.clone()).unwrap();
  for fmt in [
    image::ImageFormat::Bmp,
    image::ImageFormat::Tiff,
    image::ImageFormat::Gif,
    image::ImageFormat::WebP,
  ] {
    let mut buf = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(rgba.clone())
      .write_to(&mut buf, fmt)
      .unwrap();
    let out = optimize(buf.get_ref(), &opts(10, OutputFormat::Jpeg)).unwrap();
    assert_eq!((out.width, out.height), (10, 5), "{fmt:?}");
  }
}

#[test]
fn animation_detection_matches_next() {
  assert!(metadata(&gif(8, 8, 2)).unwrap().animated);
  assert!(!metadata(&gif(8, 8, 1)).unwrap().animated);
  let a = apng(8, 8, 3);
  let m = metadata(&a).unwrap();
  assert!(m.animated && m.format == InputFormat::Png);
  assert!(
    !metadata(&png(
      8,
      8,
      &solid(8, 8, &[1, 2, 3]),
      image::ExtendedColorType::Rgb8
    ))
    .unwrap()
    .animated
  );
}

#[test]
fn bad_inputs_give_distinct_errors() {
  let code = |input: &[u8]| {
    optimize(input, &opts(64, OutputFormat::Webp))
      .unwrap_err()
      .code()
  };
  assert_eq!(code(b""), "IMAGE_EMPTY");
  assert_eq!(
    code(b"<!DOCTYPE html><html>not an image</html>"),
    "IMAGE_UNSUPPORTED_FORMAT"
  );
  assert_eq!(
    code(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    "IMAGE_UNSUPPORTED_FORMAT"
  );
  assert_eq!(code(b"%PDF-1.7\n"), "IMAGE_UNSUPPORTED_FORMAT");
  assert_eq!(
    code(&[0, 0, 1, 0, 1, 0, 16, 16]),
    "IMAGE_UNSUPPORTED_FORMAT"
  );
  // AVIF is read: a file cut after its `ftyp` is a decode error.
  assert_eq!(
    code(b"\0\0\0\x1cftypavif\0\0\0\0mif1miafmeta"),
    "IMAGE_DECODE"
  );

  let jpeg = jpeg_rgb(64, 64, &gradient(64, 64));
  assert_eq!(
    code(&jpeg[..jpeg.len() * 4 / 10]),
    "IMAGE_DECODE",
    "JPEG cut at 40 %"
  );
  assert_eq!(code(&jpeg[..3]), "IMAGE_DECODE");
  let mut corrupt = jpeg.clone();
  for b in corrupt[20..200].iter_mut() {
    *b = 0x55;
  }
  assert_eq!(code(&corrupt), "IMAGE_DECODE", "JPEG with garbage tables");

  let png_src = png(64, 64, &gradient(64, 64), image::ExtendedColorType::Rgb8);
  assert_eq!(
    code(&png_src[..png_src.len() / 2]),
    "IMAGE_DECODE",
    "PNG cut in half"
  );
  assert_eq!(code(&png_src[..20]), "IMAGE_DECODE");
  assert_eq!(code(b"GIF89a\x01"), "IMAGE_DECODE");
  assert_eq!(code(b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0"), "IMAGE_DECODE");

  let err = optimize(b"hello", &opts(64, OutputFormat::Webp)).unwrap_err();
  assert!(
    err.to_string().contains("unsupported image format"),
    "{err}"
  );
  let err = optimize(
    &jpeg,
    &OptimizeOptions {
      quality: 0,
      ..opts(64, OutputFormat::Webp)
    },
  )
  .unwrap_err();
  assert_eq!(err.code(), "IMAGE_INVALID_OPTIONS");
  assert_eq!(
    optimize(&jpeg, &opts(0, OutputFormat::Webp))
      .unwrap_err()
      .code(),
    "IMAGE_INVALID_OPTIONS"
  );
}

/// Every prefix of valid files (and some bit flips) must give Ok or Err, never a panic.
#[test]
fn truncations_and_bit_flips_never_panic() {
  let rgb = gradient(24, 16);
  let mut inputs = vec![
    jpeg_rgb(24, 16, &rgb),
    png(24, 16, &rgb, image::ExtendedColorType::Rgb8),
    gif(24, 16, 2),
    apng(8, 8, 2),
  ];
  let mut buf = std::io::Cursor::new(Vec::new());
  image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(24, 16, rgb.clone()).unwrap())
    .write_to(&mut buf, image::ImageFormat::Tiff)
    .unwrap();
  inputs.push(buf.into_inner());
  inputs.push(
    optimize(&inputs[0], &opts(24, OutputFormat::Webp))
      .unwrap()
      .data,
  );
  let o = opts(8, OutputFormat::Jpeg);
  for input in &inputs {
    for cut in (0..input.len()).step_by(7) {
      let prefix = &input[..cut];
      let _ = optimize(prefix, &o);
      let _ = metadata(prefix);
    }
    for i in (0..input.len()).step_by(11) {
      let mut flipped = input.clone();
      flipped[i] ^= 0xA5;
      let _ = optimize(&flipped, &o);
      let _ = metadata(&flipped);
    }
  }
}

/// libjpeg warnings while pixels are read fail the decode (sharp's `failOn: 'warning'`);
/// stray bytes before EOI, noticed only while finishing, do not. Both checked against sharp.
#[test]
fn jpeg_corruption_fails_like_sharp() {
  let noise: Vec<u8> = (0..96 * 64 * 3)
    .map(|i: u32| ((i * 7919) % 251) as u8)
    .collect();
  let good = jpeg_rgb(96, 64, &noise);
  let mid = good.len() / 2;
  let dropped = [&good[..mid], &good[mid + 200..]].concat();
  match optimize(&dropped, &opts(32, OutputFormat::Webp)) {
    Err(ImageError::Decode { format, reason }) => {
      assert_eq!(format, "JPEG");
      assert!(reason.starts_with("Corrupt JPEG data"), "{reason}");
    }
    other => panic!("expected a decode error, got {other:?}"),
  }
  let n = good.len();
  let stray = [&good[..n - 2], &[0x12, 0x34, 0x56][..], &good[n - 2..]].concat();
  let out = optimize(&stray, &opts(32, OutputFormat::Png)).expect("sharp decodes this too");
  assert_eq!((out.width, out.height), (32, 21));
  // The decoder still works on this thread after both.
  assert!(optimize(&good, &opts(32, OutputFormat::Png)).is_ok());
}

#[test]
fn error_messages_name_the_problem() {
  let e = ImageError::TooManyPixels {
    width: 30000,
    height: 30000,
    limit: 268_402_689,
  };
  assert_eq!(e.code(), "IMAGE_TOO_MANY_PIXELS");
  assert!(e.to_string().contains("30000x30000") && e.to_string().contains("268402689"));
}

#[test]
fn blur_placeholder_is_nexts_svg() {
  let src = jpeg_rgb(80, 50, &gradient(80, 50));
  let url = blur_placeholder(&src).unwrap();
  // Next 16.4.6's getImageBlurSvg with blurWidth 8, blurHeight 5: view box × 40. The Node test
  // compares the whole string with Next's own function.
  assert!(url.starts_with("data:image/svg+xml;charset=utf-8,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 320 200'%3E"), "{url}");
  assert!(url.contains("stdDeviation='20'"));
  assert!(url.contains("href='data:image/jpeg;base64,/9j/"), "{url}");
  assert!(url.ends_with("'/%3E%3C/svg%3E"));
  let tall = png(
    30,
    100,
    &solid(30, 100, &[9, 9, 9]),
    image::ExtendedColorType::Rgb8,
  );
  assert!(blur_placeholder(&tall)
    .unwrap()
    .contains("viewBox='0 0 80 320'"));
  assert_eq!(
    blur_placeholder(&gif(8, 8, 2)).unwrap_err().code(),
    "IMAGE_UNSUPPORTED_FORMAT"
  );
}

#[test]
fn large_photo_jpeg_to_webp_and_avif() {
  let src = photo_jpeg(2560, 1600);
  let meta = metadata(&src).unwrap();
  assert_eq!(
    (meta.format, meta.width, meta.height),
    (InputFormat::Jpeg, 2560, 1600)
  );
  let out = optimize(&src, &opts(640, OutputFormat::Webp)).unwrap();
  assert_eq!((out.width, out.height), (640, 400));
  assert_eq!(decode_rgba(&out.data).dimensions(), (640, 400));
  assert!(
    out.data.len() < src.len() / 4,
    "webp {} bytes",
    out.data.len()
  );
  let jpeg = optimize(&src, &opts(384, OutputFormat::Jpeg)).unwrap();
  assert_eq!(decode_rgba(&jpeg.data).dimensions(), (384, 240));
}

#[test]
fn large_rgba_png_to_palette_png() {
  // A 1080×1920 phone wallpaper: RGBA, fully opaque.
  let rgba: Vec<u8> = photo(1080, 1920)
    .chunks(3)
    .flat_map(|p| [p[0], p[1], p[2], 255])
    .collect();
  let src = png(1080, 1920, &rgba, image::ExtendedColorType::Rgba8);
  let out = optimize(&src, &opts(256, OutputFormat::Png)).unwrap();
  assert_eq!((out.width, out.height), (256, 455));
  let decoder = png::Decoder::new(std::io::Cursor::new(&out.data));
  let reader = decoder.read_info().unwrap();
  assert_eq!(
    reader.info().color_type,
    png::ColorType::Indexed,
    "Next's PNG output is a palette PNG"
  );
  assert_eq!(decode_rgba(&out.data).dimensions(), (256, 455));
}
