// Building elements. Text (ids included) always goes in as textContent, never as HTML.
import { exactNs, formatNs } from './format.js'

interface ElementProps {
  class?: string
  text?: string
  title?: string
  attrs?: Record<string, string>
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: ReadonlyArray<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (props.class !== undefined) node.className = props.class
  if (props.text !== undefined) node.textContent = props.text
  if (props.title !== undefined) node.title = props.title
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value)
  node.append(...children)
  return node
}

/** Shows a latency in human units, with the exact nanoseconds in data-ns and the tooltip (no data-ns when empty). */
export function showNs(node: HTMLElement, ns: number | null): void {
  node.textContent = formatNs(ns)
  node.title = exactNs(ns)
  if (ns === null) node.removeAttribute('data-ns')
  else node.dataset.ns = String(ns)
}

/** The element with this id in the page shell (index.html); a missing one is a bug in the shell. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id)
  if (!(node instanceof type)) throw new Error(`index.html has no <${type.name}> #${id}`)
  return node
}
