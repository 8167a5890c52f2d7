import { deflateSync } from 'node:zlib'

/** Hand-built PNG files, for inputs no encoder will write: bombs, headers without pixels, stripped chunks. */

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])

function chunk(type: string, data: Buffer) {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

function ihdr(width: number, height: number, colourType: number) {
  const data = Buffer.alloc(13)
  data.writeUInt32BE(width, 0)
  data.writeUInt32BE(height, 4)
  data.writeUInt8(8, 8) // bit depth
  data.writeUInt8(colourType, 9) // 0 grey, 2 RGB
  return chunk('IHDR', data)
}

/** Signature, IHDR for the given size, one empty IDAT, IEND: valid framing, no pixels. */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  return Buffer.concat([SIGNATURE, ihdr(width, height, 2), chunk('IDAT', Buffer.alloc(0)), chunk('IEND', Buffer.alloc(0))])
}

/** A complete, valid all-black greyscale PNG: a few hundred kB on disk, width x height bytes once decoded. */
export function blackGreyPng(width: number, height: number): Uint8Array {
  const raw = Buffer.alloc((width + 1) * height) // each row: filter byte 0, then zeros
  return Buffer.concat([SIGNATURE, ihdr(width, height, 0), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

/** The same PNG without its chunks of `type` (e.g. iCCP), to see the stored numbers without colour management. */
export function withoutPngChunk(png: Uint8Array, type: string): Uint8Array {
  const bytes = Buffer.from(png)
  const kept = [bytes.subarray(0, 8)]
  for (let offset = 8; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset)
    const end = offset + 12 + length
    if (bytes.toString('ascii', offset + 4, offset + 8) !== type) kept.push(bytes.subarray(offset, end))
    offset = end
  }
  return Buffer.concat(kept)
}

function crc32(data: Buffer): number {
  let crc = ~0
  for (const byte of data) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}
