export default function Home() {
  return (
    <>
      <h1>@rs/next-native</h1>
      <p>
        This app runs on <code>next start</code> with the native cache (<code>cacheHandler</code> and{' '}
        <code>cacheHandlers</code>) and a content-hash build ID (footer). With Cache Components (
        <code>cacheComponents</code>), <code>next build</code> prerenders each page&apos;s static shell and the parts that
        need a request stream in under <code>&lt;Suspense&gt;</code>. Every page below is cached by it.
      </p>
      <ul>
        <li><a href="/gallery">Gallery</a>: <code>next/image</code> served by our image route (no sharp): a static import with a blur placeholder, responsive <code>fill</code> images and a remote image.</li>
        <li><a href="/isr">ISR</a>: a page regenerated at most every 30 s (<code>&apos;use cache&apos;</code> with <code>cacheLife</code>).</li>
        <li><a href="/posts">Tagged fetch</a>: data fetched at request time and cached under the tag <code>posts</code>; a button revalidates it.</li>
        <li><a href="/notes">&apos;use cache&apos;</a>: a cached function tagged <code>notes</code>, next to a per-request render time.</li>
        <li><a href="/legacy">Pages Router</a>: <code>getStaticProps</code> with <code>revalidate</code>.</li>
        <li><a href="/stats">Cache stats</a>: hits, misses and bytes of the native store.</li>
      </ul>
      <p>Server env from <code>.env*</code>: <code id="greeting">{process.env.GREETING}</code></p>
    </>
  )
}
