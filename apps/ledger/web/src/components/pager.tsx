import { useState } from 'preact/hooks';

/** Pages of a list read with cursors: the cursor of the page shown, and the way back. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    back: () => setCursors((c) => c.slice(0, -1)),
    forward: (next: string) => setCursors((c) => [...c, next]),
    reset: () => setCursors([undefined]),
  };
}

/** The page's buttons: back to the page before, on with the cursor the list handed out (none: the last page). */
export function Pager({ pages, nextCursor, backLabel, onLabel }: { pages: ReturnType<typeof useCursorPages>; nextCursor: string | null | undefined; backLabel: string; onLabel: string }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={pages.page <= 1} onClick={pages.back}>
        {backLabel}
      </button>
      <span class="muted">Page {pages.page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && pages.forward(nextCursor)}>
        {onLabel}
      </button>
    </nav>
  );
}
