// The items pages: the list (paging, "Saved"/"Deleted" notes, empty states that fit what the
// user may do), one item, the new-item and edit forms (inline errors that keep the text, the
// "changed elsewhere" state of a stale write) and the delete confirmation.
import type { Item } from '../upstream.ts';
import { html, raw, type SafeHtml } from './html.ts';
import { time } from './local-time.ts';

/** What the signed-in user may do with items, as far as the app can tell before trying. */
export type WriteAccess =
  | { state: 'granted' }
  /** The user has not consented to the write permission yet; `consentUrl` asks for it. */
  | { state: 'consent_required'; scope: string; consentUrl: string }
  /** A policy needs more of the sign-in (a second factor) before a write token is issued. */
  | { state: 'step_up_required' };

export interface Flash {
  kind: 'saved' | 'deleted';
  text?: string | undefined;
}

export const MAX_TEXT_LENGTH = 500;

const excerpt = (text: string, max = 80) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

function flashNote(flash: Flash | undefined): SafeHtml {
  if (!flash) return html``;
  return html`<p class="flash" role="status" data-testid="flash">
    ${flash.kind === 'saved' ? 'Saved' : html`Deleted “${excerpt(flash.text ?? '')}”`}
  </p>`;
}

/**
 * Says what happens when a user without the write permission writes, and offers to ask for it.
 * The forms stay: saving asks for the permission (or the second factor) and, with what was typed
 * kept, comes back and saves (http/pending-write.ts), as Entra's incremental consent intends.
 */
export function consentNotice(access: WriteAccess, context: 'list' | 'form'): SafeHtml {
  if (access.state === 'step_up_required')
    return html`<p class="notice" data-testid="step-up-needed">
      Saving asks you to confirm your sign-in first (your organisation requires it for changes);
      what you typed is kept.
    </p>`;
  if (access.state !== 'consent_required') return html``;
  return html`<section class="notice" aria-labelledby="consent-h" data-testid="consent-needed">
    <h2 id="consent-h">Writing needs your consent to ${access.scope}</h2>
    <p>
      ${
        context === 'form'
          ? 'You can read your items. Saving asks you once to allow this app to write for you; what you typed is kept and saved when you come back.'
          : 'You can read your items. To add, change or delete them, allow this app to write for you; you are asked once (now, or when you first save).'
      }
    </p>
    <p><a class="button" href="${access.consentUrl}">Allow writing</a></p>
  </section>`;
}

function meta(item: Item): SafeHtml {
  const edited = item.updatedAt && item.updatedAt !== item.createdAt;
  return html`<span class="meta"
    >Created ${time(item.createdAt)}${edited ? html` · edited ${time(item.updatedAt)}` : ''}</span
  >`;
}

export interface ListView {
  items: Item[];
  flash?: Flash | undefined;
  access: WriteAccess;
  /** The permissions (scp) of the token this page was read with. */
  readScopes: string[];
  /** 1 for the newest page. */
  pageNumber: number;
  newerHref?: string | undefined;
  olderHref?: string | undefined;
}

export function itemsPage(v: ListView): SafeHtml {
  // Every state can write: the ones that need the user first say so (consentNotice).
  const canWrite = true;
  const header = html`<div class="page-head">
    <h1>Your items</h1>
    ${canWrite ? html`<a class="button" href="/items/new">New item</a>` : ''}
  </div>`;
  const list = v.items.length
    ? html`<ul class="items" data-testid="items">
        ${v.items.map(
          (item) =>
            html`<li>
              <a class="item-text" href="/items/${encodeURIComponent(item.id)}">${item.text}</a>
              ${meta(item)}
              ${
                canWrite
                  ? html`<span class="row-actions">
                      <a href="/items/${encodeURIComponent(item.id)}/edit">Edit</a>
                      <a href="/items/${encodeURIComponent(item.id)}/delete">Delete</a>
                    </span>`
                  : ''
              }
            </li>`,
        )}
      </ul>`
    : v.pageNumber > 1
      ? html`<p class="empty" data-testid="no-items">No more items.</p>`
      : html`<div class="empty" data-testid="no-items">
          <p><strong>Your list is empty.</strong></p>
          ${
            canWrite
              ? html`<p>Write your first item: a few words the API keeps for you.</p>
                  <p><a class="button" href="/items/new">Write your first item</a></p>`
              : html`<p>Items you write appear here, newest first.</p>`
          }
        </div>`;
  const paging =
    v.newerHref || v.olderHref
      ? html`<nav class="paging" aria-label="Pages of your items">
          ${v.newerHref ? html`<a href="${v.newerHref}" rel="prev">← Newer</a>` : html`<span></span>`}
          <span class="muted">Page ${v.pageNumber}</span>
          ${v.olderHref ? html`<a href="${v.olderHref}" rel="next">Older →</a>` : html`<span></span>`}
        </nav>`
      : '';
  return html`${header}${flashNote(v.flash)}${consentNotice(v.access, 'list')}
    <section class="card" aria-label="Items">${list}${paging}</section>
    <p class="source">
      Read with the permission
      <span class="scopes" data-testid="scopes"
        >${v.readScopes.map((s) => html`<code>${s}</code> `)}</span
      >· <a href="/me">what this app may do</a>
    </p>`;
}

export interface FormError {
  message: string;
}

