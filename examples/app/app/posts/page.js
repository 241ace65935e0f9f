import { Suspense } from 'react'
import { connection } from 'next/server'
import { refreshPosts } from '../actions'

async function getPosts() {
  // The upstream's URL is known at run time only, so this waits for a request (next build
  // cannot reach it) ...
  await connection()
  // ... and the response is cached in the native store under the tag `posts` until it is revalidated.
  const res = await fetch(`${process.env.UPSTREAM_URL}/posts`, { cache: 'force-cache', next: { tags: ['posts'] } })
  return res.json()
}

async function PostList() {
  const data = await getPosts()
  return (
    <>
      <p>
        Fetched from the upstream at <time id="fetched">{data.fetchedAt}</time> (upstream request #
        <span id="request">{data.request}</span>).
      </p>
      <ul>
        {data.posts.map((p) => (
          <li key={p.id}>{p.title}</li>
        ))}
      </ul>
    </>
  )
}

// The heading and the button are prerendered; the posts stream in per request.
export default function Posts() {
  return (
    <>
      <h1>Tagged fetch</h1>
      <Suspense fallback={<p>Loading posts…</p>}>
        <PostList />
      </Suspense>
      <form action={refreshPosts}>
        <button id="revalidate" type="submit">Revalidate tag &quot;posts&quot;</button>
      </form>
    </>
  )
}
