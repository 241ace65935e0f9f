export const metadata = { title: '@rs/next-native example' }

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 760, margin: '2rem auto', padding: '0 1rem' }}>
        <nav style={{ display: 'flex', gap: '1rem', marginBottom: '1.5rem' }}>
          <a href="/">Home</a>
          <a href="/gallery">Gallery</a>
          <a href="/isr">ISR</a>
          <a href="/posts">Tagged fetch</a>
          <a href="/notes">&apos;use cache&apos;</a>
          <a href="/legacy">Pages Router</a>
          <a href="/stats">Cache stats</a>
        </nav>
        <main>{children}</main>
        <footer style={{ marginTop: '3rem', color: '#666', fontSize: 14 }}>
          {process.env.NEXT_PUBLIC_APP_NAME} · build <code id="build-id">{process.env.NEXT_NATIVE_BUILD_ID}</code>
        </footer>
      </body>
    </html>
  )
}
