import { cacheTag } from 'next/cache'
import { refreshNotes } from '../actions'

export const dynamic = 'force-dynamic'

async function getNote() {
  'use cache'
  cacheTag('notes')
  return { computedAt: new Date().toISOString() }
}

export default async function Notes() {
  const note = await getNote()
  return (
    <>
      <h1>&apos;use cache&apos;</h1>
      <p>
        The cached function ran at <time id="computed">{note.computedAt}</time>; the page rendered at{' '}
        <time id="rendered">{new Date().toISOString()}</time>.
      </p>
      <form action={refreshNotes}>
        <button id="revalidate" type="submit">Revalidate tag &quot;notes&quot;</button>
      </form>
    </>
  )
}
