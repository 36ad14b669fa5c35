// @ts-check
// Looking up the page's own elements by id, typed: a missing or mistyped element is a bug in the
// page, so it throws at once (the page's "error" listener records it) instead of failing later.

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function element(id, type) {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`#${id} is missing or is not a ${type.name}`)
  return found
}
