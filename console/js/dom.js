// Building the page without HTML strings: every value lands in a text node or an attribute,
// so nothing the API answers can become markup (the CSP also requires Trusted Types for sinks).

/**
 * h('button', { type: 'button', onclick: fn }, 'Save'): an element with attributes,
 * `on…` listeners, and children (strings, nodes, arrays, null/false skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'className') el.className = value;
    else if (name === 'value') el.value = value;
    else if (name === 'checked') el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/field pairs. */
export const uid = (prefix = 'f') => `${prefix}-${++ids}`;

/** A labelled field: label, input (or the given control) and an optional help line. */
export function field(label, control, help) {
  const id = control.id || uid();
  control.id = id;
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return h('div', { className: 'field' }, h('label', { for: id }, label), control, help ? h('p', { className: 'help', id: helpId }, help) : null);
}

/** A date for people: local time, or an em dash. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Tells screen readers what just happened (the polite live region in index.html). */
export function announce(text) {
  const region = document.getElementById('status');
  if (region) region.textContent = text;
}