function textField(text: string, error: FormError | undefined): SafeHtml {
  return html`<label for="text">Text</label>
    <p class="hint" id="text-hint">Up to ${MAX_TEXT_LENGTH} characters.</p>
    ${error ? html`<p class="field-error" id="text-error">${error.message}</p>` : ''}
    <textarea
      id="text"
      name="text"
      rows="3"
      required
      maxlength="${MAX_TEXT_LENGTH}"
      autocomplete="off"
      aria-describedby="${error ? 'text-error text-hint' : 'text-hint'}"
      ${error ? raw('aria-invalid="true" autofocus') : ''}
    >
${text}</textarea>`;
}

export interface NewItemView {
  formToken: string;
  /** Sent with the form: the API writes once per key however often the form is sent. */
  idempotencyKey: string;
  text?: string | undefined;
  error?: FormError | undefined;
  access: WriteAccess;
  /** Shown when the text comes from an item that was deleted elsewhere while being edited. */
  deletedElsewhere?: boolean;
}

export function newItemPage(v: NewItemView): SafeHtml {
  return html`<h1>New item</h1>
    ${
      v.deletedElsewhere
        ? html`<p class="notice" role="alert">
            The item you were editing was deleted elsewhere. Your text is below: save it as a new
            item, or leave it.
          </p>`
        : ''
    }
    ${consentNotice(v.access, 'form')}
    <form class="card" method="post" action="/items" novalidate>
      <input type="hidden" name="_csrf" value="${v.formToken}" />
      <input type="hidden" name="key" value="${v.idempotencyKey}" />
      ${textField(v.text ?? '', v.error)}
      <div class="form-actions">
        <button type="submit">Save</button>
        <a href="/items">Cancel</a>
      </div>
    </form>`;
}

export function itemPage(item: Item, flash: Flash | undefined, access: WriteAccess): SafeHtml {
  return html`<p class="crumbs"><a href="/items">← All items</a></p>
    ${flashNote(flash)}
    <article class="card item" aria-labelledby="item-h">
      <h1 id="item-h" class="item-title">Item</h1>
      <p class="item-body" data-testid="item-text">${item.text}</p>
      <dl>
        <dt>Created</dt>
        <dd>${time(item.createdAt)}</dd>
        <dt>Last changed</dt>
        <dd>${time(item.updatedAt)}</dd>
      </dl>
      <div class="form-actions">
        <a class="button" href="/items/${encodeURIComponent(item.id)}/edit">Edit</a>
        <a class="button secondary" href="/items/${encodeURIComponent(item.id)}/delete">Delete</a>
      </div>
    </article>
    ${consentNotice(access, 'list')}`;
}

export interface EditItemView {
  item: Item;
  formToken: string;
  text: string;
  error?: FormError | undefined;
  access: WriteAccess;
  /** The write was refused as stale (412): `item` is now the current version. */
  conflict?: boolean;
}

function currentVersion(item: Item): SafeHtml {
  return html`<section class="notice conflict" role="alert" aria-labelledby="conflict-h">
    <h2 id="conflict-h">Changed elsewhere</h2>
    <p>This item was changed after you opened it. Here is the current version:</p>
    <blockquote data-testid="current-version">${item.text}</blockquote>
    <p class="muted">Last changed ${time(item.updatedAt)}.</p>
  </section>`;
}

export function editItemPage(v: EditItemView): SafeHtml {
  const id = encodeURIComponent(v.item.id);
  return html`<p class="crumbs"><a href="/items/${id}">← Back to the item</a></p>
    <h1>Edit item</h1>
    ${v.conflict ? currentVersion(v.item) : ''} ${consentNotice(v.access, 'form')}${editForm(v, id)}`;
}

function editForm(v: EditItemView, id: string): SafeHtml {
  return html`${
      v.item.isText
        ? ''
        : html`<p class="notice">
            This item holds data other than text (shown as JSON). Saving replaces it with your text.
          </p>`
    }
    <form class="card" method="post" action="/items/${id}/edit" novalidate>
      <input type="hidden" name="_csrf" value="${v.formToken}" />
      <input type="hidden" name="etag" value="${v.item.etag}" />
      ${
        v.conflict
          ? html`<p>Your text is below. Save replaces the current version with it.</p>`
          : ''
      }
      ${textField(v.text, v.error)}
      <div class="form-actions">
        <button type="submit">Save</button>
        <a href="/items/${id}">Cancel</a>
      </div>
    </form>`;
}

export interface DeleteItemView {
  item: Item;
  formToken: string;
  access: WriteAccess;
  conflict?: boolean;
}

export function deleteItemPage(v: DeleteItemView): SafeHtml {
  const id = encodeURIComponent(v.item.id);
  return html`<p class="crumbs"><a href="/items/${id}">← Back to the item</a></p>
    <h1>Delete this item?</h1>
    ${v.conflict ? currentVersion(v.item) : ''}
    ${consentNotice(v.access, 'form')}${deleteForm(v, id)}`;
}

function deleteForm(v: DeleteItemView, id: string): SafeHtml {
  return html`<form class="card" method="post" action="/items/${id}/delete">
    <input type="hidden" name="_csrf" value="${v.formToken}" />
    <input type="hidden" name="etag" value="${v.item.etag}" />
    ${v.conflict ? '' : html`<blockquote data-testid="item-text">${v.item.text}</blockquote>`}
    <p>Deleting cannot be undone.</p>
    <div class="form-actions">
      <button type="submit" class="danger">Delete</button>
      <a href="/items/${id}">Cancel</a>
    </div>
  </form>`;
}
