'use strict'

// Transports: the handler's transport-neutral `handle(method, search, header)` behind a Web
// `(Request) => Response` (an App Router route) and a node:http `(req, res)` (node:http,
// Express, `next-native image serve`). Stands in for the request plumbing of next-server.js
// `handleNextImageRequest`, which reads the query and headers from Next's own request and
// writes to its response. Refuses, with ERR_INVALID_ARG_TYPE: a request without a string
// url and a headers.get, a req without a string url and a headers object, a res without
// setHeader and end, and a non-function handler to wrap.

const { invalidArgType, validateFunction } = require('../errors')
const { internalServerError } = require('./response')

/** The Web handler over `handle`: `(request: Request) => Promise<Response>`. */
function createWebHandler(handle) {
  return async function handler(request) {
    if (request === null || typeof request !== 'object' || typeof request.url !== 'string' || typeof request.headers?.get !== 'function') {
      throw invalidArgType('request', 'a Request', request)
    }
    const url = new URL(request.url)
    const result = await handle(request.method, url.search, (name) => request.headers.get(name))
    return new Response(result.body, { status: result.status, headers: result.headers })
  }
}

/** The node:http handler over `handle`; a throw in `handle` is logged and answered with a 500. */
function createNodeHandler(c, handle) {
  return async function nodeHandler(req, res) {
    checkNodeArgs(req, res)
    let result
    try {
      const { search } = new URL(req.url, 'http://n')
      result = await handle(req.method, search, (name) => {
        const value = req.headers[name]
        return Array.isArray(value) ? value.join(', ') : value
      })
    } catch (err) {
      c.logger.error?.(err)
      result = internalServerError()
    }
    res.statusCode = result.status
    for (const [name, value] of result.headers) res.setHeader(name, value)
    res.end(result.body ?? undefined)
  }
}

/** node:http's `(req, res)`, as far as the handlers use them. */
function checkNodeArgs(req, res) {
  if (req === null || typeof req !== 'object' || typeof req.url !== 'string' || req.headers === null || typeof req.headers !== 'object') {
    throw invalidArgType('req', 'an http.IncomingMessage', req)
  }
  if (res === null || typeof res !== 'object' || typeof res.setHeader !== 'function' || typeof res.end !== 'function') {
    throw invalidArgType('res', 'an http.ServerResponse', res)
  }
}

/** Wraps a Web handler for node:http (for handlers made elsewhere; ours already has `.node`). */
function toNodeHandler(handler) {
  validateFunction(handler, 'handler')
  if (typeof handler.node === 'function') return handler.node
  return async (req, res) => {
    checkNodeArgs(req, res)
    const host = req.headers.host || 'localhost'
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
    }
    const response = await handler(new Request(`http://${host}${req.url}`, { method: req.method, headers }))
    res.statusCode = response.status
    response.headers.forEach((value, name) => res.setHeader(name, value))
    res.end(Buffer.from(await response.arrayBuffer()))
  }
}

module.exports = { createNodeHandler, createWebHandler, toNodeHandler }
