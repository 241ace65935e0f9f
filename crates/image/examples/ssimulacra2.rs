//! SSIMULACRA2 score of a distorted image against a reference, both raw 8-bit sRGB
//! (`width × height × 3` bytes, as `sharp(...).raw()` writes them). For the image benchmark:
//! `cargo run --release -p next_native_image --example ssimulacra2 -- W H reference.rgb distorted.rgb`
//! prints the score (100 = identical; ~90 visually lossless; ~70 high quality).

use ssimulacra2::{compute_frame_ssimulacra2, ColorPrimaries, Rgb, TransferCharacteristic};

fn load(path: &str, width: usize, height: usize) -> Rgb {
  let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
  assert_eq!(
    bytes.len(),
    width * height * 3,
    "{path}: expected {width}x{height} RGB"
  );
  let data = bytes
    .chunks_exact(3)
    .map(|p| {
      [
        f32::from(p[0]) / 255.0,
        f32::from(p[1]) / 255.0,
        f32::from(p[2]) / 255.0,
      ]
    })
    .collect();
  Rgb::new(
    data,
    width,
    height,
    TransferCharacteristic::SRGB,
    ColorPrimaries::BT709,
  )
  .expect("valid frame")
}

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let [w, h, reference, distorted] = args.as_slice() else {
    eprintln!("usage: ssimulacra2 W H reference.rgb distorted.rgb");
    std::process::exit(2);
  };
  let (w, h): (usize, usize) = (w.parse().expect("W"), h.parse().expect("H"));
  let score =
    compute_frame_ssimulacra2(load(reference, w, h), load(distorted, w, h)).expect("score");
  println!("{score:.2}");
}
