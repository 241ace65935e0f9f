import { cacheLife } from 'next/cache'

// ISR with Cache Components: the whole page is a cached function that Next regenerates at most
// every 30 s (what `export const revalidate = 30` did without cacheComponents). Prerendered by
// next build, then served from the native cache.
export default async function Isr() {
  'use cache'
  cacheLife({ revalidate: 30 })
  return (
    <>
      <h1>ISR</h1>
      <p>
        Rendered at <time id="rendered">{new Date().toISOString()}</time>. Reload: the time stays the same for 30 s, then
        the next request is served the old page while a new one renders.
      </p>
    </>
  )
}
