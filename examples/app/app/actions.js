'use server'

import { updateTag } from 'next/cache'

/** Server actions: expire a tag now, so the next render reads fresh data. */
export async function refreshPosts() {
  updateTag('posts')
}

export async function refreshNotes() {
  updateTag('notes')
}
