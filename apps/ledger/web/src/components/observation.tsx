import { EventBadge } from './badges';
import { Time } from './common';
import { href } from '../router';
import type { LedgerEvent } from '../types';

/**
 * Who did an event. Waybill's own decisions: the principal. An observed fact: the person in the
 * source, the source, and the integration that reported it (never one shown as the other).
 */
export function Who({ e }: { e: LedgerEvent }) {
  const o = e.observation;
  if (!o) return <>{e.initiatedBy}</>;
  return (
    <span class="who-observed" data-testid="observed-by">
      <strong>{o.observedBy}</strong> <span class="muted">in {o.source} · reported by {o.reportedBy}</span>
    </span>
  );
}

/** The rule a violating observed fact broke, and the event it followed (type, who, when). */
export function ViolationDetail({ e }: { e: LedgerEvent }) {
  const v = e.observation?.violation;
  if (!v) return null;
  const p = v.previous;
  return (
    <div class="violation-detail">
      <p class="violation-rule" data-testid="violation-rule">
        <span class="pill pill-bad">{v.code}</span> <strong>{v.transition}</strong> from {v.fromStatus}: {v.rule}
      </p>
      {p === undefined ? null : p === null ? (
        <p class="violation-previous muted small" data-testid="violation-previous">
          No event before it.
        </p>
      ) : (
        <p class="violation-previous small" data-testid="violation-previous">
          After{' '}
          <a href={href('events', p.eventId)} tabIndex={-1}>
            v{p.version} <EventBadge type={p.type} />
          </a>{' '}
          by {p.observedBy ? `${p.observedBy} (reported by ${p.initiatedBy})` : p.initiatedBy} at <Time ms={Date.parse(p.occurredAt)} iso={p.occurredAt} withDate />
        </p>
      )}
    </div>
  );
}
