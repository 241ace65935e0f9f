//! Plausible Next.js cache payloads for the compression measurements: App Router HTML with its
//! inline flight script chunks, RSC flight text (`rscData`, `segmentData`), and FETCH entries.
//! Text is drawn from a fixed vocabulary, so it compresses like real prose, not like noise.
#![allow(dead_code)]

use super::workload::Rng;

/// The image crate's base64 encoder (its blur data URLs), compiled in from its source file so
/// that the workspace has one encoder and this example no extra dependency.
#[path = "../../../image/src/base64.rs"]
mod base64;

const WORDS: &[&str] = &[
  "the",
  "a",
  "and",
  "of",
  "to",
  "in",
  "for",
  "with",
  "on",
  "your",
  "our",
  "is",
  "this",
  "from",
  "new",
  "best",
  "premium",
  "organic",
  "cotton",
  "leather",
  "wireless",
  "portable",
  "classic",
  "modern",
  "vintage",
  "lightweight",
  "durable",
  "waterproof",
  "ergonomic",
  "handmade",
  "eco",
  "friendly",
  "design",
  "quality",
  "comfort",
  "style",
  "everyday",
  "travel",
  "outdoor",
  "home",
  "kitchen",
  "office",
  "garden",
  "sport",
  "running",
  "jacket",
  "shoes",
  "backpack",
  "bottle",
  "lamp",
  "chair",
  "table",
  "headphones",
  "speaker",
  "watch",
  "wallet",
  "bag",
  "mug",
  "blanket",
  "perfect",
  "gift",
  "made",
  "crafted",
  "materials",
  "features",
  "includes",
  "available",
  "colors",
  "sizes",
  "free",
  "shipping",
  "returns",
  "warranty",
  "years",
  "customers",
  "love",
  "rated",
  "stars",
  "reviews",
  "easy",
  "care",
  "machine",
  "washable",
  "soft",
  "strong",
  "fits",
  "most",
  "designed",
  "by",
  "team",
  "engineers",
  "tested",
  "conditions",
  "battery",
  "life",
  "hours",
  "charging",
  "fast",
  "usb",
  "bluetooth",
  "noise",
  "cancelling",
  "sound",
  "bass",
  "minimal",
  "sleek",
  "finish",
  "matte",
  "black",
  "white",
  "navy",
  "olive",
  "sand",
  "stone",
  "steel",
  "bamboo",
  "walnut",
  "oak",
  "recycled",
  "plastic",
  "glass",
  "ceramic",
  "wool",
  "linen",
  "limited",
  "edition",
  "season",
  "collection",
  "summer",
  "winter",
  "spring",
  "autumn",
  "sale",
  "save",
  "off",
  "today",
  "only",
  "stock",
  "ships",
  "within",
  "days",
  "order",
  "now",
  "more",
];

const CLASSES: &[&str] = &[
  "group relative rounded-lg border border-gray-200 bg-white p-4 hover:shadow-lg",
  "aspect-square w-full rounded-md bg-gray-200 object-cover group-hover:opacity-75",
  "mt-4 text-sm text-gray-700",
  "mt-1 text-lg font-medium text-gray-900",
  "mt-2 line-clamp-3 text-sm text-gray-500",
  "inline-flex items-center rounded-md bg-indigo-50 px-2 py-1 text-xs font-medium text-indigo-700",
  "flex items-center justify-between gap-x-6",
];

const SYLLABLES: &[&str] = &[
  "ka", "ro", "mi", "ten", "lu", "sa", "ver", "no", "tri", "el", "an", "dor", "pe", "qui", "ls",
  "ma", "st", "ion", "ble", "ca", "fo", "re", "ti", "un", "ex", "ph", "or", "ia", "ne", "go",
];

fn synthetic_word(id: u64) -> String {
  let mut h = super::workload::mix(id + 7);
  let n = 2 + h % 3;
  let mut w = String::new();
  for _ in 0..n {
    h = super::workload::mix(h);
    w.push_str(SYLLABLES[(h % SYLLABLES.len() as u64) as usize]);
  }
  w
}

fn hex(rng: &mut Rng, n: usize) -> String {
  (0..n)
    .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
    .collect()
}

fn sentence(rng: &mut Rng, words: usize) -> String {
  let mut s = String::new();
  for i in 0..words {
    if i > 0 {
      s.push(' ');
    }
    // Half common words, half from a ~5 000-word synthetic vocabulary (Zipf-ish via min of two
    // draws), so prose has the entropy of real copy rather than of a 150-word list.
    if rng.below(2) == 0 {
      s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    } else {
      let id = rng.below(5000).min(rng.below(5000));
      s.push_str(&synthetic_word(id));
    }
  }
  s
}

struct Product {
  slug: String,
  name: String,
  price: String,
  blurb: String,
  badge: String,
}

fn product(rng: &mut Rng) -> Product {
  let name = sentence(rng, 3);
  Product {
    slug: format!("{}-{}", name.replace(' ', "-"), rng.below(100_000)),
    price: format!("{}.{:02}", 5 + rng.below(400), rng.below(100)),
    blurb: {
      let words = 30 + rng.below(50) as usize;
      sentence(rng, words)
    },
    badge: sentence(rng, 2),
    name,
  }
}

