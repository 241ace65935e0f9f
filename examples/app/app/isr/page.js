export const revalidate = 30

export default function Isr() {
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
