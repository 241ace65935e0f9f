'use strict'

// Private addresses. Mirrors `server/is-private-ip.js`: anything ipaddr.js does not call
// 'unicast' is private (loopback, RFC 1918, link-local, CGNAT, multicast, documentation and
// reserved ranges, in IPv4 and IPv6, and IPv4-mapped IPv6 as the IPv4 it carries). Refuses
// a non-string argument (ERR_INVALID_ARG_TYPE); a string that is no IP address is not private.

const net = require('node:net')
const { validateString } = require('../errors')

const V4_SPECIAL = [
  ['0.0.0.0', 8], ['255.255.255.255', 32], ['224.0.0.0', 4], ['169.254.0.0', 16], ['127.0.0.0', 8],
  ['100.64.0.0', 10], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['240.0.0.0', 4], ['192.175.48.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24],
] // prettier-ignore
const V6_SPECIAL = [
  ['::', 128], ['fe80::', 10], ['ff00::', 8], ['::1', 128], ['fc00::', 7], ['::ffff:0:0', 96], ['100::', 64],
  ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['2002::', 16], ['2001::', 32], ['2001:2::', 48], ['2001:3::', 32],
  ['2001:4:112::', 48], ['2620:4f:8000::', 48], ['2001:10::', 28], ['2001:20::', 28], ['2001:30::', 28],
  ['2001::', 23], ['2001:db8::', 32],
] // prettier-ignore
// Two lists: a BlockList checks IPv4 addresses against IPv6 rules too (as ::ffff:a.b.c.d),
// and ::ffff:0:0/96 is itself special, which would make every IPv4 address private.
const specialV4 = new net.BlockList()
const specialV6 = new net.BlockList()
for (const [addr, prefix] of V4_SPECIAL) specialV4.addSubnet(addr, prefix, 'ipv4')
for (const [addr, prefix] of V6_SPECIAL) specialV6.addSubnet(addr, prefix, 'ipv6')

function isPrivateIp(ip) {
  validateString(ip, 'ip')
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  ip = ip.replace(/%.*$/, '')
  const family = net.isIP(ip)
  if (family === 0) return false
  if (family === 6) {
    // An IPv4-mapped address is judged as the IPv4 address it carries.
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) || /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip)
    if (mapped) {
      const v4 = mapped.length === 2 ? mapped[1] : [parseInt(mapped[1], 16), parseInt(mapped[2], 16)].flatMap((n) => [n >> 8, n & 255]).join('.')
      return specialV4.check(v4, 'ipv4')
    }
  }
  return family === 4 ? specialV4.check(ip, 'ipv4') : specialV6.check(ip, 'ipv6')
}

module.exports = { isPrivateIp }
