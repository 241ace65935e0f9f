import { Suspense } from 'react'
import Image from 'next/image'
import { connection } from 'next/server'
import hero from './hero.jpg'

const local = ['aurora', 'dunes', 'forest']

/** The remote image's URL (the local upstream) is known only at request time: after connection(). */
async function RemoteImage() {
  await connection()
  return <Image id="remote" src={`${process.env.UPSTREAM_URL}/remote.png`} alt="A remote image, allowed by remotePatterns" width={700} height={500} style={{ width: '100%', height: 'auto' }} />
}

export default function Gallery() {
  return (
    <>
      <h1>Gallery</h1>
      <p>Every image below is resized and encoded by @rs/next-native (AVIF or WebP, as your browser accepts).</p>
      {/* A static import: its size and blur placeholder come from the build. */}
      <Image id="hero" src={hero} alt="A static import with a blur placeholder" placeholder="blur" sizes="(max-width: 760px) 100vw, 760px" style={{ width: '100%', height: 'auto' }} priority />
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(3, 1fr)', gap: 8, margin: '1rem 0' }}>
        {local.map((name) => (
          <div key={name} style={{ position: 'relative', aspectRatio: '4 / 3' }}>
            <Image src={`/gallery/${name}.jpg`} alt={name} fill sizes="(max-width: 760px) 33vw, 250px" style={{ objectFit: 'cover' }} />
          </div>
        ))}
      </div>
      {/* The rest of the page is prerendered; this one streams in per request. */}
      <Suspense fallback={<div style={{ aspectRatio: '7 / 5' }} />}>
        <RemoteImage />
      </Suspense>
    </>
  )
}
