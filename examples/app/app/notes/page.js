import { Suspense } from 'react'
import { cacheLife, cacheTag } from 'next/cache'
import { connection } from 'next/server'
import { refreshNotes } from '../actions'

async function getNote() {
  'use cache'
  cacheLife('default')
  cacheTag('notes')
  return { computedAt: new Date().toISOString() }
}

/** The time of this request: after connection(), so it is never prerendered or cached. */
async function RenderedAt() {
  await connection()
  return <time id="rendered">{new Date().toISOString()}</time>
}

export default async function Notes() {
  const note = await getNote()
  return (
    <>
      <h1>&apos;use cache&apos;</h1>
      <p>
        The cached function ran at <time id="computed">{note.computedAt}</time>; the page rendered at{' '}
        <Suspense fallback={<time>…</time>}>
          <RenderedAt />
        </Suspense>
        .
      </p>
      <form action={refreshNotes}>
        <button id="revalidate" type="submit">Revalidate tag &quot;notes&quot;</button>
      </form>
    </>
  )
}
