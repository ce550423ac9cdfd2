/**
 * The one HTML escape of the report's pages.
 *
 * @module
 */

/**
 * Escape text for HTML (element text and quoted attributes); `://` is
 * written `&#58;//` so the page names no URL (it opens offline).
 *
 * @example Usage
 * ```ts
 * import { escapeHtml } from "./_escape.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   escapeHtml(`<a href="http://h">'x' & y</a>`),
 *   "&lt;a href=&quot;http&#58;//h&quot;&gt;&#39;x&#39; &amp; y&lt;/a&gt;",
 * );
 * ```
 */
export function escapeHtml(text: unknown): string {
  return String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll(
      "'",
      "&#39;",
    ).replaceAll("://", "&#58;//");
}
