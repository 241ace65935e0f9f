export async function getStaticProps() {
  return { props: { renderedAt: new Date().toISOString() }, revalidate: 30 }
}

export default function Legacy({ renderedAt }) {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 760, margin: '2rem auto' }}>
      <h1>Pages Router</h1>
      <p>
        <code>getStaticProps</code> ran at <time id="rendered">{renderedAt}</time>; regenerated at most every 30 s.
      </p>
      <a href="/">Home</a>
    </main>
  )
}
