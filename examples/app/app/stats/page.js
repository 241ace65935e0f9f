import { Suspense } from 'react'
import { connection } from 'next/server'
import NativeCache from '@rs/next-native/cache-handler'

/** Read per request: connection() keeps next build from prerendering the build's numbers. */
async function StatsTable() {
  await connection()
  const stats = NativeCache.stats()
  return (
    <>
      <p>
        Rendered per request, with the server env from <code>.env*</code> as <code>next start</code> (or a standalone{' '}
        <code>server.js</code>) loaded it: <code id="runtime-greeting">{process.env.GREETING}</code>
      </p>
      {stats ? (
        <table id="stats">
          <tbody>
            {Object.entries(stats).map(([k, v]) => (
              <tr key={k}>
                <th style={{ textAlign: 'left', paddingRight: '1rem' }}>{k}</th>
                <td>{typeof v === 'object' && v !== null ? JSON.stringify(v) : v.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>The store is created on the first cached request; open another page first.</p>
      )}
    </>
  )
}

export default function Stats() {
  return (
    <>
      <h1>Cache stats</h1>
      <Suspense fallback={<p>Reading the store…</p>}>
        <StatsTable />
      </Suspense>
    </>
  )
}