/// RSC flight text for a product grid page, as in `rscData` / the `.rsc` response.
fn flight(rng: &mut Rng, products: &[Product], build_id: &str) -> String {
  let mut out = String::new();
  out.push_str("1:\"$Sreact.fragment\"\n2:I[39275,[],\"\"]\n3:I[61343,[],\"\"]\n");
  out.push_str(&format!(
    "4:I[8173,[\"173\",\"static/chunks/173-{}.js\",\"931\",\"static/chunks/app/products/page-{}.js\"],\"Image\"]\n",
    hex(rng, 16),
    hex(rng, 16)
  ));
  out.push_str(&format!(
    "5:I[48931,[\"173\",\"static/chunks/173-{}.js\"],\"AddToCart\"]\n",
    hex(rng, 16)
  ));
  out.push_str(&format!(
    "0:{{\"P\":null,\"b\":\"{build_id}\",\"p\":\"\",\"c\":[\"\",\"products\"],\"i\":false,\"f\":[[[\"\",{{\"children\":[\"products\",{{\"children\":[\"__PAGE__\",{{}}]}}]}},\"$undefined\",\"$undefined\",true],[\"\",[\"$\",\"$1\",\"c\",{{\"children\":[[[\"$\",\"link\",\"0\",{{\"rel\":\"stylesheet\",\"href\":\"/_next/static/css/{}.css\",\"precedence\":\"next\",\"crossOrigin\":\"$undefined\",\"nonce\":\"$undefined\"}}]],\"$L6\"]}}]]]],\"m\":\"$undefined\",\"G\":[\"$7\",[]],\"s\":false,\"S\":true}}\n",
    hex(rng, 16)
  ));
  out.push_str("6:[\"$\",\"main\",null,{\"className\":\"mx-auto max-w-7xl px-4 sm:px-6 lg:px-8\",\"children\":[\"$\",\"div\",null,{\"className\":\"grid grid-cols-1 gap-x-6 gap-y-10 sm:grid-cols-2 lg:grid-cols-4\",\"children\":[");
  for (i, p) in products.iter().enumerate() {
    if i > 0 {
      out.push(',');
    }
    out.push_str(&format!(
      "[\"$\",\"div\",\"{slug}\",{{\"className\":\"{c0}\",\"children\":[[\"$\",\"$L4\",null,{{\"alt\":\"{name}\",\"src\":\"/images/{slug}.jpg\",\"width\":400,\"height\":400,\"className\":\"{c1}\"}}],[\"$\",\"h3\",null,{{\"className\":\"{c2}\",\"children\":[\"$\",\"a\",null,{{\"href\":\"/products/{slug}\",\"children\":\"{name}\"}}]}}],[\"$\",\"p\",null,{{\"className\":\"{c3}\",\"children\":[\"$$\",\"{price}\"]}}],[\"$\",\"p\",null,{{\"className\":\"{c4}\",\"children\":\"{blurb}\"}}],[\"$\",\"span\",null,{{\"className\":\"{c5}\",\"children\":\"{badge}\"}}],[\"$\",\"$L5\",null,{{\"productId\":\"{slug}\",\"price\":{price}}}]]}}]",
      slug = p.slug,
      name = p.name,
      price = p.price,
      blurb = p.blurb,
      badge = p.badge,
      c0 = CLASSES[0],
      c1 = CLASSES[1],
      c2 = CLASSES[2],
      c3 = CLASSES[3],
      c4 = CLASSES[4],
      c5 = CLASSES[5],
    ));
  }
  out.push_str("]}]}]\n7:[[\"$\",\"meta\",\"0\",{\"charSet\":\"utf-8\"}],[\"$\",\"title\",\"1\",{\"children\":\"Products | Acme Store\"}]]\n");
  out
}

