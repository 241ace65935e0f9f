import { refreshPosts } from '../actions'

export const dynamic = 'force-dynamic'

async function getPosts() {
  // Cached in the native store under the tag `posts` until it is revalidated.
  const res = await fetch(`${process.env.UPSTREAM_URL}/posts`, { cache: 'force-cache', next: { tags: ['posts'] } })
  return res.json()
}

export default async function Posts() {
  const data = await getPosts()
  return (
    <>
      <h1>Tagged fetch</h1>
      <p>
        Fetched from the upstream at <time id="fetched">{data.fetchedAt}</time> (upstream request #
        <span id="request">{data.request}</span>).
      </p>
      <ul>
        {data.posts.map((p) => (
          <li key={p.id}>{p.title}</li>
        ))}
      </ul>
      <form action={refreshPosts}>
        <button id="revalidate" type="submit">Revalidate tag &quot;posts&quot;</button>
      </form>
    </>
  )
}
