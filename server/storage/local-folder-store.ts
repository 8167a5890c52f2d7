import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { assertSafeKey, type BlobStore } from './store'

/** A folder on disk; content types are kept in a `.type` file beside each object. */
export class LocalFolderStore implements BlobStore {
  constructor(private readonly root: string) {}

  private path(key: string) {
    assertSafeKey(key)
    return join(this.root, ...key.split('/'))
  }

  async put(key: string, data: Uint8Array, contentType: string) {
    const target = this.path(key)
    await mkdir(dirname(target), { recursive: true })
    await atomicWrite(`${target}.type`, contentType)
    await atomicWrite(target, data)
  }

  async get(key: string) {
    const target = this.path(key)
    try {
      const [data, contentType] = await Promise.all([readFile(target), readFile(`${target}.type`, 'utf8').catch(() => 'application/octet-stream')])
      return { data, contentType }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async list(prefix: string) {
    const base = this.path(prefix)
    try {
      const entries = await readdir(base, { recursive: true, withFileTypes: true })
      return entries
        .filter((e) => e.isFile() && !e.name.endsWith('.type') && !e.name.endsWith('.tmp'))
        .map((e) => `${prefix}/${relative(base, join(e.parentPath, e.name)).split(sep).join('/')}`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
  }

  async delete(key: string) {
    const target = this.path(key)
    await rm(target, { force: true })
    await rm(`${target}.type`, { force: true })
  }

  async deletePrefix(prefix: string) {
    await rm(this.path(prefix), { force: true, recursive: true })
  }
}

async function atomicWrite(target: string, data: Uint8Array | string) {
  const tmp = `${target}.${randomUUID()}.tmp`
  try {
    await writeFile(tmp, data)
    await rename(tmp, target)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}