/// An APP_PAGE value: prerendered HTML (with the inline `self.__next_f.push` flight chunks that
/// App Router pages embed) + `rscData` + one `segmentData` entry, `products` items on the page.
pub fn app_page(seed: u64, products: usize) -> Vec<u8> {
  let mut rng = Rng(seed);
  let build_id = hex(&mut rng, 21);
  let items: Vec<Product> = (0..products).map(|_| product(&mut rng)).collect();
  let rsc = flight(&mut rng, &items, &build_id);
  let mut html = String::new();
  html.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charSet=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
  html.push_str(&format!(
    "<link rel=\"stylesheet\" href=\"/_next/static/css/{}.css\" data-precedence=\"next\"/>",
    hex(&mut rng, 16)
  ));
  for _ in 0..6 {
    html.push_str(&format!("<link rel=\"preload\" as=\"script\" fetchPriority=\"low\" href=\"/_next/static/chunks/{}-{}.js\"/>", rng.below(9000), hex(&mut rng, 16)));
  }
  html.push_str("<title>Products | Acme Store</title><meta name=\"description\" content=\"");
  html.push_str(&sentence(&mut rng, 20));
  html.push_str("\"/></head><body class=\"__className_d65c78 antialiased\"><div hidden=\"\"><!--$--><!--/$--></div><header class=\"sticky top-0 z-50 border-b bg-white/80 backdrop-blur\"><nav class=\"mx-auto flex max-w-7xl items-center justify-between p-4\">");
  for label in [
    "Home",
    "Products",
    "Collections",
    "About",
    "Contact",
    "Cart",
  ] {
    html.push_str(&format!(
      "<a class=\"text-sm font-semibold leading-6 text-gray-900\" href=\"/{}\">{label}</a>",
      label.to_lowercase()
    ));
  }
  html.push_str("</nav></header><main class=\"mx-auto max-w-7xl px-4 sm:px-6 lg:px-8\"><div class=\"grid grid-cols-1 gap-x-6 gap-y-10 sm:grid-cols-2 lg:grid-cols-4\">");
  for p in &items {
    html.push_str(&format!(
      "<div class=\"{c0}\"><img alt=\"{name}\" loading=\"lazy\" width=\"400\" height=\"400\" decoding=\"async\" data-nimg=\"1\" class=\"{c1}\" style=\"color:transparent\" srcSet=\"/_next/image?url=%2Fimages%2F{slug}.jpg&amp;w=640&amp;q=75 1x, /_next/image?url=%2Fimages%2F{slug}.jpg&amp;w=828&amp;q=75 2x\" src=\"/_next/image?url=%2Fimages%2F{slug}.jpg&amp;w=828&amp;q=75\"/><h3 class=\"{c2}\"><a href=\"/products/{slug}\">{name}</a></h3><p class=\"{c3}\">$<!-- -->{price}</p><p class=\"{c4}\">{blurb}</p><span class=\"{c5}\">{badge}</span><button type=\"button\" class=\"mt-4 w-full rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white\">Add to cart</button></div>",
      c0 = CLASSES[0], c1 = CLASSES[1], c2 = CLASSES[2], c3 = CLASSES[3], c4 = CLASSES[4], c5 = CLASSES[5],
      slug = p.slug, name = p.name, price = p.price, blurb = p.blurb, badge = p.badge
    ));
  }
  html.push_str("</div></main><footer class=\"border-t py-10 text-center text-xs text-gray-500\">© Acme Store</footer>");
  // App Router inlines the flight data as JSON-escaped string chunks.
  html.push_str("<script>(self.__next_f=self.__next_f||[]).push([0])</script>");
  for chunk in rsc.as_bytes().chunks(2048) {
    let text = String::from_utf8_lossy(chunk);
    let escaped = text
      .replace('\\', "\\\\")
      .replace('"', "\\\"")
      .replace('\n', "\\n");
    html.push_str(&format!(
      "<script>self.__next_f.push([1,\"{escaped}\"])</script>"
    ));
  }
  html.push_str("</body></html>");

  let mut value = Vec::with_capacity(html.len() + rsc.len() * 2);
  value.extend_from_slice(html.as_bytes());
  value.extend_from_slice(rsc.as_bytes());
  // segmentData: the page segment's own flight (a slice of the full one in real apps).
  value.extend_from_slice(&rsc.as_bytes()[rsc.len() / 3..]);
  value
}

/// A FETCH value as Next 15/16 hands it to a handler: `data.body` is the response body in
/// base64. `base64_body: false` models an adapter that decodes the body to bytes first.
pub fn fetch(seed: u64, items: usize, base64_body: bool) -> Vec<u8> {
  let mut rng = Rng(seed);
  let mut body = String::from("{\"data\":[");
  for i in 0..items {
    if i > 0 {
      body.push(',');
    }
    let p = product(&mut rng);
    body.push_str(&format!(
      "{{\"id\":{},\"slug\":\"{}\",\"title\":\"{}\",\"price\":{},\"currency\":\"USD\",\"inStock\":{},\"rating\":{}.{},\"description\":\"{}\",\"updatedAt\":\"2025-0{}-1{}T0{}:2{}:00.000Z\"}}",
      rng.below(1_000_000), p.slug, p.name, p.price, rng.below(2) == 0, 3 + rng.below(2), rng.below(10), p.blurb,
      1 + rng.below(9), rng.below(10), rng.below(10), rng.below(10)
    ));
  }
  body.push_str(&format!(
    "],\"meta\":{{\"page\":1,\"total\":{}}}}}",
    items * 7
  ));
  let body = if base64_body {
    base64::encode(body.as_bytes())
  } else {
    body
  };
  format!(
    "{{\"kind\":\"FETCH\",\"data\":{{\"headers\":{{\"content-type\":\"application/json; charset=utf-8\",\"cache-control\":\"public, max-age=60\",\"date\":\"Fri, 21 Nov 2025 11:{:02}:{:02} GMT\",\"etag\":\"W/\\\"{}\\\"\",\"x-request-id\":\"{}\"}},\"body\":\"{body}\",\"status\":200,\"url\":\"https://api.example.com/v1/products?page={}\"}},\"revalidate\":60,\"tags\":[\"products\"]}}",
    rng.below(60), rng.below(60), hex(&mut rng, 16), hex(&mut rng, 32), rng.below(500)
  )
  .into_bytes()
}
